"""The tf.data input pipeline: decode once, cache, sample patches, augment, batch.

`make_dataset` turns a list of `Record`s into a ``tf.data.Dataset`` of
``(image, mask[, fov])`` batches:

* image ``float32 (B, h, w, 3)``, raw pixels in ``[0, 255]`` (the model rescales in its graph);
* mask ``float32 (B, h, w, 1)`` in ``{0, 1}``; fov (``with_fov=True``) likewise.

Stages:

1. **decode** — ``tf.numpy_function`` calling `mininet_tf.data.io` (TensorFlow cannot decode
   TIFF, GIF masks or PPM), then the per-image static preprocessing (resize to ``image_size``;
   padding small images to the patch size, or whole images to ``pad_multiple``), in parallel
   with ``deterministic=True``;
2. **cache** — ``.cache()`` in memory as uint8, so every file is decoded exactly once per
   dataset object, however many epochs;
3. **training only** — seeded shuffle of the images, repeat, then per element a random patch
   (``patch_size``; centred on a random foreground pixel with probability
   ``foreground_fraction``) or the whole image, geometric augmentation applied to image, mask and
   FOV with one projective transform (image bilinear, mask/FOV nearest, reflect at the image
   border), photometric augmentation on the image, in parallel with ``deterministic=True``;
4. batch, prefetch.

Determinism: every random draw is a ``tf.random.stateless_*`` op whose seed is derived from
``(seed, salt, element index)``, where ``salt`` comes from ``tf.data.Dataset.random(seed,
rerandomize_each_iteration=True)`` so each new iteration over the same dataset object (one Keras
epoch over a finite dataset) gets fresh patches and augmentations. Two datasets built with the
same arguments yield identical streams; different seeds differ. (Like every seeded TF op, the
stream also depends on TF's global seed if the caller set one with ``tf.random.set_seed`` /
``keras.utils.set_random_seed``.)

Usage:
    >>> from mininet_tf.data import get_split
    >>> from mininet_tf.data.pipeline import Augment, make_dataset
    >>> train = make_dataset(get_split("drive", data_dir, "train"), training=True,
    ...                      patch_size=64, augment=Augment.preset("fundus"),
    ...                      foreground_fraction=0.5, seed=0)
    >>> model.fit(train, steps_per_epoch=100, epochs=50)   # infinite stream: give steps
    >>> val = make_dataset(get_split("drive", data_dir, "val"), training=False)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields, replace

import numpy as np
import tensorflow as tf

from mininet_tf.data import io as dio
from mininet_tf.data.records import DataError, Record

__all__ = ["Augment", "make_dataset", "load_arrays", "PRESETS"]

AUTOTUNE = tf.data.AUTOTUNE


# ---------------------------------------------------------------------------------------------
# Augmentation parameters
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Augment:
    """Random augmentation applied to training samples (probabilities in [0, 1]).

    Geometric transforms move image, mask and FOV together (image bilinear, masks nearest so
    they stay binary; the border is filled by reflection). They are composed into one affine
    map, so there is a single resampling per sample. Photometric transforms touch only the
    image, only inside the FOV (the black surround of a fundus photograph stays black).

    Geometric:
        flip_horizontal, flip_vertical: probability of each flip.
        rotate90: probability of a rotation by 90, 180 or 270 degrees (square outputs only).
        rotation: probability of a free rotation by an angle uniform in ``rotation_range``
            (degrees).
        scale: probability of a zoom by a factor log-uniform in ``scale_range`` (>1 zooms in).
        jitter: probability of an affine jitter (shear and anisotropic stretch), every matrix
            entry perturbed by up to ``jitter_strength``.
    Photometric (applied together, with probability ``color``):
        brightness: additive shift, uniform in ``[-brightness, brightness] * 255``.
        contrast_range: factor around the image mean.
        saturation_range: saturation factor.
        hue: hue shift, uniform in ``[-hue, hue]`` turns.
        gamma_range: gamma exponent on ``image / 255``.
        channel_gain: per-channel gain (white balance / colour cast of another camera), each of
            R, G, B multiplied by a factor uniform in ``[1 - channel_gain, 1 + channel_gain]``.
    Stain (histology; its own probability, before the colour transforms):
        hed: probability of an HED stain jitter (Tellez et al. 2018, "H&E stain augmentation"):
            the image is unmixed into haematoxylin, eosin and DAB optical densities
            (Ruifrok & Johnston's matrix, as `skimage.color.rgb2hed`), each density scaled by
            a factor uniform in ``[1 - hed_sigma, 1 + hed_sigma]`` and shifted by up to
            ``hed_bias``, then mixed back: the stain-intensity variation between labs and
            scanners, which hue and saturation shifts only approximate.
    Capture degradations (each with its own probability, after the colour transforms):
        blur: probability of a Gaussian blur (defocus, motion-free) with sigma uniform in
            ``blur_sigma_range`` pixels.
        vignette: probability of a radial illumination falloff, the corners darkened by a
            factor uniform in ``[1 - vignette_strength, 1]`` (lens shading, dermoscope rims).
        noise: probability of additive Gaussian sensor noise, standard deviation uniform in
            ``[0, noise_std]`` grey levels.
    Occlusion (dermoscopy; its own probability, before the colour transforms, so the hairs
    take the photograph's colour cast and blur):
        hair: probability of drawing 1 to ``hair_count`` synthetic hairs: gently curved
            (quadratic Bezier) dark-brown to black strands of length 20-80% of the longer side,
            width uniform in ``hair_width_range`` (a fraction of the longer side, so the same
            physical hair at any training size), anti-aliased, opacity 0.6-1. The mask is
            unchanged: a hair over the lesion does not remove the lesion (the ISIC-2017
            ground truth is drawn that way).
    A zero probability (or a degenerate range) disables a transform.
    """

    flip_horizontal: float = 0.5
    flip_vertical: float = 0.5
    rotate90: float = 0.25
    rotation: float = 0.5
    rotation_range: tuple[float, float] = (-20.0, 20.0)
    scale: float = 0.5
    scale_range: tuple[float, float] = (0.85, 1.2)
    jitter: float = 0.3
    jitter_strength: float = 0.05
    color: float = 0.8
    brightness: float = 0.08
    contrast_range: tuple[float, float] = (0.85, 1.15)
    saturation_range: tuple[float, float] = (0.85, 1.15)
    hue: float = 0.02
    gamma_range: tuple[float, float] = (0.85, 1.2)
    channel_gain: float = 0.0
    hed: float = 0.0
    hed_sigma: float = 0.05
    hed_bias: float = 0.05
    blur: float = 0.0
    blur_sigma_range: tuple[float, float] = (0.3, 1.5)
    vignette: float = 0.0
    vignette_strength: float = 0.4
    noise: float = 0.0
    noise_std: float = 4.0
    hair: float = 0.0
    hair_count: int = 8
    hair_width_range: tuple[float, float] = (0.002, 0.01)

    def __post_init__(self):
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, (tuple, list)):
                lo, hi = (float(v) for v in value)
                if lo > hi:
                    raise ValueError(f"Augment.{f.name}: range {value} has min > max")
                object.__setattr__(self, f.name, (lo, hi))
            elif f.name in _PROBABILITIES and not 0.0 <= float(value) <= 1.0:
                raise ValueError(f"Augment.{f.name} is a probability, got {value}")
        if self.scale_range[0] <= 0:
            raise ValueError(f"Augment.scale_range must be positive, got {self.scale_range}")
        if self.gamma_range[0] <= 0:
            raise ValueError(f"Augment.gamma_range must be positive, got {self.gamma_range}")
        if self.jitter_strength < 0 or self.brightness < 0 or self.hue < 0:
            raise ValueError("Augment: jitter_strength, brightness and hue must be >= 0")
        if not 0.0 <= self.channel_gain < 1.0:
            raise ValueError(f"Augment.channel_gain must be in [0, 1), got {self.channel_gain}")
        if not 0.0 <= self.vignette_strength <= 1.0:
            raise ValueError(
                f"Augment.vignette_strength must be in [0, 1], got {self.vignette_strength}"
            )
        if self.blur_sigma_range[0] <= 0:
            raise ValueError(
                f"Augment.blur_sigma_range must be positive, got {self.blur_sigma_range}"
            )
        if self.noise_std < 0:
            raise ValueError(f"Augment.noise_std must be >= 0, got {self.noise_std}")
        if not 1 <= int(self.hair_count) <= MAX_HAIRS or int(self.hair_count) != self.hair_count:
            raise ValueError(
                f"Augment.hair_count must be an integer in [1, {MAX_HAIRS}], got {self.hair_count}"
            )
        if self.hair_width_range[0] <= 0:
            raise ValueError(
                f"Augment.hair_width_range must be positive, got {self.hair_width_range}"
            )
        if not 0.0 <= self.hed_sigma < 1.0 or self.hed_bias < 0:
            raise ValueError(
                f"Augment.hed_sigma must be in [0, 1) and hed_bias >= 0, got "
                f"{self.hed_sigma}, {self.hed_bias}"
            )

    @classmethod
    def preset(cls, name: str) -> Augment:
        """Settings per modality: "default" (the dataclass defaults), "fundus",
        "dermoscopy", "dermoscopy_field" (dermoscopy plus the colour, zoom, blur, vignetting
        and noise of other devices and clinics), "histology" or "none"."""
        if name not in PRESETS:
            raise ValueError(f"unknown augmentation preset {name!r}; expected {sorted(PRESETS)}")
        return cls(**PRESETS[name])

    @classmethod
    def none(cls) -> Augment:
        """No augmentation at all (every probability 0)."""
        return cls.preset("none")

    def replace(self, **changes) -> Augment:
        return replace(self, **changes)

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @property
    def geometric(self) -> bool:
        return (
            self.flip_horizontal > 0
            or self.flip_vertical > 0
            or self.rotate90 > 0
            or (self.rotation > 0 and self.rotation_range != (0.0, 0.0))
            or (self.scale > 0 and self.scale_range != (1.0, 1.0))
            or (self.jitter > 0 and self.jitter_strength > 0)
        )

    @property
    def colour(self) -> bool:
        return self.color > 0 and (
            self.brightness > 0
            or self.contrast_range != (1.0, 1.0)
            or self.saturation_range != (1.0, 1.0)
            or self.hue > 0
            or self.gamma_range != (1.0, 1.0)
            or self.channel_gain > 0
        )

    @property
    def photometric(self) -> bool:
        return (
            self.colour
            or (self.hed > 0 and (self.hed_sigma > 0 or self.hed_bias > 0))
            or self.blur > 0
            or (self.vignette > 0 and self.vignette_strength > 0)
            or (self.noise > 0 and self.noise_std > 0)
            or self.hair > 0
        )


_PROBABILITIES = ("flip_horizontal", "flip_vertical", "rotate90", "rotation", "scale", "jitter")
_PROBABILITIES += ("color", "hed", "blur", "vignette", "noise", "hair")

#: Upper bound of `Augment.hair_count` (the drawing loop is unrolled over this many hairs).
MAX_HAIRS = 16

#: Modality presets for `Augment.preset`. Fundus: orientation matters little but the disc is
#: round and illumination varies; dermoscopy: any orientation, varied zoom and colour;
#: histology: any orientation, fixed magnification, strong stain (hue/saturation) variation.
PRESETS: dict[str, dict] = {
    "default": dict(),
    "fundus": dict(
        flip_horizontal=0.5,
        flip_vertical=0.5,
        rotate90=0.0,
        rotation=0.5,
        rotation_range=(-25.0, 25.0),
        scale=0.5,
        scale_range=(0.9, 1.15),
        jitter=0.3,
        jitter_strength=0.04,
        color=0.8,
        brightness=0.1,
        contrast_range=(0.8, 1.25),
        saturation_range=(0.9, 1.1),
        hue=0.01,
        gamma_range=(0.8, 1.25),
    ),
    "dermoscopy": dict(
        flip_horizontal=0.5,
        flip_vertical=0.5,
        rotate90=0.5,
        rotation=0.5,
        rotation_range=(-45.0, 45.0),
        scale=0.5,
        scale_range=(0.8, 1.25),
        jitter=0.3,
        jitter_strength=0.06,
        color=0.8,
        brightness=0.08,
        contrast_range=(0.85, 1.2),
        saturation_range=(0.8, 1.2),
        hue=0.03,
        gamma_range=(0.85, 1.2),
    ),
    "histology": dict(
        flip_horizontal=0.5,
        flip_vertical=0.5,
        rotate90=0.75,
        rotation=0.3,
        rotation_range=(-45.0, 45.0),
        scale=0.3,
        scale_range=(0.9, 1.1),
        jitter=0.2,
        jitter_strength=0.03,
        color=0.9,
        brightness=0.06,
        contrast_range=(0.85, 1.15),
        saturation_range=(0.7, 1.3),
        hue=0.05,
        gamma_range=(0.9, 1.1),
    ),
    "none": dict(
        flip_horizontal=0.0,
        flip_vertical=0.0,
        rotate90=0.0,
        rotation=0.0,
        scale=0.0,
        jitter=0.0,
        color=0.0,
    ),
}

# H&E from other labs and scanners: the histology preset plus HED stain jitter at Tellez et al.'s
# "HED-light" strength (sigma 0.05, bias 0.05) on most samples.
PRESETS["histology_hed"] = dict(PRESETS["histology"], hed=0.8, hed_sigma=0.05, hed_bias=0.05)

# Dermoscopy photographed elsewhere: the dermoscopy geometry, wider zoom, and the colour, focus,
# lens shading and sensor noise of other devices and clinics (docs/pipeline.md).
PRESETS["dermoscopy_field"] = dict(
    PRESETS["dermoscopy"],
    scale=0.6,
    scale_range=(0.7, 1.4),
    color=0.9,
    brightness=0.12,
    contrast_range=(0.7, 1.3),
    saturation_range=(0.7, 1.3),
    hue=0.04,
    gamma_range=(0.7, 1.4),
    channel_gain=0.12,
    blur=0.25,
    blur_sigma_range=(0.3, 1.5),
    vignette=0.3,
    vignette_strength=0.5,
    noise=0.2,
    noise_std=5.0,
)

# The field preset with synthetic hairs (issue 13: hair is the commonest occluder in dermoscopy
# from other clinics; the ISIC-2017 ablation in docs/benchmarks.md decides whether it is used).
PRESETS["dermoscopy_hair"] = dict(PRESETS["dermoscopy_field"], hair=0.3, hair_count=8)


# ---------------------------------------------------------------------------------------------
# Numpy side: decoding and static preprocessing
# ---------------------------------------------------------------------------------------------


def load_arrays(records: Sequence[Record]) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Decode records to numpy: ``[(image uint8 (H,W,3), mask uint8 (H,W), fov uint8 (H,W))]``.

    Masks and FOV are in {0, 1}; the FOV is all ones when the record has none. Sizes are
    checked (a mismatch is a `DataError` naming both files). For evaluation code that works on
    whole images at native resolution.
    """
    return [_read(r) for r in records]


def _read(record: Record) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if record.mask is None:
        raise DataError(f"{record.image}: record {record.id!r} has no mask")
    image = dio.read_image(record.image)
    mask = dio.read_mask(record.mask)
    dio.check_pair(image, mask, record.image, record.mask)
    if record.fov is not None:
        fov = dio.read_fov(record.fov)
        dio.check_pair(image, fov, record.image, record.fov)
    else:
        fov = np.ones(mask.shape, np.uint8)
    return image, mask, fov


def _resize(image, mask, fov, size):
    import cv2

    height, width = size
    if mask.shape == (height, width):
        return image, mask, fov
    from mininet_lite.tiling import resize_uint8

    # The runtime contract's resize: inference resizes with this very function.
    image = resize_uint8(image, height, width)
    mask = cv2.resize(mask, (width, height), interpolation=cv2.INTER_NEAREST)
    fov = cv2.resize(fov, (width, height), interpolation=cv2.INTER_NEAREST)
    return image, mask, fov


def _pad(image, mask, fov, pads):
    """Pad ((top, bottom), (left, right)): image by reflection, mask and FOV with zeros."""
    if not any(p for pair in pads for p in pair):
        return image, mask, fov
    mode = "reflect" if min(mask.shape) > 1 else "symmetric"
    image = np.pad(image, (*pads, (0, 0)), mode=mode)
    mask = np.pad(mask, pads)
    fov = np.pad(fov, pads)
    return image, mask, fov


#: At most this many foreground pixel coordinates are kept per image for foreground-centred
#: patch sampling (an evenly spread, seeded subsample when there are more).
MAX_FOREGROUND_COORDS = 16384


def _foreground_coords(mask: np.ndarray, index: int) -> np.ndarray:
    """``int32 (K, 2)`` (row, col) of foreground pixels, K <= `MAX_FOREGROUND_COORDS`."""
    flat = np.flatnonzero(mask)
    if flat.size > MAX_FOREGROUND_COORDS:
        rng = np.random.default_rng(np.random.SeedSequence([int(index), 104729]))
        flat = np.sort(rng.choice(flat, MAX_FOREGROUND_COORDS, replace=False))
    return np.stack(np.unravel_index(flat, mask.shape), axis=1).astype(np.int32)


def rescale_to_fov_width(image, mask, fov, fov_width: float):
    """Resample a fundus sample so its field of view is ``fov_width`` pixels wide (vessel-scale
    normalisation): the image as at inference (`mininet_lite.fundus`, Pillow bilinear), the
    mask by area averaging thresholded at one half (thin vessels survive shrinking), the FOV
    nearest."""
    import cv2

    from mininet_lite.fundus import rescale_factor
    from mininet_lite.tiling import resize_uint8

    factor = rescale_factor(image, fov_width)
    height, width = mask.shape
    size = (max(8, round(height * factor)), max(8, round(width * factor)))
    if size == (height, width):
        return image, mask, fov
    image = resize_uint8(image, *size)
    mask = cv2.resize(mask.astype(np.float32), size[::-1], interpolation=cv2.INTER_AREA)
    mask = (mask >= 0.5).astype(np.uint8)
    fov = cv2.resize(fov, size[::-1], interpolation=cv2.INTER_NEAREST)
    return image, mask, fov


def _prepare(record, image_size, min_size, pad_multiple, fov_width=None):
    image, mask, fov = _read(record)
    if fov_width is not None:
        image, mask, fov = rescale_to_fov_width(image, mask, fov, fov_width)
    if image_size is not None:
        image, mask, fov = _resize(image, mask, fov, image_size)
    height, width = mask.shape
    if min_size:
        # Images smaller than the patch: pad (centred) up to the patch size.
        ph, pw = max(0, min_size - height), max(0, min_size - width)
        image, mask, fov = _pad(
            image, mask, fov, ((ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2))
        )
    if pad_multiple and pad_multiple > 1:
        height, width = mask.shape
        ph = -height % pad_multiple
        pw = -width % pad_multiple
        image, mask, fov = _pad(image, mask, fov, ((0, ph), (0, pw)))
    return image, mask[..., None], fov[..., None]


# ---------------------------------------------------------------------------------------------
# Graph side: sampling and augmentation
# ---------------------------------------------------------------------------------------------


def _uniform(seed, lo=0.0, hi=1.0):
    return tf.random.stateless_uniform([], seed, minval=lo, maxval=hi, dtype=tf.float32)


def _chance(seed, p: float):
    if p <= 0:
        return tf.constant(False)
    if p >= 1:
        return tf.constant(True)
    return _uniform(seed) < p


def _affine(aug: Augment, seeds, square):
    """Random 2x2 matrix mapping output offsets to input offsets (x, y order)."""
    eye = tf.eye(2, dtype=tf.float32)
    m = eye
    if aug.jitter > 0 and aug.jitter_strength > 0:
        delta = tf.random.stateless_uniform(
            [2, 2], seeds[0], -aug.jitter_strength, aug.jitter_strength
        )
        m = tf.where(_chance(seeds[1], aug.jitter), eye + delta, eye)
    if aug.scale > 0 and aug.scale_range != (1.0, 1.0):
        lo, hi = math.log(aug.scale_range[0]), math.log(aug.scale_range[1])
        zoom = tf.exp(_uniform(seeds[2], lo, hi))
        zoom = tf.where(_chance(seeds[3], aug.scale), zoom, 1.0)
        m = m / zoom
    if aug.rotation > 0 and aug.rotation_range != (0.0, 0.0):
        lo, hi = (math.radians(a) for a in aug.rotation_range)
        angle = tf.where(_chance(seeds[5], aug.rotation), _uniform(seeds[4], lo, hi), 0.0)
        m = tf.matmul(_rotation(angle), m)
    if aug.rotate90 > 0:
        k = tf.random.stateless_uniform([], seeds[6], 1, 4, dtype=tf.int32)
        k = tf.where(tf.logical_and(_chance(seeds[7], aug.rotate90), square), k, 0)
        quarter = _rotation(tf.cast(k, tf.float32) * (math.pi / 2))
        m = tf.matmul(tf.round(quarter), m)
    if aug.flip_horizontal > 0:
        sx = tf.where(_chance(seeds[8], aug.flip_horizontal), -1.0, 1.0)
        m = tf.matmul(tf.stack([[sx, 0.0], [0.0, 1.0]]), m)
    if aug.flip_vertical > 0:
        sy = tf.where(_chance(seeds[9], aug.flip_vertical), -1.0, 1.0)
        m = tf.matmul(tf.stack([[1.0, 0.0], [0.0, sy]]), m)
    return m


def _rotation(angle):
    c, s = tf.cos(angle), tf.sin(angle)
    return tf.stack([[c, -s], [s, c]])


def _warp(image, out_hw, transform, interpolation):
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=image[None],
        transforms=transform[None],
        output_shape=out_hw,
        fill_value=0.0,
        interpolation=interpolation,
        fill_mode="REFLECT",
    )[0]


def _warp_window(image, mask, fov, m, offset, out_h, out_w):
    """Resample image (bilinear) and mask/FOV (nearest) through ``input = m @ output + offset``
    (x, y order), with reflection at the image border.

    Only the window of the input the output can reach is cast to float and warped (a 64x64 patch
    needs ~120x120 pixels, not the whole 600x600 image). The window is clipped to the image;
    where the output reaches past an image edge the window also covers the pixels that the
    reflection maps back in, so the result equals warping the whole image.
    """
    out = tf.cast(
        tf.stack([[0, 0], [out_w - 1, 0], [0, out_h - 1], [out_w - 1, out_h - 1]]), tf.float32
    )
    mapped = tf.linalg.matmul(out, m, transpose_b=True) + offset  # (4, 2) input (x, y)
    low, high = tf.reduce_min(mapped, axis=0), tf.reduce_max(mapped, axis=0)
    size = tf.cast(tf.stack([tf.shape(mask)[1], tf.shape(mask)[0]]), tf.float32)
    start = tf.floor(low) - 2.0
    stop = tf.math.ceil(high) + 3.0
    # Reflection (x -> -1 - x on the left, x -> 2W - 1 - x on the right) must land in the window.
    stop = tf.where(low < 0.0, tf.maximum(stop, tf.math.ceil(-low) + 3.0), stop)
    start = tf.where(
        high > size - 1.0, tf.minimum(start, tf.floor(2.0 * size - 1.0 - high) - 2.0), start
    )
    start = tf.cast(tf.clip_by_value(start, 0.0, size - 1.0), tf.int32)
    stop = tf.cast(tf.clip_by_value(stop, 1.0, size), tf.int32)
    stop = tf.maximum(stop, start + 1)
    begin = tf.stack([start[1], start[0], 0])
    extent = tf.stack([stop[1] - start[1], stop[0] - start[0], -1])
    shifted = offset - tf.cast(start, tf.float32)
    transform = tf.stack([m[0, 0], m[0, 1], shifted[0], m[1, 0], m[1, 1], shifted[1], 0.0, 0.0])
    out_hw = tf.stack([out_h, out_w])
    window = tf.cast(tf.slice(image, begin, extent), tf.float32)
    image = _warp(window, out_hw, transform, "BILINEAR")
    masks = tf.concat([tf.slice(mask, begin, extent), tf.slice(fov, begin, extent)], axis=-1)
    masks = _warp(masks, out_hw, transform, "NEAREST")
    return image, tf.cast(masks[..., :1], tf.float32), tf.cast(masks[..., 1:], tf.float32)


def _colour(aug: Augment, image, seeds):
    """Colour augmentation of a float32 [0, 255] image."""
    x = image / 255.0
    if aug.channel_gain > 0:
        gains = tf.random.stateless_uniform(
            [3], seeds[5], 1.0 - aug.channel_gain, 1.0 + aug.channel_gain
        )
        x = x * gains
    if aug.brightness > 0:
        x = x + _uniform(seeds[0], -aug.brightness, aug.brightness)
    if aug.contrast_range != (1.0, 1.0):
        mean = tf.reduce_mean(x)
        x = (x - mean) * _uniform(seeds[1], *aug.contrast_range) + mean
    x = tf.clip_by_value(x, 0.0, 1.0)
    if aug.saturation_range != (1.0, 1.0):
        x = tf.image.adjust_saturation(x, _uniform(seeds[2], *aug.saturation_range))
    if aug.hue > 0:
        x = tf.image.adjust_hue(x, _uniform(seeds[3], -aug.hue, aug.hue))
    if aug.gamma_range != (1.0, 1.0):
        lo, hi = math.log(aug.gamma_range[0]), math.log(aug.gamma_range[1])
        x = tf.pow(tf.clip_by_value(x, 0.0, 1.0), tf.exp(_uniform(seeds[4], lo, hi)))
    return tf.clip_by_value(x, 0.0, 1.0) * 255.0


#: Ruifrok & Johnston's stain vectors (rows: haematoxylin, eosin, DAB in RGB optical density),
#: the matrix of `skimage.color.rgb2hed`; its inverse unmixes.
RGB_FROM_HED = np.array([[0.65, 0.70, 0.29], [0.07, 0.99, 0.11], [0.27, 0.57, 0.78]])
HED_FROM_RGB = np.linalg.inv(RGB_FROM_HED)
#: skimage's optical-density scale: log(1e-6), so densities are about [0, 1].
_LOG_ADJUST = math.log(1e-6)


def hed_jitter(image, scale, bias):
    """Scale and shift the H, E and DAB densities of a float32 [0, 255] RGB image (..., 3).

    ``scale`` and ``bias`` are (3,) tensors; scale 1 and bias 0 return the image (up to float
    rounding). Unlike `skimage.color.rgb2hed` the densities are not clipped at 0, so the
    round trip is exact.
    """
    rgb = tf.maximum(image / 255.0, 1e-6)
    stains = tf.tensordot(tf.math.log(rgb) / _LOG_ADJUST, HED_FROM_RGB.astype("float32"), 1)
    stains = stains * scale + bias
    log_rgb = tf.tensordot(stains * _LOG_ADJUST, RGB_FROM_HED.astype("float32"), 1)
    return tf.clip_by_value(tf.exp(log_rgb) * 255.0, 0.0, 255.0)


#: Half-width of the Gaussian blur kernel: covers 3 sigma of the largest default sigma.
_BLUR_RADIUS = 5


def _gaussian_blur(image, sigma):
    """Separable Gaussian blur of a float32 (H, W, 3) image, reflecting at the border."""
    r = _BLUR_RADIUS
    taps = tf.range(-r, r + 1, dtype=tf.float32)
    kernel = tf.exp(-0.5 * tf.square(taps / sigma))
    kernel = kernel / tf.reduce_sum(kernel)
    x = tf.pad(image[None], [[0, 0], [r, r], [r, r], [0, 0]], mode="REFLECT")
    rows = tf.tile(tf.reshape(kernel, [-1, 1, 1, 1]), [1, 1, 3, 1])
    cols = tf.tile(tf.reshape(kernel, [1, -1, 1, 1]), [1, 1, 3, 1])
    x = tf.nn.depthwise_conv2d(x, rows, [1, 1, 1, 1], "VALID")
    x = tf.nn.depthwise_conv2d(x, cols, [1, 1, 1, 1], "VALID")
    return x[0]


def _vignette(image, strength):
    """Multiply by ``1 - strength * r^2``, r the distance from the centre (1 at the corners)."""
    shape = tf.shape(image)
    ys = tf.linspace(-1.0, 1.0, shape[0])
    xs = tf.linspace(-1.0, 1.0, shape[1])
    r2 = (ys[:, None] ** 2 + xs[None, :] ** 2) / 2.0
    return image * (1.0 - strength * r2)[..., None]


#: Line segments per hair (a quadratic Bezier curve sampled at this many + 1 points).
_HAIR_SEGMENTS = 8


def draw_hairs(image, draws, count, width_range):
    """Draw ``count`` synthetic hairs on a float32 (H, W, 3) [0, 255] image.

    ``draws``: (MAX_HAIRS, 8) uniforms in [0, 1) fixing each hair's start, direction, length,
    bend, width, darkness and opacity (only the first ``count`` rows are drawn). Each hair is
    the polyline through a quadratic Bezier curve; a pixel's coverage is its distance to the
    polyline against half the width, anti-aliased over one pixel.
    """
    shape = tf.shape(image)
    h, w = tf.cast(shape[0], tf.float32), tf.cast(shape[1], tf.float32)
    side = tf.maximum(h, w)
    ys, xs = tf.meshgrid(tf.range(h), tf.range(w), indexing="ij")
    pixels = tf.reshape(tf.stack([xs, ys], -1), [-1, 1, 2]) + 0.5  # (HW, 1, 2) pixel centres
    start = draws[:, 0:2] * tf.stack([w, h])
    angle = draws[:, 2] * 2.0 * math.pi
    length = (0.2 + 0.6 * draws[:, 3]) * side
    direction = tf.stack([tf.cos(angle), tf.sin(angle)], -1)
    normal = tf.stack([-direction[:, 1], direction[:, 0]], -1)
    end = start + length[:, None] * direction
    control = (start + end) / 2 + ((draws[:, 4] - 0.5) * 0.6 * length)[:, None] * normal
    t = tf.linspace(0.0, 1.0, _HAIR_SEGMENTS + 1)[None, :, None]
    points = (1 - t) ** 2 * start[:, None] + 2 * t * (1 - t) * control[:, None]
    points += t**2 * end[:, None]  # (MAX_HAIRS, S + 1, 2)
    lo, hi = width_range
    widths = (lo + (hi - lo) * draws[:, 5]) * side
    colour = (0.04 + 0.26 * draws[:, 6])[:, None] * tf.constant([255.0, 205.0, 165.0])  # brown
    opacity = 0.6 + 0.4 * draws[:, 7]

    def draw(k, x):
        a, b = points[k, :-1][None], points[k, 1:][None]  # (1, S, 2)
        ab = b - a
        along = tf.reduce_sum((pixels - a) * ab, -1) / tf.maximum(tf.reduce_sum(ab * ab, -1), 1e-6)
        nearest = a + tf.clip_by_value(along, 0.0, 1.0)[..., None] * ab
        distance = tf.reduce_min(tf.norm(pixels - nearest, axis=-1), axis=1)  # (HW,)
        cover = tf.clip_by_value(widths[k] / 2 + 0.5 - distance, 0.0, 1.0) * opacity[k]
        return x * (1 - cover[:, None]) + colour[k] * cover[:, None]

    x = tf.reshape(image, [-1, 3])
    for k in range(MAX_HAIRS):
        # Only the drawn hairs cost anything (the distance field is the augmentation's cost).
        x = tf.cond(k < count, lambda k=k, x=x: draw(k, x), lambda x=x: x)
    return tf.reshape(x, shape)


def _photometric(aug: Augment, image, seeds):
    """Hairs (probability ``aug.hair``), then the colour transforms (probability
    ``aug.color``), then the capture degradations, each with its own probability, on a float32
    [0, 255] image."""
    x = image
    if aug.hair > 0:
        draws = tf.random.stateless_uniform([MAX_HAIRS, 8], seeds[16])
        count = tf.random.stateless_uniform(
            [], seeds[17], 1, int(aug.hair_count) + 1, dtype=tf.int32
        )
        hairy = lambda: draw_hairs(x, draws, count, aug.hair_width_range)  # noqa: E731
        x = tf.cond(_chance(seeds[18], aug.hair), hairy, lambda: x)
    if aug.hed > 0 and (aug.hed_sigma > 0 or aug.hed_bias > 0):
        draws = tf.random.stateless_uniform([2, 3], seeds[14], -1.0, 1.0)
        scale, bias = 1.0 + aug.hed_sigma * draws[0], aug.hed_bias * draws[1]
        stained = lambda: hed_jitter(x, scale, bias)  # noqa: E731
        x = tf.cond(_chance(seeds[15], aug.hed), stained, lambda: x)
    if aug.colour:
        x = tf.cond(_chance(seeds[0], aug.color), lambda: _colour(aug, x, seeds[1:7]), lambda: x)
    if aug.blur > 0:
        sigma = _uniform(seeds[7], *aug.blur_sigma_range)
        x = tf.cond(_chance(seeds[8], aug.blur), lambda: _gaussian_blur(x, sigma), lambda: x)
    if aug.vignette > 0 and aug.vignette_strength > 0:
        strength = _uniform(seeds[9], 0.0, aug.vignette_strength)
        x = tf.cond(_chance(seeds[10], aug.vignette), lambda: _vignette(x, strength), lambda: x)
    if aug.noise > 0 and aug.noise_std > 0:
        std = _uniform(seeds[11], 0.0, aug.noise_std)
        noisy = lambda: x + std * tf.random.stateless_normal(tf.shape(x), seeds[12])  # noqa: E731
        x = tf.cond(_chance(seeds[13], aug.noise), noisy, lambda: x)
    return tf.clip_by_value(x, 0.0, 255.0)


def _train_sample(image, mask, fov, coords, seed, *, patch_size, augment, foreground_fraction):
    """One training sample (float32 image, mask, fov) from a cached uint8 image.

    ``coords`` (K, 2) are the image's foreground pixels (row, col) for foreground-centred
    patches.
    """
    seeds = tf.random.experimental.stateless_split(seed, num=35)
    height, width = tf.shape(mask)[0], tf.shape(mask)[1]
    if patch_size:
        p = int(patch_size)
        out_h, out_w = tf.constant(p), tf.constant(p)

        def uniform_corner():
            y0 = tf.random.stateless_uniform([], seeds[10], 0, height - p + 1, dtype=tf.int32)
            x0 = tf.random.stateless_uniform([], seeds[11], 0, width - p + 1, dtype=tf.int32)
            return y0, x0

        if foreground_fraction > 0:

            def foreground_corner():
                count = tf.shape(coords)[0]

                def pick():
                    i = tf.random.stateless_uniform([], seeds[13], 0, count, dtype=tf.int32)
                    y0 = tf.clip_by_value(coords[i, 0] - p // 2, 0, height - p)
                    x0 = tf.clip_by_value(coords[i, 1] - p // 2, 0, width - p)
                    return y0, x0

                return tf.cond(count > 0, pick, uniform_corner)

            use_fg = _chance(seeds[12], foreground_fraction)
            y0, x0 = tf.cond(use_fg, foreground_corner, uniform_corner)
        else:
            y0, x0 = uniform_corner()
    else:
        out_h, out_w = height, width
        y0 = x0 = tf.constant(0)

    if augment is None or not augment.geometric:
        image = tf.slice(image, [y0, x0, 0], [out_h, out_w, 3])
        mask = tf.slice(mask, [y0, x0, 0], [out_h, out_w, 1])
        fov = tf.slice(fov, [y0, x0, 0], [out_h, out_w, 1])
        image, mask, fov = (tf.cast(t, tf.float32) for t in (image, mask, fov))
    else:
        m = _affine(augment, seeds, tf.equal(out_h, out_w))
        half_out = tf.cast(tf.stack([out_w - 1, out_h - 1]), tf.float32) / 2.0
        centre = tf.cast(tf.stack([x0, y0]), tf.float32) + half_out
        offset = centre - tf.linalg.matvec(m, half_out)
        image, mask, fov = _warp_window(image, mask, fov, m, offset, out_h, out_w)

    if augment is not None and augment.photometric:
        image = tf.where(fov > 0, _photometric(augment, image, seeds[14:33]), image)
    image = tf.reshape(image, tf.stack([out_h, out_w, 3]))
    if patch_size:
        image.set_shape([patch_size, patch_size, 3])
        mask.set_shape([patch_size, patch_size, 1])
        fov.set_shape([patch_size, patch_size, 1])
    return image, mask, fov


# ---------------------------------------------------------------------------------------------
# The dataset
# ---------------------------------------------------------------------------------------------


def make_dataset(
    records: Sequence[Record],
    *,
    training: bool,
    batch_size: int | None = None,
    patch_size: int | None = 64,
    image_size: tuple[int, int] | None = None,
    augment: Augment | None = None,
    foreground_fraction: float = 0.0,
    seed: int = 0,
    with_fov: bool = False,
    repeat: int | None = None,
    pad_multiple: int = 8,
    samples_per_image: int = 1,
    fov_width: float | None = None,
) -> tf.data.Dataset:
    """Build the input pipeline for a list of records.

    Args:
        records: samples (each needs a mask; FOV optional, all ones when absent).
        training: random patches / augmentation / shuffling (True), or deterministic whole
            images in record order (False).
        batch_size: default 8 for training, 1 for evaluation.
        patch_size: training: square patch side (images smaller than it are padded: image by
            reflection, mask and FOV with 0). None trains on whole images. Ignored in eval.
        image_size: (H, W) to resize every image to first (image: area when shrinking, else
            bilinear; mask and FOV nearest), done once before the cache. In training with a
            ``patch_size`` the patches are cut from the resized image.
        augment: `Augment` parameters for training (None: no augmentation). Ignored in eval.
        foreground_fraction: training patch mode: probability that a patch is centred on a
            random foreground pixel (uniform over foreground pixels) rather than placed
            uniformly; helps sparse targets.
        seed: seed of the shuffle, patch positions and augmentations.
        with_fov: yield the FOV mask as a third element (e.g. as Keras per-pixel
            ``sample_weight``).
        repeat: training: number of passes over the images per iteration; None repeats
            forever (give Keras ``steps_per_epoch``). Eval: None means one pass.
        pad_multiple: whole images (eval, or training with ``patch_size=None``) without
            ``image_size`` are padded at the bottom/right to a multiple of this (the model
            needs multiples of 8): image by reflection, mask and FOV with 0, so padding is
            outside the FOV. Batches of differently sized whole images are zero-padded to the
            largest one in the batch.
        fov_width: fundus vessel-scale normalisation: resample every sample first so its
            field of view is this many pixels wide (`rescale_to_fov_width`), before the
            cache.
        samples_per_image: training: patches drawn from each image per pass (the images are
            shuffled, the patches of consecutive images are interleaved by a patch buffer).

    Returns:
        ``tf.data.Dataset`` of ``(image float32 (B,h,w,3) in [0,255], mask float32 (B,h,w,1)
        in {0,1})``, plus ``fov float32 (B,h,w,1)`` when ``with_fov``.
    """
    records = list(records)
    if not records:
        raise DataError("make_dataset: no records")
    missing = [r.id for r in records if r.mask is None]
    if missing:
        raise DataError(f"make_dataset: records without a mask: {missing[:5]}")
    if not 0.0 <= float(foreground_fraction) <= 1.0:
        raise ValueError(f"foreground_fraction must be in [0, 1], got {foreground_fraction}")
    if image_size is not None:
        image_size = tuple(int(s) for s in image_size)
        if len(image_size) != 2 or min(image_size) < 1:
            raise ValueError(f"image_size must be (H, W), got {image_size}")
    if patch_size is not None and int(patch_size) < 1:
        raise ValueError(f"patch_size must be positive, got {patch_size}")
    if batch_size is None:
        batch_size = 8 if training else 1
    if int(batch_size) < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if augment is not None and not isinstance(augment, Augment):
        raise TypeError(f"augment must be an Augment or None, got {type(augment).__name__}")
    seed = int(seed)

    patch = int(patch_size) if (training and patch_size) else None
    whole_pad = pad_multiple if (patch is None and image_size is None) else None
    with_coords = patch is not None and float(foreground_fraction) > 0
    decoded = _decoded(records, image_size, patch, whole_pad, with_coords, fov_width)

    if not training:
        ds = decoded.map(_to_float, num_parallel_calls=AUTOTUNE, deterministic=True)
        if repeat is not None:
            ds = ds.repeat(int(repeat))
        ds = _batch(ds, int(batch_size), fixed=image_size is not None)
        if not with_fov:
            ds = ds.map(lambda image, mask, fov: (image, mask))
        return ds.prefetch(AUTOTUNE)

    n = len(records)
    ds = decoded.shuffle(n, seed=seed, reshuffle_each_iteration=True)
    k = int(samples_per_image)
    if k < 1:
        raise ValueError(f"samples_per_image must be >= 1, got {samples_per_image}")
    if k > 1:
        ds = ds.flat_map(lambda *e: tf.data.Dataset.from_tensors(e).repeat(k))
    ds = ds.repeat() if repeat is None else ds.repeat(int(repeat))
    salts = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)
    ds = tf.data.Dataset.zip(ds, salts).enumerate()

    def sample(index, element):
        (image, mask, fov, coords), salt = element
        element_seed = tf.stack([salt, index])
        return _train_sample(
            image,
            mask,
            fov,
            coords,
            element_seed,
            patch_size=patch,
            augment=augment,
            foreground_fraction=float(foreground_fraction),
        )

    ds = ds.map(sample, num_parallel_calls=AUTOTUNE, deterministic=True)
    if k > 1:
        ds = ds.shuffle(4 * k, seed=seed + 1, reshuffle_each_iteration=True)
    ds = _batch(ds, int(batch_size), fixed=patch is not None or image_size is not None)
    if not with_fov:
        ds = ds.map(lambda image, mask, fov: (image, mask))
    return ds.prefetch(AUTOTUNE)


def _decoded(
    records, image_size, min_size, pad_multiple, with_coords=False, fov_width=None
) -> tf.data.Dataset:
    """Cached uint8 (image (H,W,3), mask (H,W,1), fov (H,W,1), coords (K,2)) in record order.

    ``coords`` are foreground pixel positions for foreground-centred patches (empty unless
    ``with_coords``).
    """

    def decode(index):
        image, mask, fov = _prepare(
            records[int(index)], image_size, min_size, pad_multiple, fov_width
        )
        if with_coords:
            coords = _foreground_coords(mask[..., 0], int(index))
        else:
            coords = np.zeros((0, 2), np.int32)
        return image, mask, fov, coords

    def decode_tf(index):
        image, mask, fov, coords = tf.numpy_function(
            decode,
            [index],
            (tf.uint8, tf.uint8, tf.uint8, tf.int32),
            stateful=False,
            name="decode",
        )
        image.set_shape([None, None, 3])
        mask.set_shape([None, None, 1])
        fov.set_shape([None, None, 1])
        coords.set_shape([None, 2])
        return image, mask, fov, coords

    ds = tf.data.Dataset.range(len(records))
    ds = ds.map(decode_tf, num_parallel_calls=AUTOTUNE, deterministic=True)
    return ds.cache()


def _to_float(image, mask, fov, coords=None):
    return tf.cast(image, tf.float32), tf.cast(mask, tf.float32), tf.cast(fov, tf.float32)


def _batch(ds, batch_size, *, fixed):
    if fixed:
        return ds.batch(batch_size)
    return ds.padded_batch(
        batch_size, padded_shapes=([None, None, 3], [None, None, 1], [None, None, 1])
    )
