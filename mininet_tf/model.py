"""The reconstructed Mini-Net: builder, parameter/MAC accounting and a `python -m` summary.

`build_mininet` returns a functional Keras 3 model by default, or the identical graph in
tf_keras (Keras 2) when given ``keras_module=tf_keras`` (the quantization-aware training path).
Layer names are stable and identical in both, so ``set_weights(get_weights())`` transfers.

Usage:
    >>> from mininet_tf.model import build_mininet
    >>> model = build_mininet()            # (None, None, 3) raw RGB in [0, 255] -> probabilities
    >>> model.count_params()

    python -m mininet_tf.model --size 512 512
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from mininet_tf.blocks import conv_bn, depth_to_space, dmres, expand_squeeze

#: Default widths: one entry per resolution level, the last one is the bottleneck.
DEFAULT_WIDTHS = (16, 24, 30, 40)
DEFAULT_EXPANSION = 2.0
DEFAULT_SCALES = (1, 2)


def build_mininet(
    input_shape: tuple = (None, None, 3),
    num_classes: int = 1,
    widths: Sequence[int] = DEFAULT_WIDTHS,
    expansion: float = DEFAULT_EXPANSION,
    dmres_scales: Sequence[int] = DEFAULT_SCALES,
    upsampling: str = "nearest",
    stem_stride: int = 1,
    keras_module=None,
    name: str | None = None,
):
    """Build Mini-Net as a functional model.

    Input is raw RGB in [0, 255] (any float or integer dtype cast to float32); the rescaling to
    [-1, 1] is the first layer, so exported models take raw pixels. Output is a per-pixel
    probability map: sigmoid for ``num_classes == 1``, softmax over classes otherwise.

    Args:
        input_shape: (H, W, 3). H and W may be None; at run time they must be multiples of
            ``stem_stride * 2 ** (len(widths) - 1)`` (see `required_multiple`).
        num_classes: 1 for binary segmentation, or the number of classes.
        widths: channels per resolution level, shallow to deep; the last is the bottleneck.
        expansion: Expand-Squeeze expansion ratio.
        dmres_scales: DMRes branch resolution divisors (two: high- and low-frequency branch).
        upsampling: "nearest" (default) or "bilinear", the UpSampling2D interpolation in the
            decoder and in DMRes. Keras 3 implements "bilinear" with a resize whose output size
            must be static, so a "bilinear" model only trains and runs at a fixed input_shape;
            "nearest" (a repeat) works with dynamic H, W.
        stem_stride: 1 (default: the documented reconstruction) or 2: the fast variant
            (`build_mininet_fast`), whose strided stem runs the whole network at half resolution
            and whose head is a sub-pixel (depth-to-space) 2x upsampling (docs/architecture.md).
        keras_module: `keras` (default) or `tf_keras` for the QAT graph.
        name: model name ("mininet", or "mininet_fast" for ``stem_stride`` 2).

    Returns:
        A functional `keras.Model` (or `tf_keras.Model`).
    """
    if keras_module is None:
        import keras as keras_module
    layers = keras_module.layers
    widths = [int(w) for w in widths]
    if len(widths) < 2:
        raise ValueError(f"widths needs at least two levels (encoder + bottleneck), got {widths}")
    if upsampling not in ("bilinear", "nearest"):
        raise ValueError(f"upsampling must be 'bilinear' or 'nearest', got {upsampling!r}")
    if stem_stride not in (1, 2):
        raise ValueError(f"stem_stride must be 1 or 2, got {stem_stride!r}")
    if name is None:
        name = "mininet" if stem_stride == 1 else "mininet_fast"

    # === Input and in-graph normalisation ===
    inputs = layers.Input(shape=input_shape, name="image")
    x = layers.Rescaling(1.0 / 127.5, offset=-1.0, name="rescale")(inputs)
    x = conv_bn(x, layers, widths[0], 3, "stem", strides=stem_stride)

    # === Encoder: Expand-Squeeze per level, DMRes on each skip, then downsample ===
    skips = []
    for level, width in enumerate(widths[:-1]):
        x = expand_squeeze(x, layers, width, f"enc{level}", expansion=expansion)
        skips.append(
            dmres(x, layers, f"skip{level}", scales=dmres_scales, interpolation=upsampling)
        )
        x = layers.MaxPooling2D(2, name=f"enc{level}_pool")(x)

    # === Bottleneck ===
    x = expand_squeeze(x, layers, widths[-1], "bottleneck", expansion=expansion)

    # === Decoder: upsample, concatenate the refined skip, Expand-Squeeze ===
    for level in reversed(range(len(widths) - 1)):
        x = layers.UpSampling2D(2, interpolation=upsampling, name=f"dec{level}_up")(x)
        x = layers.Concatenate(name=f"dec{level}_concat")([x, skips[level]])
        x = expand_squeeze(x, layers, widths[level], f"dec{level}", expansion=expansion)

    # === Head (back to full resolution when the stem strided) ===
    if stem_stride == 1:
        x = layers.Conv2D(num_classes, 1, name="head_conv")(x)
    else:
        # Sub-pixel head: a 1x1 conv predicts the stride**2 full-resolution logits of each
        # half-resolution pixel, DEPTH_TO_SPACE puts them in place. A 4x4 stride-2 transposed
        # conv (the first fast head) ran 1.5x slower in int8 and varied run to run (#18).
        x = layers.Conv2D(num_classes * stem_stride**2, 1, name="head_conv")(x)
        x = depth_to_space(x, layers, stem_stride, "head_shuffle")
    activation = "sigmoid" if num_classes == 1 else "softmax"
    outputs = layers.Activation(activation, dtype="float32", name="probabilities")(x)
    return keras_module.Model(inputs, outputs, name=name)


def build_mininet_fast(**kwargs):
    """The fast variant: `build_mininet` with ``stem_stride=2`` (see docs/architecture.md)."""
    return build_mininet(stem_stride=2, **kwargs)


def required_multiple(model_or_widths, stem_stride: int = 1) -> int:
    """The H and W multiple the model needs: stem stride * 2 ** number of poolings."""
    if isinstance(model_or_widths, Sequence):
        return stem_stride * 2 ** (len(model_or_widths) - 1)
    names = {layer.name: layer for layer in model_or_widths.layers}
    pools = [name for name in names if name.startswith("enc") and name.endswith("_pool")]
    stride = int(names["stem_conv"].strides[0]) if "stem_conv" in names else 1
    return stride * 2 ** len(pools)


def parameter_counts(model) -> dict:
    """Trainable, non-trainable (BatchNorm moving statistics) and total parameter counts."""
    import numpy as np

    trainable = int(sum(np.prod(w.shape) for w in model.trainable_weights))
    non_trainable = int(sum(np.prod(w.shape) for w in model.non_trainable_weights))
    return {
        "trainable": trainable,
        "non_trainable": non_trainable,
        "total": trainable + non_trainable,
    }


def count_macs(model, height: int, width: int) -> int:
    """Multiply-accumulates of one forward pass at (height, width), counted per conv layer.

    Counts Conv2D, SeparableConv2D, DepthwiseConv2D and Conv2DTranspose (the layers that
    dominate cost); BatchNorm, ReLU, adds, pooling and resizing are elementwise and omitted.
    """
    fixed = rebuild_at_size(model, height, width)
    return sum(layer_macs(layer) for layer in fixed.layers)


def layer_macs(layer) -> int:
    """MACs of one conv-type layer from its config and built output shape (0 for others)."""
    kind = type(layer).__name__
    if kind not in ("Conv2D", "SeparableConv2D", "DepthwiseConv2D", "Conv2DTranspose"):
        return 0
    out_h, out_w, out_c = layer.output.shape[1:4]
    in_c = layer.input.shape[-1]
    kh, kw = layer.kernel_size
    pixels = out_h * out_w
    if kind == "DepthwiseConv2D":
        return pixels * in_c * layer.depth_multiplier * kh * kw
    if kind == "SeparableConv2D":
        mult = layer.depth_multiplier
        return pixels * in_c * mult * kh * kw + pixels * in_c * mult * out_c
    if kind == "Conv2DTranspose":
        in_h, in_w = layer.input.shape[1:3]
        return in_h * in_w * in_c * out_c * kh * kw
    return pixels * in_c * out_c * kh * kw


def model_config(model) -> dict:
    """The builder arguments of a model built by `build_mininet`, read back from its layers."""
    names = {layer.name: layer for layer in model.layers}
    if "bottleneck_squeeze_conv" not in names:
        raise ValueError(f"model {model.name!r} was not built by build_mininet")
    widths = []
    level = 0
    while f"enc{level}_squeeze_conv" in names:
        widths.append(int(names[f"enc{level}_squeeze_conv"].filters))
        level += 1
    widths.append(int(names["bottleneck_squeeze_conv"].filters))
    expanded = int(names["enc0_expand_sepconv"].filters)
    scales = sorted(
        int(layer.name.split("_")[1][1:])
        for layer in model.layers
        if layer.name.startswith("skip0_") and layer.name.endswith("_dwconv")
    )
    config = {
        "num_classes": int(names["head_conv"].filters) // int(names["stem_conv"].strides[0]) ** 2,
        "widths": widths,
        "expansion": expanded / widths[0],
        "dmres_scales": scales,
        "upsampling": names["dec0_up"].interpolation,
    }
    stem_stride = int(names["stem_conv"].strides[0])
    if stem_stride != 1 and type(names["head_conv"]).__name__ == "Conv2DTranspose":
        raise ValueError(
            f"model {model.name!r} is a fast variant with the transposed-conv head of "
            "mininet-tf before the sub-pixel head (#18); this version cannot rebuild it: "
            "retrain it with --architecture mininet_fast"
        )
    if stem_stride != 1:  # only the fast variant records it: older cards stay as they are
        config["stem_stride"] = stem_stride
    return config


def rebuild_at_size(model, height: int | None, width: int | None, keras_module=None):
    """The same graph with a fixed (or dynamic, with None) input size and the same weights.

    TFLite export needs a fixed size because Keras 3 `UpSampling2D` does not convert with
    dynamic H, W; the weights do not depend on the size, so they copy over unchanged.
    """
    builder, config = builder_and_config(model)
    fixed = builder(input_shape=(height, width, 3), keras_module=keras_module, **config)
    fixed.set_weights(model.get_weights())
    return fixed


def builder_and_config(model):
    """The builder that made ``model`` (`build_mininet`, or the U-Net baseline's `build_unet`)
    and the keyword arguments that rebuild it, so export and MAC counts serve both."""
    from mininet_tf.baselines import build_unet, is_unet, unet_config

    if is_unet(model):
        return build_unet, unet_config(model)
    return build_mininet, model_config(model)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m mininet_tf.model",
        description="Print Mini-Net's summary, parameter counts and MACs at an input size.",
    )
    parser.add_argument("--size", type=int, nargs=2, default=(512, 512), metavar=("H", "W"))
    parser.add_argument("--widths", type=int, nargs="+", default=list(DEFAULT_WIDTHS))
    parser.add_argument("--expansion", type=float, default=DEFAULT_EXPANSION)
    parser.add_argument("--dmres-scales", type=int, nargs="+", default=list(DEFAULT_SCALES))
    parser.add_argument("--num-classes", type=int, default=1)
    parser.add_argument("--quiet", action="store_true", help="skip the layer-by-layer summary")
    args = parser.parse_args(argv)

    height, width = args.size
    model = build_mininet(
        input_shape=(height, width, 3),
        num_classes=args.num_classes,
        widths=args.widths,
        expansion=args.expansion,
        dmres_scales=args.dmres_scales,
    )
    if not args.quiet:
        model.summary(line_length=110)
    counts = parameter_counts(model)
    macs = count_macs(model, height, width)
    print(
        f"parameters: trainable {counts['trainable']:,}  non-trainable (BN moving stats) "
        f"{counts['non_trainable']:,}  total {counts['total']:,}"
    )
    print(
        f"MACs at {height}x{width}: {macs:,} ({macs / 1e9:.3f} G); "
        f"{macs / (height * width):,.0f} per pixel"
    )


if __name__ == "__main__":
    main()
