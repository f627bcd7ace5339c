"""The U-Net baseline: standard shape, much larger than Mini-Net, usable by the same pipeline."""

import numpy as np

from mininet_tf.baselines import build_unet
from mininet_tf.inference import KerasSegmenter
from mininet_tf.model import build_mininet, required_multiple


def unet_parameters(widths=(16, 32, 64, 128, 256)) -> int:
    """Ronneberger's U-Net counted by hand: per level two bias-free 3x3 convs each followed by
    BatchNorm (4 values per channel), a 2x2 stride-2 transposed conv (with bias) up, the skip
    concatenated, and a 1x1 head with bias."""

    def conv_bn(c_in, c_out):
        return 9 * c_in * c_out + 4 * c_out

    total, c_in = 0, 3
    for width in widths:  # encoder levels and the bottleneck
        total += conv_bn(c_in, width) + conv_bn(width, width)
        c_in = width
    for width in reversed(widths[:-1]):
        total += 4 * c_in * width + width  # transposed conv
        total += conv_bn(2 * width, width) + conv_bn(width, width)
        c_in = width
    return total + c_in + 1


def test_unet_is_the_standard_large_baseline():
    unet = build_unet()
    assert unet.count_params() == unet_parameters() == 1_945_521
    assert unet.count_params() > 40 * build_mininet().count_params()
    assert required_multiple(unet) == 16
    # All weights zero: every conv outputs 0, so the head's logit is 0 everywhere and the
    # sigmoid gives exactly 0.5 (a head without sigmoid would give 0).
    unet.set_weights([np.zeros_like(w) for w in unet.get_weights()])
    y = unet.predict(np.full((1, 32, 48, 3), 200.0, "float32"), verbose=0)
    assert y.shape == (1, 32, 48, 1)
    np.testing.assert_array_equal(y, 0.5)


def test_unet_goes_through_the_shared_inference_path():
    small = build_unet(widths=(4, 8, 16))
    image = np.random.default_rng(0).integers(0, 256, (37, 45, 3), dtype=np.uint8)
    prob = KerasSegmenter(small).predict(image)
    assert prob.shape == (37, 45)


def test_unet_rebuilds_and_exports_like_mininet(tmp_path):
    """Fixed-size rebuild, MAC count and a float32 TFLite export that matches Keras, so the
    baseline's latency can be measured on the same runtimes as Mini-Net's."""
    import pytest

    from mininet_lite import TFLiteSegmenter
    from mininet_tf.export import export
    from mininet_tf.inference import write_card
    from mininet_tf.model import count_macs, model_config, rebuild_at_size

    small = build_unet(widths=(4, 8, 16))
    small.set_weights([w + 0.01 for w in small.get_weights()])
    fixed = rebuild_at_size(small, 32, 32)
    x = np.random.default_rng(1).integers(0, 256, (1, 32, 32, 3)).astype("float32")
    np.testing.assert_allclose(fixed(x), small(x), atol=1e-6)
    assert count_macs(small, 32, 32) > 0
    with pytest.raises(ValueError, match="not built by build_mininet"):
        model_config(small)

    path = tmp_path / "unet.keras"
    small.save(path)
    policy = {"mode": "tile", "size": [32, 32], "overlap": 8, "multiple": 4}
    write_card(path, {"threshold": 0.5, "input_policy": policy})
    card = export(path, tmp_path / "lite" / "unet.tflite", "float32", size=(32, 32))
    assert card["input"]["shape"] == [1, 32, 32, 3]
    image = x[0].astype(np.uint8)
    lite = TFLiteSegmenter(tmp_path / "lite" / "unet.tflite").predict(image)
    np.testing.assert_allclose(lite, KerasSegmenter(path).predict(image), atol=1e-5)
