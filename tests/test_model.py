"""Behaviour of the Mini-Net builder: shapes, budget, dynamic sizes, serialization, tf_keras parity."""

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from mininet_tf.model import (
    build_mininet,
    count_macs,
    model_config,
    parameter_counts,
    rebuild_at_size,
    required_multiple,
)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def model():
    return build_mininet()


def test_parameter_budget(model):
    counts = parameter_counts(model)
    # The paper: "fewer than 38,000 parameters (about 37.7k)"; we count like Keras'
    # count_params(), i.e. including BatchNorm moving statistics.
    assert model.count_params() == counts["total"]
    assert abs(counts["total"] - 37_700) <= 0.03 * 37_700
    assert counts["total"] < 38_000
    assert counts["non_trainable"] > 0
    assert counts["trainable"] + counts["non_trainable"] == counts["total"]


@pytest.mark.parametrize("size", [(64, 64), (96, 128), (584 + 8 - 584 % 8, 568)])
def test_output_shape_and_range_on_dynamic_sizes(model, size):
    h, w = size
    x = np.random.default_rng(0).uniform(0, 255, (2, h, w, 3)).astype("float32")
    y = model.predict(x, verbose=0)
    assert y.shape == (2, h, w, 1)
    # The output is the logistic function of the last layer's input, computed here in numpy
    # (a missing or different final activation fails), and each image is independent of the
    # other in the batch (inference mode: BatchNorm uses its moving statistics).
    logits = keras.Model(model.input, model.get_layer("probabilities").input)
    z = np.asarray(logits.predict(x, verbose=0), np.float64)
    np.testing.assert_allclose(y, 1.0 / (1.0 + np.exp(-z)), atol=1e-6)
    np.testing.assert_allclose(model.predict(x[1:], verbose=0), y[1:], atol=1e-5)


def test_raw_pixels_are_normalised_inside_the_graph(model):
    assert model.layers[1].name == "rescale"
    x = np.full((1, 32, 32, 3), 255.0, "float32")
    assert np.allclose(model.get_layer("rescale")(x), 1.0)
    assert np.allclose(model.get_layer("rescale")(np.zeros_like(x)), -1.0)


def test_training_on_two_different_sizes_in_one_model(model):
    m = build_mininet()
    m.compile(keras.optimizers.Adam(1e-3), "binary_crossentropy")
    rng = np.random.default_rng(1)
    for h, w in [(32, 48), (64, 40)]:
        x = rng.uniform(0, 255, (2, h, w, 3)).astype("float32")
        y = (rng.random((2, h, w, 1)) > 0.8).astype("float32")
        loss = m.train_on_batch(x, y)
        assert np.isfinite(loss)


def test_required_multiple_and_invalid_args(model):
    assert required_multiple(model) == 8
    assert required_multiple([8, 16, 32, 64, 128]) == 16
    with pytest.raises(ValueError, match="widths"):
        build_mininet(widths=[16])
    with pytest.raises(ValueError, match="upsampling"):
        build_mininet(upsampling="cubic")


def test_widths_are_configurable_and_multiclass():
    m = build_mininet(widths=(8, 16, 24), num_classes=3, expansion=1.5)
    cfg = model_config(m)
    assert cfg["widths"] == [8, 16, 24]
    assert cfg["num_classes"] == 3
    assert cfg["expansion"] == 1.5
    y = m.predict(np.zeros((1, 16, 16, 3), "float32"), verbose=0)
    assert y.shape == (1, 16, 16, 3)
    assert np.allclose(y.sum(-1), 1.0, atol=1e-5)
    assert m.count_params() < build_mininet().count_params()


def test_layer_names_are_explicit_and_unique(model):
    names = [layer.name for layer in model.layers]
    assert len(names) == len(set(names))
    for prefix in ("stem", "enc0_expand", "skip0_s1", "skip0_s2", "bottleneck", "dec0", "head"):
        assert any(n.startswith(prefix) for n in names), prefix


def test_keras_round_trip_needs_no_custom_objects(model, tmp_path):
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    x = np.random.default_rng(2).uniform(0, 255, (1, 48, 64, 3)).astype("float32")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)


def test_rebuild_at_fixed_size_keeps_weights(model):
    fixed = rebuild_at_size(model, 64, 64)
    assert fixed.input_shape == (None, 64, 64, 3)
    x = np.random.default_rng(3).uniform(0, 255, (1, 64, 64, 3)).astype("float32")
    np.testing.assert_allclose(fixed.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)


def test_macs_count_a_plain_conv_exactly():
    inputs = keras.Input((16, 16, 4))
    out = keras.layers.Conv2D(8, 3, padding="same")(inputs)
    conv = keras.Model(inputs, out).layers[-1]
    from mininet_tf.model import layer_macs

    assert layer_macs(conv) == 16 * 16 * 4 * 8 * 9
    m = build_mininet()
    assert count_macs(m, 128, 128) * 4 == count_macs(m, 256, 256)


def test_model_cli_prints_params_and_macs():
    out = subprocess.run(
        [sys.executable, "-m", "mininet_tf.model", "--size", "64", "64", "--quiet"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    ).stdout
    model = build_mininet()
    params = re.search(r"parameters: trainable ([\d,]+) .* total ([\d,]+)", out)
    macs = re.search(r"MACs at 64x64: ([\d,]+)", out)
    assert params and macs, out
    assert int(params[1].replace(",", "")) == sum(
        int(np.prod(w.shape)) for w in model.trainable_weights
    )
    assert int(params[2].replace(",", "")) == model.count_params()
    assert int(macs[1].replace(",", "")) == count_macs(model, 64, 64)


PARITY_CHILD = r"""
import os, sys, json
os.environ["TF_USE_LEGACY_KERAS"] = "1"
import numpy as np, tf_keras
from mininet_tf.model import build_mininet
weights = np.load(sys.argv[1], allow_pickle=False)
m = build_mininet(keras_module=tf_keras)
m.set_weights([weights[f"w{i}"] for i in range(len(weights.files))])
x = np.load(sys.argv[2])
np.save(sys.argv[3], m.predict(x, verbose=0))
print(json.dumps([layer.name for layer in m.layers]))
"""


def test_tf_keras_graph_takes_the_keras3_weights_and_agrees(model, tmp_path):
    # find_spec, not importorskip: importing tf_keras here would put Keras 2 in this process.
    if importlib.util.find_spec("tf_keras") is None:
        pytest.skip("tf_keras is not installed")
    rng = np.random.default_rng(4)
    # Non-trivial BN statistics so that the comparison covers them too.
    m = build_mininet()
    m.set_weights([w + rng.normal(0, 0.05, w.shape).astype(w.dtype) for w in m.get_weights()])
    x = rng.uniform(0, 255, (2, 64, 96, 3)).astype("float32")
    np.savez(tmp_path / "w.npz", **{f"w{i}": w for i, w in enumerate(m.get_weights())})
    np.save(tmp_path / "x.npy", x)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            PARITY_CHILD,
            tmp_path / "w.npz",
            tmp_path / "x.npy",
            tmp_path / "y.npy",
        ],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout
    names = json.loads(out.strip().splitlines()[-1])
    assert names == [layer.name for layer in m.layers]
    np.testing.assert_allclose(np.load(tmp_path / "y.npy"), m.predict(x, verbose=0), atol=1e-5)
