"""Reference architectures trained with the same recipe, to put Mini-Net's budget in context.

`build_unet` is the standard U-Net (Ronneberger et al., 2015) in the keras-io style: two
3x3 conv + BN + ReLU per level, max-pooling down, transposed convolutions up, concatenated
skips, a 1x1 sigmoid head, raw pixels normalised inside the graph like Mini-Net.
"""

from __future__ import annotations

from collections.abc import Sequence

from mininet_tf.blocks import conv_bn

DEFAULT_UNET_WIDTHS = (16, 32, 64, 128, 256)


def build_unet(
    input_shape: tuple = (None, None, 3),
    num_classes: int = 1,
    widths: Sequence[int] = DEFAULT_UNET_WIDTHS,
    keras_module=None,
    name: str = "unet",
):
    """Standard U-Net; ``widths`` per level, the last is the bottleneck.

    Layer names follow Mini-Net's conventions (``enc{i}_pool``, ``head_conv``...) so the
    inference and export helpers treat both models alike.
    """
    if keras_module is None:
        import keras as keras_module
    layers = keras_module.layers
    widths = [int(w) for w in widths]

    inputs = layers.Input(shape=input_shape, name="image")
    x = layers.Rescaling(1.0 / 127.5, offset=-1.0, name="rescale")(inputs)
    skips = []
    for level, width in enumerate(widths[:-1]):
        x = conv_bn(x, layers, width, 3, f"enc{level}_a")
        x = conv_bn(x, layers, width, 3, f"enc{level}_b")
        skips.append(x)
        x = layers.MaxPooling2D(2, name=f"enc{level}_pool")(x)
    x = conv_bn(x, layers, widths[-1], 3, "bottleneck_a")
    x = conv_bn(x, layers, widths[-1], 3, "bottleneck_b")
    for level in reversed(range(len(widths) - 1)):
        x = layers.Conv2DTranspose(
            widths[level], 2, strides=2, padding="same", name=f"dec{level}_up"
        )(x)
        x = layers.Concatenate(name=f"dec{level}_concat")([x, skips[level]])
        x = conv_bn(x, layers, widths[level], 3, f"dec{level}_a")
        x = conv_bn(x, layers, widths[level], 3, f"dec{level}_b")
    x = layers.Conv2D(num_classes, 1, name="head_conv")(x)
    activation = "sigmoid" if num_classes == 1 else "softmax"
    outputs = layers.Activation(activation, dtype="float32", name="probabilities")(x)
    return keras_module.Model(inputs, outputs, name=name)


def is_unet(model) -> bool:
    """Whether ``model`` was built by `build_unet` (it has the plain-conv bottleneck)."""
    return any(layer.name == "bottleneck_a_conv" for layer in model.layers)


def unet_config(model) -> dict:
    """The `build_unet` arguments that rebuild ``model`` (widths, num_classes)."""
    levels = sum(1 for layer in model.layers if layer.name.endswith("_pool"))
    widths = [model.get_layer(f"enc{i}_a_conv").filters for i in range(levels)]
    widths.append(model.get_layer("bottleneck_a_conv").filters)
    return {"widths": widths, "num_classes": int(model.get_layer("head_conv").filters)}
