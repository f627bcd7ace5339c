"""`mininet_lite.batch`: bad inputs never stop a batch, the manifest, resuming, one model per
folder (a fake segmenter: no model needed)."""

import json

import pytest

from mininet_lite.batch import MANIFEST, BatchError, run_batch

MODEL = {"path": "m.tflite", "sha256": "aa" * 32, "threshold": 0.5}


def _inputs(tmp_path, names=("a", "b", "bad", "c")):
    folder = tmp_path / "in"
    folder.mkdir()
    files = []
    for name in names:
        (folder / f"{name}.png").write_text(name)
        files.append(folder / f"{name}.png")
    return files


def _segment(calls):
    def segment(f, paths):
        calls.append(f.name)
        if f.stem == "bad":
            raise OSError("cannot identify image file")
        for p in paths:
            p.write_text(f"{f.stem} by model")
        return {"foreground_fraction": 0.25}

    return segment


def test_bad_input_is_reported_and_the_rest_is_done(tmp_path):
    files, out, calls, lines = _inputs(tmp_path), tmp_path / "out", [], []
    manifest = run_batch(files, out, MODEL, _segment(calls), tool="t", log=lines.append)
    assert calls == ["a.png", "b.png", "bad.png", "c.png"]
    assert manifest["counts"] == {"ok": 3, "failed": 1, "skipped": 0}
    assert lines == [f"failed: {files[2]}: OSError: cannot identify image file"]
    saved = json.loads((out / MANIFEST).read_text())
    assert saved["model"] == MODEL and saved["inputs"]["bad.png"]["status"] == "failed"
    assert saved["inputs"]["c.png"]["outputs"][0].endswith("c_mask.png")


def test_manifest_is_on_disk_when_the_batch_is_interrupted(tmp_path):
    files, out = _inputs(tmp_path), tmp_path / "out"

    def segment(f, paths):
        if f.stem == "bad":
            raise KeyboardInterrupt
        for p in paths:
            p.write_text("x")
        return {}

    with pytest.raises(KeyboardInterrupt):
        run_batch(files, out, MODEL, segment, tool="t")
    saved = json.loads((out / MANIFEST).read_text())
    assert sorted(saved["inputs"]) == ["a.png", "b.png"]
    # --skip-existing resumes after a, b.
    calls = []
    manifest = run_batch(
        files, out, MODEL, _segment(calls), tool="t", skip_existing=True, log=lambda _: None
    )
    assert calls == ["bad.png", "c.png"]
    assert manifest["counts"] == {"ok": 1, "failed": 1, "skipped": 2}
    assert sorted(manifest["inputs"]) == ["a.png", "b.png", "bad.png", "c.png"]


def test_existing_files_without_a_manifest_are_never_replaced(tmp_path):
    files, out = _inputs(tmp_path, ("a",)), tmp_path / "out"
    out.mkdir()
    (out / "a_mask.png").write_text("the user's file")
    for flags in ({}, {"skip_existing": True}):
        with pytest.raises(FileExistsError, match="a_mask.png"):
            run_batch(files, out, MODEL, _segment([]), tool="t", **flags)
    assert (out / "a_mask.png").read_text() == "the user's file"
    assert not (out / MANIFEST).exists()


def test_another_model_is_refused_unless_allowed(tmp_path):
    files, out = _inputs(tmp_path, ("a",)), tmp_path / "out"
    run_batch(files, out, MODEL, _segment([]), tool="t")
    other = {**MODEL, "sha256": "bb" * 32}
    for flags in ({"overwrite": True}, {"skip_existing": True}):
        with pytest.raises(BatchError, match="another model"):
            run_batch(files, out, other, _segment([]), tool="t", **flags)
    assert json.loads((out / MANIFEST).read_text())["model"] == MODEL
    run_batch(files, out, other, _segment([]), tool="t", overwrite=True, allow_other_model=True)
    assert json.loads((out / MANIFEST).read_text())["model"] == other


def test_tta_is_part_of_the_model_and_older_manifests_mean_none(tmp_path):
    files, out = _inputs(tmp_path, ("a",)), tmp_path / "out"
    run_batch(files, out, MODEL, _segment([]), tool="t")  # no "tta": written before the option
    calls = []
    manifest = run_batch(
        files, out, {**MODEL, "tta": None}, _segment(calls), tool="t", skip_existing=True
    )
    assert calls == [] and manifest["counts"]["skipped"] == 1
    for flags in ({"overwrite": True}, {"skip_existing": True}):
        with pytest.raises(BatchError, match="another model .*tta none"):
            run_batch(files, out, {**MODEL, "tta": "flip"}, _segment([]), tool="t", **flags)
