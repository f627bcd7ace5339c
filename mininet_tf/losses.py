"""Training losses for binary segmentation: Dice, Jaccard, BCE and their weighted combination.

This module owns the *training objective* of Mini-Net. Everything here is written with
``keras.ops`` only, so it runs under Keras 3 on the TensorFlow backend (inside ``model.fit``,
``tf.function`` and XLA) and is plain enough to reuse elsewhere. Evaluation metrics (numpy, with
explicit zero-division conventions) and the Keras training-log metrics live in
`mininet_tf.metrics`; the formulas and conventions of both are written out in
``docs/losses_and_metrics.md``.

Conventions shared by all losses:

* ``y_true`` and ``y_pred`` have shape ``(B, H, W, 1)`` (any rank >= 2 works; a ``y_true`` with
  one axis fewer gets a trailing channel axis). ``y_true`` is a binary mask in {0, 1};
  ``y_pred`` holds probabilities (the model ends in a sigmoid), not logits.
* Both are cast to float32 (also under a mixed-precision policy) before any arithmetic.
* Each loss is computed **per image** (sums over every non-batch axis: H, W, C) and the
  per-image values are then **averaged over the batch**. The per-image functions
  (``per_image_*``) return the ``(B,)`` vector; the public functions return the batch mean.

Formulas, with ``I = sum(y * p)``, ``T = sum(y)``, ``P = sum(p)`` per image and smoothing
constant ``s`` (default 1.0)::

    dice    = 1 - (2 I + s) / (T + P + s)
    jaccard = 1 - (I + s) / (T + P - I + s)
    bce     = mean over pixels of -(y log p' + (1 - y) log(1 - p')),  p' = clip(p, eps, 1 - eps)
    combined = alpha * dice + beta * jaccard + gamma * bce

An empty truth with an empty prediction gives dice = jaccard = 0 exactly (``s / s``). BCE is a
per-pixel *mean* (not a sum), so its scale does not depend on image size.

The Mini-Net paper (arXiv 2405.17520) trains with "an alpha-weighted" combination of Dice,
Jaccard and BCE but its exact weights are not available to us. The defaults here are
``alpha = beta = 0.25, gamma = 0.5``, i.e. ``CombinedLoss.from_alpha(0.5)``: half the weight on
the overlap (region) terms, split equally between Dice and Jaccard, half on pixel-wise BCE.
"""

from __future__ import annotations

import keras
from keras import ops

#: Default smoothing constant added to numerator and denominator of Dice and Jaccard.
DEFAULT_SMOOTH = 1.0
#: Default clipping of predicted probabilities in BCE: p is clipped to [eps, 1 - eps].
DEFAULT_EPSILON = 1e-7
#: Default `from_alpha` value (equal weight on overlap terms and BCE).
DEFAULT_ALPHA = 0.5

__all__ = [
    "DEFAULT_ALPHA",
    "DEFAULT_EPSILON",
    "DEFAULT_SMOOTH",
    "CombinedLoss",
    "alpha_weights",
    "bce_loss",
    "combined_loss",
    "dice_loss",
    "jaccard_loss",
    "per_image_bce",
    "per_image_dice",
    "per_image_jaccard",
]


# --------------------------------------------------------------------------------------------
# Per-image building blocks
# --------------------------------------------------------------------------------------------


def _prepare(y_true, y_pred):
    """Cast both to float32 and give ``y_true`` the rank of ``y_pred`` if it lacks the C axis."""
    y_true = ops.cast(ops.convert_to_tensor(y_true), "float32")
    y_pred = ops.cast(ops.convert_to_tensor(y_pred), "float32")
    if len(y_true.shape) == len(y_pred.shape) - 1:
        y_true = ops.expand_dims(y_true, -1)
    if len(y_true.shape) != len(y_pred.shape):
        raise ValueError(
            f"y_true and y_pred must have the same rank, got shapes {y_true.shape} and "
            f"{y_pred.shape}"
        )
    if len(y_pred.shape) < 2:
        raise ValueError(f"expected a batch of images (rank >= 2), got shape {y_pred.shape}")
    return y_true, y_pred


def _image_axes(x):
    return tuple(range(1, len(x.shape)))


def _sums(y_true, y_pred):
    axes = _image_axes(y_pred)
    intersection = ops.sum(y_true * y_pred, axis=axes)
    return intersection, ops.sum(y_true, axis=axes), ops.sum(y_pred, axis=axes)


def per_image_dice(y_true, y_pred, smooth: float = DEFAULT_SMOOTH):
    """Soft Dice loss per image, shape ``(B,)``: ``1 - (2 I + s) / (T + P + s)``."""
    y_true, y_pred = _prepare(y_true, y_pred)
    inter, t, p = _sums(y_true, y_pred)
    return 1.0 - (2.0 * inter + smooth) / (t + p + smooth)


def per_image_jaccard(y_true, y_pred, smooth: float = DEFAULT_SMOOTH):
    """Soft Jaccard (IoU) loss per image, shape ``(B,)``: ``1 - (I + s) / (T + P - I + s)``."""
    y_true, y_pred = _prepare(y_true, y_pred)
    inter, t, p = _sums(y_true, y_pred)
    return 1.0 - (inter + smooth) / (t + p - inter + smooth)


def per_image_bce(y_true, y_pred, epsilon: float = DEFAULT_EPSILON):
    """Binary cross-entropy per image, shape ``(B,)``: mean over the image's pixels (H, W, C).

    Probabilities are clipped to ``[epsilon, 1 - epsilon]`` so the loss and its gradient are
    finite even for saturated predictions.
    """
    y_true, y_pred = _prepare(y_true, y_pred)
    p = ops.clip(y_pred, epsilon, 1.0 - epsilon)
    pixel = -(y_true * ops.log(p) + (1.0 - y_true) * ops.log(1.0 - p))
    return ops.mean(pixel, axis=_image_axes(pixel))


# --------------------------------------------------------------------------------------------
# Public batch-mean losses
# --------------------------------------------------------------------------------------------


def dice_loss(y_true, y_pred, smooth: float = DEFAULT_SMOOTH):
    """Soft Dice loss: per image ``1 - (2 I + s) / (T + P + s)``, averaged over the batch.

    Args:
        y_true: binary masks, ``(B, H, W, 1)`` (or ``(B, H, W)``).
        y_pred: probabilities in [0, 1], ``(B, H, W, 1)``.
        smooth: smoothing constant ``s`` (> 0 keeps empty/empty at loss 0 instead of 0/0).

    Returns:
        Scalar float32 tensor in [0, 1].
    """
    return ops.mean(per_image_dice(y_true, y_pred, smooth))


def jaccard_loss(y_true, y_pred, smooth: float = DEFAULT_SMOOTH):
    """Soft Jaccard loss: per image ``1 - (I + s) / (T + P - I + s)``, averaged over the batch.

    Same arguments as `dice_loss`. Returns a scalar float32 tensor in [0, 1].
    """
    return ops.mean(per_image_jaccard(y_true, y_pred, smooth))


def bce_loss(y_true, y_pred, epsilon: float = DEFAULT_EPSILON):
    """Binary cross-entropy: per-pixel mean within each image, then averaged over the batch.

    Args:
        y_true: binary masks, ``(B, H, W, 1)`` (or ``(B, H, W)``).
        y_pred: probabilities in [0, 1], clipped to ``[epsilon, 1 - epsilon]``.
        epsilon: clipping constant (bounds the loss by ``-log(epsilon)`` ~ 16.1 per pixel).

    Returns:
        Scalar float32 tensor >= 0.
    """
    return ops.mean(per_image_bce(y_true, y_pred, epsilon))


# --------------------------------------------------------------------------------------------
# Combined loss
# --------------------------------------------------------------------------------------------


def alpha_weights(alpha: float) -> tuple[float, float, float]:
    """Map the single-parameter ``alpha`` to ``(dice_weight, jaccard_weight, bce_weight)``.

    Definition (the one used throughout this package)::

        loss(alpha) = alpha * (dice + jaccard) / 2 + (1 - alpha) * bce

    so ``alpha = 1`` is a pure overlap loss, ``alpha = 0`` pure BCE, and the default
    ``alpha = 0.5`` weights overlap and BCE equally. ``alpha`` must lie in [0, 1].
    """
    alpha = float(alpha)
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    return alpha / 2.0, alpha / 2.0, 1.0 - alpha


_DEFAULT_WEIGHTS = alpha_weights(DEFAULT_ALPHA)


@keras.saving.register_keras_serializable(package="mininet_tf")
class CombinedLoss(keras.losses.Loss):
    """Weighted sum of soft Dice, soft Jaccard and BCE, computed per image.

    For every image ``b`` in the batch (``I, T, P`` are sums over H, W, C of ``y*p``, ``y``,
    ``p``; ``s = smooth``; ``p' = clip(p, epsilon, 1 - epsilon)``)::

        dice_b    = 1 - (2 I + s) / (T + P + s)
        jaccard_b = 1 - (I + s) / (T + P - I + s)
        bce_b     = mean_pixels( -(y log p' + (1 - y) log(1 - p')) )
        loss_b    = alpha * dice_b + beta * jaccard_b + gamma * bce_b

    ``call`` returns the ``(B,)`` vector ``loss_b``; the Keras reduction (default
    ``"sum_over_batch_size"``) then averages it over the batch, honouring ``sample_weight``.

    Defaults ``alpha = beta = 0.25, gamma = 0.5`` equal ``CombinedLoss.from_alpha(0.5)``
    (see `alpha_weights`). The Mini-Net paper uses an alpha-weighted combination of these three
    losses but its exact alpha values are not available to us; these defaults are our choice.

    Args:
        alpha: weight of the Dice loss.
        beta: weight of the Jaccard loss.
        gamma: weight of the BCE loss.
        smooth: smoothing constant of Dice and Jaccard.
        epsilon: probability clipping of BCE.
        name, reduction, dtype: as for `keras.losses.Loss`.
    """

    def __init__(
        self,
        alpha: float = _DEFAULT_WEIGHTS[0],
        beta: float = _DEFAULT_WEIGHTS[1],
        gamma: float = _DEFAULT_WEIGHTS[2],
        smooth: float = DEFAULT_SMOOTH,
        epsilon: float = DEFAULT_EPSILON,
        name: str = "combined_loss",
        reduction: str = "sum_over_batch_size",
        dtype=None,
    ):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        for key, value in (("alpha", alpha), ("beta", beta), ("gamma", gamma)):
            if value < 0:
                raise ValueError(f"{key} must be >= 0, got {value}")
        if smooth < 0:
            raise ValueError(f"smooth must be >= 0, got {smooth}")
        if not 0.0 < epsilon < 0.5:
            raise ValueError(f"epsilon must be in (0, 0.5), got {epsilon}")
        self.alpha = float(alpha)
        self.beta = float(beta)
        self.gamma = float(gamma)
        self.smooth = float(smooth)
        self.epsilon = float(epsilon)

    @classmethod
    def from_alpha(cls, alpha: float = DEFAULT_ALPHA, **kwargs) -> CombinedLoss:
        """``alpha * (dice + jaccard) / 2 + (1 - alpha) * bce`` (see `alpha_weights`).

        Extra keyword arguments (``smooth``, ``epsilon``, ``name``, ...) go to the constructor.
        """
        a, b, g = alpha_weights(alpha)
        return cls(alpha=a, beta=b, gamma=g, **kwargs)

    def call(self, y_true, y_pred):
        y_true, y_pred = _prepare(y_true, y_pred)
        total = 0.0
        if self.alpha or self.beta:
            inter, t, p = _sums(y_true, y_pred)
            if self.alpha:
                dice = 1.0 - (2.0 * inter + self.smooth) / (t + p + self.smooth)
                total = total + self.alpha * dice
            if self.beta:
                jaccard = 1.0 - (inter + self.smooth) / (t + p - inter + self.smooth)
                total = total + self.beta * jaccard
        if self.gamma:
            total = total + self.gamma * per_image_bce(y_true, y_pred, self.epsilon)
        if isinstance(total, float):  # all weights zero
            total = ops.zeros((ops.shape(y_pred)[0],), dtype="float32")
        return total

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            alpha=self.alpha,
            beta=self.beta,
            gamma=self.gamma,
            smooth=self.smooth,
            epsilon=self.epsilon,
        )
        return config

    def __repr__(self) -> str:
        return (
            f"CombinedLoss(alpha={self.alpha:g}, beta={self.beta:g}, gamma={self.gamma:g}, "
            f"smooth={self.smooth:g}, epsilon={self.epsilon:g})"
        )


def combined_loss(alpha: float = DEFAULT_ALPHA, **kwargs) -> CombinedLoss:
    """Convenience for the alpha ablation: ``CombinedLoss.from_alpha(alpha, **kwargs)``.

    ``loss = alpha * (dice + jaccard) / 2 + (1 - alpha) * bce``. Example::

        for alpha in (0.0, 0.25, 0.5, 0.75, 1.0):
            model.compile(optimizer="adam", loss=combined_loss(alpha))
    """
    return CombinedLoss.from_alpha(alpha, **kwargs)
