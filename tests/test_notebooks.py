"""The Colab notebooks (notebooks/*.ipynb): in sync with their jupytext sources, committed
without outputs, and executed top to bottom in smoke mode (papermill), failing on any cell.

The notebooks run in a kernel of *this* interpreter: a kernelspec pointing at
``sys.executable`` is written to a temporary Jupyter data folder, so a clean CI environment
that only did ``pip install -r requirements-dev.txt -e .`` works, whatever ``python3`` kernel
(if any) is installed elsewhere.
"""

import ast
import json
import os
import sys
import time

import pytest

from .conftest import ROOT

nbformat = pytest.importorskip("nbformat")
jupytext = pytest.importorskip("jupytext")

NOTEBOOKS = ROOT / "notebooks"
NAMES = ("01_train_mininet", "02_quantize_and_export", "03_tflite_inference")
KERNEL = "mininet-tf-tests"
#: Cells whose committed output is the point of the cell (figures) carry this tag.
KEEP_OUTPUT_TAG = "keep_output"


def _cells(notebook) -> list[tuple]:
    return [
        (cell.cell_type, cell.source.strip(), tuple(cell.metadata.get("tags", ())))
        for cell in notebook.cells
    ]


@pytest.mark.parametrize("name", NAMES)
def test_ipynb_matches_its_jupytext_source(name):
    """`jupytext --to ipynb notebooks/<name>.py` gives the committed cells (no drift)."""
    source = jupytext.read(NOTEBOOKS / f"{name}.py")
    committed = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    assert _cells(committed) == _cells(source), (
        f"notebooks/{name}.ipynb and notebooks/{name}.py differ: edit the .py, then run "
        f"`jupytext --sync notebooks/{name}.py` (see notebooks/README.md)"
    )
    assert committed.metadata.get("jupytext", {}).get("formats") == "ipynb,py:percent"


@pytest.mark.parametrize("name", NAMES)
def test_committed_notebook_has_no_outputs(name):
    """Outputs are stripped, except in cells tagged keep_output (figures)."""
    notebook = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code" or KEEP_OUTPUT_TAG in cell.metadata.get("tags", ()):
            continue
        assert not cell.outputs, f"{name}.ipynb cell {index} has outputs: strip them"
        assert cell.execution_count is None, f"{name}.ipynb cell {index} has an execution count"


@pytest.mark.parametrize("name", NAMES)
def test_notebook_structure(name):
    """Colab badge first, a guarded install cell, a version check, one parameters cell."""
    notebook = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    first = notebook.cells[0]
    assert first.cell_type == "markdown"
    assert (
        f"colab.research.google.com/github/<OWNER>/mininet-tf/blob/main/notebooks/{name}.ipynb"
        in first.source
    )
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert '"google.colab" in sys.modules' in code[0].source
    assert "pip" in code[0].source
    assert "check_versions(" in code[1].source  # warns on a version mismatch (tested there)
    tagged = [cell for cell in code if "parameters" in cell.metadata.get("tags", ())]
    assert len(tagged) == 1 and "SMOKE = False" in tagged[0].source
    assert "OUT_DIR" in tagged[0].source


def test_tflite_notebook_imports_no_tensorflow():
    """Notebook 03 runs inference with mininet_lite only (TensorFlow only in child processes)."""
    notebook = nbformat.read(NOTEBOOKS / "03_tflite_inference.ipynb", as_version=4)
    forbidden = {"tensorflow", "keras", "tf_keras", "mininet_tf"}
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        for node in ast.walk(ast.parse(cell.source)):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                modules = [node.module or ""]
            else:
                continue
            assert not {m.split(".")[0] for m in modules} & forbidden, cell.source


def test_readme_links_the_notebooks():
    readme = (ROOT / "README.md").read_text()
    assert "## Notebooks" in readme
    for name in NAMES:
        assert f"notebooks/{name}.ipynb" in readme


# === Execution ===


@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    """A kernelspec for this interpreter, found through JUPYTER_PATH."""
    pytest.importorskip("papermill")
    pytest.importorskip("ipykernel")
    data = tmp_path_factory.mktemp("jupyter")
    spec_dir = data / "kernels" / KERNEL
    spec_dir.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "mininet-tf tests",
        "language": "python",
        "env": {"TF_CPP_MIN_LOG_LEVEL": "2"},
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    saved = {key: os.environ.get(key) for key in ("JUPYTER_PATH", "MPLBACKEND")}
    os.environ["JUPYTER_PATH"] = os.pathsep.join(filter(None, [str(data), saved["JUPYTER_PATH"]]))
    os.environ["MPLBACKEND"] = "Agg"
    yield KERNEL
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def _execute(name: str, kernel: str, out_dir, **parameters) -> float:
    """Run notebooks/<name>.ipynb in smoke mode; raises on the first failing cell."""
    import papermill

    started = time.perf_counter()
    papermill.execute_notebook(
        str(NOTEBOOKS / f"{name}.ipynb"),
        str(out_dir / f"{name}.out.ipynb"),
        parameters={"SMOKE": True, "OUT_DIR": str(out_dir), **parameters},
        kernel_name=kernel,
        cwd=str(NOTEBOOKS),
        progress_bar=False,
        execution_timeout=600,
    )
    return time.perf_counter() - started


@pytest.fixture(scope="module")
def trained_run(kernel, tmp_path_factory):
    """Notebook 01 in smoke mode: (its run directory, seconds); notebook 02 exports its model."""
    out = tmp_path_factory.mktemp("nb01")
    seconds = _execute("01_train_mininet", kernel, out)
    runs = [p for p in out.iterdir() if p.is_dir() and p.name.startswith("synthetic-")]
    assert len(runs) == 1, sorted(p.name for p in out.iterdir())
    return runs[0], seconds


def _printed(out_dir, name) -> str:
    """Everything the executed notebook printed (its stream outputs)."""
    executed = nbformat.read(out_dir / f"{name}.out.ipynb", as_version=4)
    return "".join(
        output.get("text", "")
        for cell in executed.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.get("output_type") == "stream"
    )


@pytest.mark.slow
def test_train_notebook_shows_its_models_scores_and_overlays(trained_run):
    """What notebook 01 shows is its model's: the saved masks are the trained model's masks at
    the card threshold, the error overlays colour those masks' TP/FP/FN (definition written
    out here), and the printed table's scores are recounted here with plain numpy."""
    import numpy as np
    from PIL import Image

    from mininet_tf.data import get_split
    from mininet_tf.data.io import read_record
    from mininet_tf.inference import KerasSegmenter

    run, seconds = trained_run
    for name in ("best.keras", "best.json", "log.csv"):
        assert (run / name).is_file(), name
    report = json.loads((run / "eval_test_notebook.json").read_text())
    card = json.loads((run / "best.json").read_text())
    threshold = card["threshold"]
    assert report["conventions"]["threshold"] == threshold and report["split"] == "test"
    segmenter = KerasSegmenter(run / "best.keras")
    records = get_split("synthetic", None, "test")
    assert report["n_images"] == len(records) == len(report["images"])
    colours = {"tp": (0, 200, 0), "fp": (230, 30, 30), "fn": (30, 90, 255)}
    totals = dict.fromkeys(("tp", "fp", "fn", "tn"), 0)
    for record, saved in zip(records, report["images"], strict=True):
        image, truth, fov = read_record(record)
        truth, inside = truth.astype(bool), fov.astype(bool)
        pred = segmenter.predict(image) >= threshold
        folder = run / "predictions"
        mask = np.asarray(Image.open(folder / f"{record.id}_mask.png"))
        np.testing.assert_array_equal(mask, pred.astype(np.uint8) * 255, err_msg=record.id)
        where = {"tp": pred & truth, "fp": pred & ~truth, "fn": ~pred & truth}
        expected = image.astype(np.float32)
        for kind, colour in colours.items():
            expected[where[kind]] = 0.4 * expected[where[kind]] + 0.6 * np.float32(colour)
        expected[~inside] *= 0.4
        overlay = np.asarray(Image.open(folder / f"{record.id}_overlay.png")).astype(int)
        assert np.abs(overlay - np.clip(expected, 0, 255).astype(int)).max() <= 1, record.id
        counts = {k: int((v & inside).sum()) for k, v in where.items()}
        counts["tn"] = int((~pred & ~truth & inside).sum())
        tp, fp, fn = counts["tp"], counts["fp"], counts["fn"]
        f1 = 2 * tp / (2 * tp + fp + fn) if 2 * tp + fp + fn else 1.0
        assert saved["id"] == record.id and saved["f1"] == pytest.approx(f1, abs=1e-9)
        totals = {k: totals[k] + counts[k] for k in totals}
    tp, fp, fn, tn = (totals[k] for k in ("tp", "fp", "fn", "tn"))
    recount = {
        "f1": 2 * tp / (2 * tp + fp + fn),
        "iou": tp / (tp + fp + fn),
        "sensitivity": tp / (tp + fn),
        "specificity": tn / (tn + fp),
        "accuracy": (tp + tn) / (tp + fp + fn + tn),
    }
    for key, value in recount.items():
        assert report["pooled"][key] == pytest.approx(value, abs=1e-9), key
    keys = ("f1", "iou", "auc", "sensitivity", "specificity", "accuracy")
    row = "| pooled | " + " | ".join(f"{report['pooled'][k]:.4f}" for k in keys) + " |"
    assert row in _printed(run.parent, "01_train_mininet").splitlines()
    print(f"01_train_mininet: {seconds:.0f} s")


@pytest.mark.slow
def test_quantize_and_export_notebook_shows_each_files_card_figures(kernel, trained_run, tmp_path):
    """Notebook 02's comparison table: one row per file with that file's card figures; the
    float32 export, the same function as the Keras model, scores what the Keras row scores."""
    model = trained_run[0] / "best.keras"
    seconds = _execute("02_quantize_and_export", kernel, tmp_path, MODEL_PATH=str(model))
    modes = ("float32", "float16", "dynamic", "int8", "qat_int8")
    exports = sorted(p.name for p in tmp_path.glob("*.tflite"))
    assert exports == sorted(f"mininet_{m}.tflite" for m in modes)
    table = (tmp_path / "comparison.md").read_text().splitlines()
    rows = {}
    for line in table[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows[cells[0]] = cells
    assert list(rows) == ["Keras (float32)", *modes]
    for mode in modes:
        card = json.loads((tmp_path / f"mininet_{mode}.json").read_text())
        cells = rows[mode]
        assert cells[1] == f"`mininet_{mode}.tflite`" and cells[3] == f"{card['threshold']:.2f}"
        pooled = card["metrics"]["pooled"]
        assert cells[4:7] == [f"{pooled[k]:.4f}" for k in ("f1", "iou", "auc")], mode
    keras_row, float_row = rows["Keras (float32)"], rows["float32"]
    assert keras_row[3] == float_row[3]  # the same threshold
    for column in (4, 5):  # F1, IoU: the same masks up to float rounding at the threshold
        assert abs(float(keras_row[column]) - float(float_row[column])) <= 2e-3, column
    assert (tmp_path / "mininet_exports.zip").is_file()
    print(f"02_quantize_and_export: {seconds:.0f} s")


@pytest.mark.slow
def test_tflite_inference_notebook_shows_the_models_mask(kernel, tmp_path):
    """Notebook 03 writes (and shows) the shipped model's mask of its sample image, and an
    overlay of that mask (checked against the overlay's definition)."""
    import numpy as np
    from PIL import Image

    from mininet_lite import TFLiteSegmenter

    from .test_tflite_runtime import overlay_outline

    seconds = _execute("03_tflite_inference", kernel, tmp_path)
    sample = tmp_path / "inputs" / "sample_lesions.png"  # the default model is isic2017_fast_int8
    segmenter = TFLiteSegmenter(ROOT / "tflite" / "models" / "mininet_isic2017_fast_int8.tflite")
    image = np.asarray(Image.open(sample).convert("RGB"))
    pred = segmenter.predict(image) >= segmenter.threshold
    mask = np.asarray(Image.open(tmp_path / "sample_lesions_mask.png")) > 0
    np.testing.assert_array_equal(mask, pred)
    assert 0 < pred.sum() < pred.size  # a lesion found, not everything: the overlay checks bite
    overlay = np.asarray(Image.open(tmp_path / "sample_lesions_overlay.png"))
    outline, _ = overlay_outline(image, pred, overlay)
    assert outline.any()
    printed = _printed(tmp_path, "03_tflite_inference")
    assert f"threshold      {segmenter.threshold:.3f}" in printed
    assert "TensorFlow was not imported by this kernel" in printed
    print(f"03_tflite_inference: {seconds:.0f} s")
