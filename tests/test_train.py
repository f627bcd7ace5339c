"""`mininet_tf.train`: short real runs on the synthetic default, resume after a kill, errors."""

import csv
import json
import os
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest

from mininet_tf import train as train_module
from mininet_tf.config import TrainConfig, load_config_file, resolve_config
from mininet_tf.train import TrainingError, train

from .conftest import ROOT

TINY = dict(epochs=2, steps_per_epoch=3, batch_size=4, patch_size=32)


def _env():
    return {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'tflite'}"}


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "tiny"
    report = train(out=str(out), verbose=0, **TINY)
    return out, report


def test_run_directory_has_everything(tiny_run):
    out, report = tiny_run
    for name in (
        "config.json",
        "best.keras",
        "best.json",
        "last.keras",
        "log.csv",
        "eval_test.json",
        "report.json",
        "manifests/train.csv",
        "manifests/val.csv",
        "manifests/test.csv",
    ):
        assert (out / name).is_file(), name
    assert (out / "tensorboard").is_dir()
    assert report["epochs_run"] == 2
    rows = list(csv.DictReader(open(out / "log.csv")))
    assert [int(r["epoch"]) for r in rows] == [0, 1]
    assert {"loss", "dice", "val_best", "val_threshold", "val_auc"} <= set(rows[0])


def test_card_threshold_comes_from_validation(tiny_run):
    out, report = tiny_run
    card = json.loads((out / "best.json").read_text())
    assert card["threshold"] == report["threshold"]
    # Recomputed here: best.keras on the validation manifest's images at full resolution, the
    # pooled F1 inside the FOV counted with numpy at every candidate (0.05, 0.06, ..., 0.95);
    # the card holds the first best one and its score.
    from mininet_tf.data import get_split
    from mininet_tf.data.io import read_record
    from mininet_tf.inference import KerasSegmenter

    segmenter = KerasSegmenter(out / "best.keras")
    pairs = []
    for record in get_split("manifest", out / "manifests", "val"):
        image, mask, fov = read_record(record)
        inside = np.ones(mask.shape, bool) if fov is None else fov.astype(bool)
        pairs.append((mask.astype(bool)[inside], segmenter.predict(image)[inside]))
    truth = np.concatenate([t for t, _ in pairs])
    prob = np.concatenate([p for _, p in pairs])
    candidates = np.round(np.arange(5, 96) / 100, 2)
    f1 = []
    for threshold in candidates:
        pred = prob >= np.float32(threshold)
        tp, fp, fn = np.sum(pred & truth), np.sum(pred & ~truth), np.sum(~pred & truth)
        f1.append(2 * tp / (2 * tp + fp + fn))
    assert card["threshold"] == pytest.approx(candidates[int(np.argmax(f1))])
    assert card["val_best"] == pytest.approx(max(f1), abs=1e-9)
    assert "validation" in card["threshold_selected_on"]
    assert card["input_policy"]["mode"] == "tile"
    assert card["parameters"]["total"] == keras.models.load_model(out / "best.keras").count_params()
    # The manifests are disjoint: no validation or test image was trained on.
    ids = {
        s: {r["image"] for r in csv.DictReader(open(out / "manifests" / f"{s}.csv"))}
        for s in ("train", "val", "test")
    }
    assert not ids["train"] & ids["val"] and not ids["train"] & ids["test"]


def test_card_records_the_training_images_fov_width(tiny_run):
    # What --fov-width auto resamples other cameras to: here measured independently, as the
    # column extent of each training image's FOV mask.
    from mininet_tf.data import get_split
    from mininet_tf.data.io import read_fov

    out, _ = tiny_run
    card = json.loads((out / "best.json").read_text())
    widths = []
    for record in get_split("manifest", out / "manifests", "train"):
        columns = np.flatnonzero(read_fov(record.fov).any(axis=0))
        widths.append(columns[-1] - columns[0] + 1)
    assert card["fov_width"] == pytest.approx(np.mean(widths), rel=0.02)


def test_fov_width_trains_validates_and_serves_at_the_normalised_scale(tmp_path):
    from mininet_lite.fundus import FovRescaled, with_fov_width
    from mininet_tf.inference import load_segmenter

    out = tmp_path / "norm"
    train(out=str(out), verbose=0, fov_width=60, **{**TINY, "epochs": 1})
    card = json.loads((out / "best.json").read_text())
    assert card["fov_width"] == 60 and card["fov_normalised"] is True
    # Test figures were measured as served: every image resampled to a 60-px-wide FOV (the
    # synthetic discs are about 122 px wide, so by about one half).
    conventions = json.loads((out / "eval_test.json").read_text())["conventions"]
    assert conventions["fov_width"].startswith("each image resampled so its field of view is 60")
    served = with_fov_width(load_segmenter(out / "best.keras"), None)
    assert isinstance(served, FovRescaled) and served.fov_width == 60
    assert with_fov_width(load_segmenter(out / "best.keras"), "none").fov_width is None


def test_saved_model_loads_without_custom_objects(tiny_run):
    out, _ = tiny_run
    code = "import keras, mininet_tf; m = keras.models.load_model(r'%s'); print(m.name)" % (
        out / "best.keras"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=_env(), check=True
    )
    assert "mininet" in done.stdout


def test_existing_run_dir_is_not_overwritten(tiny_run):
    out, _ = tiny_run
    before = (out / "best.keras").stat().st_mtime_ns
    with pytest.raises(TrainingError, match="--resume"):
        train(out=str(out), verbose=0, **TINY)
    assert (out / "best.keras").stat().st_mtime_ns == before


def test_config_file_and_flags_precedence(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("epochs: 5\nbatch_size: 2\nimage_size: [64, 64]\npatch_size: null\n")
    parser = train_module.argparse.ArgumentParser()
    parser.add_argument("--config")
    train_module.add_config_arguments(parser)
    cfg = resolve_config(parser.parse_args(["--config", str(path), "--epochs", "7"]))
    assert cfg.epochs == 7 and cfg.batch_size == 2 and cfg.image_size == [64, 64]
    assert cfg.patch_size is None
    (tmp_path / "bad.json").write_text('{"epochs": 1, "learnin_rate": 0.1}')
    with pytest.raises(ValueError, match="learnin_rate"):
        load_config_file(tmp_path / "bad.json")
    with pytest.raises(ValueError, match="exactly one"):
        TrainConfig(patch_size=None).validate()


def test_nan_loss_stops_with_a_clear_message(tmp_path, monkeypatch):
    def nan_compile(model, cfg):
        model.compile(optimizer="adam", loss=lambda y, p: keras.ops.mean(p) * np.nan)

    monkeypatch.setattr(train_module, "compile_model", nan_compile)
    with pytest.raises(TrainingError, match="NaN"):
        train(out=str(tmp_path / "nan"), verbose=0, **TINY)


def test_cli_reports_bad_dataset_path(tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mininet_tf.train",
            "--dataset",
            "drive",
            "--data-dir",
            str(tmp_path / "missing"),
            "--out",
            str(tmp_path / "r"),
        ],
        capture_output=True,
        text=True,
        env=_env(),
    )
    assert done.returncode == 2
    assert "missing" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.slow
def test_resume_after_kill_keeps_finished_epochs(tmp_path):
    out = tmp_path / "killed"
    args = [
        sys.executable,
        "-m",
        "mininet_tf.train",
        "--out",
        str(out),
        "--epochs",
        "3",
        "--steps-per-epoch",
        "12",
        "--batch-size",
        "4",
        "--patch-size",
        "32",
        "--verbose",
        "0",
    ]
    proc = subprocess.Popen(args, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    state = out / "state.json"
    deadline = time.time() + 240
    while time.time() < deadline:
        if state.is_file() and json.loads(state.read_text())["epochs_done"] >= 1:
            break
        if proc.poll() is not None:
            pytest.fail("training ended before it could be killed")
        time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("first epoch did not finish in time")
    time.sleep(1.0)  # now inside epoch 2
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    first = list(csv.DictReader(open(out / "log.csv")))
    assert len(first) in (1, 2)

    done = subprocess.run(
        args[:3] + ["--out", str(out), "--resume", "--verbose", "0"],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    rows = list(csv.DictReader(open(out / "log.csv")))
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2]
    assert rows[0] == first[0]  # the finished epoch was not redone
    assert json.loads(state.read_text())["epochs_done"] == 3


@pytest.mark.slow
def test_mixed_bfloat16_trains_in_bf16_and_ships_float32(tmp_path):
    """precision=mixed_bfloat16: the fitted model computes in bf16, but best.keras (what is
    evaluated, exported and shipped) is a float32 graph with the same weights."""
    out = tmp_path / "bf16"
    train(out=str(out), verbose=0, precision="mixed_bfloat16", **TINY)
    assert keras.config.dtype_policy().name == "float32"  # the global policy is restored
    last = keras.models.load_model(out / "last.keras", compile=False)
    best = keras.models.load_model(out / "best.keras", compile=False)
    assert {layer.dtype_policy.name for layer in last.layers[1:-1]} == {"mixed_bfloat16"}
    assert {layer.dtype_policy.name for layer in best.layers} == {"float32"}
    x = np.random.default_rng(0).uniform(0, 255, (1, 32, 32, 3)).astype("float32")
    # The bf16 forward pass of the same weights differs from float32 only by bf16 rounding.
    twin = train_module.float32_copy(last, resolve_config(None, **TINY))
    assert twin is not last and {layer.dtype_policy.name for layer in twin.layers} == {"float32"}
    np.testing.assert_allclose(twin(x), last(x), atol=0.05)
    assert not np.array_equal(np.asarray(twin(x)), np.asarray(last(x)))


def test_fast_architecture_trains_and_its_card_serves_it(tmp_path):
    """architecture=mininet_fast: the run saves the half-resolution graph, and its card asks
    for input multiples of 16 (stride-2 stem x three poolings), not Mini-Net's 8."""
    out = tmp_path / "fast"
    train(out=str(out), verbose=0, architecture="mininet_fast", **TINY)
    best = keras.models.load_model(out / "best.keras", compile=False)
    assert best.name == "mininet_fast" and best.get_layer("stem_conv").strides == (2, 2)
    card = json.loads((out / "best.json").read_text())
    assert card["input_policy"]["multiple"] == 16
    with pytest.raises(ValueError, match="mininet_fast"):
        TrainConfig(architecture="fast").validate()


def test_augment_preset_option(tmp_path):
    with pytest.raises(ValueError, match="augment_preset"):
        TrainConfig(augment_preset="xray").validate()
    with pytest.raises(ValueError, match="precision"):
        TrainConfig(precision="float16").validate()
    from mininet_tf.data import get_split

    records = get_split("synthetic", tmp_path / "syn", "train", val_fraction=0.2)[:2]
    first = {}
    for name, options in {
        "off": dict(augment=False),
        "none": dict(augment_preset="none"),
        "field": dict(augment_preset="dermoscopy_field"),
    }.items():
        cfg = resolve_config(None, **TINY, **options)
        first[name] = next(iter(train_module.make_train_dataset(records, cfg)))[0].numpy()
    np.testing.assert_array_equal(first["off"], first["none"])
    assert not np.array_equal(first["off"], first["field"])


@pytest.mark.slow
def test_ema_selects_and_ships_the_weight_average(tmp_path):
    """ema_momentum: best.keras holds the optimizer's moving average of the weights, not the
    weights. Keras starts the average at the weights after the first step, so with a momentum
    of nearly 1 a 3-step run ships (to rounding) the weights one step of training gives."""
    options = dict(TINY, epochs=1, lr_schedule="constant")
    train(out=str(tmp_path / "ema"), verbose=0, ema_momentum=1 - 1e-9, **options)
    train(out=str(tmp_path / "one"), verbose=0, **{**options, "steps_per_epoch": 1})
    ema = keras.models.load_model(tmp_path / "ema" / "best.keras", compile=False)
    raw = keras.models.load_model(tmp_path / "ema" / "last.keras", compile=False)
    one = keras.models.load_model(tmp_path / "one" / "best.keras", compile=False)
    for w, w_one in zip(ema.trainable_weights, one.trainable_weights, strict=True):
        np.testing.assert_allclose(np.asarray(w), np.asarray(w_one), atol=1e-6, err_msg=w.path)
    pairs = zip(ema.trainable_weights, raw.trainable_weights, strict=True)
    moved = [not np.allclose(a, b) for a, b in pairs]
    assert sum(moved) > len(moved) // 2  # the raw weights took two more steps
    with pytest.raises(ValueError, match="ema_momentum"):
        TrainConfig(ema_momentum=1.0).validate()


def test_init_from_starts_from_the_given_weights(tiny_run, tmp_path):
    source, _ = tiny_run
    # Zero epochs are not allowed; one step at a rate of 0 keeps the copied weights untouched.
    out = tmp_path / "finetune"
    train(
        out=str(out),
        verbose=0,
        init_from=str(source / "best.keras"),
        learning_rate=0.0,
        lr_schedule="constant",
        **{**TINY, "epochs": 1, "steps_per_epoch": 1, "patch_size": 48},
    )
    expected = keras.models.load_model(source / "best.keras", compile=False)
    got = keras.models.load_model(out / "last.keras", compile=False)
    trainable = {id(w) for w in got.trainable_weights}
    compared = 0
    for layer in got.layers:
        for w, w0 in zip(layer.weights, expected.get_layer(layer.name).weights, strict=True):
            if id(w) in trainable:  # BatchNorm moving statistics still move at rate 0
                np.testing.assert_array_equal(np.asarray(w), np.asarray(w0), err_msg=w.path)
                compared += 1
    assert compared == len(got.trainable_weights) > 0


@pytest.mark.slow
def test_init_from_rejects_other_widths_naming_the_file(tiny_run, tmp_path):
    source, _ = tiny_run
    path = source / "best.keras"
    with pytest.raises(TrainingError, match=r"best\.keras.*other widths"):
        train(out=str(tmp_path / "w"), verbose=0, init_from=str(path), widths=[8, 12, 16], **TINY)
    with pytest.raises(TrainingError, match=r"missing\.keras: init_from model not found"):
        train(out=str(tmp_path / "m"), verbose=0, init_from=str(tmp_path / "missing.keras"), **TINY)
    with pytest.raises(ValueError, match="must be a .keras model file"):
        TrainConfig(init_from="weights.h5").validate()


@pytest.mark.parametrize(
    "option", [{"learning_rate": -1e-3}, {"learning_rate": float("nan")}, {"weight_decay": -1.0}]
)
def test_negative_or_nan_rates_are_refused(option):
    with pytest.raises(ValueError, match=f"{next(iter(option))} must be >= 0"):
        TrainConfig(**option).validate()


@pytest.mark.slow
def test_all_background_masks_train_with_a_loud_warning(tmp_path, capfd):
    from .test_evaluate import _background_only_folder

    data = _background_only_folder(tmp_path / "empty", n=12)
    with pytest.warns(UserWarning, match="hold no foreground pixel") as caught:
        train(dataset="folder", data_dir=str(data), out=str(tmp_path / "run"), verbose=0, **TINY)
    messages = " ".join(str(w.message) for w in caught)
    assert "training masks" in messages and "validation masks" in messages
    assert "WARNING:" in capfd.readouterr().err

    def refuse(token):
        raise AssertionError(f"non-JSON token {token}")

    for name in ("best.json", "report.json", "eval_test.json"):  # strict JSON: null, not NaN
        json.loads((tmp_path / "run" / name).read_text(), parse_constant=refuse)
    assert json.loads((tmp_path / "run" / "report.json").read_text())["test"]["auc"] is None


def test_every_option_has_help_text_and_its_default():
    import argparse
    import dataclasses

    from mininet_tf.config import add_config_arguments

    parser = argparse.ArgumentParser()
    add_config_arguments(parser)
    text = " ".join(parser.format_help().split())
    for f in dataclasses.fields(TrainConfig):
        action = next(a for a in parser._actions if a.dest == f.name)
        assert action.help and "(default: " in action.help, f.name
    assert "--learning-rate LEARNING_RATE initial learning rate (>= 0) (default: 0.003)" in text
    assert "(default: 16 24 30 40)" in text
    # argparse's own default stays None: flags left out do not override a --config file
    assert all(
        parser.parse_args([]).__dict__[f.name] is None for f in dataclasses.fields(TrainConfig)
    )


def test_a_run_that_fails_early_leaves_nothing_behind(tmp_path):
    out = tmp_path / "run"
    with pytest.raises(Exception, match="missing"):
        train(dataset="folder", data_dir=str(tmp_path / "missing"), out=str(out), verbose=0, **TINY)
    assert not out.exists()  # so the corrected command is not refused
    existing = tmp_path / "mine"
    existing.mkdir()
    with pytest.raises(Exception, match="missing"):
        train(
            dataset="folder",
            data_dir=str(tmp_path / "missing"),
            out=str(existing),
            verbose=0,
            **TINY,
        )
    assert existing.is_dir() and not any(existing.iterdir())  # the user's folder stays, empty


def test_a_run_is_locked_against_a_second_process(tiny_run):
    out, _ = tiny_run
    with train_module.run_lock(out):
        with pytest.raises(TrainingError, match="another process is training"):
            train(out=str(out), resume=True, verbose=0)


def test_resume_refuses_options_that_would_be_ignored(tiny_run, capsys):
    out, _ = tiny_run
    code = train_module.main(["--out", str(out), "--resume", "--epochs", "9", "--seed", "0"])
    assert code == 2
    err = capsys.readouterr().err
    assert "--epochs 9 (run: 2)" in err and "--init-from" in err
    assert "--seed" not in err  # same as the saved value: no conflict
