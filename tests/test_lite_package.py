"""mininet-lite as a distribution: shipped models by name, and the package installed (not
editable) into a virtual environment without TensorFlow, run from outside the clone.

The environment is made by ``.ci/install_test_tools.sh`` (tests install nothing): a venv at
``$MININET_LITE_VENV`` (default ``~/.cache/mininet_lite/venv``) holding ``pip install ./tflite``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mininet_lite import zoo
from mininet_lite.runtime import TFLiteSegmenter

from .conftest import ROOT

MODELS = ROOT / "tflite" / "models"
VENV = Path(
    os.environ.get("MININET_LITE_VENV")
    or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "mininet_lite" / "venv"
)


def test_shipped_models_by_name():
    shipped = zoo.list_models()
    cards = sorted(p.stem.removeprefix("mininet_") for p in MODELS.glob("*.json"))
    # Every card's model is reachable: int8 files by the dataset alone, others by full name.
    expected = sorted(c.removesuffix("_int8") for c in cards)
    assert sorted(shipped) == expected
    assert zoo.resolve_model("isic2017") == MODELS / "mininet_isic2017_int8.tflite"
    assert zoo.resolve_model("ISIC2017_float16") == MODELS / "mininet_isic2017_float16.tflite"
    assert zoo.resolve_model("mininet_ph2_int8") == MODELS / "mininet_ph2_int8.tflite"
    elsewhere = Path("/some/where/model.tflite")
    assert zoo.resolve_model(elsewhere) == elsewhere  # a path stays a path
    with pytest.raises(ValueError, match=r"'retina'.*shipped: chase_db1, chase_db1_float16"):
        zoo.resolve_model("retina")


def _venv_python() -> Path:
    python = VENV / "bin" / "python"
    if not python.is_file():
        pytest.skip(f"no mininet-lite test venv at {VENV} (made by .ci/install_test_tools.sh)")
    return python


def test_installed_package_segments_without_tensorflow(tmp_path):
    """`pip install ./tflite` gives a working `mininet-infer` with the models inside the
    installed package, no TensorFlow anywhere, and the masks of the clone's runtime."""
    python = _venv_python()
    run = dict(cwd=tmp_path, capture_output=True, text=True, env={"PATH": os.environ["PATH"]})
    probe = subprocess.run(
        [
            str(python),
            "-c",
            "import importlib.util as u, json, mininet_lite; print(json.dumps("
            "[mininet_lite.__file__, u.find_spec('tensorflow') is None]))",
        ],
        **run,
    )
    assert probe.returncode == 0, probe.stderr
    location, no_tensorflow = json.loads(probe.stdout)
    assert Path(location).is_relative_to(VENV) and no_tensorflow

    listing = subprocess.run([str(VENV / "bin" / "mininet-infer"), "--list-models"], **run)
    assert listing.returncode == 0, listing.stderr
    rows = dict(line.split(maxsplit=1) for line in listing.stdout.splitlines())
    assert Path(rows["ph2"]).is_relative_to(VENV) and rows["ph2"].endswith(
        "mininet_ph2_int8.tflite"
    )

    rng = np.random.default_rng(0)
    image = np.clip(rng.normal(150, 40, (90, 120, 3)), 0, 255).astype(np.uint8)
    image[30:60, 40:80] //= 3  # a dark "lesion"
    Image.fromarray(image).save(tmp_path / "photo.png")
    result = subprocess.run(
        [str(VENV / "bin" / "mininet-infer"), "--model", "ph2", "photo.png", "--out", "out"],
        **run,
    )
    assert result.returncode == 0, result.stderr
    mask = np.asarray(Image.open(tmp_path / "out" / "photo_mask.png"))
    segmenter = TFLiteSegmenter(MODELS / "mininet_ph2_int8.tflite")
    expected = (segmenter.predict(image) >= segmenter.threshold).astype(np.uint8) * 255
    np.testing.assert_array_equal(mask, expected)
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["tool"] == "mininet-infer"
    assert Path(manifest["model"]["path"]).is_relative_to(VENV)


def test_clone_shim_is_the_same_command(tmp_path):
    """``python tflite/infer.py`` (clone, nothing installed) is `mininet_lite.infer.main`."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "tflite" / "infer.py"), "--list-models"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    rows = dict(line.split(maxsplit=1) for line in result.stdout.splitlines())
    assert rows["ph2"] == str(MODELS / "mininet_ph2_int8.tflite")
