// Drives the demo page in headless Chromium (playwright-core) and reports what it saw as JSON.
//
//   node web_demo/tests/browser_check.mjs CONFIG.json
//
// CONFIG: {baseUrl, outDir, chromium, sample, huge, nonImage, y4m, float16Model, otherInt8Model, corruptModel,
//          scenarios?: [names], extraArgs?: [chromium flags],
//          live?: {frames, warmup, variants: [{name, query}]}}
// One browser process (launched with Chromium's fake camera) runs every scenario in a fresh
// context; each scenario's result (or its error) goes into the printed JSON object. Files
// (downloads, screenshots, captured camera frame) are written to outDir. The assertions are in
// tests/test_web_demo.py.
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

const config = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const out = config.outDir;
const TIMEOUT = config.timeoutMs || 90000;
fs.mkdirSync(out, { recursive: true });

const browser = await chromium.launch({
  executablePath: config.chromium || '/usr/bin/chromium',
  headless: true,
  timeout: TIMEOUT,
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
    '--use-fake-device-for-media-stream',
    '--use-fake-ui-for-media-stream',
    ...(config.y4m ? [`--use-file-for-fake-video-capture=${config.y4m}`] : []),
    ...(config.extraArgs || []),
  ],
});

async function openPage(query = '', contextOptions = {}) {
  const context = await browser.newContext({
    acceptDownloads: true,
    viewport: { width: 1100, height: 1400 },
    ...contextOptions,
  });
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  const log = { requests: [], console: [], pageErrors: [] };
  page.on('request', (r) => log.requests.push({ method: r.method(), url: r.url() }));
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') log.console.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => log.pageErrors.push(String(e)));
  const t0 = Date.now();
  await page.goto(config.baseUrl + query);
  await waitState(page, ['ready', 'model-error']);
  log.modelLoadMs = Date.now() - t0;
  return { context, page, log };
}

async function waitState(page, states) {
  await page.waitForFunction((s) => s.includes(document.body.dataset.state), states, {
    timeout: TIMEOUT,
  });
  return page.evaluate(() => document.body.dataset.state);
}

async function download(page, buttonId, filename) {
  const [dl] = await Promise.all([page.waitForEvent('download'), page.click(`#${buttonId}`)]);
  const target = path.join(out, filename);
  await dl.saveAs(target);
  return { path: target, suggested: dl.suggestedFilename() };
}

async function pageText(page) {
  return page.evaluate(() => ({
    state: document.body.dataset.state,
    status: document.getElementById('status').textContent,
    error: document.getElementById('error').hidden ? null : document.getElementById('error').textContent,
    notice: document.getElementById('notice').hidden ? null : document.getElementById('notice').textContent,
    modelInfo: document.getElementById('model-info').textContent,
    measurements: Array.from(document.querySelectorAll('#measurements tr')).map((tr) => [
      tr.dataset.key,
      tr.querySelector('td').textContent,
    ]),
    fileInputDisabled: document.getElementById('file-input').disabled,
  }));
}

async function segmentFile(page, file) {
  const t0 = Date.now();
  await page.setInputFiles('#file-input', file);
  const state = await waitState(page, ['done', 'input-error']);
  return { state, ms: Date.now() - t0 };
}

// Another model file (?model=...) on the sample image: load, segment, read the model I/O.
async function otherModel(modelUrl, name) {
  const { context, page, log } = await openPage(`?model=${encodeURIComponent(modelUrl)}`);
  const r = { modelLoadMs: log.modelLoadMs, modelInfo: await page.evaluate(() => window.mininetDemo.modelInfo()) };
  r.segment = await segmentFile(page, config.sample);
  r.text = await pageText(page);
  r.result = await page.evaluate(() => window.mininetDemo.result());
  r.modelIO = await page.evaluate(() => window.mininetDemo.modelIO());
  r.mask = await download(page, 'download-mask', `${name}_mask_download.png`);
  r.log = log;
  await context.close();
  return r;
}

const scenarios = {
  // File picker, the card's threshold, downloads, screenshot; then the options.
  async main() {
    const { context, page, log } = await openPage();
    const r = { modelLoadMs: log.modelLoadMs, modelInfo: await page.evaluate(() => window.mininetDemo.modelInfo()) };
    const requestsBeforeImage = log.requests.length;
    const seg = await segmentFile(page, config.sample);
    r.segment = seg;
    r.text = await pageText(page);
    r.result = await page.evaluate(() => window.mininetDemo.result());
    r.modelIO = await page.evaluate(() => window.mininetDemo.modelIO());
    r.mask = await download(page, 'download-mask', 'main_mask_download.png');
    r.json = await download(page, 'download-json', 'main_result_download.json');
    await page.screenshot({ path: path.join(out, 'main.png'), fullPage: true });
    // Options: largest region, fill holes, a field of view of 20 mm, opacity 0.8.
    await page.check('#largest-only');
    await page.check('#fill-holes');
    await page.selectOption('#scale-kind', 'field_of_view_mm');
    await page.fill('#scale-value', '20');
    await page.$eval('#opacity', (el) => {
      el.value = '0.8';
      el.dispatchEvent(new Event('input'));
    });
    await page.waitForFunction(() => {
      const res = window.mininetDemo.result();
      return res && res.postprocess.largest_component && res.postprocess.fill_holes &&
        res.scale && res.scale.value === 20;
    });
    r.optionsText = await pageText(page);
    r.optionsResult = await page.evaluate(() => window.mininetDemo.result());
    r.optionsMask = await download(page, 'download-mask', 'options_mask_download.png');
    await page.screenshot({ path: path.join(out, 'options.png'), fullPage: true });
    r.requestsAfterImage = log.requests.slice(requestsBeforeImage);
    r.log = log;
    await context.close();
    return r;
  },

  // The float16 export of the same model, same image.
  async float16() {
    return config.float16Model ? otherModel(config.float16Model, 'float16') : { skipped: 'no float16 model' };
  },

  // The default architecture's int8 file (the page's other int8 option), same image.
  async other_int8() {
    return config.otherInt8Model
      ? otherModel(config.otherInt8Model, 'other_int8')
      : { skipped: 'no other int8 model' };
  },

  // A photo larger than the page's limit: downscaled with a notice.
  async huge() {
    const { context, page, log } = await openPage();
    const r = { segment: await segmentFile(page, config.huge) };
    r.text = await pageText(page);
    r.result = await page.evaluate(() => window.mininetDemo.result());
    r.mask = await download(page, 'download-mask', 'huge_mask_download.png');
    await page.screenshot({ path: path.join(out, 'huge.png') });
    r.log = log;
    await context.close();
    return r;
  },

  // A file that is not an image (named .png): a clear message, no result.
  async nonImage() {
    const { context, page, log } = await openPage();
    const r = { segment: await segmentFile(page, config.nonImage) };
    r.text = await pageText(page);
    r.resultPanelHidden = await page.evaluate(() => document.getElementById('result-panel').hidden);
    await page.screenshot({ path: path.join(out, 'non_image.png') });
    r.log = log;
    await context.close();
    return r;
  },

  // A model URL that does not exist, and a corrupt model file.
  async badModel() {
    const r = {};
    for (const [key, url] of [
      ['missing', 'models/no_such_model.tflite'],
      ['corrupt', config.corruptModel],
    ]) {
      if (!url) continue;
      const { context, page, log } = await openPage(`?model=${encodeURIComponent(url)}`);
      r[key] = { text: await pageText(page), log };
      if (key === 'corrupt') await page.screenshot({ path: path.join(out, 'bad_model.png') });
      await context.close();
    }
    return r;
  },

  // Chromium's fake camera (a y4m file) through getUserMedia, capture, segment.
  async camera() {
    if (!config.y4m) return { skipped: 'no y4m' };
    const { context, page, log } = await openPage('', { permissions: ['camera'] });
    await page.click('#camera-start');
    const state = await waitState(page, ['camera', 'input-error']);
    const r = { cameraState: state, text0: await pageText(page) };
    if (state !== 'camera') {
      r.log = log;
      await context.close();
      return r;
    }
    await page.waitForFunction(() => document.getElementById('camera-video').videoWidth > 0);
    await page.waitForTimeout(300); // let a few frames through
    await page.click('#camera-capture');
    r.state = await waitState(page, ['done', 'input-error']);
    r.text = await pageText(page);
    r.result = await page.evaluate(() => window.mininetDemo.result());
    const frame = await page.evaluate(() => window.mininetDemo.inputPNG());
    r.frame = path.join(out, 'camera_frame.png');
    fs.writeFileSync(r.frame, Buffer.from(frame.split(',')[1], 'base64'));
    r.mask = await download(page, 'download-mask', 'camera_mask_download.png');
    r.cameraStopped = await page.evaluate(() => document.getElementById('camera-video').hidden);
    await page.screenshot({ path: path.join(out, 'camera.png'), fullPage: true });
    r.log = log;
    await context.close();
    return r;
  },
};

/** Waits until the live preview has processed `n` frames (or stopped with an error). */
async function waitLiveFrames(page, n, timeout) {
  await page.waitForFunction(
    (k) => {
      const l = window.mininetDemo.live();
      return l.error || !l.running || (l.stats && l.stats.processed >= k);
    },
    n,
    { timeout, polling: 100 },
  );
}

/**
 * The JS heap retained by the page with the live loop paused (unticked, no frame in flight):
 * full garbage collections (Chromium launched with --js-flags=--expose-gc), the smallest of
 * three readings 200 ms apart, so that per-frame garbage still being swept does not count.
 */
async function pausedHeap(page) {
  await page.uncheck('#live-toggle');
  await page.waitForFunction(() => {
    const l = window.mininetDemo.live();
    return !l.running && !l.inFlight;
  });
  const readings = [];
  for (let i = 0; i < 3; i++) {
    await page.waitForTimeout(200);
    readings.push(
      await page.evaluate(() => {
        const gc = typeof window.gc === 'function';
        if (gc) window.gc();
        const l = window.mininetDemo.live();
        return { gc, heap: l.usedJSHeapSize, wasm: l.wasmBytes };
      }),
    );
  }
  const heaps = readings.map((r) => r.heap);
  return { gc: readings.every((r) => r.gc), heaps, heap: Math.min(...heaps), wasm: readings[2].wasm };
}

// The live preview on the fake camera, per variant (e.g. with and without threads): `warmup`
// frames, the paused heap, `frames` more processed frames (fps, latency on the page's clock),
// the paused heap again; then live on again and Capture.
scenarios.live = async function live() {
  if (!config.live) return { skipped: 'no live config' };
  const { frames, warmup, variants } = config.live;
  const liveTimeout = config.live.timeoutMs || 300000;
  const r = {};
  for (const variant of variants) {
    const { context, page, log } = await openPage(variant.query, { permissions: ['camera'] });
    const v = { modelLoadMs: log.modelLoadMs, modelInfo: await page.evaluate(() => window.mininetDemo.modelInfo()) };
    await page.click('#camera-start');
    v.cameraState = await waitState(page, ['camera', 'input-error']);
    if (v.cameraState !== 'camera') {
      v.text = await pageText(page);
      r[variant.name] = v;
      await context.close();
      continue;
    }
    await waitLiveFrames(page, warmup, liveTimeout);
    v.warmup = await page.evaluate(() => window.mininetDemo.live());
    v.heapStart = await pausedHeap(page);
    // Ticking live on again starts a new count: the measured run is `frames` frames from here.
    v.t0 = await page.evaluate(() => {
      document.getElementById('live-toggle').click();
      return performance.now();
    });
    await waitLiveFrames(page, Math.round(frames / 2), liveTimeout);
    // One processed frame with its pixels, model input and mask, for the Python comparison.
    v.snapshot = await page.evaluate(() => window.mininetDemo.live(true));
    if (v.snapshot.last && v.snapshot.last.frame) {
      v.snapshot.framePath = path.join(out, `live_${variant.name}_frame.png`);
      fs.writeFileSync(v.snapshot.framePath, Buffer.from(v.snapshot.last.frame.split(',')[1], 'base64'));
      delete v.snapshot.last.frame;
    }
    if (variant.screenshot) await page.screenshot({ path: path.join(out, variant.screenshot) });
    await waitLiveFrames(page, frames, liveTimeout);
    v.final = await page.evaluate(() => ({ ...window.mininetDemo.live(), t: performance.now() }));
    v.heapEnd = await pausedHeap(page);
    // Live on again, then Capture: the full-resolution still through the normal still path.
    await page.check('#live-toggle');
    await waitLiveFrames(page, 5, liveTimeout);
    await page.click('#camera-capture');
    v.captureState = await waitState(page, ['done', 'input-error']);
    v.captureResult = await page.evaluate(() => window.mininetDemo.result());
    v.afterCapture = await page.evaluate(() => ({
      liveRunning: window.mininetDemo.live().running,
      overlayHidden: document.getElementById('live-overlay').hidden,
      videoHidden: document.getElementById('camera-video').hidden,
    }));
    v.log = log;
    r[variant.name] = v;
    await context.close();
  }
  return r;
};

const report = { chromiumVersion: browser.version() };
const names = config.scenarios || Object.keys(scenarios);
for (const name of names) {
  const t0 = Date.now();
  try {
    report[name] = await scenarios[name]();
  } catch (err) {
    report[name] = { error: String(err && err.stack ? err.stack : err) };
  }
  report[name].seconds = (Date.now() - t0) / 1000;
}
await browser.close();
fs.writeFileSync(path.join(out, 'report.json'), JSON.stringify(report, null, 2));
console.log(JSON.stringify(report));
