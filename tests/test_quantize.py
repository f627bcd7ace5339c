"""`mininet_tf.quantize`: one tiny QAT epoch in the tf_keras child process, the int8 file and
its card, and clear errors when tfmot or tf_keras is missing."""

import json
import subprocess
import sys

import numpy as np
import pytest

from mininet_lite import InputPolicy, TFLiteSegmenter
from mininet_lite.runtime import load_interpreter
from mininet_tf import quantize as qt

from .conftest import ROOT
from .test_export import REPEAT_OPS, SIZE, keras_probs, sample_images, small_model

# Exports, QAT or external tools: outside the fast loop (pytest -m "not slow").
pytestmark = pytest.mark.slow

#: Steps and learning rate small enough that the fine-tune barely moves the weights, so the
#: int8 file can be compared with the float model (the test is about the pipeline's fidelity).
TINY = dict(epochs=1, steps_per_epoch=3, batch_size=4, learning_rate=1e-6)


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    return small_model(tmp_path_factory.getbasetemp())


@pytest.fixture(scope="module")
def qat(model_path, tmp_path_factory):
    out = tmp_path_factory.mktemp("qat") / "small_qat.tflite"
    card = qt.quantize(
        model_path,
        out,
        size=(SIZE, SIZE),
        extra_sizes=[(32, 32)],
        eval_dataset="synthetic",
        verbose=0,
        **TINY,
    )
    return out, card


def mask_agreement(tflite_path, card, model_path) -> float:
    """Mean share of pixels where the int8 file's and the Keras model's masks (at 0.5) agree."""
    policy = InputPolicy.from_dict(card["input_policy"])
    images = sample_images()
    reference = keras_probs(model_path, policy, images)
    segmenter = TFLiteSegmenter(tflite_path, threshold=0.5)
    return float(
        np.mean(
            [
                ((segmenter.predict(i) >= 0.5) == (r >= 0.5)).mean()
                for i, r in zip(images, reference, strict=True)
            ]
        )
    )


def test_parent_process_never_imports_tfmot(qat):
    assert "tensorflow_model_optimization" not in sys.modules
    assert "tf_keras" not in sys.modules


def test_qat_file_is_full_int8_with_rescale_as_depthwise(qat):
    out, card = qat
    interpreter = load_interpreter(out)
    inp = interpreter.get_input_details()[0]
    outp = interpreter.get_output_details()[0]
    assert list(inp["shape"]) == [1, SIZE, SIZE, 3] and inp["dtype"] == np.uint8
    assert inp["quantization"] == (1.0, 0)
    assert list(outp["shape"]) == [1, SIZE, SIZE, 1] and outp["dtype"] == np.uint8
    ops = card["ops"]
    assert set(card["activation_types"]) <= {"INT8", "UINT8"}
    assert "DEQUANTIZE" not in ops and "MUL" not in ops  # rescale is not float MUL/ADD
    # 5 separable convs + 4 DMRes branches = 9 depthwise convs, + the frozen 1x1 rescale.
    assert ops["DEPTHWISE_CONV_2D"] == 10
    assert ops["RESIZE_NEAREST_NEIGHBOR"] == 4 and not REPEAT_OPS & set(ops)


def test_qat_masks_agree_with_keras(qat, model_path):
    out, card = qat
    assert mask_agreement(out, card, model_path) >= 0.99


def test_fast_variant_qat_is_full_int8_with_depth_to_space(tmp_path_factory, tmp_path):
    """The sub-pixel head goes through tfmot (a custom layer with no quantiser of its own) and
    converts to an integer DEPTH_TO_SPACE whose masks agree with the float model."""
    from mininet_tf.model import build_mininet_fast

    model_path = small_model(tmp_path_factory.getbasetemp(), build_mininet_fast)
    out = tmp_path / "fast_qat.tflite"
    card = qt.quantize(
        model_path, out, size=(SIZE, SIZE), eval_dataset="synthetic", verbose=0, **TINY
    )
    ops = card["ops"]
    assert ops["DEPTH_TO_SPACE"] == 1 and "TRANSPOSE_CONV" not in ops, ops
    assert set(card["activation_types"]) <= {"INT8", "UINT8"} and "DEQUANTIZE" not in ops
    # 0.98, not 0.99: every output pixel of the half-resolution graph comes from a 2x2 block of
    # quantised logits, and this tiny briefly-trained model measured 0.9893 on an AVX2-only CPU
    # (above 0.99 on AVX-512 ones). A wrong sub-pixel order or a float head scores far lower.
    assert mask_agreement(out, card, model_path) >= 0.98


def test_qat_card(qat, model_path):
    out, card = qat
    assert json.loads(out.with_suffix(".json").read_text()) == json.loads(json.dumps(card))
    assert card["mode"] == "int8" and "quantization-aware" in card["quantization"]
    assert card["input"]["quantization"] == {"scale": 1.0, "zero_point": 0}
    facts = card["qat"]
    assert facts["epochs"] == 1 and facts["steps_per_epoch"] == 3 and facts["batch_size"] == 4
    assert len(facts["history"]) == 1 and facts["best_epoch"] == 1
    assert facts["child_tools"]["tensorflow_model_optimization"]
    assert any("DepthwiseConv2D" in change for change in facts["graph_changes"])
    assert "validation split" in card["threshold_selected_on"]
    # The threshold maximises pooled F1 of the written file on the validation images
    # (recomputed here by hand; among equal scores the smallest wins), not the fake-quantised
    # model's choice during training, which can differ.
    from mininet_tf.data import get_split
    from mininet_tf.data.pipeline import load_arrays
    from mininet_tf.export import load_source, resolve_data

    _, source_card, _ = load_source(model_path)
    name, data_dir, kwargs = resolve_data(source_card, None, None)
    val = load_arrays(get_split(name, data_dir, "val", **kwargs))
    served = TFLiteSegmenter(out, verify=False)
    probs = [served.predict(image) for image, _, _ in val]
    truths = [mask.astype(bool) for _, mask, _ in val]
    f1 = []
    for t in np.round(np.arange(0.05, 0.951, 0.01), 2):
        tp = sum(int(((p >= t) & m).sum()) for p, m in zip(probs, truths, strict=True))
        fp = sum(int(((p >= t) & ~m).sum()) for p, m in zip(probs, truths, strict=True))
        fn = sum(int(((p < t) & m).sum()) for p, m in zip(probs, truths, strict=True))
        f1.append((2 * tp / (2 * tp + fp + fn), -t))
    best_f1, minus_t = max(f1)
    assert card["threshold"] == pytest.approx(-minus_t)
    assert card["val_score"] == {"f1": pytest.approx(best_f1), "threshold": card["threshold"]}
    q = np.arange(256)
    deq = (q.astype(np.float32) - card["output"]["zero_point"]) * np.float32(
        card["output"]["scale"]
    )
    np.testing.assert_array_equal(
        q >= card["threshold_quantized"], deq >= np.float32(card["threshold"])
    )
    assert card["metrics"]["split"] == "test" and card["metrics"]["dataset"] == "synthetic"
    # The card's test F1 is that of the written file's masks at the card threshold, counted
    # here with plain numpy over the synthetic test split (inside its FOV).
    from mininet_tf.data import get_split
    from mininet_tf.data.io import read_record

    segmenter = TFLiteSegmenter(out)
    tp = fp = fn = 0
    for record in get_split("synthetic", None, "test"):
        image, mask, fov = read_record(record)
        pred = segmenter.predict(image) >= card["threshold"]
        truth, inside = mask.astype(bool), fov.astype(bool)
        tp += int((pred & truth & inside).sum())
        fp += int((pred & ~truth & inside).sum())
        fn += int((~pred & truth & inside).sum())
    assert card["metrics"]["pooled"]["f1"] == pytest.approx(2 * tp / (2 * tp + fp + fn), abs=1e-9)


def test_extra_size_variant(qat):
    out, card = qat
    variant = out.with_name("small_qat_32x32.tflite")
    interpreter = load_interpreter(variant)
    assert list(interpreter.get_input_details()[0]["shape"]) == [1, 32, 32, 3]
    variant_card = json.loads(variant.with_suffix(".json").read_text())
    assert "latency variant" in variant_card["purpose"]
    assert variant_card["input_policy"]["size"] == [32, 32]


def _blocker(tmp_path, module):
    folder = tmp_path / f"block_{module}"
    (folder / module).mkdir(parents=True)
    (folder / module / "__init__.py").write_text(
        f'raise ImportError("No module named {module!r} (blocked by the test)")\n'
    )
    return folder


@pytest.mark.parametrize(
    ("module", "name"),
    [("tensorflow_model_optimization", "tensorflow-model-optimization"), ("tf_keras", "tf_keras")],
)
def test_missing_dependency_is_a_clear_error(model_path, tmp_path, module, name):
    blocked = _blocker(tmp_path, module)
    path = f"{blocked}:{ROOT}:{ROOT / 'tflite'}"
    out = tmp_path / "x.tflite"
    with pytest.raises(qt.QATDependencyError) as info:
        qt.quantize(
            model_path, out, size=(SIZE, SIZE), child_extra_env={"PYTHONPATH": path}, **TINY
        )
    message = str(info.value)
    assert "pip install" in message and name in message and module in message
    assert "mininet_tf.export --mode int8" in message  # the no-tfmot alternative
    assert not out.exists() and not out.with_suffix(".json").exists()


def test_cli_reports_missing_dependency(model_path, tmp_path, monkeypatch, capsys):
    blocked = _blocker(tmp_path, "tensorflow_model_optimization")
    monkeypatch.setenv("PYTHONPATH", str(blocked))
    args = ["--model", str(model_path), "--out", str(tmp_path / "x.tflite"), "--size", "64", "64"]
    assert qt.main([*args, "--epochs", "1", "--steps-per-epoch", "1"]) == 2
    assert "tensorflow-model-optimization" in capsys.readouterr().err


def test_child_refuses_to_run_without_legacy_keras(tmp_path):
    job = tmp_path / "job.json"
    job.write_text(json.dumps({"result": str(tmp_path / "result.json")}))
    env = qt.child_env({"TF_USE_LEGACY_KERAS": "0"})
    status = subprocess.run(
        [sys.executable, "-m", "mininet_tf._qat_child", str(job)], env=env, cwd=ROOT
    ).returncode
    assert status != 0
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["error"] == "environment" and "TF_USE_LEGACY_KERAS" in result["message"]


def test_refuses_to_overwrite(qat, model_path):
    out, _ = qat
    with pytest.raises(FileExistsError):
        qt.quantize(model_path, out, size=(SIZE, SIZE), **TINY)
