"""`mininet_tf.export`: every mode on a small model (shape, dtype, range, agreement with
Keras), the op list, full-int8-ness, the pinned input range, compaction, the model card."""

import hashlib
import json

import keras
import numpy as np
import pytest

from mininet_lite import InputPolicy, TFLiteSegmenter
from mininet_lite.runtime import load_interpreter
from mininet_tf import convert as cv
from mininet_tf import export as ex
from mininet_tf import modelcard
from mininet_tf.data import get_split
from mininet_tf.data.io import read_image
from mininet_tf.inference import KerasSegmenter, write_card
from mininet_tf.model import build_mininet, build_mininet_fast, count_macs

# Exports, QAT or external tools: outside the fast loop (pytest -m "not slow").
pytestmark = pytest.mark.slow

SMALL_WIDTHS = (8, 16, 24)
SIZE = 64
#: Ops of Keras 3's nearest UpSampling2D (a repeat) that must not appear in exports.
REPEAT_OPS = {"TILE", "SHAPE", "STRIDED_SLICE", "EXPAND_DIMS", "RESHAPE", "BROADCAST_TO"}
SMALL_CARD = {
    "format": "mininet_tf.keras_card/1",
    "threshold": 0.5,
    "threshold_selected_on": "fixed 0.5 (test model)",
    "dataset": "synthetic",
    "input_policy": {"mode": "tile", "size": [SIZE, SIZE], "overlap": 8, "multiple": 4},
    "config": {
        "dataset": "synthetic",
        "data_dir": None,
        "val_fraction": 0.2,
        "seed": 0,
        "patch_size": SIZE,
        "image_size": None,
        "batch_size": 4,
        "steps_per_epoch": 3,
        "augment": False,
        "foreground_fraction": 0.5,
        "loss_alpha": 0.5,
        "widths": list(SMALL_WIDTHS),
    },
    "train_images": 38,
    "val_images": 10,
}


def small_model(base, builder=build_mininet):
    """A widths-(8, 16, 24) Mini-Net trained 60 steps on the synthetic vessels, with a card.

    Trained, not random: a random network is not smooth, so int8 noise flips many pixels,
    while a trained one (even briefly) behaves like the real models. Cached under ``base``
    (the session's temp root) so every test module reuses one model.
    """
    from mininet_tf.data.pipeline import make_dataset
    from mininet_tf.losses import CombinedLoss

    stem = "small" if builder is build_mininet else f"small_{builder.__name__}"
    path = base / "edge_small_model" / f"{stem}.keras"
    if path.is_file():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(0)
    model = builder(widths=SMALL_WIDTHS)
    model.compile(keras.optimizers.Adam(1e-2), CombinedLoss.from_alpha(0.5))
    records = get_split("synthetic", None, "train")
    data = make_dataset(
        records, training=True, batch_size=8, patch_size=SIZE, foreground_fraction=0.5
    )
    model.fit(data, epochs=1, steps_per_epoch=60, shuffle=False, verbose=0)
    model.save(path)
    from mininet_tf.model import required_multiple

    policy = {**SMALL_CARD["input_policy"], "multiple": required_multiple(model)}
    write_card(path, {**SMALL_CARD, "input_policy": policy})
    return path


def sample_images(n=3):
    return [read_image(r.image) for r in get_split("synthetic", None, "test")[:n]]


def keras_probs(model_path, policy, images):
    segmenter = KerasSegmenter(model_path, policy=policy)
    return [segmenter.predict(image) for image in images]


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    return small_model(tmp_path_factory.getbasetemp())


@pytest.fixture(scope="module")
def exports(model_path, tmp_path_factory):
    out = tmp_path_factory.mktemp("exports")
    cards = {}
    for mode in ex.MODES:
        cards[mode] = ex.export(
            model_path,
            out / f"small_{mode}.tflite",
            mode,
            size=(SIZE, SIZE),
            calib_samples=8,
            eval_dataset="synthetic" if mode == "int8" else None,
        )
    return out, cards


def test_export_graph_is_the_same_function(model_path):
    """Resizing-nearest at a fixed size equals Keras 3's UpSampling2D repeat, bit for bit."""
    model = keras.models.load_model(model_path, compile=False)
    graph = ex.export_graph(model, SIZE, SIZE, input_dtype="uint8")
    assert [layer.name for layer in graph.layers] == [layer.name for layer in model.layers]
    assert {type(layer).__name__ for layer in graph.layers if "_up" in layer.name} == {"Resizing"}
    x = np.random.default_rng(0).integers(0, 256, (1, SIZE, SIZE, 3), dtype=np.uint8)
    np.testing.assert_allclose(
        np.asarray(graph(x, training=False)),
        np.asarray(model(x.astype(np.float32), training=False)),
        rtol=0,
        atol=1e-6,
    )


@pytest.mark.parametrize("mode", ex.MODES)
def test_mode_exports_and_agrees_with_keras(exports, model_path, mode):
    out, cards = exports
    path = out / f"small_{mode}.tflite"
    interpreter = load_interpreter(path)
    inp = interpreter.get_input_details()[0]
    outp = interpreter.get_output_details()[0]
    assert list(inp["shape"]) == [1, SIZE, SIZE, 3] and inp["dtype"] == np.uint8
    assert list(outp["shape"]) == [1, SIZE, SIZE, 1]
    assert outp["dtype"] == (np.uint8 if mode == "int8" else np.float32)

    policy = InputPolicy.from_dict(cards[mode]["input_policy"])
    images = sample_images()
    reference = keras_probs(model_path, policy, images)
    segmenter = TFLiteSegmenter(path)
    probs = [segmenter.predict(image) for image in images]
    for prob in probs:
        assert prob.dtype == np.float32 and prob.min() >= 0 and prob.max() <= 1
    diff = max(np.abs(p - r).max() for p, r in zip(probs, reference, strict=True))
    agree = np.mean(
        [((p >= 0.5) == (r >= 0.5)).mean() for p, r in zip(probs, reference, strict=True)]
    )
    if mode == "float32":
        assert diff < 1e-5
    elif mode == "float16":
        assert diff < 2e-2 and agree >= 0.995
    assert agree >= 0.99, f"{mode}: masks agree on {agree:.4f} of pixels"


def test_fast_variant_exports_fully_int8_and_agrees_with_keras(tmp_path_factory, tmp_path):
    """The fast variant's strided stem and sub-pixel head convert: float32 equals Keras,
    int8 is integer-only (DEPTH_TO_SPACE included) and its masks agree with Keras."""
    path = small_model(tmp_path_factory.getbasetemp(), build_mininet_fast)
    images = sample_images()
    for mode in ("float32", "int8"):
        card = ex.export(
            path, tmp_path / f"fast_{mode}.tflite", mode, size=(SIZE, SIZE), calib_samples=8
        )
        assert card["ops"]["DEPTH_TO_SPACE"] == 1, card["ops"]
        assert "TRANSPOSE_CONV" not in card["ops"], card["ops"]
        policy = InputPolicy.from_dict(card["input_policy"])
        reference = keras_probs(path, policy, images)
        segmenter = TFLiteSegmenter(tmp_path / f"fast_{mode}.tflite")
        probs = [segmenter.predict(image) for image in images]
        diff = max(np.abs(p - r).max() for p, r in zip(probs, reference, strict=True))
        agree = np.mean(
            [((p >= 0.5) == (r >= 0.5)).mean() for p, r in zip(probs, reference, strict=True)]
        )
        if mode == "float32":
            assert diff < 1e-5
        else:
            assert set(card["activation_types"]) <= {"INT8", "UINT8"}, card["activation_types"]
            assert agree >= 0.99, f"int8 masks agree on {agree:.4f} of pixels"


@pytest.mark.parametrize("mode", ex.MODES)
def test_ops_are_resize_nearest_and_int8_is_fully_integer(exports, mode):
    _, cards = exports
    ops = cards[mode]["ops"]
    assert ops["RESIZE_NEAREST_NEIGHBOR"] == 4  # 2 decoder levels + 2 DMRes branches
    assert not REPEAT_OPS & set(ops), ops
    if mode == "int8":
        assert set(cards[mode]["activation_types"]) <= {"INT8", "UINT8"}
        assert "DEQUANTIZE" not in ops
    else:
        assert "FLOAT32" in cards[mode]["activation_types"]


def test_int8_card(exports, model_path):
    out, cards = exports
    card = json.loads((out / "small_int8.json").read_text())
    assert card == json.loads(json.dumps(cards["int8"]))
    data = (out / "small_int8.tflite").read_bytes()
    assert card["format"] == modelcard.CARD_FORMAT and card["mode"] == "int8"
    assert card["model_file"] == "small_int8.tflite"
    assert card["sha256"] == hashlib.sha256(data).hexdigest()
    assert card["size_bytes"] == len(data) < card["converted_bytes"]
    assert card["input"]["shape"] == [1, SIZE, SIZE, 3] and card["input"]["dtype"] == "uint8"
    assert card["input"]["meaning"] == "raw RGB 0-255, normalisation inside the graph"
    assert card["input"]["quantization"] == {"scale": 1.0, "zero_point": 0}
    output = card["output"]
    assert output["dtype"] == "uint8" and output["meaning"] == "sigmoid foreground probability"
    assert output["scale"] > 0 and isinstance(output["zero_point"], int)
    assert card["input_policy"] == {
        "mode": "tile",
        "size": [SIZE, SIZE],
        "overlap": 8,
        "multiple": 4,
    }
    # q >= threshold_quantized <=> dequant(q) >= threshold, for every uint8 value.
    q = np.arange(256)
    deq = (q.astype(np.float32) - output["zero_point"]) * np.float32(output["scale"])
    np.testing.assert_array_equal(
        q >= card["threshold_quantized"], deq >= np.float32(card["threshold"])
    )
    assert card["threshold"] == 0.5
    assert card["source"]["model"] == "small.keras"
    assert card["source"]["card"]["dataset"] == "synthetic"
    assert card["training_data"]["dataset"] == "synthetic"
    assert card["calibration"]["split"] == "train" and card["calibration"]["samples"] == 8
    model = keras.models.load_model(model_path, compile=False)
    assert card["macs"] == count_macs(model, SIZE, SIZE)
    assert card["parameters"]["total"] == model.count_params()
    for tool in ("tensorflow", "keras", "tensorflow-model-optimization", "ai-edge-litert"):
        assert card["tools"][tool]
    metrics = card["metrics"]
    assert metrics["dataset"] == "synthetic" and metrics["split"] == "test"
    assert metrics["n_images"] == len(get_split("synthetic", None, "test"))
    # The recorded test scores are the written file's, recomputed here independently: numpy
    # counts for F1 at the card threshold, scikit-learn's exact AUC (the card's pooled AUC is
    # histogram-binned: its documented bound is the tolerance).
    from sklearn.metrics import roc_auc_score

    from mininet_lite import TFLiteSegmenter
    from mininet_tf.data.io import read_record

    segmenter = TFLiteSegmenter(out / "small_int8.tflite")
    truths, scores = [], []
    for record in get_split("synthetic", None, "test"):
        image, mask, fov = read_record(record)
        inside = fov.astype(bool)
        truths.append(mask.astype(bool)[inside])
        scores.append(segmenter.predict(image)[inside])
    truth, score = np.concatenate(truths), np.concatenate(scores)
    pred = score >= card["threshold"]
    tp, fp, fn = (int(np.sum(a & b)) for a, b in ((pred, truth), (pred, ~truth), (~pred, truth)))
    assert metrics["pooled"]["f1"] == pytest.approx(2 * tp / (2 * tp + fp + fn), abs=1e-9)
    bound = metrics["conventions"]["pooled_auc_max_binning_error"]
    assert abs(metrics["pooled"]["auc"] - roc_auc_score(truth, score)) <= bound + 1e-9


def test_float_cards_have_no_quantized_output(exports):
    _, cards = exports
    for mode in ("float32", "float16", "dynamic"):
        card = cards[mode]
        assert card["output"]["dtype"] == "float32" and card["output"]["scale"] is None
        assert card["threshold_quantized"] is None and card["input"]["dtype"] == "uint8"
        assert "metrics" not in card


def test_input_range_is_pinned_whatever_the_calibration(model_path):
    """Calibration images without 0 or 255 still give a raw-pixel input (scale 1, zp 0)."""
    model = keras.models.load_model(model_path, compile=False)
    rng = np.random.default_rng(0)
    narrow = [rng.integers(40, 200, (1, SIZE, SIZE, 3), dtype=np.uint8) for _ in range(4)]
    data = ex.convert(model, "int8", (SIZE, SIZE), narrow)
    inp, _ = cv.io_details(data)
    assert inp["dtype"] == np.uint8 and inp["quantization"] == (1.0, 0)


def test_private_tensorflow_api_is_where_int8_export_expects_it(model_path, monkeypatch):
    """The package's only private TensorFlow API: this fails loudly when TensorFlow moves it."""
    import tensorflow as tf

    model = keras.models.load_model(model_path, compile=False)
    converter = tf.lite.TFLiteConverter.from_keras_model(ex.export_graph(model, SIZE, SIZE))
    calibrate_only, quantize = cv.private_quantizer(converter)
    calibrate_only()
    assert converter._experimental_calibrate_only is True  # noqa: SLF001
    assert callable(quantize)
    # A converter without the flag (as after a TensorFlow change) is a clear error.
    monkeypatch.delattr(converter, "_experimental_calibrate_only")
    with pytest.raises(ex.ExportError, match="changed the private converter API"):
        cv.private_quantizer(converter)
    monkeypatch.setattr(tf, "__version__", "9.1.0")
    with pytest.warns(UserWarning, match="checked only with TensorFlow 2.21"):
        with pytest.raises(ex.ExportError):
            cv.private_quantizer(converter)


def test_compaction_is_lossless(model_path):
    model = keras.models.load_model(model_path, compile=False)
    raw = ex.convert(model, "float32", (SIZE, SIZE))
    small = ex.compact_tflite(raw)
    assert len(small) < len(raw)
    ex.check_compaction(raw, small)
    raw_in, raw_out = cv.io_details(raw)
    small_in, small_out = cv.io_details(small)
    assert (raw_in["name"], raw_out["name"]) == (small_in["name"], small_out["name"])
    with pytest.raises(ex.ExportError, match="differs"):
        other = ex.compact_tflite(
            ex.convert(build_mininet(widths=SMALL_WIDTHS), "float32", (SIZE, SIZE))
        )
        ex.check_compaction(raw, other)


def test_default_model_int8_is_under_80_kb():
    """The issue's size target, on the default 37.8k-parameter graph (random weights)."""
    model = build_mininet()
    rng = np.random.default_rng(0)
    calibration = [rng.integers(0, 256, (1, SIZE, SIZE, 3), dtype=np.uint8) for _ in range(2)]
    raw = ex.convert(model, "int8", (SIZE, SIZE), calibration)
    small = ex.compact_tflite(raw)
    ex.check_compaction(raw, small, samples=1)
    assert len(small) <= 80_000 < len(raw)


@pytest.mark.parametrize(
    ("threshold", "scale", "zero_point", "dtype"),
    [
        (0.5, 1 / 256, 0, np.uint8),
        (0.68, 1 / 256, 0, np.uint8),
        (0.3, 1 / 256, -128, np.int8),
        (0.05, 0.0037, 3, np.uint8),
        (0.999, 1 / 256, 0, np.uint8),
    ],
)
def test_quantized_threshold_is_exact(threshold, scale, zero_point, dtype):
    tq = modelcard.quantized_threshold(threshold, scale, zero_point, dtype)
    info = np.iinfo(dtype)
    q = np.arange(info.min, info.max + 1)
    deq = (q.astype(np.float32) - zero_point) * np.float32(scale)
    np.testing.assert_array_equal(q >= tq, deq >= np.float32(threshold))


def test_default_export_size():
    tile = InputPolicy(mode="tile", size=(1024, 1024), overlap=32, multiple=8)
    assert ex.default_export_size(tile, 8) == (512, 512)
    assert ex.default_export_size(tile, 8, (584, 565)) == (512, 512)
    assert ex.default_export_size(tile, 8, (128, 100)) == (128, 104)
    resize = InputPolicy(mode="resize", size=(256, 256), multiple=8)
    assert ex.default_export_size(resize, 8, (574, 765)) == (256, 256)
    assert ex.export_policy(tile, (64, 64)).overlap == 31


def test_cli_refuses_to_overwrite_and_bad_sizes(exports, model_path, capsys):
    out, _ = exports
    target = out / "small_float32.tflite"
    before = target.read_bytes()
    args = ["--model", str(model_path), "--mode", "float32", "--out", str(target)]
    assert ex.main([*args, "--size", "64", "64"]) == 2
    assert "refusing to overwrite" in capsys.readouterr().err
    assert target.read_bytes() == before
    args[-1] = str(out / "other.tflite")
    assert ex.main([*args, "--size", "62", "64"]) == 2
    assert "multiples of 4" in capsys.readouterr().err
    assert not (out / "other.tflite").exists()
    with pytest.raises(SystemExit):
        ex.main(["--model", str(model_path), "--mode", "int4", "--out", str(out / "x.tflite")])
