"""Segmentation metrics: numpy evaluation with explicit conventions, plus Keras training metrics.

This module owns *how a segmentation is scored*. Two layers:

1. **numpy evaluation** (the numbers that go in tables): `confusion`, `scores_from_confusion`,
   `roc_auc`, `segmentation_scores`, `evaluate_all`, the streaming `SegmentationMeter` and the
   validation-split threshold search `best_threshold` / `threshold_curve`.
2. **Keras 3 metrics** for training logs: `Dice`, `IoU`, `Sensitivity`, `Specificity`
   (``keras.metrics.Metric`` subclasses, registered serializable under ``mininet_tf``), which
   follow the same conventions as the numpy functions, pooled over an epoch.

Conventions (all written out in ``docs/losses_and_metrics.md``):

* **Truth** must be binary with values in {0, 1} (bool or any numeric dtype). Anything else,
  e.g. a 0/255 mask, raises ``ValueError`` -- divide by 255 (or threshold) explicitly first.
* **Probabilities** must be finite and in [0, 1]. A pixel is predicted foreground iff
  ``prob >= threshold``; the comparison is done in the probability map's floating dtype.
* **FOV**: when given (same shape, any dtype), only pixels with ``fov > 0`` are counted.
* A trailing channel axis of size 1 is dropped, so (H, W) and (H, W, 1) inputs mix freely.
* Scores are for the **foreground class only** (no averaging with the background class).
* **Zero division**: ``sensitivity``, ``specificity``, ``precision`` and ``accuracy`` are
  ``nan`` when their denominator is 0 (undefined); ``f1 = dice`` and ``iou`` are 1.0 when
  ``tp + fp + fn == 0`` (empty truth and empty prediction agree perfectly); ``mcc`` is 0.0 when
  its denominator is 0 (as in scikit-learn); ``auc`` is ``nan`` when only one class is present.
* **Aggregation**: ``pooled`` = one confusion matrix (and one AUC) over all pixels of all
  images; ``per_image`` = mean over images of per-image scores, ignoring ``nan`` (undefined)
  values, with the number of images that contributed reported in ``n_defined``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import NamedTuple

import keras
import numpy as np
from keras import ops

__all__ = [
    "DEFAULT_AUC_BINS",
    "DEFAULT_THRESHOLDS",
    "SCORE_KEYS",
    "Confusion",
    "Dice",
    "IoU",
    "SegmentationMeter",
    "Sensitivity",
    "Specificity",
    "best_threshold",
    "confusion",
    "evaluate_all",
    "roc_auc",
    "scores_from_confusion",
    "segmentation_scores",
    "threshold_curve",
]

#: Threshold-dependent scores returned by `scores_from_confusion`, in a stable order.
SCORE_KEYS = ("sensitivity", "specificity", "accuracy", "precision", "f1", "dice", "iou", "mcc")
#: All per-image / pooled score keys (threshold-dependent scores plus the AUC).
ALL_KEYS = (*SCORE_KEYS, "auc")
#: Candidate thresholds searched by `best_threshold` by default: 0.05, 0.06, ..., 0.95.
DEFAULT_THRESHOLDS = np.round(np.linspace(0.05, 0.95, 91), 10)
#: Number of uniform probability bins of the streaming (histogram) pooled AUC.
DEFAULT_AUC_BINS = 100_000

ZERO_DIVISION = {
    "sensitivity": "nan if tp + fn == 0",
    "specificity": "nan if tn + fp == 0",
    "precision": "nan if tp + fp == 0",
    "accuracy": "nan if there are no pixels",
    "f1": "1.0 if tp + fp + fn == 0",
    "dice": "1.0 if tp + fp + fn == 0",
    "iou": "1.0 if tp + fp + fn == 0",
    "mcc": "0.0 if (tp+fp)(tp+fn)(tn+fp)(tn+fn) == 0",
    "auc": "nan if only one class is present",
}


class Confusion(NamedTuple):
    """Foreground confusion counts of one image (or pooled), all ``np.int64``."""

    tp: np.int64
    fp: np.int64
    fn: np.int64
    tn: np.int64


# --------------------------------------------------------------------------------------------
# Input validation
# --------------------------------------------------------------------------------------------


def _drop_channel(a: np.ndarray) -> np.ndarray:
    if a.ndim >= 3 and a.shape[-1] == 1:
        return a[..., 0]
    return a


def _as_truth(y_true) -> np.ndarray:
    t = _drop_channel(np.asarray(y_true))
    if t.dtype == np.bool_:
        return t
    if not (np.issubdtype(t.dtype, np.number)):
        raise ValueError(f"truth mask must be numeric or bool, got dtype {t.dtype}")
    if t.size and not np.all((t == 0) | (t == 1)):
        bad = np.unique(t[(t != 0) & (t != 1)])[:5]
        raise ValueError(
            "truth mask must be binary with values in {0, 1}; found other values "
            f"{bad.tolist()} (dtype {t.dtype}, max {t.max()}). "
            "Convert 0/255 masks with `mask // 255` or `mask > 127` before evaluating."
        )
    return t == 1


def _as_prob(y_prob) -> np.ndarray:
    p = _drop_channel(np.asarray(y_prob))
    if not np.issubdtype(p.dtype, np.floating):
        if p.dtype != np.bool_ and not np.issubdtype(p.dtype, np.number):
            raise ValueError(f"probabilities must be numeric, got dtype {p.dtype}")
        p = p.astype(np.float64)
    if p.size:
        lo, hi = p.min(), p.max()
        if not (lo >= 0.0 and hi <= 1.0):  # also catches nan
            raise ValueError(
                f"probabilities must be finite and in [0, 1], got min {lo} and max {hi} "
                "(pass sigmoid outputs, not logits or 0-255 images)"
            )
    return p


def _check_threshold(threshold) -> float:
    threshold = float(threshold)
    if not math.isfinite(threshold):
        raise ValueError(f"threshold must be finite, got {threshold}")
    return threshold


def _flatten(y_true, y_prob, fov=None) -> tuple[np.ndarray, np.ndarray]:
    """Validate one image and return 1-D (bool truth, prob) restricted to the FOV."""
    t = _as_truth(y_true)
    p = _as_prob(y_prob)
    if t.shape != p.shape:
        raise ValueError(f"truth shape {t.shape} and probability shape {p.shape} differ")
    if fov is None:
        return t.ravel(), p.ravel()
    f = _drop_channel(np.asarray(fov))
    if f.shape != t.shape:
        raise ValueError(f"fov shape {f.shape} and truth shape {t.shape} differ")
    inside = f > 0
    return t[inside], p[inside]


def _iter_images(truths, probs, fovs) -> Iterable[tuple]:
    if fovs is None:
        for t, p in zip(truths, probs, strict=True):
            yield t, p, None
    else:
        yield from zip(truths, probs, fovs, strict=True)


# --------------------------------------------------------------------------------------------
# Confusion counts and scores
# --------------------------------------------------------------------------------------------


def _confusion_flat(t: np.ndarray, p: np.ndarray, threshold: float) -> Confusion:
    pred = p >= p.dtype.type(threshold)
    n = np.int64(t.size)
    n_true = np.int64(np.count_nonzero(t))
    n_pred = np.int64(np.count_nonzero(pred))
    tp = np.int64(np.count_nonzero(t & pred))
    fp = n_pred - tp
    fn = n_true - tp
    return Confusion(tp, fp, fn, n - tp - fp - fn)


def confusion(y_true, y_prob, threshold: float = 0.5, fov=None) -> Confusion:
    """Foreground confusion counts ``(tp, fp, fn, tn)`` of ONE image, as ``np.int64``.

    Args:
        y_true: binary truth mask, values in {0, 1} (or bool); (H, W) or (H, W, 1).
        y_prob: predicted foreground probabilities in [0, 1], same shape.
        threshold: a pixel is predicted foreground iff ``y_prob >= threshold``.
        fov: optional field-of-view mask; only pixels with ``fov > 0`` are counted.

    Raises:
        ValueError: non-binary truth, probabilities outside [0, 1] or mismatched shapes.
    """
    t, p = _flatten(y_true, y_prob, fov)
    return _confusion_flat(t, p, _check_threshold(threshold))


def _ratio(num, den, undefined):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), undefined)


def scores_from_confusion(tp, fp, fn, tn) -> dict:
    """Scores of the foreground class from confusion counts.

    Works on scalars (returns Python floats) or equally-shaped arrays (returns arrays).

    * ``sensitivity = tp / (tp + fn)`` (recall), nan if ``tp + fn == 0``
    * ``specificity = tn / (tn + fp)``, nan if ``tn + fp == 0``
    * ``precision = tp / (tp + fp)``, nan if ``tp + fp == 0``
    * ``accuracy = (tp + tn) / (tp + fp + fn + tn)``, nan if there are no pixels
    * ``f1 = dice = 2 tp / (2 tp + fp + fn)``, 1.0 if ``tp + fp + fn == 0``
    * ``iou = tp / (tp + fp + fn)`` (Jaccard), 1.0 if ``tp + fp + fn == 0``
    * ``mcc = (tp tn - fp fn) / sqrt((tp+fp)(tp+fn)(tn+fp)(tn+fn))``, 0.0 if the denominator is 0
    """
    tp, fp, fn, tn = (np.asarray(x, dtype=np.float64) for x in (tp, fp, fn, tn))
    nan = np.nan
    f1 = _ratio(2.0 * tp, 2.0 * tp + fp + fn, 1.0)
    mcc_den = np.sqrt(tp + fp) * np.sqrt(tp + fn) * np.sqrt(tn + fp) * np.sqrt(tn + fn)
    out = {
        "sensitivity": _ratio(tp, tp + fn, nan),
        "specificity": _ratio(tn, tn + fp, nan),
        "accuracy": _ratio(tp + tn, tp + fp + fn + tn, nan),
        "precision": _ratio(tp, tp + fp, nan),
        "f1": f1,
        "dice": f1.copy(),
        "iou": _ratio(tp, tp + fp + fn, 1.0),
        "mcc": _ratio(tp * tn - fp * fn, mcc_den, 0.0),
    }
    if all(np.ndim(x) == 0 for x in (tp, fp, fn, tn)):
        return {k: float(v) for k, v in out.items()}
    return out


# --------------------------------------------------------------------------------------------
# ROC AUC
# --------------------------------------------------------------------------------------------


def _auc_from_counts(pos: np.ndarray, neg: np.ndarray) -> float:
    """AUC from per-group positive/negative counts, groups in increasing score order.

    Pairs within a group count 1/2 (ties), pairs across groups count 1 when the positive is in
    the higher group: ``AUC = (sum_g pos_g * neg_below_g + 0.5 * sum_g pos_g * neg_g) / (P N)``.
    """
    pos = np.asarray(pos, dtype=np.int64)
    neg = np.asarray(neg, dtype=np.int64)
    n_pos, n_neg = int(pos.sum()), int(neg.sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    neg_below = np.cumsum(neg) - neg
    twice_u = 2 * int(np.dot(pos, neg_below)) + int(np.dot(pos, neg))
    return twice_u / (2.0 * n_pos * n_neg)


def _auc_exact(t: np.ndarray, p: np.ndarray) -> float:
    n = t.size
    n_pos = int(np.count_nonzero(t))
    if n_pos == 0 or n_pos == n:
        return float("nan")
    order = np.argsort(p)
    p_sorted = p[order]
    t_sorted = t[order]
    starts = np.flatnonzero(np.concatenate(([True], p_sorted[1:] != p_sorted[:-1])))
    pos = np.add.reduceat(t_sorted.astype(np.int64), starts)
    sizes = np.diff(np.append(starts, n))
    return _auc_from_counts(pos, sizes - pos)


def roc_auc(y_true, y_prob, fov=None) -> float:
    """Exact area under the ROC curve of ONE probability map (or any 1-D score vector).

    Rank-based (Mann-Whitney U): sort once, group equal probabilities, and count every
    (foreground, background) pixel pair as 1 if the foreground pixel scores higher and 1/2 on a
    tie. Identical to ``sklearn.metrics.roc_auc_score``; O(n log n), fine for millions of pixels.

    Returns ``nan`` when only one class is present (inside the FOV).
    """
    t, p = _flatten(y_true, y_prob, fov)
    return _auc_exact(t, p)


def _bin_index(p: np.ndarray, n_bins: int) -> np.ndarray:
    idx = (p.astype(np.float64) * n_bins).astype(np.int64)
    return np.minimum(idx, n_bins - 1)


# --------------------------------------------------------------------------------------------
# Dataset-level evaluation
# --------------------------------------------------------------------------------------------


def _nanmean_with_count(values: np.ndarray) -> tuple[float, int]:
    ok = ~np.isnan(values)
    count = int(ok.sum())
    return (float(values[ok].mean()) if count else float("nan")), count


class SegmentationMeter:
    """Streaming evaluator: ``add`` one image at a time, ``result()`` like `evaluate_all`.

    Only the pooled confusion counts, a probability histogram (for the pooled AUC) and one row
    of scores per image are kept, so probability maps can be discarded after ``add``.

    Args:
        threshold: decision threshold (foreground iff ``prob >= threshold``).
        pooled_auc: ``"histogram"`` (default, constant memory) or ``"exact"`` (keeps every
            FOV pixel's probability until ``result``). The histogram uses ``auc_bins`` uniform
            bins on [0, 1] (bin ``k`` = ``[k / auc_bins, (k + 1) / auc_bins)``, 1.0 in the
            last); pixels sharing a bin count as ties. The worst-case deviation from the exact
            AUC is reported as ``conventions["pooled_auc_max_binning_error"]``.
            Per-image AUCs are always exact.
        auc_bins: number of histogram bins (default 100 000, i.e. resolution 1e-5).
    """

    def __init__(
        self,
        threshold: float = 0.5,
        pooled_auc: str = "histogram",
        auc_bins: int = DEFAULT_AUC_BINS,
    ):
        if pooled_auc not in ("histogram", "exact"):
            raise ValueError(f"pooled_auc must be 'histogram' or 'exact', got {pooled_auc!r}")
        if int(auc_bins) < 1:
            raise ValueError(f"auc_bins must be >= 1, got {auc_bins}")
        self.threshold = _check_threshold(threshold)
        self.pooled_auc = pooled_auc
        self.auc_bins = int(auc_bins)
        self.reset()

    def reset(self) -> None:
        """Forget every image added so far."""
        self._counts = np.zeros(4, dtype=np.int64)
        self._rows: list[list[float]] = []
        self._any_fov = False
        if self.pooled_auc == "histogram":
            self._pos_hist = np.zeros(self.auc_bins, dtype=np.int64)
            self._neg_hist = np.zeros(self.auc_bins, dtype=np.int64)
        else:
            self._truth_chunks: list[np.ndarray] = []
            self._prob_chunks: list[np.ndarray] = []

    @property
    def n_images(self) -> int:
        return len(self._rows)

    def add(self, y_true, y_prob, fov=None) -> dict:
        """Add one image; returns that image's scores (including its exact ``auc``)."""
        t, p = _flatten(y_true, y_prob, fov)
        self._any_fov |= fov is not None
        counts = _confusion_flat(t, p, self.threshold)
        self._counts += np.asarray(counts, dtype=np.int64)
        scores = scores_from_confusion(*counts)
        scores["auc"] = _auc_exact(t, p)
        self._rows.append([scores[k] for k in ALL_KEYS])
        if self.pooled_auc == "histogram":
            idx = _bin_index(p, self.auc_bins)
            self._pos_hist += np.bincount(idx[t], minlength=self.auc_bins)
            self._neg_hist += np.bincount(idx[~t], minlength=self.auc_bins)
        else:
            self._truth_chunks.append(t.copy())
            self._prob_chunks.append(p.copy())
        return scores

    def _pooled_auc(self) -> tuple[float, float]:
        if self.pooled_auc == "exact":
            if not self._truth_chunks:
                return float("nan"), 0.0
            t = np.concatenate(self._truth_chunks)
            p = np.concatenate(self._prob_chunks)
            return _auc_exact(t, p), 0.0
        auc = _auc_from_counts(self._pos_hist, self._neg_hist)
        pairs = int(self._pos_hist.sum()) * int(self._neg_hist.sum())
        tied = int(np.dot(self._pos_hist, self._neg_hist))
        return auc, (0.5 * tied / pairs if pairs else 0.0)

    def pooled(self) -> dict:
        """Scores of one confusion matrix over all pixels of all images (+ pooled ``auc``)."""
        self._require_images()
        out = scores_from_confusion(*self._counts)
        out["auc"] = self._pooled_auc()[0]
        out.update(zip(("tp", "fp", "fn", "tn"), (int(c) for c in self._counts), strict=True))
        out["n_images"] = self.n_images
        return out

    def per_image(self) -> dict:
        """Mean over images of per-image scores, ignoring undefined (nan) values."""
        self._require_images()
        rows = np.asarray(self._rows, dtype=np.float64)
        out: dict = {}
        n_defined = {}
        for j, key in enumerate(ALL_KEYS):
            out[key], n_defined[key] = _nanmean_with_count(rows[:, j])
        out["n_images"] = self.n_images
        out["n_defined"] = n_defined
        return out

    def conventions(self) -> dict:
        if self.pooled_auc == "exact":
            method = "exact (rank-based, ties count 1/2)"
            err = 0.0
        else:
            method = f"histogram ({self.auc_bins} uniform bins on [0, 1], in-bin pairs count 1/2)"
            err = self._pooled_auc()[1] if self.n_images else 0.0
        return {
            "threshold": self.threshold,
            "prediction": "foreground iff prob >= threshold",
            "truth": "binary {0, 1}",
            "fov": self._any_fov,
            "foreground_only": True,
            "pooled": "one confusion matrix / one AUC over all (FOV) pixels of all images",
            "per_image": "mean over images of per-image scores, nan (undefined) ignored",
            "pooled_auc": method,
            "pooled_auc_max_binning_error": err,
            "per_image_auc": "exact (rank-based, ties count 1/2)",
            "zero_division": dict(ZERO_DIVISION),
        }

    def result(self) -> dict:
        """``{"pooled": ..., "per_image": ..., "n_images": N, "conventions": ...}``."""
        return {
            "pooled": self.pooled(),
            "per_image": self.per_image(),
            "n_images": self.n_images,
            "conventions": self.conventions(),
        }

    def _require_images(self) -> None:
        if not self._rows:
            raise ValueError("no images have been added to the meter")


def evaluate_all(truths, probs, fovs=None, threshold: float = 0.5) -> dict:
    """Evaluate a dataset both ways in one pass (exact AUCs).

    Args:
        truths, probs, fovs: iterables of per-image arrays (sizes may differ between images;
            an (N, H, W[, 1]) array also works). ``fovs`` may be None.
        threshold: decision threshold (foreground iff ``prob >= threshold``).

    Returns:
        ``{"pooled": {...}, "per_image": {...}, "n_images": N, "conventions": {...}}`` where
        ``pooled``/``per_image`` hold every key of `SCORE_KEYS` plus ``auc`` and ``n_images``;
        ``pooled`` also holds the summed ``tp, fp, fn, tn`` and ``per_image`` holds
        ``n_defined`` (per key, the number of images where the score was defined).
    """
    meter = SegmentationMeter(threshold=threshold, pooled_auc="exact")
    for t, p, f in _iter_images(truths, probs, fovs):
        meter.add(t, p, f)
    return meter.result()


def segmentation_scores(
    truths, probs, fovs=None, threshold: float = 0.5, aggregate: str = "pooled"
) -> dict:
    """Scores over a list of images, ``aggregate="pooled"`` or ``"per_image"``.

    ``pooled``: one confusion matrix (and one exact AUC) over all pixels of all images, i.e.
    large images weigh more. ``per_image``: the mean of per-image scores (and of per-image
    AUCs), each image weighing the same; undefined (nan) per-image values are skipped and
    counted in ``n_defined``. See `evaluate_all` for the arguments and returned keys.
    """
    if aggregate not in ("pooled", "per_image"):
        raise ValueError(f"aggregate must be 'pooled' or 'per_image', got {aggregate!r}")
    return evaluate_all(truths, probs, fovs, threshold)[aggregate]


# --------------------------------------------------------------------------------------------
# Threshold selection (on the validation split)
# --------------------------------------------------------------------------------------------


def _candidate_counts(t: np.ndarray, p: np.ndarray, cands: np.ndarray) -> np.ndarray:
    """(4, K) confusion counts of one image for every candidate threshold, in one pass.

    ``j = #candidates <= p`` so ``p >= c_i  <=>  j > i``; histogram ``j`` per class and take
    reverse cumulative sums. Exact (comparisons in the probability dtype, like `confusion`).
    """
    k = cands.size
    j = np.searchsorted(cands.astype(p.dtype), p, side="right")
    pos = np.bincount(j[t], minlength=k + 1)
    neg = np.bincount(j[~t], minlength=k + 1)
    tp = np.cumsum(pos[::-1])[::-1][1:]
    fp = np.cumsum(neg[::-1])[::-1][1:]
    return np.stack([tp, fp, pos.sum() - tp, neg.sum() - fp]).astype(np.int64)


def threshold_curve(
    truths,
    probs,
    fovs=None,
    metric: str = "f1",
    aggregate: str = "pooled",
    candidates: Sequence[float] | np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``(candidates, scores)``: ``metric`` at every candidate threshold (sorted ascending).

    One pass over the images, one ``searchsorted`` + ``bincount`` per image: exact counts for
    every candidate without re-thresholding. See `best_threshold` for the arguments.
    """
    if metric not in SCORE_KEYS:
        raise ValueError(f"metric must be one of {SCORE_KEYS}, got {metric!r}")
    if aggregate not in ("pooled", "per_image"):
        raise ValueError(f"aggregate must be 'pooled' or 'per_image', got {aggregate!r}")
    cands = DEFAULT_THRESHOLDS if candidates is None else np.asarray(candidates, np.float64)
    cands = np.unique(cands.ravel())  # sorted, unique
    if cands.size == 0 or not np.all(np.isfinite(cands)):
        raise ValueError("candidates must be a non-empty sequence of finite thresholds")
    pooled = np.zeros((4, cands.size), dtype=np.int64)
    per_sum = np.zeros(cands.size)
    per_cnt = np.zeros(cands.size, dtype=np.int64)
    n = 0
    for t_img, p_img, f_img in _iter_images(truths, probs, fovs):
        t, p = _flatten(t_img, p_img, f_img)
        counts = _candidate_counts(t, p, cands)
        n += 1
        if aggregate == "pooled":
            pooled += counts
        else:
            s = scores_from_confusion(*counts)[metric]
            ok = ~np.isnan(s)
            per_sum[ok] += s[ok]
            per_cnt += ok
    if n == 0:
        raise ValueError("no images given")
    if aggregate == "pooled":
        scores = scores_from_confusion(*pooled)[metric]
    else:
        with np.errstate(invalid="ignore", divide="ignore"):
            scores = np.where(per_cnt > 0, per_sum / np.maximum(per_cnt, 1), np.nan)
    return cands, np.asarray(scores, dtype=np.float64)


def best_threshold(
    truths,
    probs,
    fovs=None,
    metric: str = "f1",
    aggregate: str = "pooled",
    candidates: Sequence[float] | np.ndarray | None = None,
) -> tuple[float, float]:
    """Decision threshold maximising ``metric`` -- run it on the VALIDATION split only.

    Args:
        truths, probs, fovs: as for `evaluate_all` (any iterables; one pass).
        metric: a key of `SCORE_KEYS` (default ``"f1"``).
        aggregate: ``"pooled"`` or ``"per_image"`` (as in `segmentation_scores`).
        candidates: thresholds to try; default `DEFAULT_THRESHOLDS` = 0.05, 0.06, ..., 0.95.

    Returns:
        ``(threshold, score)``. Among equal best scores the smallest threshold wins. Passing the
        threshold to `segmentation_scores` reproduces ``score`` exactly.
    """
    cands, scores = threshold_curve(truths, probs, fovs, metric, aggregate, candidates)
    if np.all(np.isnan(scores)):
        raise ValueError(f"{metric} is undefined at every candidate threshold")
    i = int(np.nanargmax(scores))
    return float(cands[i]), float(scores[i])


# --------------------------------------------------------------------------------------------
# Keras metrics (training logs)
# --------------------------------------------------------------------------------------------


class _ConfusionMetric(keras.metrics.Metric):
    """Accumulates foreground tp/fp/fn/tn over batches (float64 state); subclasses score them.

    ``y_true`` is binarised as ``y_true > 0.5``; a pixel is predicted foreground iff
    ``y_pred >= threshold`` (the same rule as the numpy functions). ``sample_weight`` (per
    sample or per pixel) weights the counts.
    """

    _default_name = "confusion"

    def __init__(self, threshold: float = 0.5, name: str | None = None, dtype=None):
        super().__init__(name=name or self._default_name, dtype=dtype)
        self.threshold = _check_threshold(threshold)
        self.tp = self.add_variable(shape=(), initializer="zeros", dtype="float64", name="tp")
        self.fp = self.add_variable(shape=(), initializer="zeros", dtype="float64", name="fp")
        self.fn = self.add_variable(shape=(), initializer="zeros", dtype="float64", name="fn")
        self.tn = self.add_variable(shape=(), initializer="zeros", dtype="float64", name="tn")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = ops.cast(ops.convert_to_tensor(y_true), "float32")
        y_pred = ops.cast(ops.convert_to_tensor(y_pred), "float32")
        if len(y_true.shape) == len(y_pred.shape) - 1:
            y_true = ops.expand_dims(y_true, -1)
        t = ops.cast(ops.greater(y_true, 0.5), "float64")
        p = ops.cast(ops.greater_equal(y_pred, self.threshold), "float64")
        if sample_weight is None:
            w = ops.ones_like(p)
        else:
            w = ops.cast(ops.convert_to_tensor(sample_weight), "float64")
            while len(w.shape) < len(p.shape):
                w = ops.expand_dims(w, -1)
            w = ops.broadcast_to(w, ops.shape(p))
        tp = ops.sum(t * p * w)
        fp = ops.sum((1.0 - t) * p * w)
        fn = ops.sum(t * (1.0 - p) * w)
        tn = ops.sum((1.0 - t) * (1.0 - p) * w)
        self.tp.assign_add(tp)
        self.fp.assign_add(fp)
        self.fn.assign_add(fn)
        self.tn.assign_add(tn)

    def _score(self, tp, fp, fn, tn):  # pragma: no cover - abstract
        raise NotImplementedError

    def result(self):
        value = self._score(
            ops.convert_to_tensor(self.tp),
            ops.convert_to_tensor(self.fp),
            ops.convert_to_tensor(self.fn),
            ops.convert_to_tensor(self.tn),
        )
        return ops.cast(value, self.dtype)

    def get_config(self) -> dict:
        config = super().get_config()
        config["threshold"] = self.threshold
        return config


def _safe_ratio(num, den, undefined: float):
    return ops.where(den > 0, num / ops.maximum(den, 1e-300), undefined)


@keras.saving.register_keras_serializable(package="mininet_tf")
class Dice(_ConfusionMetric):
    """Foreground Dice (= F1) pooled over all batches: ``2 tp / (2 tp + fp + fn)``.

    1.0 when ``tp + fp + fn == 0`` (same convention as `scores_from_confusion`).
    """

    _default_name = "dice"

    def _score(self, tp, fp, fn, tn):
        return _safe_ratio(2.0 * tp, 2.0 * tp + fp + fn, 1.0)


@keras.saving.register_keras_serializable(package="mininet_tf")
class IoU(_ConfusionMetric):
    """Foreground IoU (Jaccard) pooled over all batches: ``tp / (tp + fp + fn)``.

    Only the foreground class is scored. Note that ``keras.metrics.BinaryIoU`` averages the IoU
    of the background *and* foreground classes by default (``target_class_ids=(0, 1)``), which
    inflates the number for small structures (the background IoU is close to 1) -- the trap this
    metric avoids. 1.0 when ``tp + fp + fn == 0``.
    """

    _default_name = "iou"

    def _score(self, tp, fp, fn, tn):
        return _safe_ratio(tp, tp + fp + fn, 1.0)


@keras.saving.register_keras_serializable(package="mininet_tf")
class Sensitivity(_ConfusionMetric):
    """Sensitivity (recall) pooled over all batches: ``tp / (tp + fn)``; nan if undefined."""

    _default_name = "sensitivity"

    def _score(self, tp, fp, fn, tn):
        return _safe_ratio(tp, tp + fn, float("nan"))


@keras.saving.register_keras_serializable(package="mininet_tf")
class Specificity(_ConfusionMetric):
    """Specificity pooled over all batches: ``tn / (tn + fp)``; nan if undefined."""

    _default_name = "specificity"

    def _score(self, tp, fp, fn, tn):
        return _safe_ratio(tn, tn + fp, float("nan"))
