"""`mininet_tf.evaluate`: full-resolution metrics for .keras and .tflite, outputs, errors."""

import json
import subprocess
import sys

import numpy as np
import pytest

from mininet_lite.tiling import InputPolicy
from mininet_tf.data import get_split
from mininet_tf.evaluate import evaluate, evaluate_records
from mininet_tf.inference import KerasSegmenter, load_segmenter, write_card
from mininet_tf.model import build_mininet, rebuild_at_size

from .test_train import _env

POLICY = InputPolicy(mode="tile", size=(64, 64), overlap=8, multiple=4)
KEYS = ("f1", "dice", "iou", "auc", "sensitivity", "specificity", "accuracy", "mcc")


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """A small random model as .keras and as float32 .tflite (64x64), with the same card."""
    import tensorflow as tf

    folder = tmp_path_factory.mktemp("models")
    model = build_mininet(widths=(8, 12, 16))
    rng = np.random.default_rng(0)
    model.set_weights(
        [w + rng.normal(0, 0.1, w.shape).astype(w.dtype) for w in model.get_weights()]
    )
    card = {"threshold": 0.5, "input_policy": POLICY.to_dict()}
    model.save(folder / "m.keras")
    write_card(folder / "m.keras", card)
    fixed = rebuild_at_size(model, 64, 64)
    converter = tf.lite.TFLiteConverter.from_keras_model(fixed)
    (folder / "m.tflite").write_bytes(converter.convert())
    write_card(folder / "m.tflite", card)
    return folder


def test_keras_and_float_tflite_give_the_same_numbers(models):
    records = get_split("synthetic", None, "test")[:3]
    keras_result = evaluate_records(load_segmenter(models / "m.keras"), records)
    tflite_result = evaluate_records(load_segmenter(models / "m.tflite"), records)
    for agg in ("pooled", "per_image"):
        for key in KEYS:
            assert keras_result[agg][key] == pytest.approx(tflite_result[agg][key], abs=2e-4)
    assert keras_result["n_images"] == 3
    assert keras_result["conventions"]["threshold"] == 0.5


def test_report_has_both_aggregations_and_conventions(models, tmp_path):
    out = tmp_path / "r.json"
    result = evaluate(models / "m.keras", "synthetic", None, "val", json_path=out)
    saved = json.loads(out.read_text())
    for agg in ("pooled", "per_image"):
        assert set(KEYS) <= set(saved[agg])
    assert saved["n_images"] == result["n_images"] == len(saved["images"])
    assert saved["split"] == "val"
    assert "FOV" in saved["conventions"]["fov"]  # the synthetic vessels carry FOV masks
    with pytest.raises(FileExistsError):
        evaluate(models / "m.keras", "synthetic", None, "val", json_path=out)


def test_threshold_override_changes_the_binary_scores(models):
    """The binary scores at an overridden threshold are those of the probability maps
    thresholded there, counted here with plain numpy (an independent confusion matrix)."""
    from mininet_tf.data.io import read_record

    records = get_split("synthetic", None, "val")[:2]
    seg = KerasSegmenter(models / "m.keras")
    truths, probs, fovs = [], [], []
    for record in records:
        image, mask, fov = read_record(record)
        truths.append(mask.astype(bool))
        probs.append(seg.predict(image))
        fovs.append(fov.astype(bool))
    for threshold in (0.05, 0.5, 0.95):
        got = evaluate_records(seg, records, threshold=threshold)
        pred = [p >= threshold for p in probs]
        tp = sum(int((p & t & f).sum()) for p, t, f in zip(pred, truths, fovs, strict=True))
        fp = sum(int((p & ~t & f).sum()) for p, t, f in zip(pred, truths, fovs, strict=True))
        fn = sum(int((~p & t & f).sum()) for p, t, f in zip(pred, truths, fovs, strict=True))
        assert got["conventions"]["threshold"] == threshold
        assert got["pooled"]["sensitivity"] == pytest.approx(tp / (tp + fn), abs=1e-9)
        assert got["pooled"]["f1"] == pytest.approx(2 * tp / (2 * tp + fp + fn), abs=1e-9)
        assert got["pooled"]["iou"] == pytest.approx(tp / (tp + fp + fn), abs=1e-9)


def test_save_predictions_writes_prob_mask_overlay(models, tmp_path):
    from PIL import Image

    records = get_split("synthetic", None, "val")[:2]
    out = tmp_path / "pred"
    evaluate_records(KerasSegmenter(models / "m.keras"), records, save_predictions=out)
    for r in records:
        prob = np.asarray(Image.open(out / f"{r.id}_prob.png"))
        mask = np.asarray(Image.open(out / f"{r.id}_mask.png"))
        overlay = np.asarray(Image.open(out / f"{r.id}_overlay.png"))
        assert prob.dtype == np.uint16 and set(np.unique(mask)) <= {0, 255}
        assert overlay.shape == mask.shape + (3,)
    with pytest.raises(FileExistsError):
        evaluate_records(KerasSegmenter(models / "m.keras"), records, save_predictions=out)


def test_tiled_inference_equals_one_pass_where_both_fit():
    """Tiles start on the model's pooling grid and keep more context than its receptive field
    (measured: an input pixel reaches at most 14 output pixels away in this model), so tiling
    changes nothing: the same numbers as one pass over the (padded) image."""
    model = build_mininet(widths=(8, 12, 16))
    rng = np.random.default_rng(0)
    model.set_weights(
        [w + rng.normal(0, 0.1, w.shape).astype(w.dtype) for w in model.get_weights()]
    )
    image = np.random.default_rng(1).integers(0, 256, (150, 170, 3), dtype=np.uint8)
    whole = KerasSegmenter(model, policy=InputPolicy("tile", (256, 256), 32, 4)).predict(image)
    for tile in (96, 100, 124):
        policy = InputPolicy("tile", (tile, tile), 32, 4)
        tiled = KerasSegmenter(model, policy=policy).predict(image)
        assert whole.shape == tiled.shape == image.shape[:2]
        np.testing.assert_allclose(tiled, whole, atol=1e-5, err_msg=f"tile {tile}")


def test_tile_origins_lie_on_the_grid_and_cover_the_image():
    from mininet_lite.tiling import tile_origins

    for length, tile, overlap, multiple in [(568, 512, 32, 8), (1000, 128, 24, 8), (96, 96, 8, 4)]:
        origins = tile_origins(length, tile, overlap, multiple)
        assert all(o % multiple == 0 for o in origins), origins
        assert origins[0] == 0 and origins[-1] == length - tile
        kept_gaps = np.diff(origins)
        assert np.all(kept_gaps <= tile - 2 * overlap)  # every pixel keeps its context
    with pytest.raises(ValueError, match="multiples of 8"):
        tile_origins(565, 512, 32, 8)


def test_cli_errors_are_clear(models, tmp_path):
    def run(*args):
        return subprocess.run(
            [sys.executable, "-m", "mininet_tf.evaluate", *args],
            capture_output=True,
            text=True,
            env=_env(),
        )

    done = run("--model", str(tmp_path / "nope.keras"), "--dataset", "synthetic")
    assert done.returncode == 2 and "nope.keras" in done.stderr
    bad = tmp_path / "bad.keras"
    bad.write_text("not a model")
    done = run("--model", str(bad), "--dataset", "synthetic")
    assert done.returncode == 2 and "bad.keras" in done.stderr
    done = run(
        "--model", str(models / "m.keras"), "--dataset", "drive", "--data-dir", str(tmp_path)
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr
    done = run("--model", str(models / "m.keras"), "--dataset", "synthetic", "--split", "val")
    assert done.returncode == 0, done.stderr[-1500:]
    assert "pooled" in done.stdout and "per_image" in done.stdout


def _background_only_folder(root, n=6, size=32):
    from PIL import Image

    rng = np.random.default_rng(1)
    for sub in ("images", "masks"):
        (root / sub).mkdir(parents=True)
    for i in range(n):
        pixels = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(root / "images" / f"case{i}.png")
        Image.fromarray(np.zeros((size, size), np.uint8)).save(root / "masks" / f"case{i}.png")
    return root


def test_undefined_metrics_are_null_in_strict_json_with_a_warning(models, tmp_path):
    data = _background_only_folder(tmp_path / "empty")
    out = tmp_path / "r.json"
    with pytest.warns(UserWarning, match=r"undefined value\(s\).*pooled\.sensitivity"):
        evaluate(models / "m.keras", "folder", data, "test", json_path=out)

    def refuse(token):
        raise AssertionError(f"{out} holds the non-JSON token {token}")

    saved = json.loads(out.read_text(), parse_constant=refuse)
    assert saved["pooled"]["sensitivity"] is None  # no positive pixel: undefined
    assert saved["pooled"]["auc"] is None  # one class only
    assert saved["pooled"]["specificity"] is not None
