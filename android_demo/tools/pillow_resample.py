"""Pillow's BILINEAR resize, re-implemented step by step in numpy: the app's resize contract.

The Mini-Net dermoscopy model card says ``input_policy.mode == "resize"``: `mininet_lite.tiling`
resizes the whole RGB uint8 image to the model input with ``PIL.Image.resize(..., BILINEAR)``
and resizes the float probability map back the same way. The Android app cannot call Pillow,
so `dev.mininet.demo.core.PillowResample` (Kotlin) and this module implement the *same*
arithmetic, operation for operation, and the golden tests check that the two agree bit for bit
(and, in tests/test_android.py, that this module agrees with the installed Pillow):

1. Coefficients per output pixel (``precompute_coeffs``), in float64:
   ``scale = in / out``; ``filterscale = max(scale, 1)`` (downscaling widens the triangle, so
   it averages like an area filter instead of aliasing); ``support = 1 * filterscale``;
   ``center = (xx + 0.5) * scale``; window ``xmin = trunc(center - support + 0.5)`` clamped to
   >= 0, ``xmax = trunc(center + support + 0.5)`` clamped to <= in; weights
   ``tri((x + xmin - center + 0.5) / filterscale)`` with ``tri(t) = max(0, 1 - |t|)``, summed
   left to right and divided by their sum.
2. uint8 images: weights to 22-bit fixed point ``trunc(0.5 + k * 2**22)``; horizontal pass first
   (into a uint8 image), then vertical; each output ``clip(((1 << 21) + sum(p * k)) >> 22)``.
   A pass whose size does not change is skipped (identity), as in Pillow.
3. float32 maps (mode "F"): the same weights in float64, accumulated left to right in float64
   from 0.0 and stored as float32 after each pass.

Every step is IEEE-754 double or integer arithmetic in a fixed order, so the JVM reproduces it
exactly; nothing here depends on SIMD or fused multiply-add.
"""

from __future__ import annotations

import numpy as np

PRECISION_BITS = 32 - 8 - 2


def coefficients(in_size: int, out_size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(xmin[out], count[out], weights[out, ksize]) float64, Pillow's ``precompute_coeffs``."""
    scale = float(in_size) / out_size
    filterscale = max(scale, 1.0)
    support = 1.0 * filterscale
    ksize = int(np.ceil(support)) * 2 + 1
    ss = 1.0 / filterscale
    xmins = np.zeros(out_size, np.int64)
    counts = np.zeros(out_size, np.int64)
    kk = np.zeros((out_size, ksize), np.float64)
    for xx in range(out_size):
        center = (xx + 0.5) * scale
        xmin = max(int(center - support + 0.5), 0)  # int() truncates toward zero, like C
        xmax = min(int(center + support + 0.5), in_size) - xmin
        ww = 0.0
        for x in range(xmax):
            t = abs((x + xmin - center + 0.5) * ss)
            w = 1.0 - t if t < 1.0 else 0.0
            kk[xx, x] = w
            ww += w
        if ww != 0.0:
            kk[xx, :xmax] /= ww
        xmins[xx], counts[xx] = xmin, xmax
    return xmins, counts, kk


def fixed_point(kk: np.ndarray) -> np.ndarray:
    """Pillow's ``normalize_coeffs_8bpc``: round half away from zero to 22-bit integers."""
    scaled = kk * float(1 << PRECISION_BITS)
    return np.where(scaled < 0, np.trunc(scaled - 0.5), np.trunc(scaled + 0.5)).astype(np.int64)


def _pass_uint8(image: np.ndarray, out_size: int, axis: int) -> np.ndarray:
    in_size = image.shape[axis]
    xmins, counts, kk = coefficients(in_size, out_size)
    k = fixed_point(kk)
    src = np.moveaxis(image.astype(np.int64), axis, 0)  # (in, other, C)
    acc = np.full((out_size,) + src.shape[1:], 1 << (PRECISION_BITS - 1), np.int64)
    for tap in range(k.shape[1]):
        valid = tap < counts
        idx = np.where(valid, xmins + tap, 0)
        weight = np.where(valid, k[:, tap], 0)
        acc += src[idx] * weight.reshape((-1,) + (1,) * (src.ndim - 1))
    out = np.clip(acc >> PRECISION_BITS, 0, 255).astype(np.uint8)
    return np.moveaxis(out, 0, axis)


def _pass_float(array: np.ndarray, out_size: int, axis: int) -> np.ndarray:
    in_size = array.shape[axis]
    xmins, counts, kk = coefficients(in_size, out_size)
    src = np.moveaxis(array.astype(np.float64), axis, 0)
    acc = np.zeros((out_size,) + src.shape[1:], np.float64)
    for tap in range(kk.shape[1]):
        valid = tap < counts
        idx = np.where(valid, xmins + tap, 0)
        # Taps past a window have weight 0.0: adding p * 0.0 leaves a finite sum unchanged, so
        # this vectorised loop performs exactly Pillow's per-pixel left-to-right sums.
        weight = np.where(valid, kk[:, tap], 0.0)
        acc = acc + src[idx] * weight.reshape((-1,) + (1,) * (src.ndim - 1))
    return np.moveaxis(acc.astype(np.float32), 0, axis)


def resize_uint8(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """(H, W, C) or (H, W) uint8 -> (height, width[, C]) exactly as Pillow BILINEAR."""
    out = image
    if out.shape[1] != width:
        out = _pass_uint8(out, width, axis=1)
    if out.shape[0] != height:
        out = _pass_uint8(out, height, axis=0)
    return np.ascontiguousarray(out)


def resize_float(array: np.ndarray, height: int, width: int) -> np.ndarray:
    """(H, W) float32 -> (height, width) float32 exactly as Pillow BILINEAR on mode "F"."""
    out = array.astype(np.float32)
    if out.shape[1] != width:
        out = _pass_float(out, width, axis=1)
    if out.shape[0] != height:
        out = _pass_float(out, height, axis=0)
    return np.ascontiguousarray(out)
