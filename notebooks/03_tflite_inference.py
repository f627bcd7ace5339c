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
# # 03 · Run a shipped `.tflite` on your own image, without TensorFlow
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/<OWNER>/mininet-tf/blob/main/notebooks/03_tflite_inference.ipynb)
#
# Segment an image with a shipped Mini-Net `.tflite` model (int8 or float16) through
# **`mininet_lite`**, the TensorFlow-free runtime (numpy + Pillow + the LiteRT interpreter):
# the same code an edge device runs. The model's card (the `.json` beside the `.tflite`) gives
# the decision threshold and how a full-size image meets the fixed-size model (tiles at native
# resolution, or whole-image resizing).
#
# This kernel never imports TensorFlow (the last cell checks it). Only when the shipped model
# is missing (a fresh checkout before the models are published) does a child process train and
# export a small stand-in model.
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

if IN_COLAB and importlib.util.find_spec("mininet_lite") is None:
    if "<OWNER>" in REPO_URL:
        raise RuntimeError("REPO_URL is a placeholder: set it to the published repository")
    clone = Path("/content/mininet-tf")
    if not clone.exists():
        subprocess.run(["git", "clone", "--depth", "1", REPO_URL, str(clone)], check=True)
    # The tested pins (requirements.txt), mininet-lite (tflite/: the LiteRT runtime and the
    # shipped models) and mininet-tf with [edge].
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "-r", f"{clone}/requirements.txt"]
        + ["-e", f"{clone}/tflite", "-e", f"{clone}[edge]"],
        check=True,
    )
    raise SystemExit(
        "Installed mininet-tf with its pinned dependencies. Restart the session "
        "(Runtime > Restart session), then Run all again."
    )

# %% [markdown]
# ## Versions
#
# Compares what is installed with the pins of `requirements.txt` and warns (it does not stop)
# when they differ. TensorFlow and Keras are listed, but this notebook does not import them.

# %%
from mininet_lite.environment import check_versions, find_repo

REPO = find_repo()
print("repository:", REPO)
check_versions(("tensorflow", "keras", "numpy", "pillow", "ai-edge-litert"), REPO)

# %% [markdown]
# ## Parameters
#
# `MODEL` is a shipped model, `mininet_<MODEL>.tflite` in `tflite/models/`: `isic2017_fast_int8`
# (the default: skin lesions, trained on ISIC-2017 images from many clinics; the fast variant,
# half-resolution network), `isic2017_fast_float16`, `isic2017_int8`, `isic2017_float16` (the
# full-resolution Mini-Net on the same data), `ph2_int8`, `ph2_float16` (skin lesions, one
# clinic), `drive_int8`, `drive_float16` (retinal
# vessels), `monuseg_int8`, `monuseg_float16` (nuclei); or the path of any `.tflite` exported
# by `mininet_tf.export` (its card `.json` beside it).
# `IMAGE_PATH` is your image (PNG, JPEG, TIFF...); in Colab set `UPLOAD_IMAGE = True` to upload
# one. Without an image, a synthetic sample of the kind the model was trained on is drawn.

# %% tags=["parameters"]
SMOKE = False  # True: CI run (a stand-in model is made only if the shipped one is missing)
MODEL = (
    "isic2017_fast_int8"  # shipped name (tflite/models/mininet_<MODEL>.tflite) or a .tflite path
)
IMAGE_PATH = None  # your image; None: a synthetic sample
UPLOAD_IMAGE = False  # Colab: upload the image
THRESHOLD = None  # None: the threshold in the model card
THREADS = None  # interpreter threads (None: the runtime's default)
OUT_DIR = "tflite_results"  # mask, probability map and overlay are written here

# %% [markdown]
# ## The model
#
# A missing shipped model is replaced by a stand-in trained on synthetic vessels (the default
# short run of `mininet_tf.train`) and exported by `mininet_tf.export`, in a child process:
# this kernel stays free of TensorFlow. In smoke mode the stand-in is untrained; its masks mean
# nothing.

# %%
import warnings

OUT = Path(OUT_DIR)
OUT.mkdir(parents=True, exist_ok=True)
if MODEL.endswith(".tflite"):
    MODEL_FILE = Path(MODEL)
else:
    MODEL_FILE = (REPO or Path.cwd()) / "tflite" / "models" / f"mininet_{MODEL}.tflite"


#: Child process making the stand-in: an untrained Mini-Net in smoke mode, else the default
#: short synthetic training run; then `mininet_tf.export.export` (int8 calibrated on synthetic).
STAND_IN = """
import sys
from pathlib import Path

from mininet_tf.export import export

out, mode, smoke = Path(sys.argv[1]), sys.argv[2], sys.argv[3] == "1"
source = out / "stand_in_run" / "best.keras"
if not source.is_file():
    if smoke:
        from mininet_tf.inference import write_card
        from mininet_tf.model import build_mininet

        source.parent.mkdir(parents=True, exist_ok=True)
        build_mininet().save(source)
        write_card(source, {"threshold": 0.5, "dataset": "synthetic"})
    else:
        from mininet_tf.train import train

        train(out=str(source.parent), verbose=0)
card = export(
    source,
    out / f"stand_in_{mode}.tflite",
    mode,
    size=(128, 128),
    calib_dataset="synthetic",
    calib_samples=8 if smoke else 32,
    overwrite=True,
)
print("stand-in:", card["mode"], card["size_bytes"], "bytes")
"""


def make_stand_in(mode: str) -> Path:
    """A synthetic-vessel model exported in ``mode``, made in a child process."""
    model = OUT / f"stand_in_{mode}.tflite"
    if not model.is_file():
        command = [sys.executable, "-c", STAND_IN, str(OUT), mode, "1" if SMOKE else "0"]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"making the stand-in model failed:\n{done.stderr[-3000:]}")
        print(done.stdout.strip().splitlines()[-1])
    return model


if not MODEL_FILE.is_file():
    if MODEL.endswith(".tflite"):
        raise FileNotFoundError(f"{MODEL_FILE}: no such model")
    mode = "float16" if MODEL.endswith("float16") else "int8"
    warnings.warn(
        f"{MODEL_FILE} is not shipped in this checkout: using a stand-in model trained on "
        "synthetic vessels instead",
        stacklevel=1,
    )
    MODEL_FILE = make_stand_in(mode)
print("model:", MODEL_FILE, f"({MODEL_FILE.stat().st_size:,} bytes)")

# %%
from mininet_lite import TFLiteSegmenter

segmenter = TFLiteSegmenter(MODEL_FILE, threads=THREADS, threshold=THRESHOLD)
card = segmenter.card
trained_on = card.get("training_data", {}).get("dataset") or card.get("source", {}).get(
    "card", {}
).get("dataset")
print(f"mode           {card.get('mode', '?')}")
print(f"input          {card.get('input', {}).get('shape')} {card.get('input', {}).get('dtype')}")
print(f"input policy   {segmenter.policy}")
print(f"threshold      {segmenter.threshold:.3f}")
print(f"trained on     {trained_on}")
if card.get("metrics"):
    metrics = card["metrics"]
    print(
        f"measured       {metrics['dataset']}/{metrics['split']}: pooled F1 "
        f"{metrics['pooled']['f1']:.4f}, AUC {metrics['pooled']['auc']:.4f}"
    )

# %% [markdown]
# ## Your image
#
# Any image (PNG, JPEG, TIFF...; grey, 16-bit and palette images are converted to RGB). Without
# one, a synthetic sample is drawn by `mininet_tf.data.synthetic` in a child process: lesions
# for a dermoscopy (PH2) model, vessels otherwise.

# %%
INPUTS = OUT / "inputs"  # kept apart from the outputs
INPUTS.mkdir(exist_ok=True)
if IN_COLAB and UPLOAD_IMAGE:
    from google.colab import files

    uploaded = files.upload()
    IMAGE_PATH = INPUTS / next(iter(uploaded))
    IMAGE_PATH.write_bytes(uploaded[IMAGE_PATH.name])
if IMAGE_PATH is None:
    kind = "lesions" if str(trained_on).lower().startswith(("ph2", "isic")) else "vessels"
    IMAGE_PATH = INPUTS / f"sample_{kind}.png"
    draw = (
        "import sys; from PIL import Image; from mininet_tf.data.synthetic import generate; "
        "images, _, _ = generate(sys.argv[1], 1, size=(256, 256), seed=3); "
        "Image.fromarray(images[0]).save(sys.argv[2])"
    )
    subprocess.run([sys.executable, "-c", draw, kind, str(IMAGE_PATH)], check=True)
IMAGE_PATH = Path(IMAGE_PATH)
print(IMAGE_PATH)

# %% [markdown]
# ## Segment
#
# `mininet-infer` (module `mininet_lite.infer`, from the TensorFlow-free `mininet-lite`
# distribution in `tflite/`) is the command an edge device runs
# (`mininet-infer --model M.tflite image.png --out results/`); its `infer` function
# reads the image, lets `TFLiteSegmenter` pad, tile or resize it as the card says (quantising
# the input and dequantising the output of an int8 model), thresholds the probability map and
# writes `<image>_mask.png`, `<image>_prob.png` (16-bit) and `<image>_overlay.png`.

# %%
import mininet_lite.infer as tflite_infer

manifest = tflite_infer.infer(
    MODEL_FILE, [IMAGE_PATH], OUT, threads=THREADS, threshold=THRESHOLD, overwrite=True
)
summary = manifest["inputs"][IMAGE_PATH.name]  # also in OUT/manifest.json
if summary["status"] != "ok":
    raise RuntimeError(f"{IMAGE_PATH}: {summary['reason']}")
print(
    f"{summary['input']}: {1000 * summary['seconds']:.1f} ms, foreground "
    f"{100 * summary['foreground_fraction']:.1f}% of the pixels -> {summary['outputs'][0]}"
)

# %% [markdown]
# ## Overlay
#
# The predicted mask in yellow (outlined) over the image, as written to
# `<OUT_DIR>/<image>_overlay.png`.

# %% tags=["keep_output"]
import matplotlib.pyplot as plt
import numpy as np
from PIL import Image

stem = IMAGE_PATH.stem
image = tflite_infer.read_image(IMAGE_PATH)
probability = np.asarray(Image.open(OUT / f"{stem}_prob.png"), np.float32) / 65535
overlay = np.asarray(Image.open(OUT / f"{stem}_overlay.png"))

fig, axes = plt.subplots(1, 3, figsize=(13, 4.6))
axes[0].imshow(image)
axes[0].set_title(IMAGE_PATH.name)
axes[1].imshow(probability, cmap="magma", vmin=0, vmax=1)
axes[1].set_title("foreground probability")
axes[2].imshow(overlay)
axes[2].set_title(f"mask at threshold {segmenter.threshold:.2f}")
for ax in axes:
    ax.axis("off")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Download (Colab)

# %%
outputs = [OUT / f"{stem}_{suffix}.png" for suffix in ("mask", "prob", "overlay")]
if IN_COLAB:
    from google.colab import files

    for path in outputs:
        files.download(str(path))
print([path.name for path in outputs if path.is_file()])
assert "tensorflow" not in sys.modules, "TensorFlow was imported by this kernel"
print("TensorFlow was not imported by this kernel")
