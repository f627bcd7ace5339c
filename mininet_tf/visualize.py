"""Prediction images: error overlays (TP/FP/FN like the paper's Figure 2), mask overlays, PNGs.

The mask overlay is `mininet_lite.overlay.mask_overlay`, shared with ``tflite/infer.py``.

Writing never silently replaces an existing file: `save_png` refuses unless ``overwrite``.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from mininet_lite.overlay import MASK_COLOR, mask_overlay  # noqa: F401  (this module's API)
from mininet_tf.data.records import atomic_write_bytes

#: Colours of the error overlay (RGB): true positives, false positives, false negatives.
TP_COLOR = (0, 200, 0)
FP_COLOR = (230, 30, 30)
FN_COLOR = (30, 90, 255)


def error_overlay(image, truth, pred, fov=None, alpha: float = 0.6) -> np.ndarray:
    """RGB uint8 image with TP green, FP red, FN blue blended in (outside the FOV dimmed)."""
    out = image.astype(np.float32).copy()
    truth, pred = truth.astype(bool), pred.astype(bool)
    for where, color in (
        (truth & pred, TP_COLOR),
        (~truth & pred, FP_COLOR),
        (truth & ~pred, FN_COLOR),
    ):
        out[where] = (1 - alpha) * out[where] + alpha * np.asarray(color, np.float32)
    if fov is not None:
        out[~fov.astype(bool)] *= 0.4
    return np.clip(out, 0, 255).astype(np.uint8)


def save_png(path: str | Path, array: np.ndarray, *, overwrite: bool = False) -> Path:
    """Write uint8 (grey or RGB) or uint16 grey as PNG atomically; never replace silently."""
    from PIL import Image

    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path}: exists; refusing to overwrite (pass --overwrite)")
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return atomic_write_bytes(path, buffer.getvalue())


def probability_png(prob: np.ndarray) -> np.ndarray:
    """A probability map as 16-bit grey (0..65535), lossless enough to re-threshold later."""
    return np.round(np.clip(prob, 0, 1) * 65535).astype(np.uint16)
