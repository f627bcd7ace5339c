// Mini-Net browser demo: the model contract in plain JavaScript (no DOM, no runtime).
//
// Everything here mirrors the Python runtime (`tflite/mininet_lite`) so that the page and
// `mininet_lite.TFLiteSegmenter` give the same mask for the same pixels:
//
// - `resizeUint8`: Pillow's `Image.resize(..., BILINEAR)` on 8-bit RGB, bit for bit: a
//   triangle filter whose support grows with the downscale factor (antialiasing), separable,
//   horizontal pass first, 22-bit fixed-point coefficients, rounding to uint8 between passes
//   (Pillow `src/libImaging/Resample.c`, `precompute_coeffs` + `*_8bpc`).
// - `resizeFloat`: the same filter on float32 ("F" mode, `*_32bpc`): double accumulation,
//   float32 storage after each pass. Used to bring the probability map back to image size.
// - `predictResize`: `mininet_lite.tiling.predict_image` for the "resize" input policy.
// - `dequantize`: `(q - zero_point) * scale` in float32, as `TFLiteSegmenter.forward`.
// - `thresholdMask`: `prob >= threshold` with the threshold as float32 (numpy's rule for a
//   Python float against a float32 array).
// - measurements: the definitions shared with the Android app (see README.md).
//
// This file is an ES module that runs unchanged in the browser and in Node (tests).

/** Pillow's BILINEAR filter: a triangle of support 1 (scaled by the downscale factor). */
function bilinearFilter(x) {
  if (x < 0.0) x = -x;
  if (x < 1.0) return 1.0 - x;
  return 0.0;
}

const PRECISION_BITS = 32 - 8 - 2;

/**
 * Resampling coefficients of one axis, as Pillow's `precompute_coeffs` (box = whole axis).
 * @returns {{ksize:number, bounds:Int32Array, kk:Float64Array}}
 */
export function precomputeCoeffs(inSize, outSize) {
  const scale = inSize / outSize; // (double)(in1 - in0) / outSize, in0 = 0, in1 = inSize
  const filterscale = scale < 1.0 ? 1.0 : scale;
  const support = 1.0 * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const kk = new Float64Array(outSize * ksize);
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const ss = 1.0 / filterscale;
    let xmin = Math.trunc(center - support + 0.5); // C (int) cast truncates toward zero
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    xmax -= xmin;
    let ww = 0.0;
    const base = xx * ksize;
    for (let x = 0; x < xmax; x++) {
      const w = bilinearFilter((x + xmin - center + 0.5) * ss);
      kk[base + x] = w;
      ww += w;
    }
    if (ww !== 0.0) {
      for (let x = 0; x < xmax; x++) kk[base + x] /= ww;
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  return { ksize, bounds, kk };
}

/** Pillow's `normalize_coeffs_8bpc`: doubles to 22-bit fixed point, rounded half away. */
function fixedCoeffs(kk) {
  const out = new Int32Array(kk.length);
  const one = 1 << PRECISION_BITS;
  for (let i = 0; i < kk.length; i++) {
    const v = kk[i];
    out[i] = v < 0 ? Math.trunc(-0.5 + v * one) : Math.trunc(0.5 + v * one);
  }
  return out;
}

function clip8(ss) {
  const v = ss >> PRECISION_BITS; // arithmetic shift of an int32, like C
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/**
 * Whether Pillow (>= 13) runs the vertical pass first: when the height shrinks by more than
 * twice as many pixels as the width does (Pillow PR 9549). The pass order matters because
 * the intermediate image is rounded (8-bit) or stored as float32.
 */
export function verticalFirst(sw, sh, dw, dh) {
  return sh > dh && sh - dh > 2 * (sw - dw);
}

function hPassU8(src, sw, ch, rowFirst, nRows, dw) {
  const half = 1 << (PRECISION_BITS - 1);
  const c = precomputeCoeffs(sw, dw);
  const k = fixedCoeffs(c.kk);
  const out = new Uint8Array(dw * nRows * 3);
  for (let yy = 0; yy < nRows; yy++) {
    const rowBase = (yy + rowFirst) * sw * ch;
    for (let xx = 0; xx < dw; xx++) {
      const xmin = c.bounds[xx * 2];
      const xmax = c.bounds[xx * 2 + 1];
      const kb = xx * c.ksize;
      let s0 = half;
      let s1 = half;
      let s2 = half;
      for (let x = 0; x < xmax; x++) {
        const p = rowBase + (x + xmin) * ch;
        const w = k[kb + x];
        s0 += src[p] * w;
        s1 += src[p + 1] * w;
        s2 += src[p + 2] * w;
      }
      const o = (yy * dw + xx) * 3;
      out[o] = clip8(s0);
      out[o + 1] = clip8(s1);
      out[o + 2] = clip8(s2);
    }
  }
  return out;
}

function vPassU8(src, w, ch, c, rowOffset, dh) {
  const half = 1 << (PRECISION_BITS - 1);
  const k = fixedCoeffs(c.kk);
  const out = new Uint8Array(w * dh * 3);
  for (let yy = 0; yy < dh; yy++) {
    const ymin = c.bounds[yy * 2] - rowOffset;
    const ymax = c.bounds[yy * 2 + 1];
    const kb = yy * c.ksize;
    for (let xx = 0; xx < w; xx++) {
      let s0 = half;
      let s1 = half;
      let s2 = half;
      for (let y = 0; y < ymax; y++) {
        const p = ((y + ymin) * w + xx) * ch;
        const wt = k[kb + y];
        s0 += src[p] * wt;
        s1 += src[p + 1] * wt;
        s2 += src[p + 2] * wt;
      }
      const o = (yy * w + xx) * 3;
      out[o] = clip8(s0);
      out[o + 1] = clip8(s1);
      out[o + 2] = clip8(s2);
    }
  }
  return out;
}

/**
 * Resize 8-bit pixels like Pillow `Image.resize((dw, dh), Image.BILINEAR)` on an RGB image.
 *
 * @param {Uint8Array|Uint8ClampedArray} src interleaved pixels, `srcChannels` per pixel
 *     (4 for canvas RGBA data, 3 for RGB); only the first three channels are used.
 * @returns {Uint8Array} interleaved RGB, dw * dh * 3.
 */
export function resizeUint8(src, sw, sh, srcChannels, dw, dh) {
  const needH = sw !== dw;
  const needV = sh !== dh;
  if (!needH && !needV) return toRGB(src, sw, sh, srcChannels);
  const vert = precomputeCoeffs(sh, dh);
  if (!needH) return vPassU8(src, sw, srcChannels, vert, 0, dh);
  if (!needV) return hPassU8(src, sw, srcChannels, 0, sh, dw);
  if (verticalFirst(sw, sh, dw, dh)) {
    const tmp = vPassU8(src, sw, srcChannels, vert, 0, dh);
    return hPassU8(tmp, sw, 3, 0, dh, dw);
  }
  // Horizontal first, only over the source rows the vertical pass reads (as Pillow).
  const yFirst = vert.bounds[0];
  const yLast = vert.bounds[(dh - 1) * 2] + vert.bounds[(dh - 1) * 2 + 1];
  const tmp = hPassU8(src, sw, srcChannels, yFirst, yLast - yFirst, dw);
  return vPassU8(tmp, dw, 3, vert, yFirst, dh);
}

/** Interleaved RGB copy of interleaved pixels with `channels` per pixel. */
export function toRGB(src, w, h, channels) {
  const out = new Uint8Array(w * h * 3);
  for (let i = 0, j = 0; i < w * h; i++, j += channels) {
    out[i * 3] = src[j];
    out[i * 3 + 1] = src[j + 1];
    out[i * 3 + 2] = src[j + 2];
  }
  return out;
}

/** RGBA (alpha 255) copy of interleaved RGB, for ImageData. */
export function rgbToRGBA(rgb, w, h) {
  const out = new Uint8ClampedArray(w * h * 4);
  for (let i = 0; i < w * h; i++) {
    out[i * 4] = rgb[i * 3];
    out[i * 4 + 1] = rgb[i * 3 + 1];
    out[i * 4 + 2] = rgb[i * 3 + 2];
    out[i * 4 + 3] = 255;
  }
  return out;
}

function hPassF32(src, sw, rowFirst, nRows, dw) {
  const c = precomputeCoeffs(sw, dw);
  const out = new Float32Array(dw * nRows);
  for (let yy = 0; yy < nRows; yy++) {
    const rowBase = (yy + rowFirst) * sw;
    for (let xx = 0; xx < dw; xx++) {
      const xmin = c.bounds[xx * 2];
      const xmax = c.bounds[xx * 2 + 1];
      const kb = xx * c.ksize;
      let ss = 0.0; // double accumulation, float32 storage (IMAGING_PIXEL_F)
      for (let x = 0; x < xmax; x++) ss += src[rowBase + x + xmin] * c.kk[kb + x];
      out[yy * dw + xx] = ss;
    }
  }
  return out;
}

function vPassF32(src, w, c, rowOffset, dh) {
  const out = new Float32Array(w * dh);
  for (let yy = 0; yy < dh; yy++) {
    const ymin = c.bounds[yy * 2] - rowOffset;
    const ymax = c.bounds[yy * 2 + 1];
    const kb = yy * c.ksize;
    for (let xx = 0; xx < w; xx++) {
      let ss = 0.0;
      for (let y = 0; y < ymax; y++) ss += src[(y + ymin) * w + xx] * c.kk[kb + y];
      out[yy * w + xx] = ss;
    }
  }
  return out;
}

/**
 * Resize a single-channel float32 map like Pillow "F" mode `resize(..., BILINEAR)`.
 * @returns {Float32Array} dw * dh
 */
export function resizeFloat(src, sw, sh, dw, dh) {
  const needH = sw !== dw;
  const needV = sh !== dh;
  if (!needH && !needV) return Float32Array.from(src);
  const vert = precomputeCoeffs(sh, dh);
  if (!needH) return vPassF32(src, sw, vert, 0, dh);
  if (!needV) return hPassF32(src, sw, 0, sh, dw);
  if (verticalFirst(sw, sh, dw, dh)) {
    return hPassF32(vPassF32(src, sw, vert, 0, dh), sw, 0, dh, dw);
  }
  const yFirst = vert.bounds[0];
  const yLast = vert.bounds[(dh - 1) * 2] + vert.bounds[(dh - 1) * 2 + 1];
  return vPassF32(hPassF32(src, sw, yFirst, yLast - yFirst, dw), dw, vert, yFirst, dh);
}

/** Dequantise a uint8/int8 output: `(q - zero_point) * scale` in float32. */
export function dequantize(q, scale, zeroPoint) {
  const s = Math.fround(scale);
  const out = new Float32Array(q.length);
  // (q - zp) is an exact small integer; the double product of two float32 values is exact,
  // so rounding it once to float32 equals numpy's float32 multiplication.
  for (let i = 0; i < q.length; i++) out[i] = (q[i] - zeroPoint) * s;
  return out;
}

/** Foreground (1) where `prob >= threshold`, the threshold compared as float32. */
export function thresholdMask(prob, threshold) {
  const t = Math.fround(threshold);
  const mask = new Uint8Array(prob.length);
  for (let i = 0; i < prob.length; i++) mask[i] = prob[i] >= t ? 1 : 0;
  return mask;
}

/**
 * Probability map (H * W float32) of one RGB image under a "resize" input policy, as
 * `mininet_lite.tiling.predict_image`: resize to the model size, run, resize the map back.
 *
 * @param {(input: Uint8Array) => Promise<Float32Array>} forward model input (th*tw*3 uint8)
 *     to foreground probabilities (th*tw float32).
 * @param {{size:number[]}} policy the card's `input_policy` (size = [H, W]).
 */
export async function predictResize(forward, rgb, width, height, policy) {
  const [th, tw] = policy.size;
  const input = resizeUint8(rgb, width, height, 3, tw, th);
  const prob = await forward(input);
  return { input, probSmall: prob, prob: resizeFloat(prob, tw, th, width, height) };
}

// === Measurements (shared definitions with the Android app; README.md) ===

/**
 * Connected components of the foreground with 8-connectivity.
 * @returns {{labels:Int32Array, sizes:number[]}} labels 1..n (0 = background); sizes[l].
 */
export function labelComponents(mask, w, h) {
  const labels = new Int32Array(w * h);
  const sizes = [0];
  const stack = new Int32Array(w * h);
  let next = 0;
  for (let start = 0; start < w * h; start++) {
    if (!mask[start] || labels[start]) continue;
    next += 1;
    let top = 0;
    stack[top++] = start;
    labels[start] = next;
    let size = 0;
    while (top > 0) {
      const p = stack[--top];
      size += 1;
      const y = (p / w) | 0;
      const x = p - y * w;
      for (let dy = -1; dy <= 1; dy++) {
        const yy = y + dy;
        if (yy < 0 || yy >= h) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const xx = x + dx;
          if (xx < 0 || xx >= w || (dx === 0 && dy === 0)) continue;
          const q = yy * w + xx;
          if (mask[q] && !labels[q]) {
            labels[q] = next;
            stack[top++] = q;
          }
        }
      }
    }
    sizes.push(size);
  }
  return { labels, sizes };
}

/** Only the largest 8-connected component (the first in raster order among equals). */
export function largestComponent(mask, w, h) {
  const { labels, sizes } = labelComponents(mask, w, h);
  let best = 0;
  for (let l = 1; l < sizes.length; l++) if (sizes[l] > sizes[best]) best = l;
  const out = new Uint8Array(w * h);
  if (best === 0) return out;
  for (let i = 0; i < w * h; i++) out[i] = labels[i] === best ? 1 : 0;
  return out;
}

/**
 * Fill holes: background not 4-connected to the image border becomes foreground
 * (scipy.ndimage.binary_fill_holes with its default structure).
 */
export function fillHoles(mask, w, h) {
  const outside = new Uint8Array(w * h);
  const stack = new Int32Array(w * h);
  let top = 0;
  const seed = (p) => {
    if (!mask[p] && !outside[p]) {
      outside[p] = 1;
      stack[top++] = p;
    }
  };
  for (let x = 0; x < w; x++) {
    seed(x);
    seed((h - 1) * w + x);
  }
  for (let y = 0; y < h; y++) {
    seed(y * w);
    seed(y * w + w - 1);
  }
  while (top > 0) {
    const p = stack[--top];
    const y = (p / w) | 0;
    const x = p - y * w;
    if (x > 0) seed(p - 1);
    if (x < w - 1) seed(p + 1);
    if (y > 0) seed(p - w);
    if (y < h - 1) seed(p + w);
  }
  const out = new Uint8Array(w * h);
  for (let i = 0; i < w * h; i++) out[i] = outside[i] ? 0 : 1;
  return out;
}

/**
 * The final mask: raw threshold mask, then (optionally) the largest component, then
 * (optionally) hole filling.
 */
export function postprocess(mask, w, h, { largestOnly = false, fill = false } = {}) {
  let out = mask;
  if (largestOnly) out = largestComponent(out, w, h);
  if (fill) out = fillHoles(out, w, h);
  return out;
}

/**
 * Millimetres per pixel of the analysed image, or null without a scale (the Android app's
 * `Scale`): `{kind: "field_of_view_mm", value}` is the width in mm spanned by the shorter
 * side of the analysed image; `{kind: "pixels_per_mm", value}` a known scale of the analysed
 * image.
 */
export function mmPerPixel(scale, width, height) {
  if (!scale || !(scale.value > 0) || !Number.isFinite(scale.value)) return null;
  if (scale.kind === 'field_of_view_mm') return scale.value / Math.min(width, height);
  if (scale.kind === 'pixels_per_mm') return 1.0 / scale.value;
  return null;
}

/**
 * Measurements of a binary mask, with the Android app's definitions and JSON keys:
 * area = foreground pixel count; area_fraction = area / image pixels; bbox inclusive of the
 * outermost foreground pixels; equivalent diameter = sqrt(4 * area / pi) (the circle of the
 * same area); centroid = mean pixel index (0-based); mm values when `mmPerPx` is given.
 * Extra here: area_percent and the number of 8-connected components.
 */
export function measure(mask, w, h, mmPerPx = null) {
  let area = 0;
  let x0 = w;
  let y0 = h;
  let x1 = -1;
  let y1 = -1;
  let sumX = 0;
  let sumY = 0;
  for (let y = 0; y < h; y++) {
    const row = y * w;
    for (let x = 0; x < w; x++) {
      if (mask[row + x]) {
        area += 1;
        sumX += x;
        sumY += y;
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
    }
  }
  const bbox = area ? { x: x0, y: y0, width: x1 - x0 + 1, height: y1 - y0 + 1 } : null;
  const eq = Math.sqrt((4.0 * area) / Math.PI);
  const mm = mmPerPx || null;
  return {
    image_width: w,
    image_height: h,
    area_px: area,
    area_fraction: area / (w * h),
    bbox,
    equivalent_diameter_px: eq,
    centroid: area ? { x: sumX / area, y: sumY / area } : null,
    mm_per_px: mm,
    area_mm2: mm ? area * mm * mm : null,
    equivalent_diameter_mm: mm ? eq * mm : null,
    bbox_mm: mm && bbox ? { width: bbox.width * mm, height: bbox.height * mm } : null,
    area_percent: (100.0 * area) / (w * h),
    components: labelComponents(mask, w, h).sizes.length - 1,
  };
}

/** The working size of an image: fits `maxSide` on its longest side (never upscaled). */
export function workingSize(width, height, maxSide) {
  const longest = Math.max(width, height);
  if (longest <= maxSide) return { width, height, downscaled: false };
  const f = maxSide / longest;
  return {
    width: Math.max(1, Math.round(width * f)),
    height: Math.max(1, Math.round(height * f)),
    downscaled: true,
  };
}

// === Live preview (issue 17): model input of a video frame, framing cue, frame gate ===

/**
 * The model input (th * tw * 3 uint8) of one frame, exactly as the still path builds it: the
 * frame is first brought to the working size (longest side `maxSide`, Pillow-exact bilinear)
 * when it is larger, then resized to the card's `input_policy.size` with the same filter.
 * Taking RGBA canvas data directly (`channels` = 4) skips the RGB copy; `resizeUint8` reads
 * only the first three channels, so the result is the same bytes.
 */
export function modelInputOf(pixels, width, height, channels, policy, maxSide) {
  const [th, tw] = policy.size;
  const work = workingSize(width, height, maxSide);
  if (!work.downscaled) return resizeUint8(pixels, width, height, channels, tw, th);
  const rgb = resizeUint8(pixels, width, height, channels, work.width, work.height);
  return resizeUint8(rgb, work.width, work.height, 3, tw, th);
}

/**
 * Limits of the framing cue, as fractions of the frame at model size. A lesion is "found" when
 * its largest 8-connected region covers at least `minShare` of the frame (smaller specks are
 * noise at this size); "move closer" below `closeShare`; "move back" when it touches the edge
 * and covers more than `farShare`; "centred" when the region's centroid is within
 * `centreTolerance` of the frame centre on both axes (as a fraction of the side); the edge is
 * the outer `borderPx` pixels; "steady" when the mask overlaps the previous frame's with an
 * IoU of at least `steadyIoU`.
 */
export const FRAMING = {
  minShare: 0.005,
  closeShare: 0.08,
  farShare: 0.6,
  centreTolerance: 0.15,
  borderPx: 2,
  steadyIoU: 0.85,
};

export const CUE_MESSAGES = {
  'no-lesion': 'No lesion found: point the camera at the lesion.',
  'move-back': 'The lesion fills the frame: move back a little.',
  'touches-edge': 'The lesion touches the edge: re-centre it.',
  'move-closer': 'The lesion is small: move closer.',
  're-centre': 'Re-centre the lesion.',
  'hold-steady': 'Good framing: hold steady.',
  ready: 'Good framing and steady: capture now.',
};

/** Intersection over union of two binary masks of the same size (1 when both are empty). */
export function maskIoU(a, b) {
  let inter = 0;
  let union = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] ? 1 : 0;
    const y = b[i] ? 1 : 0;
    inter += x & y;
    union += x | y;
  }
  return union === 0 ? 1 : inter / union;
}

/**
 * The framing cue of a binary mask at model size (w * h, 1 = lesion). The lesion is the largest
 * 8-connected region (the first in raster order among equals, as `largestComponent`).
 *
 * @param {{previous?: Uint8Array, limits?: object}} options `previous`: the last frame's mask,
 *     for the steadiness check (null/absent: not known yet, so not "ready").
 * @returns {{found, share, foreground, touchesBorder, centred, offset, stability, cue, message}}
 *     share: lesion pixels / frame; foreground: all foreground pixels / frame; offset: lesion
 *     centroid minus frame centre, as a fraction of width/height (null without a lesion);
 *     stability: IoU with `previous` (null without one); cue: a key of CUE_MESSAGES.
 */
export function framingCue(mask, w, h, { previous = null, limits = FRAMING } = {}) {
  const { labels, sizes } = labelComponents(mask, w, h);
  let best = 0;
  let foregroundPx = 0;
  for (let l = 1; l < sizes.length; l++) {
    foregroundPx += sizes[l];
    if (sizes[l] > sizes[best]) best = l;
  }
  const n = w * h;
  const share = best ? sizes[best] / n : 0;
  const found = best > 0 && share >= limits.minShare;
  let touchesBorder = false;
  let offset = null;
  let centred = false;
  if (found) {
    let sumX = 0;
    let sumY = 0;
    const b = limits.borderPx;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        if (labels[y * w + x] !== best) continue;
        sumX += x;
        sumY += y;
        if (x < b || y < b || x >= w - b || y >= h - b) touchesBorder = true;
      }
    }
    const area = sizes[best];
    // Centroid in pixel-centre coordinates, relative to the frame centre, per side length.
    offset = { x: (sumX / area + 0.5) / w - 0.5, y: (sumY / area + 0.5) / h - 0.5 };
    centred =
      Math.abs(offset.x) <= limits.centreTolerance && Math.abs(offset.y) <= limits.centreTolerance;
  }
  const stability = previous && previous.length === mask.length ? maskIoU(mask, previous) : null;
  let cue;
  if (!found) cue = 'no-lesion';
  else if (touchesBorder) cue = share > limits.farShare ? 'move-back' : 'touches-edge';
  else if (share < limits.closeShare) cue = 'move-closer';
  else if (!centred) cue = 're-centre';
  else if (stability !== null && stability >= limits.steadyIoU) cue = 'ready';
  else cue = 'hold-steady';
  return {
    found,
    share,
    foreground: foregroundPx / n,
    touchesBorder,
    centred,
    offset,
    stability,
    cue,
    message: CUE_MESSAGES[cue],
  };
}

/**
 * Decides which video frames are processed and keeps the live statistics; time is passed in
 * (ms, e.g. `performance.now()`), so it runs without a camera or a clock.
 *
 * A frame offered while the previous one is still being processed is dropped and counted,
 * never queued: a queue would only grow when inference is slower than the camera, and the
 * overlay would lag further and further behind the picture.
 */
export class FrameGate {
  /** @param {{window?: number}} options number of recent frames the fps and latency cover. */
  constructor({ window = 30 } = {}) {
    this.window = window;
    this.busy = false;
    this.offered = 0;
    this.processed = 0;
    this.dropped = 0;
    this.latencySum = 0;
    this.lastPresented = null;
    this.ends = []; // completion times of the last `window` frames
    this.latencies = []; // latencies of the last `window` frames
  }

  /**
   * A new frame at `now`: true when it should be processed (the gate is then busy).
   * `presented`: the video's running count of presented frames
   * (requestVideoFrameCallback's `presentedFrames`), when known; frames that went by without
   * being offered (the page was busy in inference and could not even look at them) are
   * counted as dropped too.
   */
  offer(now, presented = null) {
    if (presented !== null && this.lastPresented !== null && presented > this.lastPresented + 1) {
      const missed = presented - this.lastPresented - 1;
      this.offered += missed;
      this.dropped += missed;
    }
    if (presented !== null) this.lastPresented = presented;
    this.offered += 1;
    if (this.busy) {
      this.dropped += 1;
      return false;
    }
    this.busy = true;
    this.startedAt = now;
    return true;
  }

  /** The frame accepted last is finished (drawn) at `now`; returns its latency in ms. */
  done(now) {
    if (!this.busy) throw new Error('FrameGate.done() without an accepted frame');
    this.busy = false;
    const latency = now - this.startedAt;
    this.processed += 1;
    this.latencySum += latency;
    this.ends.push(now);
    this.latencies.push(latency);
    if (this.ends.length > this.window) this.ends.shift();
    if (this.latencies.length > this.window) this.latencies.shift();
    return latency;
  }

  /** The accepted frame failed: the gate opens again, nothing is counted as processed. */
  abort() {
    this.busy = false;
  }

  /**
   * fps: processed frames per second over the recent window (null until two frames are done);
   * latency: last, mean and median of the recent window, and the mean since the start (ms).
   */
  stats() {
    const n = this.ends.length;
    const fps = n >= 2 ? ((n - 1) * 1000) / (this.ends[n - 1] - this.ends[0]) : null;
    const sorted = [...this.latencies].sort((a, b) => a - b);
    const m = sorted.length;
    const median = m ? (m % 2 ? sorted[(m - 1) / 2] : (sorted[m / 2 - 1] + sorted[m / 2]) / 2) : null;
    return {
      offered: this.offered,
      processed: this.processed,
      dropped: this.dropped,
      fps,
      latencyMs: {
        last: m ? this.latencies[m - 1] : null,
        mean: m ? this.latencies.reduce((s, v) => s + v, 0) / m : null,
        median,
        meanAll: this.processed ? this.latencySum / this.processed : null,
      },
    };
  }
}
