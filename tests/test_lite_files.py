"""`mininet_lite.files`: which inputs a batch segmentation reads and which outputs it may write."""

import json
import math
import os

import numpy as np
import pytest

from mininet_lite.files import (
    atomic_write_bytes,
    atomic_write_json,
    collect_inputs,
    dumps_json,
    json_safe,
    plan_outputs,
)


def _is_png(path):
    return path.suffix == ".png"


@pytest.fixture
def inputs(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("b.png", "a.png", "notes.txt"):
        (folder / name).write_bytes(b"x")
    single = tmp_path / "c.png"
    single.write_bytes(b"x")
    return folder, single


def test_folders_are_listed_sorted_and_filtered(inputs):
    folder, single = inputs
    files = collect_inputs([folder, single], _is_png)
    assert [f.name for f in files] == ["a.png", "b.png", "c.png"]


def test_bad_inputs_name_the_path(inputs, tmp_path):
    folder, single = inputs
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="missing.png"):
        collect_inputs([tmp_path / "missing.png"], _is_png)
    with pytest.raises(KeyError, match="empty"):
        collect_inputs([tmp_path / "empty"], _is_png, error=KeyError)
    with pytest.raises(ValueError, match="share the name 'a'"):
        collect_inputs([folder, folder / "a.png"], _is_png)


def test_outputs_never_replace_files_silently(inputs, tmp_path):
    folder, single = inputs
    files = collect_inputs([folder], _is_png)
    out = tmp_path / "out"
    targets = plan_outputs(files, out)
    assert [p.name for p in targets[files[0]]] == ["a_mask.png", "a_prob.png", "a_overlay.png"]
    out.mkdir()
    (out / "b_prob.png").write_bytes(b"user data")
    with pytest.raises(FileExistsError, match="b_prob.png"):
        plan_outputs(files, out)
    assert plan_outputs(files, out, overwrite=True) == targets
    assert (out / "b_prob.png").read_bytes() == b"user data"  # planning writes nothing


def test_output_folder_may_not_be_an_input_folder(inputs):
    folder, single = inputs
    with pytest.raises(ValueError, match="input folder"):
        plan_outputs(collect_inputs([folder], _is_png), folder, overwrite=True)


def test_atomic_write_keeps_normal_permissions_and_never_leaves_half_a_file(tmp_path, monkeypatch):
    target = tmp_path / "sub" / "model.tflite"
    atomic_write_bytes(target, b"first")
    umask = os.umask(0)
    os.umask(umask)
    assert target.read_bytes() == b"first"
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask  # not mkstemp's 0600

    def failing_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_bytes(target, b"second")
    assert target.read_bytes() == b"first"
    assert sorted(p.name for p in target.parent.iterdir()) == ["model.tflite"]  # no temp left


def _strict_loads(text):
    def refuse(token):
        raise ValueError(f"non-standard JSON token {token}")

    return json.loads(text, parse_constant=refuse)


def test_undefined_values_become_null_with_a_warning_naming_them(tmp_path):
    value = {"pooled": {"f1": 0.5, "sensitivity": float("nan")}, "rows": [np.float32("inf"), 1]}
    clean, undefined = json_safe(value)
    assert clean == {"pooled": {"f1": 0.5, "sensitivity": None}, "rows": [None, 1]}
    assert undefined == ["pooled.sensitivity", "rows[0]"]
    with pytest.warns(UserWarning, match=r"report: 2 undefined .*pooled\.sensitivity, rows\[0\]"):
        text = dumps_json(value, what="report")
    assert _strict_loads(text) == clean
    path = tmp_path / "r.json"
    with pytest.warns(UserWarning, match="r.json"):
        atomic_write_json(path, value, indent=2)
    assert _strict_loads(path.read_text()) == clean


def test_finite_values_pass_unchanged_and_silently(recwarn):
    value = {"a": [1.0, np.float64(2.5), np.int64(3)], "b": "x", "c": None, "d": -0.0}
    assert _strict_loads(dumps_json(value)) == {"a": [1.0, 2.5, 3], "b": "x", "c": None, "d": 0.0}
    assert not recwarn.list
    assert not math.isnan(json_safe(np.float32(1.5))[0])


def test_output_folder_is_created_and_proved_writable(tmp_path):
    from mininet_lite.files import prepare_output_folder

    out = prepare_output_folder(tmp_path / "a" / "b")
    assert out.is_dir() and list(out.iterdir()) == []  # the probe file is gone
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(ValueError, match=r"--out .*file/sub: cannot write the output folder"):
        prepare_output_folder(blocker / "sub")
    assert blocker.read_text() == "not a folder"
