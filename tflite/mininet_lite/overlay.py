"""The mask overlay written beside every predicted mask, in numpy + Pillow (no OpenCV).

One implementation for `python -m mininet_tf.predict` and `tflite/infer.py`, so the two write
identical ``*_overlay.png`` files for the same mask.
"""

from __future__ import annotations

import numpy as np

#: Overlay colour of predicted foreground (RGB).
MASK_COLOR = (255, 220, 0)


def mask_overlay(image: np.ndarray, pred: np.ndarray, alpha: float = 0.45, color=MASK_COLOR):
    """RGB uint8 ``image`` with the boolean mask ``pred`` blended in (``alpha``) and outlined.

    The outline is the mask's pixels within ``max(1, min(H, W) // 300)`` pixels of background:
    the rim of the mask and of any hole in it (pixels beyond the image border count as mask,
    so a mask touching the border is not outlined along it).
    """
    from PIL import Image, ImageFilter

    pred = np.asarray(pred).astype(bool)
    out = image.astype(np.float32).copy()
    out[pred] = (1 - alpha) * out[pred] + alpha * np.asarray(color, np.float32)
    out = np.clip(out, 0, 255).astype(np.uint8)
    width = max(1, min(image.shape[:2]) // 300)
    eroded = Image.fromarray(pred.astype(np.uint8) * 255).filter(
        ImageFilter.MinFilter(2 * width + 1)
    )
    out[pred & (np.asarray(eroded) == 0)] = np.asarray(color, np.uint8)
    return out
