"""Dataset loaders, decoding, the synthetic default and the tf.data pipeline.

Registry::

    from mininet_tf.data import DATASETS, get_split
    records = get_split("drive", "/path/to/DRIVE", "train", val_fraction=0.2, seed=0)
    records = get_split("manifest", "runs/x/train.csv", "train")

Every loader has the signature
``load_split(data_dir, split, *, val_fraction=0.2, seed=0, **options) -> list[Record]`` with
``split`` in {"train", "val", "test", "all"}. Loader modules are imported on first use.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

from .records import SPLITS, DataError, Record, read_manifest, write_manifest


class _LazyLoader:
    """A registry entry importing ``module`` and calling ``function`` on first use."""

    def __init__(self, module: str, function: str = "load_split"):
        self.module = module
        self.function = function

    def resolve(self) -> Callable[..., list[Record]]:
        return getattr(importlib.import_module(self.module), self.function)

    def __call__(self, data_dir, split, **kwargs) -> list[Record]:
        return self.resolve()(data_dir, split, **kwargs)

    def __repr__(self) -> str:
        return f"<loader {self.module}.{self.function}>"


def load_manifest_split(
    path: str | Path,
    split: str,
    *,
    val_fraction: float | None = None,
    seed: int | None = None,
    verify: bool = True,
    root: str | Path | None = None,
) -> list[Record]:
    """Records of a manifest CSV (`write_manifest`), verified against their sha256.

    ``path`` is either a manifest file (its records are returned whatever ``split`` is; a
    manifest holds one split) or a folder holding ``<split>.csv``. ``val_fraction`` and
    ``seed`` are accepted for a uniform signature and ignored.
    """
    if split not in SPLITS:
        raise DataError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    path = Path(path).expanduser()
    if path.is_dir():
        path = path / f"{split}.csv"
    return read_manifest(path, root=Path(root) if root is not None else None, verify=verify)


DATASETS: dict[str, Callable[..., list[Record]]] = {
    "drive": _LazyLoader("mininet_tf.data.drive"),
    "stare": _LazyLoader("mininet_tf.data.stare"),
    "chase_db1": _LazyLoader("mininet_tf.data.chase_db1"),
    "fundus": _LazyLoader("mininet_tf.data.fundus"),
    "isic2016": _LazyLoader("mininet_tf.data.isic", "load_split_2016"),
    "isic2017": _LazyLoader("mininet_tf.data.isic", "load_split_2017"),
    "isic2018": _LazyLoader("mininet_tf.data.isic", "load_split_2018"),
    "ph2": _LazyLoader("mininet_tf.data.ph2"),
    "monuseg": _LazyLoader("mininet_tf.data.monuseg"),
    "folder": _LazyLoader("mininet_tf.data.folder"),
    "synthetic": _LazyLoader("mininet_tf.data.synthetic"),
    "manifest": load_manifest_split,
}


def get_split(name: str, data_dir: str | Path, split: str, **kwargs) -> list[Record]:
    """Records of ``split`` of dataset ``name`` (a key of `DATASETS`) found in ``data_dir``."""
    key = name.lower().replace("-", "_")
    key = {"chase": "chase_db1", "chasedb1": "chase_db1"}.get(key, key)
    if key not in DATASETS:
        raise DataError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
    if split not in SPLITS:
        raise DataError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    if kwargs.get("split_file", "shipped") != "shipped" and key not in SPLIT_FILE_DATASETS:
        raise DataError(
            f"dataset {name!r} has an official split and takes no split file (got "
            f"{kwargs['split_file']!r}); split files apply to {', '.join(SPLIT_FILE_DATASETS)}"
        )
    return DATASETS[key](data_dir, split, **kwargs)


#: Loaders whose train/val/test come from a split file (``split_file="shipped"``: theirs).
SPLIT_FILE_DATASETS = ("stare", "chase_db1", "isic2017", "ph2", "monuseg")


def split_options(config: dict) -> dict:
    """The `get_split` keyword arguments a training configuration (`TrainConfig.to_dict`, or
    a card's ``config``) implies: ``val_fraction``, ``seed`` (``split_seed`` when set, else
    the training seed) and, when set, ``split_file``."""
    seed = config.get("split_seed")
    seed = config.get("seed", 0) if seed is None else seed
    options = {"val_fraction": config.get("val_fraction", 0.2), "seed": seed}
    if config.get("split_file", "shipped") != "shipped":
        options["split_file"] = config["split_file"]
    return options


__all__ = [
    "DATASETS",
    "SPLITS",
    "DataError",
    "Record",
    "SPLIT_FILE_DATASETS",
    "get_split",
    "load_manifest_split",
    "read_manifest",
    "write_manifest",
]
