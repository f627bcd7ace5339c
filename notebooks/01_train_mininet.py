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
# # 01 · Train Mini-Net
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/<OWNER>/mininet-tf/blob/main/notebooks/01_train_mininet.ipynb)
#
# Train **Mini-Net** (arXiv 2405.17520, ~38k parameters) on the embedded synthetic vessel
# dataset (no download) or on your own data, plot the training curves, evaluate the best
# checkpoint on the test split at full resolution and look at error overlays.
#
# The notebook only sets parameters and draws: training, checkpoint/threshold selection (on the
# validation split) and evaluation are the package's `mininet_tf.train.train` and
# `mininet_tf.evaluate.evaluate`, the same code as `python -m mininet_tf.train`.
#
# **In Colab**: *Runtime → Run all*. The first run installs the pinned TensorFlow / Keras /
# numpy and stops, asking you to restart the session (*Runtime → Restart session*); then
# *Run all* again.

# %% [markdown]
# ## Install (Colab only)
#
# Outside Colab this cell does nothing: install the package yourself first with
# `python -m pip install -r requirements-dev.txt -e .` from a clone.

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
    # shipped models), and mininet-tf with [edge] (QAT, used by notebook 02).
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
# of `requirements.txt` and warns (it does not stop) when they differ.

# %%
from mininet_lite.environment import check_versions, find_repo

REPO = find_repo()
print("repository:", REPO)
check_versions(("tensorflow", "keras", "numpy"), REPO)

# %% [markdown]
# ## Parameters
#
# `SMOKE = True` turns everything into a tiny run on synthetic data (about a minute on a CPU;
# the tests run the notebook that way). For your own data:
#
# * **Google Drive**: put the dataset folder in your Drive, set `MOUNT_DRIVE = True` and
#   `DATA_DIR = "/content/drive/MyDrive/<folder>"`.
# * **Upload a zip**: set `UPLOAD_ZIP = True`; the archive is unpacked into `DATA_DIR`
#   (default `/content/data`).
#
# `DATASET` is a loader name: `drive`, `stare`, `chase_db1`, `isic2016`, `isic2018`, `ph2`,
# `monuseg` (official layouts, see `docs/datasets.md`), or `folder` for any `images/` +
# `masks/` folder. Every other training option (`mininet_tf.config.TrainConfig`) can go in
# `TRAIN_OPTIONS`, e.g. `{"image_size": [256, 256], "patch_size": None}` for lesions.

# %% tags=["parameters"]
SMOKE = False  # True: tiny synthetic run (CI)
DATASET = "synthetic"  # synthetic | drive | stare | chase_db1 | isic2016 | isic2018 | ph2 | monuseg | folder
DATA_DIR = None  # dataset folder; None for synthetic
MOUNT_DRIVE = False  # Colab: mount Google Drive at /content/drive
UPLOAD_ZIP = False  # Colab: upload a .zip of the dataset, unpacked into DATA_DIR
EPOCHS = 8
STEPS_PER_EPOCH = 40
BATCH_SIZE = 8
PATCH_SIZE = 64
TRAIN_OPTIONS = {}  # any other TrainConfig field
OUT_DIR = "runs"  # run directories are created inside
SHOW_IMAGES = 3  # test images shown with their error overlays

# %%
if SMOKE:
    DATASET, DATA_DIR, MOUNT_DRIVE, UPLOAD_ZIP = "synthetic", None, False, False
    EPOCHS, STEPS_PER_EPOCH, BATCH_SIZE, PATCH_SIZE = 1, 3, 4, 32
    SHOW_IMAGES = 2

# %% [markdown]
# ## Data

# %%
if IN_COLAB and MOUNT_DRIVE:
    from google.colab import drive

    drive.mount("/content/drive")
if IN_COLAB and UPLOAD_ZIP:
    import zipfile

    from google.colab import files

    DATA_DIR = DATA_DIR or "/content/data"
    for name in files.upload():
        with zipfile.ZipFile(name) as archive:
            archive.extractall(DATA_DIR)
    print("unpacked into", DATA_DIR, ":", sorted(p.name for p in Path(DATA_DIR).iterdir()))

# %%
import matplotlib.pyplot as plt

from mininet_tf.data import get_split
from mininet_tf.data.io import read_record

splits = {}
for split in ("train", "val", "test"):
    try:
        splits[split] = get_split(DATASET, DATA_DIR, split)
    except ValueError as exc:  # e.g. a dataset without test labels
        print(f"{split}: {exc}")
        splits[split] = []
    print(f"{split:5s} {len(splits[split]):4d} images")

fig, axes = plt.subplots(2, 3, figsize=(9, 6))
for column, record in enumerate(splits["train"][:3]):
    image, mask, _ = read_record(record)
    axes[0, column].imshow(image)
    axes[0, column].set_title(record.id, fontsize=9)
    axes[1, column].imshow(mask, cmap="gray")
for ax in axes.flat:
    ax.axis("off")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Train
#
# One run directory per training run: `best.keras` + its card `best.json` (decision threshold
# and input policy chosen on the validation split), `last.keras`, `log.csv`, TensorBoard logs
# and `report.json`.

# %%
import json
import time

from mininet_tf.train import train

RUN_DIR = Path(OUT_DIR) / f"{DATASET}-{time.strftime('%Y%m%d-%H%M%S')}"
report = train(
    dataset=DATASET,
    data_dir=DATA_DIR,
    epochs=EPOCHS,
    steps_per_epoch=STEPS_PER_EPOCH,
    batch_size=BATCH_SIZE,
    patch_size=PATCH_SIZE,
    out=str(RUN_DIR),
    verbose=0 if SMOKE else 1,
    **TRAIN_OPTIONS,
)
print(json.dumps(report, indent=2))

# %% [markdown]
# ## Training curves
#
# `val_best` is the validation F1 (pooled over pixels) at the best threshold of that epoch:
# the score that selects `best.keras`.

# %% tags=["keep_output"]
import csv

from matplotlib.ticker import MaxNLocator

with open(RUN_DIR / "log.csv", newline="") as handle:
    log = list(csv.DictReader(handle))
epochs = [int(row["epoch"]) + 1 for row in log]

fig, (ax_loss, ax_val) = plt.subplots(1, 2, figsize=(11, 3.8))
ax_loss.plot(epochs, [float(row["loss"]) for row in log], marker="o", label="train loss")
ax_loss.set_xlabel("epoch")
ax_loss.legend()
for key, label in (
    ("dice", "train Dice (patches)"),
    ("val_best", "val F1 @ best threshold"),
    ("val_auc", "val AUC"),
):
    ax_val.plot(epochs, [float(row[key]) for row in log], marker="o", label=label)
ax_val.set_xlabel("epoch")
ax_val.set_ylim(0, 1)
ax_val.legend()
for ax in (ax_loss, ax_val):
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Evaluate on the test split
#
# (On the validation split for a dataset whose test labels are not available.) Full resolution, inside the FOV when the dataset has one, at the threshold stored in the card;
# `pooled` is one confusion matrix over all pixels, `per_image` the mean of per-image scores.

# %%
from mininet_tf.evaluate import evaluate

EVAL_SPLIT = "test" if splits["test"] else "val"
EVAL_JSON = RUN_DIR / f"eval_{EVAL_SPLIT}_notebook.json"
PREDICTIONS = RUN_DIR / "predictions"
result = evaluate(
    RUN_DIR / "best.keras",
    DATASET,
    DATA_DIR,
    EVAL_SPLIT,
    json_path=EVAL_JSON,
    save_predictions=PREDICTIONS,
    overwrite=True,
)
keys = ("f1", "iou", "auc", "sensitivity", "specificity", "accuracy")
print(
    f"{result['n_images']} {EVAL_SPLIT} images, threshold {result['conventions']['threshold']:.2f}"
)
print("| aggregation | " + " | ".join(keys) + " |")
print("|---|" + "---|" * len(keys))
for aggregation in ("pooled", "per_image"):
    scores = " | ".join(f"{result[aggregation][k]:.4f}" for k in keys)
    print(f"| {aggregation} | {scores} |")

# %% [markdown]
# ## Error overlays
#
# Green: true positives, red: false positives, blue: false negatives (outside the FOV dimmed),
# as written by `evaluate(..., save_predictions=...)`.

# %% tags=["keep_output"]
from PIL import Image

shown = get_split(DATASET, DATA_DIR, EVAL_SPLIT)[:SHOW_IMAGES]
fig, axes = plt.subplots(len(shown), 3, figsize=(10, 3.4 * len(shown)), squeeze=False)
for row, record in zip(axes, shown, strict=True):
    image, mask, _ = read_record(record)
    overlay = Image.open(PREDICTIONS / f"{record.id}_overlay.png")
    f1 = next(s["f1"] for s in result["images"] if s["id"] == record.id)
    for ax, picture, title in zip(
        row,
        (image, mask, overlay),
        (record.id, "ground truth", f"errors (F1 {f1:.3f})"),
        strict=True,
    ):
        ax.imshow(picture, cmap="gray" if picture is mask else None)
        ax.set_title(title, fontsize=9)
        ax.axis("off")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Next
#
# Notebook 02 quantizes and exports this model: set its `MODEL_PATH` to the path printed below.

# %%
print("trained model:", (RUN_DIR / "best.keras").resolve())
