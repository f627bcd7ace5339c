"""Full-resolution inference geometry, in numpy only (no TensorFlow).

Owns how an image of any size becomes model-sized inputs and how the outputs become one
probability map of the image's size again. Two policies, recorded in every model card:

- ``tile``: native resolution. Images are reflect-padded to the model's size multiple; if they
  are larger than the tile they are cut into overlapping tiles whose centres are kept (the
  border of each tile, where context is missing, is discarded). Used for vessels and nuclei.
- ``resize``: the whole image is resized to the model's input size, predicted, and the
  probability map resized back (bilinear). Used for lesions, which are trained on whole images.

`predict_image` is shared by the Keras path (`mininet_tf.inference`), the TFLite path and the
TensorFlow-free runtime, so all of them produce the same masks for the same model.

Test-time flip averaging (``tta``, default off) replaces each model input's probability map by
the mean over flipped copies of that input, each map flipped back: tiles, padding and resizing
stay those of one pass, and inference costs one forward pass per flip (`tta_passes`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np

Forward = Callable[[np.ndarray], np.ndarray]

#: Test-time augmentation: the flips averaged, as the (1, h, w, 3) batch axes each one reverses.
TTA_FLIPS: dict[str | None, tuple[tuple[int, ...], ...]] = {
    None: ((),),
    "flip": ((), (2,)),
    "flip4": ((), (2,), (1,), (1, 2)),
}


@dataclass(frozen=True)
class InputPolicy:
    """How images meet the model. Serialised as-is into model cards.

    Attributes:
        mode: "tile" (native resolution) or "resize" (whole image to ``size``).
        size: (H, W) of one model input: the tile size, or the resize target.
            For a dynamic-size Keras model in tile mode, the largest tile.
        overlap: pixels of context discarded at each inner tile border (tile mode).
        multiple: H and W of every model input must be multiples of this.
    """

    mode: str = "tile"
    size: tuple[int, int] = (512, 512)
    overlap: int = 32
    multiple: int = 8

    def __post_init__(self):
        if self.mode not in ("tile", "resize"):
            raise ValueError(f"input policy mode must be 'tile' or 'resize', got {self.mode!r}")
        h, w = (int(v) for v in self.size)
        object.__setattr__(self, "size", (h, w))
        if h % self.multiple or w % self.multiple:
            raise ValueError(f"input size {self.size} is not a multiple of {self.multiple}")
        if self.mode == "tile" and 2 * self.overlap >= min(h, w):
            raise ValueError(f"overlap {self.overlap} too large for tile size {self.size}")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["size"] = list(self.size)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> InputPolicy:
        return cls(
            mode=d["mode"],
            size=tuple(d["size"]),
            overlap=int(d.get("overlap", 32)),
            multiple=int(d.get("multiple", 8)),
        )


def round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


def pad_to(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Reflect-pad (edge-pad when the image is too small to reflect) at the bottom/right."""
    ph, pw = height - image.shape[0], width - image.shape[1]
    if ph < 0 or pw < 0:
        raise ValueError(f"cannot pad {image.shape[:2]} to smaller {(height, width)}")
    if ph == 0 and pw == 0:
        return image
    pads = [(0, ph), (0, pw)] + [(0, 0)] * (image.ndim - 2)
    mode = "reflect" if ph < image.shape[0] and pw < image.shape[1] else "edge"
    return np.pad(image, pads, mode=mode)


def resize_float(array: np.ndarray, height: int, width: int) -> np.ndarray:
    """Bilinear resize of an (H, W) or (H, W, C) float array, matching on every runtime."""
    from PIL import Image

    if array.shape[:2] == (height, width):
        return array.astype(np.float32)
    if array.ndim == 2:
        img = Image.fromarray(array.astype(np.float32), mode="F")
        return np.asarray(img.resize((width, height), Image.BILINEAR), dtype=np.float32)
    channels = [resize_float(array[..., c], height, width) for c in range(array.shape[-1])]
    return np.stack(channels, axis=-1)


def resize_uint8(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resize an (H, W, 3) uint8 image: the one image resize of the runtime contract.

    Pillow's BILINEAR, which is antialiased when shrinking (its filter support widens with the
    scale). Training (`mininet_tf.data.pipeline`) and every Python inference path call this
    same function, and the web and Android apps re-implement it exactly (their golden tests),
    so a model sees at serving time the pixels it was trained on.
    """
    from PIL import Image

    if image.shape[:2] == (height, width):
        return image
    return np.asarray(Image.fromarray(image).resize((width, height), Image.BILINEAR))


def tile_origins(length: int, tile: int, overlap: int, multiple: int = 1) -> list[int]:
    """Tile start offsets covering [0, length) with at least ``overlap`` pixels of context
    each side, all on the model's ``multiple`` grid.

    The grid matters: the model pools by ``multiple``, so a tile that starts off the grid
    pools other pixel groups than a single pass over the image and its output differs (on
    DRIVE with 512-pixel tiles, origin 53 flipped 0.8% of the pixels). ``length`` and ``tile``
    must be multiples of ``multiple`` (pad first).
    """
    if length % multiple or tile % multiple:
        raise ValueError(f"length {length} and tile {tile} must be multiples of {multiple}")
    if length <= tile:
        return [0]
    stride = (tile - 2 * overlap) // multiple * multiple
    if stride < multiple:
        raise ValueError(f"overlap {overlap} leaves no stride in a {tile}-pixel tile")
    origins = list(range(0, length - tile, stride)) + [length - tile]
    return sorted(set(origins))


def check_tta(tta: str | None) -> str | None:
    """``tta`` validated: None (or "none": one pass), "flip" or "flip4"."""
    if tta == "none":
        return None
    if not (tta is None or isinstance(tta, str)) or tta not in TTA_FLIPS:
        raise ValueError(f"tta must be None, 'none', 'flip' or 'flip4', got {tta!r}")
    return tta


def tta_passes(tta: str | None) -> int:
    """Forward passes per model input under ``tta`` (1, 2 or 4): its inference-time factor."""
    return len(TTA_FLIPS[check_tta(tta)])


def with_tta(forward: Forward, tta: str | None) -> Forward:
    """``forward`` averaged over the flips of ``tta`` (``forward`` itself for one pass)."""
    flips = TTA_FLIPS[check_tta(tta)]
    if len(flips) == 1:
        return forward  # no TTA: the very same calls, bit-identical maps

    def averaged(batch: np.ndarray) -> np.ndarray:
        total = None
        for axes in flips:
            x = np.ascontiguousarray(np.flip(batch, axes)) if axes else batch
            prob = forward(x)
            prob = np.flip(prob, axes) if axes else prob  # back to the input's orientation
            if total is None:
                total = prob.astype(np.float32)  # our own copy: summed into in place
            else:
                total += prob
        return total / np.float32(len(flips))

    return averaged


def predict_image(
    forward: Forward,
    image: np.ndarray,
    policy: InputPolicy,
    *,
    fixed_size: bool,
    tta: str | None = None,
) -> np.ndarray:
    """Probability map (H, W, C) float32 of one RGB uint8 image under ``policy``.

    Args:
        forward: maps a (1, h, w, 3) uint8 batch to (1, h, w, C) float probabilities.
        image: (H, W, 3) uint8.
        policy: the model's input policy.
        fixed_size: True when the model only takes ``policy.size`` (TFLite); False when it
            takes any multiple of ``policy.multiple`` (Keras), so small images are only padded
            to the next multiple instead of the full tile.
        tta: None (one pass), "flip" (also left-right: 2 passes) or "flip4" (also up-down and
            both: 4 passes), averaged per model input (see the module docstring).
    """
    # Flipping each model input rather than the whole image keeps one geometry for all
    # passes: the same tiles, padding and pooling grid (tile sizes are multiples of it).
    forward = with_tta(forward, tta)
    if image.ndim != 3 or image.shape[-1] != 3 or image.dtype != np.uint8:
        raise ValueError(f"expected an (H, W, 3) uint8 image, got {image.shape} {image.dtype}")
    height, width = image.shape[:2]
    th, tw = policy.size

    if policy.mode == "resize":
        prob = forward(resize_uint8(image, th, tw)[None])[0]
        return resize_float(prob, height, width)

    if not fixed_size:
        th = min(th, round_up(height, policy.multiple))
        tw = min(tw, round_up(width, policy.multiple))
    # Pad to the grid first, so that every tile origin can lie on it (see tile_origins).
    m = policy.multiple
    padded = pad_to(image, round_up(max(height, th), m), round_up(max(width, tw), m))
    ph, pw = padded.shape[:2]
    out = None
    for y0 in tile_origins(ph, th, policy.overlap, m):
        for x0 in tile_origins(pw, tw, policy.overlap, m):
            prob = forward(padded[None, y0 : y0 + th, x0 : x0 + tw])[0]
            if out is None:
                out = np.zeros((ph, pw, prob.shape[-1]), np.float32)
            # Keep each tile's centre; a tile touching the image border keeps that border.
            top = 0 if y0 == 0 else policy.overlap
            left = 0 if x0 == 0 else policy.overlap
            bottom = th if y0 + th >= ph else th - policy.overlap
            right = tw if x0 + tw >= pw else tw - policy.overlap
            out[y0 + top : y0 + bottom, x0 + left : x0 + right] = prob[top:bottom, left:right]
    return out[:height, :width]
