"""Vessel-scale normalisation for fundus photographs, in numpy only (no TensorFlow, no OpenCV).

Vessel calibre in pixels grows with the width of the camera's field of view (FOV) in pixels:
measured on the training masks, mean calibre / mean FOV width is 0.0055 on DRIVE (2.95 px /
539 px), 0.0057 on STARE (3.76 / 661) and 0.0062 on CHASE_DB1 (5.63 / 915;
benchmarks/results/cross_dataset_drive.json). A vessel model
learns the calibre of its training camera, so an image from another camera is resampled until
its FOV is as wide as the training images' (`FovRescaled`), segmented, and the probabilities
resampled back to the image's size. The FOV width comes from the image alone (`fov_width`),
so this works on any new photograph.
"""

from __future__ import annotations

import numpy as np

from .tiling import resize_float, resize_uint8

#: A column belongs to the FOV when its count of bright pixels is at least this share of the
#: largest column's (the disc's diameter): the disc's edges stay in, specks and text do not.
_COLUMN_SHARE = 0.05


def fov_width(image: np.ndarray) -> int:
    """Width in pixels of the bright, roughly circular field of view of a fundus photograph.

    The red channel (the brightest in fundus images) above ``max(10, 0.1 * its 99th
    percentile)`` -- the threshold of `mininet_tf.data.io.derive_fov` -- then the longest run
    of columns holding at least 5% as many bright pixels as the fullest column, so specks and
    burnt-in text outside the disc do not widen it. Raises ValueError when nothing is bright (not a fundus image).
    """
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[-1] < 3:
        raise ValueError(f"expected an (H, W, 3) image, got shape {image.shape}")
    red = image[..., 0].astype(np.float32)
    threshold = max(10.0, 0.1 * float(np.percentile(red, 99)))
    counts = (red > threshold).sum(axis=0)
    if counts.max() == 0:
        raise ValueError("no field of view found: the image has no bright region")
    inside = counts >= _COLUMN_SHARE * counts.max()
    # Longest run of True in `inside`.
    edges = np.diff(np.concatenate([[0], inside.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return int((ends - starts).max())


def rescale_factor(image: np.ndarray, reference_width: float) -> float:
    """Factor that makes the FOV of ``image`` ``reference_width`` pixels wide."""
    if not reference_width > 0:
        raise ValueError(f"reference FOV width must be positive, got {reference_width}")
    return float(reference_width) / fov_width(image)


class FovRescaled:
    """Wrap a segmenter (anything with ``predict(image) -> (H, W) probabilities`` and a
    ``threshold``): each image is resampled so its FOV is ``reference_width`` pixels wide,
    segmented, and its probability map resampled back to the image's size.

    ``factors`` lists the factor applied to each image, for reports.
    """

    def __init__(self, segmenter, reference_width: float):
        if not reference_width > 0:
            raise ValueError(f"reference FOV width must be positive, got {reference_width}")
        self.segmenter = segmenter
        self.reference_width = float(reference_width)
        self.fov_width = self.reference_width
        self.threshold = segmenter.threshold
        self.factors: list[float] = []

    def __getattr__(self, name):
        # Everything else (path, card, tta, policy) is the wrapped segmenter's.
        if name == "segmenter":  # not set yet (copy, unpickling): no recursion
            raise AttributeError(name)
        return getattr(self.segmenter, name)

    def predict(self, image: np.ndarray) -> np.ndarray:
        height, width = image.shape[:2]
        factor = rescale_factor(image, self.reference_width)
        self.factors.append(factor)
        small = resize_uint8(image, max(8, round(height * factor)), max(8, round(width * factor)))
        prob = self.segmenter.predict(small)
        return resize_float(prob, height, width)


def resolve_fov_width(value, card: dict | None) -> float | None:
    """The reference FOV width that ``--fov-width value`` asks for.

    None (not given): the model's own choice -- its card's ``fov_width`` when the card says the
    model was trained on normalised images (``fov_normalised``), else no rescaling. "none": no
    rescaling. "auto": the card's ``fov_width`` (for a model trained at its camera's own scale,
    the mean FOV width of its training images); a number: that width in pixels.
    """
    card = card or {}
    if value is None:
        return float(card["fov_width"]) if card.get("fov_normalised") else None
    if value == "none":
        return None
    if value == "auto":
        width = card.get("fov_width")
        if width is None:
            raise ValueError(
                "--fov-width auto: the model card records no fov_width (not a fundus model, or "
                "trained before it was recorded); pass the training images' FOV width in pixels"
            )
        return float(width)
    try:
        width = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"--fov-width must be 'none', 'auto' or pixels, got {value!r}") from None
    if not width > 0:
        raise ValueError(f"--fov-width must be positive, got {value!r}")
    return width


def with_fov_width(segmenter, value):
    """``segmenter`` wrapped in `FovRescaled` as ``value`` asks (`resolve_fov_width`), else
    itself. The result's ``fov_width`` is the reference width or None."""
    width = resolve_fov_width(value, getattr(segmenter, "card", None))
    if width is None:
        segmenter.fov_width = None
        return segmenter
    return FovRescaled(segmenter, width)


def add_fov_argument(parser) -> None:
    """The --fov-width option of predict, infer and evaluate."""
    parser.add_argument(
        "--fov-width",
        default=None,
        help="vessel-scale normalisation for fundus photographs from other cameras: resample "
        "each image so its field of view is this many pixels wide before inference ('auto': "
        "the width recorded in the model card, that of its training images; 'none': off; "
        "default: on for models trained on normalised images (card fov_normalised), else off)",
    )
