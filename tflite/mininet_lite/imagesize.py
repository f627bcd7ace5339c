"""The one image-size guard of every reader: mininet_tf's dataset/predict/evaluate reader,
mininet-infer (tflite/infer.py) and the OpenCV fallback for TIFFs Pillow cannot identify.

The limit is checked from the file header, before any pixel is decoded, so a few hundred bytes
declaring 20000x20000 pixels cost nothing. 150 megapixels admits every phone and dermatoscope
camera we know of (108 MP sensors are 12000x9000) and the largest fundus and slide tiles of the
supported datasets, while keeping one decoded image (RGB uint8 plus the float32 model input)
under about 2.3 GB. Pillow's own decompression-bomb check would stop at 179 MP with a message
that differs between readers; this guard runs first and words the refusal once.
"""

from __future__ import annotations

from pathlib import Path

#: Largest image (width x height) any reader decodes. Read at call time, so tests can lower it.
MAX_IMAGE_PIXELS = 150_000_000


class ImageTooLarge(ValueError):
    """An image whose declared size exceeds `MAX_IMAGE_PIXELS` (the message names the file)."""


def check_image_size(path: str | Path, width: int, height: int) -> None:
    """Raise `ImageTooLarge` naming ``path`` if ``width x height`` exceeds the limit."""
    pixels = int(width) * int(height)
    if pixels > MAX_IMAGE_PIXELS:
        raise ImageTooLarge(
            f"{path}: image too large to decode safely ({width}x{height} = "
            f"{pixels / 1e6:.0f} megapixels; the limit is {MAX_IMAGE_PIXELS / 1e6:.0f})"
        )
