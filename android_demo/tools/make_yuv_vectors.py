"""Test vectors for the app's YUV_420_888 -> RGB conversion (`core/YuvToRgb.kt`).

    python android_demo/tools/make_yuv_vectors.py \
        [--out android_demo/app/src/test/resources/yuv/vectors.json]

Random logical planes (Y at full size, U and V at half size rounded up) and the expected upright
RGB for both ranges and all four rotations. The maths here is written independently of the
Kotlin code: the BT.601 matrix is the inverse of the RGB -> YCbCr matrix from Kr = 0.299,
Kb = 0.114 (numpy.linalg.inv, not the closed-form coefficients the app uses), chroma is
upsampled with numpy.repeat, rotation is numpy.rot90. The Kotlin test lays the planes out with
strides itself (I420, NV21, NV12, padded rows), so the layouts are not part of these vectors.

Re-running rewrites an identical file (fixed seed).
"""

from __future__ import annotations

import argparse
import json
from fractions import Fraction
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE.parent / "app" / "src" / "test" / "resources" / "yuv" / "vectors.json"

KR, KB = 0.299, 0.114
KG = 1 - KR - KB
# Rows: Y, Cb, Cr from (R, G, B) in [0, 1], Cb and Cr in [-0.5, 0.5].
RGB_TO_YCBCR = np.array(
    [
        [KR, KG, KB],
        [-KR / (2 * (1 - KB)), -KG / (2 * (1 - KB)), 0.5],
        [0.5, -KG / (2 * (1 - KR)), -KB / (2 * (1 - KR))],
    ]
)
YCBCR_TO_RGB = np.linalg.inv(RGB_TO_YCBCR)

# (Y offset, Y span, C span) of 8-bit codes: full range (JFIF) and BT.601 limited range.
RANGES = {"FULL": (0.0, 255.0, 255.0), "LIMITED": (16.0, 219.0, 224.0)}


def to_rgb(y: np.ndarray, u: np.ndarray, v: np.ndarray, range_name: str) -> np.ndarray:
    """Logical planes -> (H, W, 3) uint8, sensor orientation."""
    h, w = y.shape
    offset, y_span, c_span = RANGES[range_name]
    up = lambda c: np.repeat(np.repeat(c, 2, axis=0), 2, axis=1)[:h, :w]  # noqa: E731
    ycc = np.stack(
        [
            (y.astype(np.float64) - offset) / y_span,
            (up(u).astype(np.float64) - 128.0) / c_span,
            (up(v).astype(np.float64) - 128.0) / c_span,
        ],
        axis=-1,
    )
    rgb = ycc @ YCBCR_TO_RGB.T * 255.0
    return np.clip(np.floor(rgb + 0.5), 0, 255).astype(np.uint8)


def has_exact_tie(y: np.ndarray, u: np.ndarray, v: np.ndarray, range_name: str) -> bool:
    """True if some channel is exactly k + 1/2 in exact arithmetic (e.g. full range, U = 3 or
    253: B = Y -/+ 221.5). Rounding such a value depends on floating-point order, so the vectors
    avoid them rather than pin one implementation's tie-breaking."""
    kr, kb = Fraction(299, 1000), Fraction(114, 1000)
    kg = 1 - kr - kb
    offset, y_span, c_span = (Fraction(int(x)) for x in RANGES[range_name])
    h, w = y.shape
    for yy in range(h):
        for xx in range(w):
            luma = (int(y[yy, xx]) - offset) * 255 / y_span
            cb = (int(u[yy // 2, xx // 2]) - 128) * 255 / c_span
            cr = (int(v[yy // 2, xx // 2]) - 128) * 255 / c_span
            channels = (
                luma + 2 * (1 - kr) * cr,
                luma - 2 * kb * (1 - kb) / kg * cb - 2 * kr * (1 - kr) / kg * cr,
                luma + 2 * (1 - kb) * cb,
            )
            if any((c - Fraction(1, 2)).denominator == 1 for c in channels):
                return True
    return False


def upright(rgb: np.ndarray, degrees: int) -> np.ndarray:
    """Rotate clockwise by `degrees` (np.rot90 turns counter-clockwise for positive k)."""
    return np.ascontiguousarray(np.rot90(rgb, k=-(degrees // 90)))


def case(name: str, w: int, h: int, rng: np.random.Generator) -> dict:
    cw, ch = (w + 1) // 2, (h + 1) // 2
    while True:
        y = rng.integers(0, 256, (h, w), dtype=np.uint8)
        u = rng.integers(0, 256, (ch, cw), dtype=np.uint8)
        v = rng.integers(0, 256, (ch, cw), dtype=np.uint8)
        if not any(has_exact_tie(y, u, v, r) for r in RANGES):
            break
    expected = {}
    for range_name in RANGES:
        rgb = to_rgb(y, u, v, range_name)
        for degrees in (0, 90, 180, 270):
            out = upright(rgb, degrees)
            expected[f"{range_name}_{degrees}"] = {
                "width": int(out.shape[1]),
                "height": int(out.shape[0]),
                "rgb": out.reshape(-1).tolist(),
            }
    return {
        "name": name,
        "width": w,
        "height": h,
        "y": y.reshape(-1).tolist(),
        "u": u.reshape(-1).tolist(),
        "v": v.reshape(-1).tolist(),
        "expected": expected,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    rng = np.random.default_rng(17)
    cases = [case("even_8x6", 8, 6, rng), case("odd_7x5", 7, 5, rng)]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    doc = {
        "generator": "android_demo/tools/make_yuv_vectors.py",
        "rounding": "floor(x + 0.5), clamped to 0..255",
        "cases": cases,
    }
    args.out.write_text(json.dumps(doc, separators=(",", ":")) + "\n")
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
