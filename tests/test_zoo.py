"""Shipped pretrained models: they load, their cards agree with the models and with
themselves, and (on the real data) they still give their recorded test figures."""

import numpy as np
import pytest

import mininet_tf
from mininet_lite import InputPolicy
from mininet_tf.metrics import DEFAULT_THRESHOLDS
from mininet_tf.model import model_config, parameter_counts, required_multiple
from mininet_tf.zoo import NAMES, PRETRAINED_DIR

from .conftest import shared_data_dir

SHIPPED = sorted(p.stem.removeprefix("mininet_") for p in PRETRAINED_DIR.glob("*.keras"))
DATA_FOLDERS = {
    "drive": "DRIVE",
    "stare": "STARE",
    "chase_db1": "CHASE_DB1",
    "fundus": "",  # the folder holding DRIVE/, STARE/ and CHASE_DB1/
    "ph2": "PH2",
    "isic2017": "ISIC2017",
    "monuseg": "MoNuSeg",
}
KEYS = {"f1", "dice", "iou", "auc", "sensitivity", "specificity", "accuracy", "mcc"}


def test_every_dataset_has_a_shipped_model():
    assert SHIPPED == sorted(NAMES)


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_model_agrees_with_its_card(name):
    """The card describes the file beside it: the architecture and parameter counts read off
    the loaded model, the input policy the training configuration implies, and the threshold
    the validation scoring chose (one of the scored candidates)."""
    model = mininet_tf.load_pretrained(name)
    card = mininet_tf.pretrained_card(name)
    config = card["config"]
    fast = config.get("architecture") == "mininet_fast"
    assert name == config["dataset"] + ("_fast" if fast else "")
    assert card["dataset"] == config["dataset"]
    assert parameter_counts(model) == card["parameters"]
    assert model_config(model) == {
        "num_classes": 1,
        "widths": config["widths"],
        "expansion": config["expansion"],
        "dmres_scales": config["dmres_scales"],
        "upsampling": config["upsampling"],
        **({"stem_stride": 2} if fast else {}),
    }
    # Whole images resized to the training size, or tiles of the evaluation tile size.
    policy = card["input_policy"]
    if config["image_size"] is not None:
        assert policy["mode"] == "resize" and policy["size"] == config["image_size"]
    else:
        assert policy["mode"] == "tile" and policy["size"] == [config["eval_tile"]] * 2
    assert policy["multiple"] == required_multiple(model)
    # The threshold is the validation-selected one, on the candidate grid it was chosen from.
    assert card["threshold"] == card["val_threshold"]
    assert np.isclose(DEFAULT_THRESHOLDS, card["threshold"], rtol=0, atol=1e-9).sum() == 1
    assert card["threshold_selected_on"] == (
        f"validation split, pooled {config['threshold_metric']} over candidates "
        f"{DEFAULT_THRESHOLDS[0]:.2f}..{DEFAULT_THRESHOLDS[-1]:.2f}"
    )
    segmenter = mininet_tf.load_pretrained_segmenter(name)
    assert segmenter.threshold == card["threshold"]
    assert segmenter.policy == InputPolicy.from_dict(policy)


@pytest.mark.parametrize("name", SHIPPED)
def test_recorded_test_figures_are_consistent_with_each_other(name):
    """Pooled F1 and IoU come from one confusion matrix: IoU = F1 / (2 - F1) exactly; Dice is
    F1; per-image IoU is at most per-image F1 (IoU <= F1 on every image). A model trained on
    every labelled image but validation records its validation figures instead, and says so."""
    benchmark = mininet_tf.pretrained_card(name)["benchmark"]
    split = benchmark.get("evaluated_split", "test")
    assert (benchmark["test"] is None) == (split == "val")
    figures = benchmark[split]
    for agg in ("pooled", "per_image"):
        assert set(figures[agg]) == KEYS, agg
        assert figures[agg]["dice"] == figures[agg]["f1"], agg
    pooled = figures["pooled"]
    assert pooled["iou"] == pytest.approx(pooled["f1"] / (2 - pooled["f1"]), abs=1e-12)
    assert figures["per_image"]["iou"] <= figures["per_image"]["f1"]


@pytest.mark.parametrize("name", SHIPPED)
def test_a_fine_tuned_model_names_the_zoo_model_it_started_from(name):
    """A recipe that fine-tunes starts from a shipped model the user has (so it can be re-run),
    of the same architecture and widths, and the model it started from is no fine-tune itself."""
    init_from = mininet_tf.pretrained_card(name)["config"].get("init_from")
    if init_from is None:
        return
    source = PRETRAINED_DIR.parents[1] / init_from
    assert source.parent == PRETRAINED_DIR and source.is_file(), init_from
    parent = mininet_tf.pretrained_card(source.stem.removeprefix("mininet_"))["config"]
    config = mininet_tf.pretrained_card(name)["config"]
    for key in ("architecture", "widths", "expansion", "dmres_scales", "upsampling"):
        assert parent[key] == config[key], key
    assert parent.get("init_from") is None


def test_unknown_name_is_a_clear_error():
    with pytest.raises(ValueError, match="shipped"):
        mininet_tf.load_pretrained("nope")


@pytest.mark.shared_data
@pytest.mark.slow
@pytest.mark.parametrize("name", SHIPPED)
def test_regression_shipped_model_still_gives_its_recorded_figures(name, monkeypatch):
    """A regression test: the card's figures were recorded by benchmarks/quality.py with this
    same evaluation code, so agreement shows that nothing (loading, inference, data reading,
    metrics) changed since, not that the figures are right. Alongside, the pooled binary
    figures are recounted here with plain numpy from the same pass's masks (an independent
    confusion matrix inside each FOV), and the per-image F1 from per-image counts."""
    from mininet_lite.fundus import FovRescaled
    from mininet_tf.data import io
    from mininet_tf.evaluate import evaluate
    from mininet_tf.inference import KerasSegmenter

    dataset = name.removesuffix("_fast")  # the fast variants' data are their dataset's
    data_dir = shared_data_dir() / DATA_FOLDERS[dataset]
    if not data_dir.is_dir():
        pytest.skip(f"real data not found at {data_dir} (set MININET_DATA_DIR)")
    card = mininet_tf.pretrained_card(name)
    threshold = card["threshold"]

    # One pass: remember each record's truth as it is read, count as it is predicted.
    # A model trained on normalised fundus images is served through FovRescaled: count there,
    # where the map is back at the image's size.
    served = FovRescaled if card.get("fov_normalised") else KerasSegmenter
    read_record, predict = io.read_record, served.predict
    truth, counts = {}, []

    def reading(record):
        image, mask, fov = read_record(record)
        truth["mask"] = mask.astype(bool)
        truth["inside"] = np.ones(mask.shape, bool) if fov is None else fov.astype(bool)
        return image, mask, fov

    def predicting(self, image):
        prob = predict(self, image)
        pred, mask, inside = prob >= threshold, truth.pop("mask"), truth.pop("inside")
        counts.append(
            [int(np.sum(a & b & inside)) for a, b in ((pred, mask), (pred, ~mask), (~pred, mask))]
            + [int(np.sum(~pred & ~mask & inside))]
        )
        return prob

    monkeypatch.setattr(io, "read_record", reading)
    monkeypatch.setattr(served, "predict", predicting)
    split = card["benchmark"].get("evaluated_split", "test")
    split_file = card["config"].get("split_file", "shipped")
    result = evaluate(
        mininet_tf.pretrained_path(name), dataset, data_dir, split, split_file=split_file
    )

    recorded = card["benchmark"][split]
    assert result["n_images"] == len(counts) == card["benchmark"][f"{split}_images"]
    for agg in ("pooled", "per_image"):
        assert set(recorded[agg]) == KEYS
        for key, value in recorded[agg].items():
            assert result[agg][key] == pytest.approx(value, abs=1e-4), (agg, key)
    tp, fp, fn, tn = np.sum(counts, axis=0)
    pooled = recorded["pooled"]
    assert pooled["f1"] == pytest.approx(2 * tp / (2 * tp + fp + fn), abs=1e-4)
    assert pooled["iou"] == pytest.approx(tp / (tp + fp + fn), abs=1e-4)
    assert pooled["sensitivity"] == pytest.approx(tp / (tp + fn), abs=1e-4)
    assert pooled["specificity"] == pytest.approx(tn / (tn + fp), abs=1e-4)
    assert pooled["accuracy"] == pytest.approx((tp + tn) / (tp + fp + fn + tn), abs=1e-4)
    per_f1 = [2 * t / (2 * t + p + n) if 2 * t + p + n else 1.0 for t, p, n, _ in counts]
    assert recorded["per_image"]["f1"] == pytest.approx(np.mean(per_f1), abs=1e-4)
