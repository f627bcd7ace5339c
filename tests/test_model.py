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
    build_mininet_fast,
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


def _hand_built_graph(widths=(16, 24, 30, 40), expansion=2.0, scales=(1, 2), stem_stride=1):
    """Mini-Net written out by hand from docs/architecture.md: ``{layer: (inputs, params)}``.

    Parameters are counted with the textbook formulas (no Keras involved): a k x k conv
    cin -> cout without bias has k*k*cin*cout, a depthwise-separable one k*k*cin + cin*cout,
    a depthwise one k*k*c, a BatchNorm 4*c (gamma, beta and the two moving statistics that
    Keras' count_params() includes), the 1x1 head cout*cin + cout (it has a bias); the fast
    variant's head is a 4x4 transposed conv: 4*4*cin*cout + cout.
    """
    graph = {"image": ((), 0), "rescale": (("image",), 0)}

    def bn(name, source, c):
        graph[name] = ((source,), 4 * c)

    def plain(name, source, cin, cout, k):
        graph[f"{name}_conv"] = ((source,), k * k * cin * cout)
        bn(f"{name}_bn", f"{name}_conv", cout)

    def expand_squeeze(name, source, cin, f):
        e = round(f * expansion)
        graph[f"{name}_expand_sepconv"] = ((source,), 9 * cin + cin * e)
        bn(f"{name}_expand_bn", f"{name}_expand_sepconv", e)
        graph[f"{name}_expand_relu"] = ((f"{name}_expand_bn",), 0)
        plain(f"{name}_squeeze", f"{name}_expand_relu", e, f, 1)
        last = f"{name}_squeeze_bn"
        if cin == f:  # residual only when the channels already match
            graph[f"{name}_add"] = ((source, last), 0)
            last = f"{name}_add"
        graph[f"{name}_out"] = ((last,), 0)
        return f"{name}_out"

    def dmres(name, source, c):
        outs = []
        for s in scales:
            p = f"{name}_s{s}"
            b = source
            if s > 1:
                graph[f"{p}_pool"] = ((b,), 0)
                b = f"{p}_pool"
            graph[f"{p}_dwconv"] = ((b,), 9 * c)
            bn(f"{p}_dw_bn", f"{p}_dwconv", c)
            graph[f"{p}_dw_relu"] = ((f"{p}_dw_bn",), 0)
            plain(f"{p}_pw", f"{p}_dw_relu", c, c, 1)
            b = f"{p}_pw_bn"
            if s > 1:
                graph[f"{p}_up"] = ((b,), 0)
                b = f"{p}_up"
            graph[f"{p}_add"] = ((source, b), 0)
            graph[f"{p}_out"] = ((f"{p}_add",), 0)
            outs.append(f"{p}_out")
        graph[f"{name}_concat"] = (tuple(outs), 0)
        plain(f"{name}_fuse", f"{name}_concat", len(scales) * c, c, 1)
        graph[f"{name}_add"] = ((source, f"{name}_fuse_bn"), 0)
        graph[f"{name}_out"] = ((f"{name}_add",), 0)
        return f"{name}_out"

    plain("stem", "rescale", 3, widths[0], 3)
    graph["stem_relu"] = (("stem_bn",), 0)
    x, cin, skips = "stem_relu", widths[0], []
    for level, f in enumerate(widths[:-1]):
        x, cin = expand_squeeze(f"enc{level}", x, cin, f), f
        skips.append(dmres(f"skip{level}", x, f))
        graph[f"enc{level}_pool"] = ((x,), 0)
        x = f"enc{level}_pool"
    x, cin = expand_squeeze("bottleneck", x, cin, widths[-1]), widths[-1]
    for level in reversed(range(len(widths) - 1)):
        graph[f"dec{level}_up"] = ((x,), 0)
        graph[f"dec{level}_concat"] = ((f"dec{level}_up", skips[level]), 0)
        x = expand_squeeze(f"dec{level}", f"dec{level}_concat", cin + widths[level], widths[level])
        cin = widths[level]
    if stem_stride == 1:
        graph["head_conv"] = ((x,), cin + 1)
        graph["probabilities"] = (("head_conv",), 0)
    else:  # sub-pixel head: 1x1 conv to stride**2 logits, then depth-to-space
        graph["head_conv"] = ((x,), stem_stride**2 * (cin + 1))
        graph["head_shuffle"] = (("head_conv",), 0)
        graph["probabilities"] = (("head_shuffle",), 0)
    return graph


def _keras_graph(model):
    """``{layer: (input layer names, params)}`` read from the model's serialized config."""

    def sources(node):
        if isinstance(node, dict):
            history = node.get("config", {}).get("keras_history") if "config" in node else None
            if history:
                return [history[0]]
            return [n for v in node.values() for n in sources(v)]
        if isinstance(node, list | tuple):
            return [n for v in node for n in sources(v)]
        return []

    params = {layer.name: layer.count_params() for layer in model.layers}
    return {
        layer["name"]: (tuple(sources(layer["inbound_nodes"])), params[layer["name"]])
        for layer in model.get_config()["layers"]
    }


def test_graph_and_parameters_equal_the_hand_built_network(model):
    """Every layer's name, inputs (in order) and parameter count equal a Mini-Net written out
    by hand; a missing or extra residual, a wrong skip, a renamed layer or another expansion
    rounding fails. The total is the paper's "fewer than 38,000 (about 37.7k)"."""
    hand = _hand_built_graph()
    got = _keras_graph(model)
    assert set(got) == set(hand), (sorted(set(got) - set(hand)), sorted(set(hand) - set(got)))
    for name, (inputs, params) in hand.items():
        assert got[name] == (inputs, params), name
    total = sum(params for _, params in hand.values())
    assert total == 37_831 and model.count_params() == total
    counts = parameter_counts(model)
    # BatchNorm moving mean and variance (2 per channel) are the non-trainable ones.
    moving = sum(p // 2 for n, (_, p) in hand.items() if n.endswith("_bn"))
    assert counts == {"trainable": total - moving, "non_trainable": moving, "total": total}
    # Other widths/expansion/scales: the same hand construction.
    small = build_mininet(widths=(8, 12, 16), expansion=1.5, dmres_scales=(1, 2, 4))
    assert _keras_graph(small) == _hand_built_graph((8, 12, 16), 1.5, (1, 2, 4))


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


def test_fast_variant_graph_and_parameters_equal_the_hand_built_network():
    fast = build_mininet_fast()
    assert fast.name == "mininet_fast"
    assert _keras_graph(fast) == _hand_built_graph(stem_stride=2)
    assert fast.get_layer("stem_conv").strides == (2, 2)


def test_fast_variant_runs_the_network_at_half_resolution():
    """Known answer: at 2H x 2W the fast variant does the default's MACs at H x W, except the
    head (1x1 conv to 1 channel, 16 MACs per half-resolution pixel, predicts 4 sub-pixels: 64)."""
    h, w = 64, 96
    default = count_macs(build_mininet(), h, w)
    fast_model = build_mininet_fast()
    assert count_macs(fast_model, 2 * h, 2 * w) == default - h * w * 16 + h * w * 16 * 4
    assert required_multiple(fast_model) == 16
    assert required_multiple([16, 24, 30, 40], stem_stride=2) == 16
    y = fast_model.predict(np.zeros((1, 48, 80, 3), "float32"), verbose=0)
    assert y.shape == (1, 48, 80, 1)
    assert model_config(fast_model) == {**model_config(build_mininet()), "stem_stride": 2}
    assert "stem_stride" not in model_config(build_mininet())  # older cards stay valid
    rebuilt = rebuild_at_size(fast_model, 32, 32)
    assert rebuilt.name == "mininet_fast" and rebuilt.get_layer("stem_conv").strides == (2, 2)
    with pytest.raises(ValueError, match="stem_stride"):
        build_mininet(stem_stride=3)


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


def test_layer_names_are_unique(model):
    names = [layer.name for layer in model.layers]
    assert len(names) == len(set(names)) == len(_hand_built_graph())


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


def test_fast_variant_with_the_old_transposed_head_is_refused_with_a_reason():
    """Fast models saved before the sub-pixel head cannot be rebuilt for export: say so."""
    old = build_mininet_fast()
    layers = keras.layers
    x = old.get_layer("dec0_out").output
    x = layers.Conv2DTranspose(1, 4, strides=2, padding="same", name="head_conv")(x)
    old = keras.Model(old.input, layers.Activation("sigmoid", name="probabilities")(x))
    with pytest.raises(ValueError, match="transposed-conv head.*retrain"):
        model_config(old)
