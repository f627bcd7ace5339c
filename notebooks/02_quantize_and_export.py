# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 02 · Quantize and export Mini-Net to TFLite
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/<OWNER>/mininet-tf/blob/main/notebooks/02_quantize_and_export.ipynb)
#
# Take a trained Mini-Net (`.keras` + its card), export it in every TFLite mode (`float32`,
# `float16`, `dynamic` range, full-integer `int8`), fine-tune it with quantization-aware
# training (QAT) into a second int8 model, and compare them all on the test split: file size,
# segmentation quality of each *file* and interpreter latency. Then download the model you want.
#
# The work is done by `mininet_tf.export.export` and `mininet_tf.quantize.quantize` (the
# commands `python -m mininet_tf.export` / `python -m mininet_tf.quantize`); each written
# `.tflite` gets a card (`.json` beside it) with its threshold, input policy and the metrics
# measured on that very file. QAT runs in a child process (tensorflow-model-optimization needs
# the Keras 2 package `tf_keras`), so this kernel keeps Keras 3.
#
# **In Colab**: *Runtime → Run all*; after the first install, restart the session and run all
# again.

# %% [markdown]
# ## Install (Colab only)

# %%
import importlib.util
import subprocess
import sys
from pathlib import Path

# Placeholder until the repository is published: see notebooks/README.md ("Publishing").
REPO_URL = "https://github.com/<OWNER>/mininet-tf.git"
IN_COLAB = "google.colab" in sys.modules

if IN_COLAB and importlib.util.find_spec("mininet_tf") is None:
    if "<OWNER>" in REPO_URL:
        raise RuntimeError("REPO_URL is a placeholder: set it to the published repository")
    clone = Path("/content/mininet-tf")
    if not clone.exists():
        subprocess.run(["git", "clone", "--depth", "1", REPO_URL, str(clone)], check=True)
    # The tested pins (requirements.txt), mininet-lite (tflite/: the LiteRT runtime and the
    # shipped models), and mininet-tf with [edge] (tf_keras + tensorflow-model-optimization).
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "-r", f"{clone}/requirements.txt"]
        + ["-e", f"{clone}/tflite", "-e", f"{clone}[edge]"],
        check=True,
    )
    raise SystemExit(
        "Installed mininet-tf with its pinned TensorFlow/Keras/numpy. Restart the session "
        "(Runtime > Restart session), then Run all again."
    )

# %% [markdown]
# ## Versions
#
# Colab ships its own TensorFlow and Keras. This cell compares what is installed with the pins
# of `requirements.txt` and warns (it does not stop) when they differ. The converter's output
# depends on the TensorFlow version.

# %%
from mininet_lite.environment import check_versions, find_repo

REPO = find_repo()
print("repository:", REPO)
check_versions(
    (
        "tensorflow",
        "keras",
        "numpy",
        "tf-keras",
        "tensorflow-model-optimization",
        "ai-edge-litert",
    ),
    REPO,
)

# %% [markdown]
# ## Parameters
#
# `MODEL_PATH` is a trained `.keras` with its card beside it: the `best.keras` of a run of
# notebook 01, or a shipped model (`mininet_tf/pretrained/mininet_drive.keras`,
# `mininet_ph2.keras`, `mininet_monuseg.keras`). With `None`, a short synthetic run is trained
# here first. Calibration (int8), QAT and evaluation use the card's dataset unless `DATASET` /
# `DATA_DIR` say otherwise: a shipped model needs its dataset, e.g. `DATASET = "drive"` and
# `DATA_DIR` on your Drive (`MOUNT_DRIVE = True`, `/content/drive/MyDrive/...`).

# %% tags=["parameters"]
SMOKE = False  # True: tiny synthetic run (CI)
MODEL_PATH = None  # trained .keras (card beside it); None: train a short synthetic model here
DATASET = None  # None: the model card's dataset
DATA_DIR = None  # None: the model card's data directory
MOUNT_DRIVE = False  # Colab: mount Google Drive at /content/drive
EXPORT_SIZE = None  # [H, W] of the exported input; None: the export default
QAT_EPOCHS = 2
QAT_STEPS_PER_EPOCH = None  # None: the model's training recipe
LATENCY_RUNS = 30  # timed interpreter invocations per model
THREADS = None  # interpreter threads (None: the runtime's default)
OUT_DIR = "exports"  # .tflite files, cards and the download archive go here

# %%
if SMOKE:  # MODEL_PATH may still be given (the tests pass notebook 01's smoke model)
    MOUNT_DRIVE, QAT_EPOCHS, QAT_STEPS_PER_EPOCH, LATENCY_RUNS = False, 1, 2, 3
OUT = Path(OUT_DIR)
OUT.mkdir(parents=True, exist_ok=True)
if IN_COLAB and MOUNT_DRIVE:
    from google.colab import drive

    drive.mount("/content/drive")

# %% [markdown]
# ## The trained model

# %%
import json

from mininet_lite import read_card
from mininet_tf.train import train

if MODEL_PATH is None:
    tiny = {"epochs": 1, "steps_per_epoch": 3, "batch_size": 4, "patch_size": 32} if SMOKE else {}
    run = OUT / "source_run"
    if not (run / "best.keras").is_file():
        train(dataset="synthetic", out=str(run), verbose=0 if SMOKE else 1, **tiny)
    MODEL_PATH = run / "best.keras"
MODEL_PATH = Path(MODEL_PATH)
source_card = read_card(MODEL_PATH)
DATASET = DATASET or source_card.get("dataset")
if DATA_DIR is None and DATASET == source_card.get("dataset"):
    DATA_DIR = source_card.get("config", {}).get("data_dir")
if DATASET is None:
    raise ValueError(f"{MODEL_PATH}: its card names no dataset; set DATASET and DATA_DIR")
print(f"model      {MODEL_PATH}")
print(f"data       {DATASET} {DATA_DIR or ''}")
print(f"threshold  {source_card.get('threshold')} ({source_card.get('threshold_selected_on')})")
print(f"policy     {json.dumps(source_card.get('input_policy'))}")
print(f"parameters {source_card.get('parameters')}")

# %% [markdown]
# ## Every export mode
#
# * `float32`: plain conversion; `float16`: float16 weights; `dynamic`: int8 weights, float
#   activations; `int8`: full integer, calibrated on the training split (uint8 raw pixels in,
#   uint8 probability out: what edge accelerators need).
#
# Each file is evaluated on the test split (its metrics go into its card).

# %%
from mininet_tf.export import MODES, export, summary_line

SIZE = tuple(EXPORT_SIZE) if EXPORT_SIZE else None
cards = {}
for mode in MODES:
    path = OUT / f"mininet_{mode}.tflite"
    cards[mode] = export(
        MODEL_PATH,
        path,
        mode,
        size=SIZE,
        calib_dataset=DATASET,
        calib_data=DATA_DIR,
        eval_dataset=DATASET,
        eval_data_dir=DATA_DIR,
        eval_split="test",
        threads=THREADS,
        overwrite=True,
    )
    print(summary_line(path, cards[mode]))

# %% [markdown]
# ## Quantization-aware training
#
# A short fine-tune with fake quantisation (the training loss and data pipeline, best epoch on
# the validation split), converted to full int8; its threshold is re-selected on the validation
# split with the `.tflite` file itself. Compare it with the post-training `int8` above.

# %%
from mininet_tf.quantize import quantize

qat_path = OUT / "mininet_qat_int8.tflite"
cards["qat_int8"] = quantize(
    MODEL_PATH,
    qat_path,
    dataset=DATASET,
    data_dir=DATA_DIR,
    epochs=QAT_EPOCHS,
    steps_per_epoch=QAT_STEPS_PER_EPOCH,
    size=SIZE,
    eval_dataset=DATASET,
    eval_data_dir=DATA_DIR,
    eval_split="test",
    threads=THREADS,
    overwrite=True,
    verbose=0 if SMOKE else 2,
)
print(summary_line(qat_path, cards["qat_int8"]))

# %% [markdown]
# ## Quality and latency
#
# Quality: pooled F1 / IoU / AUC on the test split at each file's own threshold, measured at
# full resolution through `mininet_lite` (the Keras row through the same tiling code).
# Latency: median time of one interpreter call on one model input (the exported H×W) on this
# machine's CPU; phones differ, but the ranking mostly holds.

# %%
import time

import numpy as np
from IPython.display import Markdown, display

from mininet_lite import TFLiteSegmenter
from mininet_tf.evaluate import evaluate
from mininet_tf.inference import KerasSegmenter


def median_ms(forward, x, runs: int) -> float:
    """Median wall time (ms) of ``forward(x)`` after one warm-up call."""
    forward(x)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        forward(x)
        times.append(time.perf_counter() - started)
    return 1000 * float(np.median(times))


shape = cards["float32"]["input"]["shape"]
x = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
keras_result = evaluate(MODEL_PATH, DATASET, DATA_DIR, "test")
rows = [
    {
        "model": "Keras (float32)",
        "file": MODEL_PATH.name,
        "kb": MODEL_PATH.stat().st_size / 1024,
        "threshold": keras_result["conventions"]["threshold"],
        **{k: keras_result["pooled"][k] for k in ("f1", "iou", "auc")},
        "ms": median_ms(KerasSegmenter(MODEL_PATH).forward, x, LATENCY_RUNS),
    }
]
for name, card in cards.items():
    path = OUT / card["model_file"]
    rows.append(
        {
            "model": name,
            "file": path.name,
            "kb": card["size_bytes"] / 1024,
            "threshold": card["threshold"],
            **{k: card["metrics"]["pooled"][k] for k in ("f1", "iou", "auc")},
            "ms": median_ms(TFLiteSegmenter(path, threads=THREADS).forward, x, LATENCY_RUNS),
        }
    )

size = "x".join(str(v) for v in shape[1:3])
table = [
    f"| model | file | size (KB) | threshold | test F1 | IoU | AUC | ms / {size} input |",
    "|---|---|---:|---:|---:|---:|---:|---:|",
]
for row in rows:
    table.append(
        f"| {row['model']} | `{row['file']}` | {row['kb']:.1f} | {row['threshold']:.2f} "
        f"| {row['f1']:.4f} | {row['iou']:.4f} | {row['auc']:.4f} | {row['ms']:.2f} |"
    )
table = "\n".join(table)
(OUT / "comparison.md").write_text(table + "\n")
display(Markdown(table))
print(f"{DATASET} test split, {keras_result['n_images']} images")

# %% [markdown]
# ## Download
#
# All exported models with their cards and the table, as one zip (in Colab the browser
# downloads it). An app needs the `.tflite` and its `.json` card.

# %%
import zipfile

archive = OUT / "mininet_exports.zip"
with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as bundle:
    for card in cards.values():
        model_file = OUT / card["model_file"]
        for path in (model_file, model_file.with_suffix(".json")):
            bundle.write(path, path.name)
    bundle.write(OUT / "comparison.md", "comparison.md")
    print(archive, bundle.namelist())
if IN_COLAB:
    from google.colab import files

    files.download(str(archive))
