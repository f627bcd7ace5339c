// Runs the DOM-free model contract (mininet_core.js) on cases written by tests/test_web_demo.py.
//
//   node web_demo/tests/core_check.mjs DIR
//
// DIR/cases.json lists cases; each reads DIR/<name>.in and writes DIR/<name>.out:
//   {name, op: "resize_u8", sw, sh, dw, dh}        RGB uint8 in, RGB uint8 out
//   {name, op: "resize_f32", sw, sh, dw, dh}       float32 (little-endian) in and out
//   {name, op: "post", w, h, largestOnly, fill, scale}  uint8 0/1 mask in and out
//   {name, op: "model_input", w, h, channels, size, maxSide}  frame in, model input out
//   {name, op: "cue", w, h, previous}  uint8 0/1 mask in (DIR/<previous>.in: last frame's)
//   {name, op: "gate", window, events: [["offer", t, presented?] | ["done", t] | ["abort"]]}
//        (no files: the offers' answers and the final stats go to the report)
// and prints a JSON object {name: extra} (measurements for "post", the cue for "cue"), plus
// `FRAMING`: the cue's limits.
import fs from 'node:fs';
import path from 'node:path';
import * as core from '../mininet_core.js';

const dir = process.argv[2];
const cases = JSON.parse(fs.readFileSync(path.join(dir, 'cases.json'), 'utf8'));
const report = {};
const read = (name) => new Uint8Array(fs.readFileSync(path.join(dir, `${name}.in`)));
for (const c of cases) {
  if (c.op === 'gate') {
    const gate = new core.FrameGate({ window: c.window });
    const answers = c.events.map(([kind, t, presented]) =>
      kind === 'offer' ? gate.offer(t, presented ?? null) : kind === 'done' ? gate.done(t) : gate.abort(),
    );
    report[c.name] = { answers, stats: gate.stats() };
    continue;
  }
  if (c.op === 'cue') {
    const previous = c.previous ? read(c.previous) : null;
    report[c.name] = core.framingCue(read(c.name), c.w, c.h, { previous });
    continue;
  }
  const buf = fs.readFileSync(path.join(dir, `${c.name}.in`));
  let out;
  if (c.op === 'resize_u8') {
    out = core.resizeUint8(new Uint8Array(buf), c.sw, c.sh, 3, c.dw, c.dh);
  } else if (c.op === 'resize_f32') {
    const src = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length));
    out = new Uint8Array(core.resizeFloat(src, c.sw, c.sh, c.dw, c.dh).buffer);
  } else if (c.op === 'post') {
    out = core.postprocess(new Uint8Array(buf), c.w, c.h, c);
    report[c.name] = core.measure(out, c.w, c.h, core.mmPerPixel(c.scale ?? null, c.w, c.h));
  } else if (c.op === 'model_input') {
    out = core.modelInputOf(new Uint8Array(buf), c.w, c.h, c.channels, { size: c.size }, c.maxSide);
  } else {
    throw new Error(`unknown op ${c.op}`);
  }
  fs.writeFileSync(path.join(dir, `${c.name}.out`), out);
}
report.FRAMING = core.FRAMING;
console.log(JSON.stringify(report));
