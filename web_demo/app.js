// Mini-Net browser demo: UI, LiteRT.js inference, overlay, measurements, downloads.
// The model contract (resizing, dequantisation, threshold, measurements) is in mininet_core.js.

import {
  getGlobalLiteRt,
  loadLiteRt,
  loadAndCompile,
  Tensor,
} from './node_modules/@litertjs/core/dist/index.js';
import * as core from './mininet_core.js';

const WASM_DIR = './node_modules/@litertjs/core/wasm/';
const DEFAULT_MODEL = 'models/mininet_isic2017_fast_int8.tflite';
/** Longest side processed; larger photos are downscaled (Pillow-exact bilinear) first. */
const MAX_SIDE = 2048;
/** Larger images are refused before processing (memory on phones). */
const MAX_PIXELS = 64e6;
const MAX_FILE_BYTES = 80 * 1024 * 1024;
const RESEARCH_NOTICE = 'Research use only. Not a medical device and not a diagnosis.';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const modelUrl = params.get('model') || DEFAULT_MODEL;
/** `?threads=0` forces the single-threaded runtime (to measure what threads gain). */
const allowThreads = params.get('threads') !== '0';
/** `?live=0`: the camera starts without the live preview (it can be ticked on). */
const liveByDefault = params.get('live') !== '0';

class UserError extends Error {}

const state = {
  model: null, // {compiled, card, url, sha256, inputShape, outputDtype, runtime}
  image: null, // {name, source, rgb, width, height, originalWidth, originalHeight, downscaled}
  prob: null, // Float32Array, working size
  result: null, // JSON-able result of the current view
  timings: {},
  threshold: null, // decision threshold in use (the card's unless the user moves the slider)
};

// === Status and errors ===

function setState(name) {
  document.body.dataset.state = name;
}

function status(text) {
  $('status').textContent = text;
}

function showError(message) {
  const el = $('error');
  el.textContent = message;
  el.hidden = false;
}

function clearError() {
  $('error').hidden = true;
  $('error').textContent = '';
}

function showNotice(message) {
  const el = $('notice');
  el.textContent = message || '';
  el.hidden = !message;
}

function describe(err) {
  if (err instanceof UserError) return err.message;
  const text = err && err.message ? err.message : String(err);
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}

// === Model ===

async function fetchOrFail(url, what) {
  let resp;
  try {
    resp = await fetch(url, { cache: 'no-cache' });
  } catch (err) {
    throw new UserError(`Could not download the ${what} ${url}: ${describe(err)}.`);
  }
  if (!resp.ok) {
    throw new UserError(`Could not load the ${what} ${url}: HTTP ${resp.status} ${resp.statusText}.`);
  }
  return resp;
}

async function sha256Hex(bytes) {
  if (!crypto.subtle) return null;
  const digest = await crypto.subtle.digest('SHA-256', bytes);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

function checkCard(card, url) {
  const policy = card.input_policy;
  if (!policy || !Array.isArray(policy.size) || policy.size.length !== 2) {
    throw new UserError(`The model card of ${url} has no input_policy.size.`);
  }
  if (policy.mode !== 'resize') {
    throw new UserError(
      `This page runs "resize" models (whole lesion photos); ${url} uses the "${policy.mode}" ` +
        'input policy (tiles), which the page does not implement.',
    );
  }
  if (typeof card.threshold !== 'number') {
    throw new UserError(`The model card of ${url} has no decision threshold.`);
  }
}

async function loadModel(url) {
  setState('loading');
  status('Loading the LiteRT.js runtime…');
  const threads = await startRuntime();
  status(`Loading model ${url}…`);
  const cardUrl = url.replace(/\.tflite$/i, '') + '.json';
  // Both downloads in parallel; a missing model is reported before a missing card.
  const [modelGot, cardGot] = await Promise.allSettled([
    fetchOrFail(url, 'model'),
    fetchOrFail(cardUrl, 'model card'),
  ]);
  if (modelGot.status === 'rejected') throw modelGot.reason;
  if (cardGot.status === 'rejected') throw cardGot.reason;
  const modelResp = modelGot.value;
  const cardResp = cardGot.value;
  let card;
  try {
    card = await cardResp.json();
  } catch (err) {
    throw new UserError(`The model card ${cardUrl} is not valid JSON: ${describe(err)}`);
  }
  checkCard(card, url);
  const bytes = new Uint8Array(await modelResp.arrayBuffer());
  const magic = String.fromCharCode(...bytes.subarray(4, 8));
  if (bytes.length < 8 || magic !== 'TFL3') {
    throw new UserError(`${url} is not a TFLite model (${bytes.length} bytes, no TFL3 header).`);
  }
  const sha256 = await sha256Hex(bytes);
  let compiled;
  try {
    compiled = await loadAndCompile(bytes, { accelerator: 'wasm' });
  } catch (err) {
    throw new UserError(`LiteRT.js could not load the model ${url}: ${describe(err)}`);
  }
  const inputs = compiled.getInputDetails();
  const outputs = compiled.getOutputDetails();
  const [th, tw] = card.input_policy.size;
  const inShape = Array.from(inputs[0].shape);
  const outShape = Array.from(outputs[0].shape);
  if (
    inputs.length !== 1 ||
    inputs[0].dtype !== 'uint8' ||
    inShape.join(',') !== [1, th, tw, 3].join(',')
  ) {
    throw new UserError(
      `${url}: input ${inputs[0].dtype} [${inShape}] does not match the card ` +
        `(uint8 [1,${th},${tw},3]).`,
    );
  }
  if (outShape.join(',') !== [1, th, tw, 1].join(',')) {
    throw new UserError(`${url}: output [${outShape}] is not one ${th}x${tw} probability map.`);
  }
  const outputDtype = outputs[0].dtype;
  if (outputDtype === 'uint8') {
    const out = card.output || {};
    if (typeof out.scale !== 'number' || typeof out.zero_point !== 'number') {
      throw new UserError(`${url}: uint8 output but the card has no output scale/zero_point.`);
    }
  } else if (outputDtype !== 'float32') {
    throw new UserError(`${url}: unsupported output type ${outputDtype}.`);
  }
  state.model = {
    compiled,
    card,
    url,
    sha256,
    size: [th, tw],
    outputDtype,
    threads,
    runtime:
      'LiteRT.js @litertjs/core 2.5.3, wasm (XNNPACK CPU, ' +
      (threads > 1 ? `multi-threaded, ${threads} threads)` : 'single-threaded)'),
  };
  const mode = card.mode || (outputDtype === 'uint8' ? 'int8' : 'float');
  $('model-info').textContent =
    `${url.split('/').pop()} — ${mode}, input ${tw}×${th} RGB, threshold ${card.threshold}` +
    (card.threshold_quantized != null ? ` (q ≥ ${card.threshold_quantized})` : '') +
    (card.training_data && card.training_data.dataset
      ? `, trained on ${card.training_data.dataset}`
      : '');
  return state.model;
}

/**
 * Loads the WebAssembly runtime; returns the number of threads it runs a model with. The
 * multi-threaded build needs SharedArrayBuffer, which browsers only give a cross-origin
 * isolated page (serve_web sends COOP/COEP); elsewhere, or with `?threads=0`, or if the
 * threaded build fails to start, the single-threaded build is used.
 */
async function startRuntime() {
  if (allowThreads && globalThis.crossOriginIsolated === true) {
    try {
      await loadLiteRt(WASM_DIR, { threads: true });
      return runtimeThreadCount();
    } catch (err) {
      console.warn(`LiteRT.js threads unavailable, using one thread: ${describe(err)}`);
    }
  }
  try {
    await loadLiteRt(WASM_DIR);
  } catch (err) {
    throw new UserError(`Could not start the LiteRT.js runtime (WebAssembly): ${describe(err)}`);
  }
  return 1;
}

/** The runtime's default CPU thread count (what `loadAndCompile` uses), 1 if unknown. */
function runtimeThreadCount() {
  try {
    const n = getGlobalLiteRt().liteRtWasm.getThreadCount();
    return Number.isInteger(n) && n > 0 ? n : 1;
  } catch {
    return navigator.hardwareConcurrency || 1;
  }
}

/** Bytes of the runtime's WebAssembly memory (grows when tensors leak; for the tests). */
function wasmMemoryBytes() {
  try {
    return getGlobalLiteRt().liteRtWasm.HEAPU8.buffer.byteLength;
  } catch {
    return null;
  }
}

/** Model input (th*tw*3 uint8) to foreground probability (th*tw float32). */
async function forward(input) {
  const { compiled, size, outputDtype, card } = state.model;
  const tensor = new Tensor(input, [1, size[0], size[1], 3]);
  let outputs;
  try {
    outputs = await compiled.run(tensor);
  } finally {
    tensor.delete();
  }
  try {
    const raw = outputs[0].toTypedArray();
    if (outputDtype === 'uint8') {
      return core.dequantize(raw, card.output.scale, card.output.zero_point);
    }
    return Float32Array.from(raw);
  } finally {
    for (const t of outputs) t.delete();
  }
}

// === Images ===

async function decodeFile(file) {
  if (file.size === 0) throw new UserError(`“${file.name}” is empty.`);
  if (file.size > MAX_FILE_BYTES) {
    throw new UserError(
      `“${file.name}” is ${(file.size / 1048576).toFixed(0)} MB; the limit is ` +
        `${MAX_FILE_BYTES / 1048576} MB.`,
    );
  }
  let bitmap;
  try {
    // No colour management and no premultiplication: the pixels as stored in the file (for
    // PNG exactly what Pillow reads), orientation from EXIF as the photo is shown.
    bitmap = await createImageBitmap(file, {
      colorSpaceConversion: 'none',
      premultiplyAlpha: 'none',
      imageOrientation: 'from-image',
    });
  } catch (err) {
    throw new UserError(
      `“${file.name}” is not an image this browser can read (${file.type || 'unknown type'}). ` +
        'Choose a PNG, JPEG or WebP photo.',
    );
  }
  try {
    return pixelsOf(bitmap, bitmap.width, bitmap.height);
  } finally {
    bitmap.close();
  }
}

/** RGBA pixels of a drawable at its natural size (no scaling, so no smoothing). */
function pixelsOf(drawable, width, height) {
  if (!width || !height) throw new UserError('The image has no pixels.');
  if (width * height > MAX_PIXELS) {
    throw new UserError(
      `The image is ${width}×${height} (${((width * height) / 1e6).toFixed(0)} MP); ` +
        `images up to ${MAX_PIXELS / 1e6} MP can be processed on this device.`,
    );
  }
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext('2d', { willReadFrequently: true, colorSpace: 'srgb' });
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(drawable, 0, 0);
  const data = ctx.getImageData(0, 0, width, height, { colorSpace: 'srgb' }).data;
  canvas.width = canvas.height = 0; // release the backing store early
  return { data, width, height };
}

async function processPixels(pixels, name, source) {
  clearError();
  showNotice('');
  setState('processing');
  status(`Segmenting ${name}…`);
  const t0 = performance.now();
  const work = core.workingSize(pixels.width, pixels.height, MAX_SIDE);
  let rgb;
  if (work.downscaled) {
    rgb = core.resizeUint8(pixels.data, pixels.width, pixels.height, 4, work.width, work.height);
    showNotice(
      `Large image: ${pixels.width}×${pixels.height} was downscaled to ` +
        `${work.width}×${work.height} (longest side ${MAX_SIDE}) before segmentation. The mask ` +
        'and pixel measurements are at the downscaled size; mm values account for it.',
    );
  } else {
    rgb = core.toRGB(pixels.data, pixels.width, pixels.height, 4);
  }
  const t1 = performance.now();
  let tInfer = 0;
  const timedForward = async (input) => {
    const s = performance.now();
    const out = await forward(input);
    tInfer = performance.now() - s;
    return out;
  };
  const { input, probSmall, prob } = await core.predictResize(
    timedForward,
    rgb,
    work.width,
    work.height,
    state.model.card.input_policy,
  );
  const t2 = performance.now();
  state.image = {
    name,
    source,
    rgb,
    width: work.width,
    height: work.height,
    originalWidth: pixels.width,
    originalHeight: pixels.height,
    downscaled: work.downscaled,
    createdAtMs: Date.now(),
  };
  state.prob = prob;
  state.modelInput = input;
  state.probSmall = probSmall;
  state.timings = {
    downscale_ms: round(t1 - t0, 1),
    inference_ms: round(tInfer, 1),
    predict_total_ms: round(t2 - t1, 1),
  };
  baseImage = null;
  render();
  $('result-panel').hidden = false;
  setState('done');
  status(`Segmented ${name} (${work.width}×${work.height}) in ${Math.round(t2 - t0)} ms.`);
}

async function handleFile(file) {
  try {
    setState('processing');
    status(`Reading ${file.name}…`);
    const pixels = await decodeFile(file);
    await processPixels(pixels, file.name, 'file');
  } catch (err) {
    failInput(err);
  }
}

function failInput(err) {
  if (!(err instanceof UserError)) console.error(err);
  showError(describe(err));
  $('result-panel').hidden = true;
  state.result = null;
  setState('input-error');
  status(state.model ? 'Ready: choose a photo or use the camera.' : 'Model not loaded.');
}

// === Camera ===

let stream = null;

async function startCamera() {
  clearError();
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    showError('The camera needs a secure page (https:// or http://localhost) and a browser with camera access.');
    setState('input-error');
    return;
  }
  try {
    stream = await navigator.mediaDevices.getUserMedia({
      video: { facingMode: { ideal: 'environment' }, width: { ideal: 1920 }, height: { ideal: 1080 } },
      audio: false,
    });
  } catch (err) {
    const why =
      err && err.name === 'NotAllowedError'
        ? 'permission was denied'
        : err && err.name === 'NotFoundError'
          ? 'no camera was found'
          : describe(err);
    showError(`Could not start the camera: ${why}.`);
    setState('input-error');
    return;
  }
  const video = $('camera-video');
  video.srcObject = stream;
  video.hidden = false;
  $('camera-box').hidden = false;
  await video.play();
  $('camera-capture').hidden = false;
  $('camera-stop').hidden = false;
  $('camera-start').hidden = true;
  $('live-label').hidden = false;
  setState('camera');
  status('Camera on: frame the lesion and press Capture.');
  if ($('live-toggle').checked) startLive();
}

async function stopCamera() {
  await stopLive();
  if (stream) for (const track of stream.getTracks()) track.stop();
  stream = null;
  const video = $('camera-video');
  video.srcObject = null;
  video.hidden = true;
  $('camera-box').hidden = true;
  $('camera-capture').hidden = true;
  $('camera-stop').hidden = true;
  $('live-label').hidden = true;
  $('camera-start').hidden = false;
}

async function capture() {
  const video = $('camera-video');
  try {
    if (!video.videoWidth) throw new UserError('The camera has not delivered a frame yet.');
    // The still is the camera's full-resolution frame, processed by the normal still path;
    // the live loop is stopped first so that the two never share the model at once.
    await stopLive();
    const pixels = pixelsOf(video, video.videoWidth, video.videoHeight);
    const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
    await stopCamera();
    await processPixels(pixels, `camera-${stamp}.png`, 'camera');
  } catch (err) {
    failInput(err);
  }
}

// === Live preview (issue 17) ===
//
// Video frames are segmented continuously at the model's input size while the user frames the
// lesion. A frame that arrives while the previous one is still in inference is dropped (and
// counted), never queued (core.FrameGate). The mask is drawn at model size on a canvas that
// the stylesheet stretches over the video; the framing cue is computed from the same mask.

const live = {
  running: false,
  generation: 0, // bumped by startLive: callbacks of an earlier run end themselves
  callback: null, // {kind, id} of the pending frame callback, to cancel it on stop
  gate: null,
  inFlight: null, // promise of the frame being processed
  grab: null, // {canvas, ctx}: reused canvas the video frame is read from
  overlay: null, // ImageData at model size, reused
  previousMask: null,
  lastCue: null,
  last: null, // the last processed frame, for the tests: {rgba, width, height, input, mask, cue}
  error: null,
  memory: [], // {processed, usedJSHeapSize, wasmBytes} samples
  inferenceMsSum: 0, // model run time of the processed frames (the rest of the latency is
  // reading the frame, resizing, the cue and drawing)
};

async function startLive() {
  const video = $('camera-video');
  if (live.running || !stream || !state.model) return;
  live.running = true;
  live.generation += 1;
  const generation = live.generation;
  live.gate = null; // the statistics of this run start when its first frame can be taken
  // A frame of an earlier run may still be in inference (unticked and ticked again): the model
  // runs one frame at a time, so wait for it.
  if (live.inFlight) await live.inFlight;
  if (!live.running || generation !== live.generation) return;
  live.gate = new core.FrameGate({ window: 30 });
  live.previousMask = null;
  live.lastCue = null;
  live.last = null;
  live.error = null;
  live.memory = [];
  live.inferenceMsSum = 0;
  const [th, tw] = state.model.size;
  const canvas = $('live-overlay');
  canvas.width = tw;
  canvas.height = th;
  live.overlay = new ImageData(tw, th);
  canvas.hidden = false;
  $('live-cue').hidden = false;
  $('live-stats').hidden = false;
  $('live-stats').textContent = 'Live preview: starting…';
  nextFrame(video, generation);
}

/**
 * Calls `onLiveFrame` once per new video frame (requestVideoFrameCallback) or display frame.
 * `generation` ties the chain of callbacks to one run of the live preview, so that unticking
 * and ticking it again quickly never leaves two chains offering the same frames.
 */
function nextFrame(video, generation) {
  if (!live.running || generation !== live.generation) return;
  if (video.requestVideoFrameCallback) {
    const id = video.requestVideoFrameCallback((now, meta) =>
      onLiveFrame(video, generation, meta.presentedFrames),
    );
    live.callback = { kind: 'video', id };
  } else {
    const id = requestAnimationFrame(() => onLiveFrame(video, generation, null));
    live.callback = { kind: 'animation', id };
  }
}

function onLiveFrame(video, generation, presented) {
  if (!live.running || generation !== live.generation) return;
  nextFrame(video, generation); // keep receiving frames; the gate decides about this one
  const gate = live.gate;
  if (!video.videoWidth || !gate.offer(performance.now(), presented ?? null)) return;
  const pending = processLiveFrame(video, gate, generation)
    .catch((err) => {
      gate.abort();
      live.error = describe(err);
      console.error(err);
      stopLive();
      showError(`Live preview stopped: ${live.error}`);
    })
    .finally(() => {
      if (live.inFlight === pending) live.inFlight = null;
    });
  live.inFlight = pending;
}

async function processLiveFrame(video, gate, generation) {
  const width = video.videoWidth;
  const height = video.videoHeight;
  if (!live.grab || live.grab.canvas.width !== width || live.grab.canvas.height !== height) {
    const canvas = new OffscreenCanvas(width, height);
    const ctx = canvas.getContext('2d', { willReadFrequently: true, colorSpace: 'srgb' });
    ctx.imageSmoothingEnabled = false;
    live.grab = { canvas, ctx };
  }
  // Same pixels as a capture (pixelsOf): the frame drawn unscaled, RGBA from getImageData.
  live.grab.ctx.drawImage(video, 0, 0);
  const rgba = live.grab.ctx.getImageData(0, 0, width, height, { colorSpace: 'srgb' }).data;
  const { card, size } = state.model;
  const input = core.modelInputOf(rgba, width, height, 4, card.input_policy, MAX_SIDE);
  const t0 = performance.now();
  const prob = await forward(input);
  const inferenceMs = performance.now() - t0;
  // Stopped (capture, unticked) while in inference: draw nothing. The frame belongs to `gate`,
  // not to a gate of a later run.
  if (!live.running || generation !== live.generation) {
    gate.abort();
    return;
  }
  const [th, tw] = size;
  const mask = core.thresholdMask(prob, state.threshold);
  const cue = core.framingCue(mask, tw, th, { previous: live.previousMask });
  live.previousMask = mask;
  drawLiveOverlay(mask, tw, th);
  const latency = gate.done(performance.now());
  live.inferenceMsSum += inferenceMs;
  live.last = { rgba, width, height, input, mask, cue, inferenceMs, latency };
  showLive(cue);
  const n = gate.processed;
  if (n === 1 || n % 50 === 0) {
    live.memory.push({
      processed: n,
      usedJSHeapSize: performance.memory ? performance.memory.usedJSHeapSize : null,
      wasmBytes: wasmMemoryBytes(),
    });
  }
}

function drawLiveOverlay(mask, w, h) {
  const d = live.overlay.data;
  const alpha = Math.round(parseFloat($('opacity').value) * 255);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      const o = i * 4;
      if (!mask[i]) {
        d[o + 3] = 0;
        continue;
      }
      const edge =
        x === 0 || y === 0 || x === w - 1 || y === h - 1 ||
        !mask[i - 1] || !mask[i + 1] || !mask[i - w] || !mask[i + w];
      if (edge) {
        d[o] = 255; d[o + 1] = 230; d[o + 2] = 0; d[o + 3] = 255;
      } else {
        d[o] = 0; d[o + 1] = 200; d[o + 2] = 255; d[o + 3] = alpha;
      }
    }
  }
  $('live-overlay').getContext('2d').putImageData(live.overlay, 0, 0);
}

function showLive(cue) {
  const el = $('live-cue');
  // Text changes only when the advice does: the element is announced by screen readers.
  if (cue.cue !== live.lastCue) {
    el.textContent = cue.message;
    el.dataset.cue = cue.cue;
    live.lastCue = cue.cue;
  }
  const s = live.gate.stats();
  const share = cue.found ? `lesion ${round(cue.share * 100, 1)} % of the frame` : 'no lesion';
  $('live-stats').textContent =
    `Live: ${s.fps === null ? '…' : round(s.fps, 1)} fps, ${round(s.latencyMs.median, 0)} ms per ` +
    `frame (inference ${round(live.last.inferenceMs, 0)} ms), ${s.dropped} frames skipped; ` +
    `${share}${cue.touchesBorder ? ', touches the edge' : ''}. ${state.model.size[1]}×` +
    `${state.model.size[0]} model input, ${state.model.threads > 1 ? `${state.model.threads} threads` : '1 thread'}.`;
}

async function stopLive() {
  if (!live.running && !live.inFlight) return;
  live.running = false;
  if (live.callback) {
    const video = $('camera-video');
    if (live.callback.kind === 'video' && video.cancelVideoFrameCallback) {
      video.cancelVideoFrameCallback(live.callback.id);
    } else if (live.callback.kind === 'animation') {
      cancelAnimationFrame(live.callback.id);
    }
    live.callback = null;
  }
  if (live.inFlight) await live.inFlight;
  $('live-overlay').hidden = true;
  $('live-cue').hidden = true;
  $('live-stats').hidden = true;
}

// === Rendering, measurements ===

let baseImage = null; // ImageData of the working image

function currentOptions() {
  const kind = $('scale-kind').value;
  const value = parseFloat($('scale-value').value);
  const scale = kind !== 'none' && value > 0 && Number.isFinite(value) ? { kind, value } : null;
  return {
    threshold: state.threshold,
    opacity: parseFloat($('opacity').value),
    largestOnly: $('largest-only').checked,
    fill: $('fill-holes').checked,
    scale,
  };
}

function render() {
  const img = state.image;
  if (!img) return;
  const opt = currentOptions();
  const { width: w, height: h } = img;
  const raw = core.thresholdMask(state.prob, opt.threshold);
  const mask = core.postprocess(raw, w, h, opt);
  const mmPerPx = core.mmPerPixel(opt.scale, w, h);
  const m = core.measure(mask, w, h, mmPerPx);
  state.mask = mask;
  draw(mask, w, h, opt.opacity, m.bbox);
  showMeasurements(m);
  const card = state.model.card;
  $('threshold-value').textContent =
    String(round(opt.threshold, 3)) + (opt.threshold === card.threshold ? ' (card)' : '');
  state.result = {
    format: 'mininet_web.result/1',
    created_at_ms: img.createdAtMs,
    source: img.source,
    image_name: img.name,
    notice: RESEARCH_NOTICE,
    original_image: { width: img.originalWidth, height: img.originalHeight },
    analysed_image: { width: w, height: h, downscaled: img.downscaled, max_side: MAX_SIDE },
    model: {
      file: state.model.url,
      sha256: state.model.sha256,
      card_format: card.format || null,
      mode: card.mode || null,
      input_policy: card.input_policy,
      card_threshold: card.threshold,
    },
    postprocess: {
      threshold: opt.threshold,
      largest_component: opt.largestOnly,
      fill_holes: opt.fill,
    },
    scale: opt.scale,
    accelerator: state.model.runtime,
    timings: state.timings,
    measurements: m,
    processed_on: 'this device, in the browser; nothing was uploaded',
  };
}

function draw(mask, w, h, opacity, bbox) {
  const canvas = $('view');
  if (canvas.width !== w || canvas.height !== h) {
    canvas.width = w;
    canvas.height = h;
  }
  const ctx = canvas.getContext('2d');
  if (!baseImage) baseImage = new ImageData(core.rgbToRGBA(state.image.rgb, w, h), w, h);
  const over = new ImageData(w, h);
  const d = over.data;
  const fillAlpha = Math.round(opacity * 255);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      if (!mask[i]) continue;
      const edge =
        x === 0 || y === 0 || x === w - 1 || y === h - 1 ||
        !mask[i - 1] || !mask[i + 1] || !mask[i - w] || !mask[i + w];
      const o = i * 4;
      if (edge) {
        d[o] = 255; d[o + 1] = 230; d[o + 2] = 0; d[o + 3] = opacity > 0 ? 255 : 0;
      } else {
        d[o] = 0; d[o + 1] = 200; d[o + 2] = 255; d[o + 3] = fillAlpha;
      }
    }
  }
  ctx.putImageData(baseImage, 0, 0);
  const layer = new OffscreenCanvas(w, h);
  layer.getContext('2d').putImageData(over, 0, 0);
  ctx.drawImage(layer, 0, 0);
  if (bbox && opacity > 0) {
    ctx.save();
    ctx.strokeStyle = 'rgba(255, 255, 255, 0.9)';
    ctx.lineWidth = Math.max(1, Math.round(Math.max(w, h) / 400));
    ctx.setLineDash([6 * ctx.lineWidth, 4 * ctx.lineWidth]);
    ctx.strokeRect(bbox.x + 0.5, bbox.y + 0.5, bbox.width - 1, bbox.height - 1);
    ctx.restore();
  }
}

function round(v, digits = 2) {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

function showMeasurements(m) {
  const rows = [
    ['Area', `${m.area_px} px (${round(m.area_percent, 2)} % of the image)`, 'area'],
    [
      'Bounding box',
      m.bbox ? `${m.bbox.width} × ${m.bbox.height} px at (${m.bbox.x}, ${m.bbox.y})` : '—',
      'bbox',
    ],
    ['Equivalent diameter', `${round(m.equivalent_diameter_px, 1)} px`, 'diameter'],
    ['Regions', String(m.components), 'components'],
  ];
  if (m.mm_per_px) {
    rows.push(['Area (mm²)', `${round(m.area_mm2, 2)} mm²`, 'area-mm']);
    rows.push(['Equivalent diameter (mm)', `${round(m.equivalent_diameter_mm, 2)} mm`, 'diameter-mm']);
    if (m.bbox_mm) {
      rows.push([
        'Bounding box (mm)',
        `${round(m.bbox_mm.width, 2)} × ${round(m.bbox_mm.height, 2)} mm`,
        'bbox-mm',
      ]);
    }
    rows.push(['Scale', `${round(m.mm_per_px, 5)} mm per pixel`, 'scale']);
  }
  const body = $('measurements').tBodies[0];
  body.replaceChildren(
    ...rows.map(([k, v, key]) => {
      const tr = document.createElement('tr');
      tr.dataset.key = key;
      const th = document.createElement('th');
      th.textContent = k;
      const td = document.createElement('td');
      td.textContent = v;
      tr.append(th, td);
      return tr;
    }),
  );
  $('timing').textContent =
    `Inference ${state.timings.inference_ms} ms; resize + inference + resize back ` +
    `${state.timings.predict_total_ms} ms (${state.model.runtime}).`;
}

let renderQueued = false;
function queueRender() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    render();
  });
}

// === Downloads ===

function stem() {
  return (state.image ? state.image.name : 'image').replace(/\.[^.]*$/, '') || 'image';
}

function maskCanvas() {
  const { width: w, height: h } = state.image;
  const canvas = document.createElement('canvas');
  canvas.width = w;
  canvas.height = h;
  const img = new ImageData(w, h);
  for (let i = 0; i < w * h; i++) {
    const v = state.mask[i] ? 255 : 0;
    img.data[i * 4] = img.data[i * 4 + 1] = img.data[i * 4 + 2] = v;
    img.data[i * 4 + 3] = 255;
  }
  canvas.getContext('2d').putImageData(img, 0, 0);
  return canvas;
}

function saveBlob(blob, filename) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

function downloadMask() {
  maskCanvas().toBlob((blob) => saveBlob(blob, `${stem()}_mask.png`), 'image/png');
}

function downloadJson() {
  const text = JSON.stringify(state.result, null, 2);
  saveBlob(new Blob([text], { type: 'application/json' }), `${stem()}_result.json`);
}

function canvasDataURL(rgb, w, h) {
  const canvas = document.createElement('canvas');
  canvas.width = w;
  canvas.height = h;
  canvas.getContext('2d').putImageData(new ImageData(core.rgbToRGBA(rgb, w, h), w, h), 0, 0);
  return canvas.toDataURL('image/png');
}

// === Wiring ===

function enableInputs(on) {
  $('file-input').disabled = !on;
  $('camera-start').disabled = !on;
}

function wire() {
  $('file-input').addEventListener('change', (e) => {
    const file = e.target.files && e.target.files[0];
    if (file) handleFile(file);
    e.target.value = '';
  });
  $('camera-start').addEventListener('click', startCamera);
  $('camera-stop').addEventListener('click', async () => {
    await stopCamera();
    setState(state.image ? 'done' : 'ready');
    status('Camera off.');
  });
  $('live-toggle').checked = liveByDefault;
  $('live-toggle').addEventListener('change', () => {
    if ($('live-toggle').checked) startLive();
    else stopLive();
  });
  $('camera-capture').addEventListener('click', capture);
  for (const id of ['opacity', 'threshold', 'largest-only', 'fill-holes', 'scale-kind', 'scale-value']) {
    $(id).addEventListener('input', queueRender);
    $(id).addEventListener('change', queueRender);
  }
  // The threshold lives in state, not in the slider: a card threshold off the slider's 0.01
  // grid (e.g. 0.625) would otherwise be snapped to a different value.
  $('threshold').addEventListener('input', () => {
    state.threshold = parseFloat($('threshold').value);
  });
  $('threshold-reset').addEventListener('click', () => {
    state.threshold = state.model.card.threshold;
    $('threshold').value = String(state.threshold);
    queueRender();
  });
  $('download-mask').addEventListener('click', downloadMask);
  $('download-json').addEventListener('click', downloadJson);
  const select = $('model-select');
  if (![...select.options].some((o) => o.value === modelUrl)) {
    select.add(new Option(modelUrl.split('/').pop(), modelUrl));
  }
  select.value = modelUrl;
  select.addEventListener('change', () => {
    const next = new URL(location.href);
    if (select.value === DEFAULT_MODEL) next.searchParams.delete('model');
    else next.searchParams.set('model', select.value);
    location.assign(next.toString());
  });
}

function bytesToBinary(bytes) {
  let out = '';
  for (let i = 0; i < bytes.length; i += 8192) {
    out += String.fromCharCode(...bytes.subarray(i, i + 8192));
  }
  return out;
}

/** Hooks for the browser tests (tests/test_web_demo.py); nothing here leaves the page. */
window.mininetDemo = {
  state: () => document.body.dataset.state,
  result: () => state.result,
  inputPNG: () => (state.image ? canvasDataURL(state.image.rgb, state.image.width, state.image.height) : null),
  maskPNG: () => (state.mask ? maskCanvas().toDataURL('image/png') : null),
  // The model's input (resized RGB, base64) and its output probabilities (before resizing back).
  modelIO: () =>
    state.modelInput && {
      input: btoa(bytesToBinary(state.modelInput)),
      probSmall: Array.from(state.probSmall),
    },
  // Live preview statistics and the last processed frame (its pixels only when asked).
  live: (withFrame = false) => {
    const last = live.last;
    return {
      running: live.running,
      inFlight: live.inFlight !== null,
      error: live.error,
      crossOriginIsolated: globalThis.crossOriginIsolated === true,
      threads: state.model ? state.model.threads : null,
      stats: live.gate ? live.gate.stats() : null,
      inferenceMsMean:
        live.gate && live.gate.processed ? live.inferenceMsSum / live.gate.processed : null,
      memory: live.memory,
      usedJSHeapSize: performance.memory ? performance.memory.usedJSHeapSize : null,
      wasmBytes: wasmMemoryBytes(),
      cueText: $('live-cue').textContent,
      framingLimits: core.FRAMING,
      statsText: $('live-stats').textContent,
      last: last && {
        width: last.width,
        height: last.height,
        cue: last.cue,
        inferenceMs: last.inferenceMs,
        latency: last.latency,
        input: btoa(bytesToBinary(last.input)),
        mask: btoa(bytesToBinary(last.mask)),
        frame: withFrame ? canvasDataURL(core.toRGB(last.rgba, last.width, last.height, 4), last.width, last.height) : null,
      },
    };
  },
  modelInfo: () =>
    state.model && {
      url: state.model.url,
      sha256: state.model.sha256,
      outputDtype: state.model.outputDtype,
      size: state.model.size,
      threads: state.model.threads,
      runtime: state.model.runtime,
      inputs: state.model.compiled.getInputDetails().map((d) => ({ dtype: d.dtype, shape: Array.from(d.shape) })),
      outputs: state.model.compiled.getOutputDetails().map((d) => ({ dtype: d.dtype, shape: Array.from(d.shape) })),
    },
};

async function main() {
  wire();
  try {
    await loadModel(modelUrl);
  } catch (err) {
    if (!(err instanceof UserError)) console.error(err);
    showError(`${describe(err)} The page cannot segment images without a model.`);
    status('Model not loaded.');
    setState('model-error');
    return;
  }
  state.threshold = state.model.card.threshold;
  $('threshold').value = String(state.threshold);
  enableInputs(true);
  setState('ready');
  status('Ready: choose a photo or use the camera.');
}

main();
