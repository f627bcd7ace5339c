"""The shipped models in MediaPipe Tasks: its ImageSegmenter loads each stamped `.tflite`, reads
the label from our metadata, and its masks agree with `mininet_lite` at the card threshold.

MediaPipe runs in its own virtual environment (its opencv-contrib-python would replace ours),
made by .ci/install_test_tools.sh at ``$MININET_MEDIAPIPE_VENV``, default
``${XDG_CACHE_HOME:-~/.cache}/mininet_mediapipe/venv``; without it these tests skip. The child
script is tests/mediapipe_segment.py. Models are stamped copies of tflite/models (stamping is
idempotent: once the shipped files are stamped, the copies are the same bytes).

Images: real test images from ``$MININET_DATA_DIR`` (default ../shared/data) when present, else
the synthetic generator's fundus- and dermoscopy-like images (MoNuSeg has no synthetic
stand-in: skipped). MediaPipe runs one model input per image (no tiles) and resamples with its
own bilinear filter, so the agreement is measured on images of the model's input size (tile
models: a centre crop; resize models: the image resized as `mininet_lite` resizes it), where
both pipelines feed the model the same pixels: >= 99.5 % of pixels. Resize models also run on
the full-size image, where MediaPipe's un-antialiased downsampling gives the model other
pixels than Pillow's (which training used): >= 98 % there, documented in tflite/README.md.
"""

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mininet_lite.metadata import strip_metadata
from mininet_lite.runtime import TFLiteSegmenter, read_card
from mininet_lite.tiling import resize_uint8
from mininet_tf import metadata as md

from .conftest import shared_data_dir
from .test_metadata import EXPECTED_LABEL

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted((ROOT / "tflite" / "models").glob("*.tflite"))
VENV = Path(
    os.environ.get("MININET_MEDIAPIPE_VENV")
    or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    / "mininet_mediapipe"
    / "venv"
)
PYTHON = VENV / "bin" / "python"
#: Real data per training dataset: (folder under the data dir, dataset loader name).
REAL = {
    "ph2": ("PH2", "ph2"),
    "isic2017": ("ISIC2017", "isic2017"),
    "drive": ("DRIVE", "drive"),
    "stare": ("STARE", "stare"),
    "chase_db1": ("CHASE_DB1", "chase_db1"),
    "fundus": ("DRIVE", "drive"),
    "monuseg": ("MoNuSeg", "monuseg"),
}
SYNTHETIC = {"lesion": "lesions", "vessel": "vessels"}
IMAGES_PER_MODEL = 3
MIN_AGREEMENT = 0.995
MIN_AGREEMENT_FULL_SIZE = 0.98


def images_for(card: dict) -> tuple[list[np.ndarray], str]:
    """(RGB images, where they come from) for a model; skips when none can be had."""
    from mininet_tf.data import get_split
    from mininet_tf.data.io import read_image

    dataset = card["training_data"]["dataset"]
    folder, loader = REAL[dataset]
    root = shared_data_dir() / folder
    if root.is_dir():
        records = get_split(loader, root, "test")[:IMAGES_PER_MODEL]
        return [read_image(r.image) for r in records], f"{loader} test split"
    kind = SYNTHETIC.get(md.label_of(dataset))
    if kind is None:
        pytest.skip(f"real data absent: {root} not found (set MININET_DATA_DIR)")
    from mininet_tf.data.synthetic import generate

    size = card["input"]["shape"][1:3] if kind == "vessels" else (384, 512)
    images, _, _ = generate(kind, IMAGES_PER_MODEL, size=tuple(size), seed=7)
    return list(images), f"synthetic {kind} ({root} absent)"


def model_sized(image: np.ndarray, card: dict) -> np.ndarray:
    h, w = card["input"]["shape"][1:3]
    if card["input_policy"]["mode"] == "resize":
        return resize_uint8(image, h, w)
    if image.shape[0] < h or image.shape[1] < w:
        pytest.skip(f"test image {image.shape[:2]} smaller than the {h}x{w} tile")
    y0, x0 = (image.shape[0] - h) // 2, (image.shape[1] - w) // 2
    return np.ascontiguousarray(image[y0 : y0 + h, x0 : x0 + w])


@pytest.fixture(scope="module")
def mediapipe_runs(tmp_path_factory):
    """Per model: (label expected, per-image (mininet_lite, MediaPipe) probability maps, the
    card threshold, MediaPipe's labels and metadata, image source); plus an unstamped control."""
    if not PYTHON.is_file():
        pytest.skip(f"MediaPipe venv absent: {VENV} (bash .ci/install_test_tools.sh creates it)")
    probe = subprocess.run([str(PYTHON), "-c", "import mediapipe.tasks.python.vision"])
    if probe.returncode:
        pytest.skip(f"{PYTHON}: cannot import mediapipe (re-run .ci/install_test_tools.sh)")
    tmp = tmp_path_factory.mktemp("mediapipe")
    job, runs = [], {}
    for path in SHIPPED:
        model = tmp / path.name
        shutil.copy(path, model)
        shutil.copy(path.with_suffix(".json"), model.with_suffix(".json"))
        md.stamp_file(model)
        card = read_card(model)
        try:
            images, source = images_for(card)
        except pytest.skip.Exception as exc:
            runs[path.stem] = str(exc)
            continue
        inputs = [("model size", model_sized(image, card)) for image in images]
        if card["input_policy"]["mode"] == "resize":
            inputs += [("full size", image) for image in images]
        segmenter = TFLiteSegmenter(model)
        pngs = []
        for i, (_, image) in enumerate(inputs):
            pngs.append(str(tmp / f"{path.stem}_{i}.png"))
            Image.fromarray(image).save(pngs[-1])
        job.append({"model": str(model), "images": pngs, "out": str(tmp / f"{path.stem}.npz")})
        runs[path.stem] = {
            "label": EXPECTED_LABEL[card["training_data"]["dataset"]],
            "threshold": segmenter.threshold,
            "kinds": [kind for kind, _ in inputs],
            "lite": [segmenter.predict(image) for _, image in inputs],
            "source": source,
        }
    control = tmp / "unstamped.tflite"
    control.write_bytes(strip_metadata(SHIPPED[0].read_bytes()))
    job.append({"model": str(control), "images": [], "out": str(tmp / "unstamped.npz")})
    (tmp / "job.json").write_text(json.dumps({"models": job}))
    child = ROOT / "tests" / "mediapipe_segment.py"
    result = subprocess.run(
        [str(PYTHON), str(child), str(tmp / "job.json")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-4000:]
    for stem, run in runs.items():
        if isinstance(run, dict):
            out = np.load(tmp / f"{stem}.npz")
            run["labels"] = [str(v) for v in out["labels"]]
            run["metadata"] = json.loads(str(out["metadata"]))
            run["mediapipe"] = [out[f"mask_{i}"] for i in range(len(run["lite"]))]
    control_labels = [str(v) for v in np.load(tmp / "unstamped.npz")["labels"]]
    return runs, control_labels


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_mediapipe_reads_our_metadata_and_agrees(mediapipe_runs, path):
    runs, _ = mediapipe_runs
    run = runs[path.stem]
    if isinstance(run, str):
        pytest.skip(run)
    assert run["labels"] == [run["label"]]
    meta = run["metadata"]  # as MediaPipe's generated schema code reads it
    assert meta["name"] == path.stem and meta["min_parser_version"] == "1.5.0"
    assert meta["activation"] == 0  # NONE: the sigmoid is in the graph
    assert meta["input_mean_std"] == [[0.0], [1.0]]
    assert meta["output_files"] == [["labels.txt", 2]]  # TENSOR_AXIS_LABELS
    report = []
    for kind, lite, mp in zip(run["kinds"], run["lite"], run["mediapipe"], strict=True):
        assert lite.shape == mp.shape
        t = run["threshold"]
        agreement = float(np.mean((lite >= t) == (mp >= t)))
        report.append(f"{kind} {agreement:.4%}")
        minimum = MIN_AGREEMENT if kind == "model size" else MIN_AGREEMENT_FULL_SIZE
        assert agreement >= minimum, f"{kind}: {agreement:.4%} of pixels agree ({run['source']})"
    print(f"\n{path.stem} ({run['source']}): " + ", ".join(report))


def test_without_metadata_mediapipe_has_no_label(mediapipe_runs):
    """The control: the labels above come from our metadata, not from MediaPipe defaults."""
    _, control_labels = mediapipe_runs
    assert control_labels == []
