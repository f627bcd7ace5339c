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
