"""Shipped pretrained models: `mininet_tf/pretrained/mininet_<name>.keras` and their cards.

    >>> import mininet_tf
    >>> model = mininet_tf.load_pretrained("drive")          # a keras.Model
    >>> card = mininet_tf.pretrained_card("drive")           # threshold, input policy, facts
    >>> seg = mininet_tf.load_pretrained_segmenter("isic2017")  # full-resolution .predict(image)

The models were trained by `benchmarks/quality.py` (recipe, data split and measured test
figures are in each card and in docs/benchmarks.md).
"""

from __future__ import annotations

import json
from pathlib import Path

PRETRAINED_DIR = Path(__file__).resolve().parent / "pretrained"
NAMES = (
    "drive",
    "stare",
    "chase_db1",
    "fundus",
    "ph2",
    "isic2017",
    "monuseg",
    # The fast variant (`mininet_tf.model.build_mininet_fast`): same recipes, half resolution.
    "drive_fast",
    "ph2_fast",
    "isic2017_fast",
)


def pretrained_path(name: str) -> Path:
    """Path of the shipped `.keras` file for ``name`` (one of `NAMES`)."""
    key = name.lower()
    path = PRETRAINED_DIR / f"mininet_{key}.keras"
    if key not in NAMES or not path.is_file():
        shipped = sorted(p.stem.removeprefix("mininet_") for p in PRETRAINED_DIR.glob("*.keras"))
        raise ValueError(f"no pretrained model {name!r}; shipped: {shipped}")
    return path


def pretrained_card(name: str) -> dict:
    """The card (threshold, input policy, training facts, benchmark figures) of ``name``."""
    return json.loads(pretrained_path(name).with_suffix(".json").read_text())


def load_pretrained(name: str):
    """The shipped Keras model ``name`` (raw RGB 0-255 in, probabilities out)."""
    import keras

    return keras.models.load_model(pretrained_path(name))


def load_pretrained_segmenter(name: str):
    """A `KerasSegmenter` for ``name``: its card's threshold and input policy applied."""
    from mininet_tf.inference import KerasSegmenter

    return KerasSegmenter(pretrained_path(name))
