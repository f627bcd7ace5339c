"""`mininet_tf.predict`: folders and files in, masks and overlays out, inputs never touched."""

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from mininet_tf.data.records import DataError
from mininet_tf.inference import write_card
from mininet_tf.model import build_mininet
from mininet_tf.predict import collect_inputs, main, predict

from .test_train import _env


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    folder = tmp_path_factory.mktemp("model")
    model = build_mininet(widths=(8, 12, 16))
    model.save(folder / "m.keras")
    write_card(folder / "m.keras", {"threshold": 0.5})
    return folder / "m.keras"


@pytest.fixture()
def images(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (50, 70, 3), dtype=np.uint8)).save(folder / "a.png")
    Image.fromarray(rng.integers(0, 256, (33, 41, 3), dtype=np.uint8)).save(folder / "b.jpg")
    (folder / "notes.txt").write_text("not an image")
    return folder


def test_folder_in_masks_out_and_inputs_untouched(model_path, images, tmp_path):
    before = {p.name: p.read_bytes() for p in images.iterdir()}
    out = tmp_path / "out"
    manifest = predict(model_path, [images], out)
    rows = manifest["inputs"]
    assert [r["input"] for r in rows.values()] == [str(images / "a.png"), str(images / "b.jpg")]
    assert {r["status"] for r in rows.values()} == {"ok"}
    for stem, shape in (("a", (50, 70)), ("b", (33, 41))):
        mask = np.asarray(Image.open(out / f"{stem}_mask.png"))
        assert mask.shape == shape and set(np.unique(mask)) <= {0, 255}
        assert np.asarray(Image.open(out / f"{stem}_overlay.png")).shape == shape + (3,)
        assert (out / f"{stem}_prob.png").is_file()
    assert {p.name: p.read_bytes() for p in images.iterdir()} == before


def test_existing_outputs_are_not_overwritten(model_path, images, tmp_path):
    out = tmp_path / "out"
    predict(model_path, [images / "a.png"], out)
    stamp = (out / "a_mask.png").stat().st_mtime_ns
    with pytest.raises(FileExistsError, match="a_mask.png"):
        predict(model_path, [images / "a.png"], out)
    assert (out / "a_mask.png").stat().st_mtime_ns == stamp
    predict(model_path, [images / "a.png"], out, overwrite=True)


def test_output_folder_may_not_be_an_input_folder(model_path, images):
    with pytest.raises(ValueError, match="input folder"):
        predict(model_path, [images], images)


def test_bad_inputs_are_named(tmp_path, images):
    with pytest.raises(FileNotFoundError, match="missing.png"):
        collect_inputs([tmp_path / "missing.png"])
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match="empty"):
        collect_inputs([empty])
    (tmp_path / "other").mkdir()
    Image.new("RGB", (8, 8)).save(tmp_path / "other" / "a.png")
    with pytest.raises(DataError, match="share the name"):
        collect_inputs([images, tmp_path / "other"])


def test_cli(model_path, images, tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mininet_tf.predict",
            "--model",
            str(model_path),
            str(images / "a.png"),
            "--out",
            str(tmp_path / "o"),
        ],
        capture_output=True,
        text=True,
        env=_env(),
    )
    assert done.returncode == 0, done.stderr[-1500:]
    assert "a_mask.png" in done.stdout
    corrupt = tmp_path / "c.png"
    corrupt.write_bytes(b"\x89PNG broken")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mininet_tf.predict",
            "--model",
            str(model_path),
            str(corrupt),
            "--out",
            str(tmp_path / "o2"),
        ],
        capture_output=True,
        text=True,
        env=_env(),
    )
    # A bad input is reported and the batch finishes: exit status 1, no traceback.
    assert done.returncode == 1, done.stderr[-1500:]
    assert f"FAILED {corrupt}" in done.stderr and "Traceback" not in done.stderr


def test_unwritable_output_is_a_clear_error_before_any_image(model_path, images, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code = main(["--model", str(model_path), str(images), "--out", str(blocker / "out")])
    assert code == 2
    assert "cannot write the output folder" in capsys.readouterr().err


def test_a_bad_input_is_reported_and_the_batch_goes_on(model_path, images, tmp_path, capsys):
    (images / "0_broken.png").write_bytes(b"\x89PNG not really")
    out = tmp_path / "out"
    code = main(["--model", str(model_path), str(images), "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 1  # some input failed
    assert f"FAILED {images / '0_broken.png'}" in captured.err
    assert "2 ok, 1 failed, 0 skipped" in captured.out
    assert (out / "a_mask.png").is_file() and (out / "b_mask.png").is_file()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["inputs"]["0_broken.png"]["status"] == "failed"
    assert manifest["model"]["sha256"] and manifest["model"]["threshold"] == 0.5
    # Resume: the two done inputs are skipped, the broken one is tried again.
    code = main(["--model", str(model_path), str(images), "--out", str(out), "--skip-existing"])
    assert code == 1 and "0 ok, 1 failed, 2 skipped" in capsys.readouterr().out


def test_one_folder_never_mixes_two_models(model_path, images, tmp_path):
    from mininet_lite.batch import BatchError

    out = tmp_path / "out"
    predict(model_path, [images], out)
    with pytest.raises(BatchError, match="another model"):
        predict(model_path, [images], out, overwrite=True, threshold=0.7)
    manifest = predict(
        model_path, [images], out, overwrite=True, threshold=0.7, allow_other_model=True
    )
    assert manifest["model"]["threshold"] == 0.7


def test_cli_tta_is_recorded_and_another_tta_is_another_model(model_path, images, tmp_path, capsys):
    out = tmp_path / "out"
    args = ["--model", str(model_path), str(images), "--out", str(out)]
    assert main([*args, "--tta", "flip"]) == 0
    assert json.loads((out / "manifest.json").read_text())["model"]["tta"] == "flip"
    # The same tta resumes this batch; another one would mix maps of two configurations.
    assert main([*args, "--tta", "flip", "--skip-existing"]) == 0
    assert "0 ok, 0 failed, 2 skipped" in capsys.readouterr().out
    assert main([*args, "--skip-existing"]) == 2
    err = capsys.readouterr().err
    assert "another model" in err and "tta flip" in err


def test_cli_fov_width_is_recorded_and_another_width_is_another_model(
    model_path, images, tmp_path, capsys
):
    out = tmp_path / "out"
    args = ["--model", str(model_path), str(images), "--out", str(out)]
    assert main([*args, "--fov-width", "40"]) == 0
    assert json.loads((out / "manifest.json").read_text())["model"]["fov_width"] == 40.0
    assert main([*args, "--fov-width", "40", "--skip-existing"]) == 0
    assert "0 ok, 0 failed, 2 skipped" in capsys.readouterr().out
    assert main([*args, "--skip-existing"]) == 2
    assert "fov_width 40.0" in capsys.readouterr().err
    # The test model's card records no training FOV width: 'auto' says so.
    assert main([*args[:-1], str(tmp_path / "other"), "--fov-width", "auto"]) == 2
    assert "records no fov_width" in capsys.readouterr().err
