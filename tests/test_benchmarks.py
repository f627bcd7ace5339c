"""The benchmark scripts' recipe plumbing (their figures are measured, not tested, here)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import kfold  # noqa: E402
import quality  # noqa: E402
from quality import RECIPES  # noqa: E402

from mininet_tf.config import TrainConfig  # noqa: E402
from mininet_tf.data import get_split  # noqa: E402


@pytest.mark.parametrize("dataset", sorted(RECIPES))
def test_every_recipe_runs_on_kfold_manifests(dataset, tmp_path):
    # A recipe's own split (e.g. MoNuSeg's split file) must not leak into the fold's manifest run.
    recipe = kfold.fold_recipe(dataset, budget=0.2, precision="mixed_bfloat16")
    cfg = TrainConfig(
        **recipe,
        dataset="manifest",
        data_dir=str(tmp_path),
        augment_preset="histology",
        out=str(tmp_path / "run"),
    ).validate()
    assert cfg.dataset == "manifest"
    assert cfg.epochs == max(1, round(RECIPES[dataset]["epochs"] * 0.2))
    assert cfg.precision == "mixed_bfloat16"
    # A fold never starts from a model that saw its held-out images.
    assert cfg.init_from is None


def test_fold_recipe_keeps_the_steps_override():
    assert kfold.fold_recipe("monuseg", 1.0, "float32", steps_per_epoch=3)["steps_per_epoch"] == 3


def test_quality_width_override_reaches_the_recipe():
    base = ["--dataset", "drive", "--data-dir", "d"]
    _, overrides = quality.parse_args([*base, "--widths", "12", "16", "24", "28", "36"])
    assert overrides == {"widths": [12, 16, 24, 28, 36]}
    # The U-Net baseline keeps its own widths unless asked for others.
    _, unet = quality.parse_args([*base, "--architecture", "unet"])
    assert unet["architecture"] == "unet" and unet["widths"] != [16, 24, 30, 40]
    _, unet = quality.parse_args([*base, "--architecture", "unet", "--widths", "8", "16"])
    assert unet["widths"] == [8, 16]
    # --seed moves the training seed, never the validation carve.
    _, seeded = quality.parse_args([*base, "--seed", "2"])
    assert seeded == {"seed": 2, "split_seed": 0}


class Started(Exception):
    """Raised with the TrainConfig in place of training (`training_starts`)."""


@pytest.fixture
def training_starts(monkeypatch):
    import mininet_tf.train

    def fake_train(cfg):
        raise Started(cfg)

    monkeypatch.setattr(mininet_tf.train, "train", fake_train)


def test_quality_fine_tuning_overrides_reach_training(training_starts, tmp_path):
    args, overrides = quality.parse_args(
        ["--dataset", "drive", "--data-dir", "d", "--learning-rate", "0.001"]
        + ["--init-from", "mininet_tf/pretrained/mininet_fundus.keras"]
    )
    with pytest.raises(Started) as started:
        quality.run("drive", str(tmp_path), tmp_path, ship=False, **overrides)
    cfg = started.value.args[0]
    # A zoo path is read relative to the project, wherever the benchmark is started from.
    assert cfg.init_from == str(quality.ROOT / "mininet_tf/pretrained/mininet_fundus.keras")
    assert cfg.learning_rate == 0.001 and cfg.epochs == RECIPES["drive"]["epochs"]


def test_quality_init_from_none_trains_a_fine_tuning_recipe_from_scratch(training_starts, tmp_path):
    assert RECIPES["chase_db1"]["init_from"]  # the recipe fine-tunes
    base = ["--dataset", "chase_db1", "--data-dir", "d"]
    _, overrides = quality.parse_args([*base, "--init-from", "none"])
    assert overrides == {"init_from": None}
    _, subjects = quality.parse_args([*base, "--split-file", "chase_db1_subjects"])
    assert subjects == {"split_file": "chase_db1_subjects"}
    with pytest.raises(Started) as started:
        quality.run("chase_db1", str(tmp_path), tmp_path, ship=False, **overrides)
    assert started.value.args[0].init_from is None


@pytest.mark.parametrize(
    ("qat_f1", "ptq_f1", "shipped"),
    [(0.80, 0.81, "int8 PTQ"), (0.81, 0.80, "int8 QAT"), (0.80, 0.80, "int8 QAT")],
)
def test_edge_ships_the_int8_file_that_wins_on_validation(
    monkeypatch, tmp_path, qat_f1, ptq_f1, shipped
):
    import json

    import edge

    import mininet_tf.evaluate
    import mininet_tf.metadata

    files = {}
    for label, stem, f1 in (
        ("int8 QAT", "m_int8", qat_f1),
        ("int8 PTQ", "m_int8_ptq", ptq_f1),
        ("float16", "m_float16", None),
    ):
        path = tmp_path / "work" / f"{stem}.tflite"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(stem.encode())
        path.with_suffix(".json").write_text(json.dumps({"model_file": path.name, "f1": f1}))
        files[label] = path
    calls = []

    def fake_evaluate(model, dataset, data_dir, split):
        calls.append(split)
        return {"pooled": {"f1": json.loads(Path(model).with_suffix(".json").read_text())["f1"]}}

    monkeypatch.setattr(mininet_tf.evaluate, "evaluate", fake_evaluate)
    # The real stamping needs a real model (tests/test_metadata.py); here: the new name only.
    monkeypatch.setattr(
        mininet_tf.metadata,
        "stamped_model",
        lambda data, stem, card: (data, {**card, "stamped_as": stem}),
    )
    selection = edge.choose_int8(files, "drive", "d", "val")
    assert calls == ["val", "val"]  # the test split never chooses
    assert selection["shipped"] == shipped
    dest = tmp_path / "models"
    edge.ship_files(files, "drive", selection, dest)
    # Shipped under the int8 name, whichever it is, with a card that says so.
    int8 = dest / "mininet_drive_int8.tflite"
    assert int8.read_bytes() == files[shipped].read_bytes()
    card = json.loads(int8.with_suffix(".json").read_text())
    assert card["model_file"] == int8.name and card["int8_selection"]["shipped"] == shipped
    assert card["stamped_as"] == int8.stem
    assert (dest / "mininet_drive_float16.tflite").read_bytes() == b"m_float16"
    assert edge.choose_int8(files, "drive", "d", "ptq")["shipped"] == "int8 PTQ"


def test_clahe_tree_equalises_photographs_only_and_keeps_the_fov(monkeypatch, tmp_path):
    import clahe_tree

    try:  # tests/ may or may not be a package
        from tests import fixtures_data as fx
    except ImportError:  # pragma: no cover
        import fixtures_data as fx
    from mininet_tf.data.io import read_fov

    # Equalisation raises local contrast of a low-contrast photograph, shape and dtype kept.
    rng = np.random.default_rng(0)
    dull = np.clip(120 + rng.normal(0, 4, (64, 64, 3)), 0, 255).astype(np.uint8)
    out = clahe_tree.equalise(dull)
    assert out.shape == dull.shape and out.dtype == np.uint8
    assert out.astype(float).std() > 1.5 * dull.astype(float).std()

    monkeypatch.setenv("MININET_CACHE_DIR", str(tmp_path / "cache"))
    src, dst = tmp_path / "src", tmp_path / "dst"
    fx.make_chase(src)
    args = ["--dataset", "chase_db1", "--src", str(src), "--dst", str(dst)]
    assert clahe_tree.main([*args, "--keep-rim", "2", "--fov-from-original"]) == 0
    for label in sorted(src.rglob("*HO.png")):  # labels copied byte for byte
        assert (dst / label.relative_to(src)).read_bytes() == label.read_bytes()
    before = get_split("chase_db1", src, "all")
    after = get_split("chase_db1", dst, "all")
    assert [r.id for r in before] == [r.id for r in after]
    changed = 0
    for a, b in zip(before, after, strict=True):
        assert (read_fov(a.fov) == read_fov(b.fov)).all()  # the metrics count the same pixels
        changed += a.image.read_bytes() != b.image.read_bytes()
    assert changed == len(before)
    with pytest.raises(SystemExit, match="exists"):  # never writes into an existing tree
        clahe_tree.main(args)
    drive = ["--dataset", "drive", "--src", str(src), "--dst", str(tmp_path / "d")]
    with pytest.raises(SystemExit, match="no drive photographs"):
        clahe_tree.main(drive)
    with pytest.raises(SystemExit):  # DRIVE ships its FOV masks
        clahe_tree.main([*drive, "--fov-from-original"])
    assert not (tmp_path / "d").exists()  # refused before anything is written
