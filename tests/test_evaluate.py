"""`mininet_tf.evaluate`: full-resolution metrics for .keras and .tflite, outputs, errors."""

import json
import shutil
import subprocess
import sys
import warnings

import numpy as np
import pytest

from mininet_lite.tiling import (
    InputPolicy,
    pad_to,
    predict_image,
    resize_float,
    resize_uint8,
    tta_passes,
    with_tta,
)
from mininet_tf.data import get_split
from mininet_tf.data.io import DataWarning
from mininet_tf.data.matching import SPLITS_DIR
from mininet_tf.data.records import DataError
from mininet_tf.evaluate import evaluate, evaluate_records
from mininet_tf.inference import KerasSegmenter, load_segmenter, write_card
from mininet_tf.model import build_mininet, rebuild_at_size

from . import fixtures_data as fx
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
    assert saved["tta"] is None and saved["conventions"]["tta"].startswith("none")
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
    """The saved PNGs are the model's: its probability map as 16-bit grey, its mask at the
    (overridden) threshold, and the error overlay of that mask (definition written out here: TP green,
    FP red, FN blue blended at 0.6, outside the FOV dimmed to 0.4)."""
    from PIL import Image

    from mininet_tf.data.io import read_record

    records = get_split("synthetic", None, "val")[:2]
    out = tmp_path / "pred"
    seg = KerasSegmenter(models / "m.keras")
    # This random model is foreground nearly everywhere at 0.5: a threshold at the median
    # probability gives both classes, so TP, FP and FN all occur.
    threshold = float(np.median(seg.predict(read_record(records[0])[0])))
    evaluate_records(seg, records, threshold=threshold, save_predictions=out)
    colours = (
        (True, True, (0, 200, 0)),
        (False, True, (230, 30, 30)),
        (True, False, (30, 90, 255)),
    )
    for r in records:
        image, truth, fov = read_record(r)
        truth, inside = truth.astype(bool), fov.astype(bool)
        want = seg.predict(image)
        prob = np.asarray(Image.open(out / f"{r.id}_prob.png"))
        mask = np.asarray(Image.open(out / f"{r.id}_mask.png"))
        overlay = np.asarray(Image.open(out / f"{r.id}_overlay.png"))
        assert prob.dtype == np.uint16
        np.testing.assert_allclose(prob / 65535, want, rtol=0, atol=0.5 / 65535 + 1e-7)
        pred = want >= threshold
        assert 0 < pred.sum() < pred.size, r.id  # both classes: the overlay check bites
        np.testing.assert_array_equal(mask, pred.astype(np.uint8) * 255)
        expected = image.astype(np.float32)
        for is_truth, is_pred, colour in colours:
            where = (truth == is_truth) & (pred == is_pred)
            expected[where] = 0.4 * expected[where] + 0.6 * np.float32(colour)
        expected[~inside] *= 0.4
        expected = np.clip(expected, 0, 255).astype(int)
        assert np.abs(overlay.astype(int) - expected).max() <= 1, r.id
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


TILE = InputPolicy(mode="tile", size=(64, 64), overlap=8, multiple=4)
RESIZE = InputPolicy(mode="resize", size=(32, 48), multiple=8)


def _ramp_forward(calls=None):
    """A fake model with no flip symmetry: brightness times a left-to-right and a top-to-bottom
    ramp over the model input, so a missing or wrong un-flip, or a flip of the whole image
    instead of each model input, changes the map."""

    def forward(batch):
        assert batch.ndim == 4 and batch.shape[0] == 1 and batch.dtype == np.uint8
        if calls is not None:
            calls.append(batch.shape)
        _, h, w, _ = batch.shape
        bright = batch.astype(np.float32).mean(-1, keepdims=True) / 255
        ramp_x = (np.arange(w, dtype=np.float32) + 1) / w
        ramp_y = (np.arange(h, dtype=np.float32) + h + 1) / (2 * h)
        return bright * ramp_y[None, :, None, None] * ramp_x[None, None, :, None]

    return forward


def _hand_mean(forward, tta):
    """The TTA average written out with numpy: forward(x) and fliplr(forward(fliplr(x))),
    plus the up-down and double flips for flip4."""

    def averaged(batch):
        x = batch[0]
        maps = [forward(x[None])[0], np.fliplr(forward(np.fliplr(x)[None])[0])]
        if tta == "flip4":
            maps.append(np.flipud(forward(np.flipud(x)[None])[0]))
            maps.append(np.flipud(np.fliplr(forward(np.flipud(np.fliplr(x))[None])[0])))
        return (sum(maps) / len(maps))[None]

    return averaged


@pytest.mark.parametrize("tta", ["flip", "flip4"])
def test_tta_is_the_mean_of_the_flipped_maps_flipped_back(tta):
    forward, hand = _ramp_forward(), _hand_mean(_ramp_forward(), tta)
    rng = np.random.default_rng(2)
    close = {"rtol": 1e-6, "atol": 1e-7}

    # Resize mode: the resized image is the model input; its mean map is resized back.
    image = rng.integers(0, 256, (50, 70, 3), dtype=np.uint8)
    got = predict_image(forward, image, RESIZE, fixed_size=True, tta=tta)
    expected = resize_float(hand(resize_uint8(image, 32, 48)[None])[0], 50, 70)
    np.testing.assert_allclose(got, expected, **close)
    one_pass = predict_image(forward, image, RESIZE, fixed_size=True)
    assert np.abs(got - one_pass).max() > 0.05  # the flips do change this map

    # Tile mode, the image one tile (TFLite) or padded to the grid (Keras).
    image = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    got = predict_image(forward, image, TILE, fixed_size=True, tta=tta)
    np.testing.assert_allclose(got, hand(image[None])[0], **close)
    image = rng.integers(0, 256, (50, 62, 3), dtype=np.uint8)
    got = predict_image(forward, image, TILE, fixed_size=False, tta=tta)
    np.testing.assert_allclose(got, hand(pad_to(image, 52, 64)[None])[0][:50, :62], **close)

    # Tile mode, an image larger than the tile: each tile is averaged over its own flips,
    # the tiling (origins, padding, kept centres) being that of one pass.
    image = rng.integers(0, 256, (150, 170, 3), dtype=np.uint8)
    for fixed_size in (True, False):
        got = predict_image(forward, image, TILE, fixed_size=fixed_size, tta=tta)
        expected = predict_image(hand, image, TILE, fixed_size=fixed_size)
        assert got.shape == (150, 170, 1)
        np.testing.assert_allclose(got, expected, **close)


def test_no_tta_is_the_single_pass_bit_for_bit():
    forward = _ramp_forward()
    assert with_tta(forward, None) is forward and with_tta(forward, "none") is forward
    rng = np.random.default_rng(3)
    image = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    for tta in (None, "none"):
        got = predict_image(forward, image, TILE, fixed_size=True, tta=tta)
        np.testing.assert_array_equal(got, forward(image[None])[0])
    image = rng.integers(0, 256, (50, 70, 3), dtype=np.uint8)
    got = predict_image(forward, image, RESIZE, fixed_size=True, tta=None)
    expected = resize_float(forward(resize_uint8(image, 32, 48)[None])[0], 50, 70)
    np.testing.assert_array_equal(got, expected)


def test_tta_costs_one_forward_pass_per_flip():
    image = np.random.default_rng(4).integers(0, 256, (150, 170, 3), dtype=np.uint8)
    counts = {}
    for tta, passes in ((None, 1), ("none", 1), ("flip", 2), ("flip4", 4)):
        calls = []
        predict_image(_ramp_forward(calls), image, TILE, fixed_size=True, tta=tta)
        counts[tta] = len(calls)
        assert tta_passes(tta) == passes
        assert set(calls) == {(1, 64, 64, 3)}  # the tiles of one pass, only more often
    assert counts[None] > 1  # tiled
    assert counts == {
        None: counts[None],
        "none": counts[None],
        "flip": 2 * counts[None],
        "flip4": 4 * counts[None],
    }


def test_a_bad_tta_value_is_a_clear_error(models):
    image = np.zeros((64, 64, 3), np.uint8)
    for bad in ("flip2", "Flip", "", 2, ["flip"]):
        with pytest.raises(ValueError, match="tta must be None, 'none', 'flip' or 'flip4'"):
            predict_image(_ramp_forward(), image, TILE, fixed_size=True, tta=bad)
    for name in ("m.keras", "m.tflite"):
        with pytest.raises(ValueError, match="'flip4', got 'flip8'"):
            load_segmenter(models / name, tta="flip8")


def test_keras_and_tflite_get_the_same_tta(models):
    from mininet_tf.data.io import read_image

    image = read_image(get_split("synthetic", None, "test")[0].image)[:100, :90]
    one_pass = load_segmenter(models / "m.keras").predict(image)
    for tta in ("flip", "flip4"):
        keras_map = load_segmenter(models / "m.keras", tta=tta).predict(image)
        tflite_map = load_segmenter(models / "m.tflite", tta=tta).predict(image)
        assert keras_map.shape == tflite_map.shape == (100, 90)
        np.testing.assert_allclose(keras_map, tflite_map, atol=1e-4)
        assert np.abs(keras_map - one_pass).max() > 1e-3  # TTA did change the map


def test_cli_tta_is_accepted_and_recorded(models, tmp_path, capsys):
    from mininet_tf.evaluate import main

    with pytest.raises(SystemExit):
        main(["--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "multiplies inference time by the number of passes" in help_text
    out = tmp_path / "r.json"
    args = ["--model", str(models / "m.tflite"), "--dataset", "synthetic", "--split", "val"]
    assert main([*args, "--json", str(out), "--tta", "flip4"]) == 0
    assert "tta flip4" in capsys.readouterr().out
    saved = json.loads(out.read_text())
    assert saved["tta"] == "flip4"
    assert saved["conventions"]["tta"].startswith("flip4: mean of 4 flipped passes")
    assert saved["inference_seconds_per_image"] > 0


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


def test_split_file_selects_the_split_and_an_empty_split_is_a_clear_error(models, tmp_path):
    """``split_file`` picks which images a split holds; a split file that leaves nothing to
    test on (the all-tiles MoNuSeg model's) is an error naming the split, not an empty report."""
    fx.make_monuseg_flat(tmp_path / "m", fx.shipped_ids("monuseg"))
    shipped = json.loads((SPLITS_DIR / "monuseg.json").read_text())
    result = evaluate(
        models / "m.keras", "monuseg", tmp_path / "m", "val", split_file="monuseg_all"
    )
    assert [r["id"] for r in result["images"]] == shipped["val"]
    with pytest.raises(DataError, match="split 'test' is empty.*monuseg_all"):
        evaluate(models / "m.keras", "monuseg", tmp_path / "m", "test", split_file="monuseg_all")

    # A model whose card says it trained on monuseg_all, scored on the shipped split's test
    # tiles (its training images): the report is made, with a warning naming the overlap.
    shutil.copy(models / "m.keras", tmp_path / "all.keras")
    card = json.loads((models / "m.json").read_text())
    card["config"] = {"dataset": "monuseg", "split_file": "monuseg_all", "seed": 0}
    write_card(tmp_path / "all.keras", card)
    with pytest.warns(DataWarning, match="6 of the 6 images of split 'test' are in the training"):
        evaluate(tmp_path / "all.keras", "monuseg", tmp_path / "m", "test")
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)  # val is not training data: no warning
        evaluate(tmp_path / "all.keras", "monuseg", tmp_path / "m", "val")


def test_validation_carve_follows_the_model_card(models, tmp_path):
    """``--split val`` scores the images that selected the model's checkpoint and threshold:
    the carve (fraction, split_seed) of its training run, read from its card (a .tflite card
    keeps it under ``source``), unless ``seed``/``val_fraction`` are given. Another dataset's
    card leaves the defaults (0.2, seed 0)."""
    drive = fx.make_drive(tmp_path, train_ids=tuple(range(21, 31)), test_ids=(1,))

    def val_ids(**options):
        return [r.id for r in get_split("drive", drive, "val", **options)]

    default = val_ids(val_fraction=0.2, seed=0)
    split_seed = next(s for s in range(1, 50) if val_ids(val_fraction=0.3, seed=s) != default)
    carve = val_ids(val_fraction=0.3, seed=split_seed)
    config = {"dataset": "drive", "seed": 0, "split_seed": split_seed, "val_fraction": 0.3}
    base = json.loads((models / "m.json").read_text())
    for suffix, card in (
        (".keras", {**base, "config": config}),
        (".tflite", {**base, "source": {"card": {"config": config}}}),
    ):
        shutil.copy(models / f"m{suffix}", tmp_path / f"c{suffix}")
        write_card(tmp_path / f"c{suffix}", card)
        scored = evaluate(tmp_path / f"c{suffix}", "drive", drive, "val")
        assert [r["id"] for r in scored["images"]] == carve, suffix
        explicit = evaluate(
            tmp_path / f"c{suffix}", "drive", drive, "val", seed=0, val_fraction=0.2
        )
        assert [r["id"] for r in explicit["images"]] == default, suffix
    other = evaluate(models / "m.keras", "drive", drive, "val")  # card names no dataset
    assert [r["id"] for r in other["images"]] == default
