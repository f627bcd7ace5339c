"""The U-Net baseline: standard shape, much larger than Mini-Net, usable by the same pipeline."""

import numpy as np

from mininet_tf.baselines import build_unet
from mininet_tf.inference import KerasSegmenter
from mininet_tf.model import build_mininet, required_multiple


def test_unet_is_the_standard_large_baseline():
    unet = build_unet()
    assert unet.count_params() > 40 * build_mininet().count_params()
    assert required_multiple(unet) == 16
    y = unet.predict(np.zeros((1, 32, 48, 3), "float32"), verbose=0)
    assert y.shape == (1, 32, 48, 1) and np.all((y >= 0) & (y <= 1))


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
