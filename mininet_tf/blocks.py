"""Mini-Net building blocks as plain functions over tensors.

Owns the two blocks the paper names, `expand_squeeze` and `dmres`, plus the small conv/BN/ReLU
unit they share. Every function takes the layer namespace (`keras.layers` or `tf_keras.layers`)
so the same code builds the Keras 3 training graph and the tf_keras graph that quantization-aware
training needs; both get identical layer names, so weights transfer by name or by order.

Only layers that tfmot 0.8 can wrap for QAT, that convert to full-int8 TFLite and that the LiteRT
GPU delegate runs are used: Conv2D, SeparableConv2D, DepthwiseConv2D, BatchNormalization, ReLU,
Add and Concatenate, plus `DepthToSpace` (the fast variant's sub-pixel head; Keras has no such
layer, so it is defined here and registered for `.keras` loading, and the QAT child supplies its
tf_keras twin). The reasoning behind each block is in docs/architecture.md.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras

#: BatchNorm moving-average momentum. Keras' default (0.99) averages over ~100 steps; in short
#: CPU-sized runs with a high learning rate the moving statistics then lag the weights and the
#: inference-mode output collapses (seen: validation F1 0.00 while training Dice was 0.88, and
#: 0.93 after re-estimating the statistics). 0.9 is PyTorch's default (momentum=0.1).
BN_MOMENTUM = 0.9


@keras.saving.register_keras_serializable(package="mininet_tf")
class DepthToSpace(keras.layers.Layer):
    """Rearranges (N, H, W, C * b * b) into (N, H * b, W * b, C): a sub-pixel upsampling.

    Converts to the TFLite DEPTH_TO_SPACE op, which XNNPACK runs in int8 at memory speed (a
    transposed conv head ran 1.5x slower overall: docs/benchmarks.md, #18).
    """

    def __init__(self, block_size: int = 2, **kwargs):
        super().__init__(**kwargs)
        self.block_size = int(block_size)

    def call(self, inputs):
        return keras.ops.depth_to_space(inputs, self.block_size)

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        b = self.block_size
        return (n, None if h is None else h * b, None if w is None else w * b, c // (b * b))

    def get_config(self):
        return {**super().get_config(), "block_size": self.block_size}


def depth_to_space(x, layers, block_size: int, name: str):
    """`DepthToSpace` from the layer namespace when it has one (the QAT child's tf_keras
    namespace does), else this module's Keras 3 layer."""
    layer_class = getattr(layers, "DepthToSpace", DepthToSpace)
    return layer_class(block_size, name=name)(x)


def conv_bn(x, layers, filters, kernel_size, name, *, separable=False, relu=True, strides=1):
    """Conv (plain or depthwise-separable) -> BatchNorm -> optional ReLU.

    Convs carry no bias because the following BatchNorm has its own shift.
    """
    if separable:
        x = layers.SeparableConv2D(
            filters, kernel_size, padding="same", use_bias=False, name=f"{name}_sepconv"
        )(x)
    else:
        x = layers.Conv2D(
            filters,
            kernel_size,
            strides=strides,
            padding="same",
            use_bias=False,
            name=f"{name}_conv",
        )(x)
    x = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{name}_bn")(x)
    if relu:
        x = layers.ReLU(name=f"{name}_relu")(x)
    return x


def expand_squeeze(x, layers, filters: int, name: str, *, expansion: float = 2.0):
    """Expand-Squeeze block (ESDMR-Net): widen cheaply, then compress.

    expand:  3x3 depthwise-separable conv to ``expansion * filters`` channels, BN, ReLU.
    squeeze: 1x1 conv back to ``filters`` channels (the bottleneck), BN.
    A residual connection is added when the input already has ``filters`` channels, then ReLU.

    Args:
        x: input tensor (N, H, W, C).
        layers: `keras.layers` or `tf_keras.layers`.
        filters: output channels.
        name: prefix for every layer name.
        expansion: width multiplier of the expanded representation.

    Returns:
        Tensor (N, H, W, filters).
    """
    expanded = max(1, int(round(filters * expansion)))
    y = conv_bn(x, layers, expanded, 3, f"{name}_expand", separable=True)
    y = conv_bn(y, layers, filters, 1, f"{name}_squeeze", relu=False)
    if x.shape[-1] == filters:
        y = layers.Add(name=f"{name}_add")([x, y])
    return layers.ReLU(name=f"{name}_out")(y)


def dmres(x, layers, name: str, *, scales: Sequence[int] = (1, 2), interpolation: str = "nearest"):
    """Dual multi-scale residual block (DMRes), used on the skip connections.

    Two parallel residual branches look at the same features at different scales. The
    ``scale=1`` branch (3x3 at full resolution) keeps fine, high-frequency detail such as thin
    vessel walls and lesion borders. A ``scale=s`` branch average-pools by ``s``, applies the
    same 3x3 unit there and upsamples back: it sees an ``s``-times wider,
    low-pass-filtered context at ``1/s**2`` of the cost. Each branch is depthwise conv -> BN ->
    ReLU -> 1x1 conv -> BN with its own residual. The branches are concatenated, fused by a
    1x1 conv + BN, and an outer residual adds the block input back before the final ReLU.
    Output channels equal input channels. (Dilated convs would also widen the view, but
    tf_keras lowers them to SPACE_TO_BATCH_ND, which the LiteRT GPU delegate does not run.)

    Args:
        x: input tensor (N, H, W, C); H and W must be divisible by every scale.
        layers: `keras.layers` or `tf_keras.layers`.
        name: prefix for every layer name.
        scales: one resolution divisor per branch; two gives the paper's "dual" block.
        interpolation: UpSampling2D interpolation of the low-frequency branch.

    Returns:
        Tensor with the shape of ``x``.
    """
    channels = x.shape[-1]
    branches = []
    for scale in scales:
        prefix = f"{name}_s{scale}"
        b = x
        if scale > 1:
            b = layers.AveragePooling2D(scale, name=f"{prefix}_pool")(b)
        b = layers.DepthwiseConv2D(3, padding="same", use_bias=False, name=f"{prefix}_dwconv")(b)
        b = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{prefix}_dw_bn")(b)
        b = layers.ReLU(name=f"{prefix}_dw_relu")(b)
        b = conv_bn(b, layers, channels, 1, f"{prefix}_pw", relu=False)
        if scale > 1:
            b = layers.UpSampling2D(scale, interpolation=interpolation, name=f"{prefix}_up")(b)
        b = layers.Add(name=f"{prefix}_add")([x, b])
        branches.append(layers.ReLU(name=f"{prefix}_out")(b))
    y = layers.Concatenate(name=f"{name}_concat")(branches)
    y = conv_bn(y, layers, channels, 1, f"{name}_fuse", relu=False)
    y = layers.Add(name=f"{name}_add")([x, y])
    return layers.ReLU(name=f"{name}_out")(y)
