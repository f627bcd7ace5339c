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


@pytest.mark.slow
def test_train_notebook_runs(trained_run):
    run, seconds = trained_run
    for name in ("best.keras", "best.json", "log.csv", "eval_test_notebook.json"):
        assert (run / name).is_file(), name
    assert list((run / "predictions").rglob("*_overlay.png"))
    print(f"01_train_mininet: {seconds:.0f} s")


@pytest.mark.slow
def test_quantize_and_export_notebook_runs(kernel, trained_run, tmp_path):
    model = trained_run[0] / "best.keras"
    seconds = _execute("02_quantize_and_export", kernel, tmp_path, MODEL_PATH=str(model))
    exports = sorted(p.name for p in tmp_path.glob("*.tflite"))
    assert exports == [
        f"mininet_{m}.tflite" for m in ("dynamic", "float16", "float32", "int8", "qat_int8")
    ]
    assert (tmp_path / "comparison.md").read_text().count("\n") == 2 + 1 + len(exports)
    assert (tmp_path / "mininet_exports.zip").is_file()
    print(f"02_quantize_and_export: {seconds:.0f} s")


@pytest.mark.slow
def test_tflite_inference_notebook_runs(kernel, tmp_path):
    seconds = _execute("03_tflite_inference", kernel, tmp_path)
    assert list(tmp_path.glob("*_overlay.png")), sorted(p.name for p in tmp_path.iterdir())
    print(f"03_tflite_inference: {seconds:.0f} s")
