"""DRIVE (Staal et al., 2004): retinal vessels, 20 training + 20 test images, 565x584.

Official layout (``data_dir`` may be the ``DRIVE`` folder or its parent)::

    training/images/21_training.tif      training/1st_manual/21_manual1.gif
    training/mask/21_training_mask.gif
    test/images/01_test.tif              test/1st_manual/01_manual1.gif
    test/mask/01_test_mask.gif           test/2nd_manual/01_manual2.gif

``mask/`` holds the field-of-view masks (`Record.fov`). Splits: train/val = ``training``
(val carved with `carve_val`), test = ``test`` with ``1st_manual`` (default) or ``2nd_manual``
(``annotator="2nd"``) as reference.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from .io import DataWarning
from .matching import (
    KeyRule,
    check_split,
    find_root,
    index_files,
    layout_error,
    list_images,
    pair_records,
    require_data_dir,
    select,
)
from .records import DataError, Record

EXPECTED = (
    "training/images/",
    "training/1st_manual/",
    "training/mask/",
    "test/images/",
    "test/1st_manual/",
    "test/2nd_manual/ (optional)",
    "test/mask/",
)


def _is_root(path: Path) -> bool:
    return (path / "training" / "images").is_dir() or (path / "test" / "images").is_dir()


def resolve_root(data_dir: str | Path) -> Path:
    data_dir = require_data_dir(data_dir, "DRIVE")
    root = find_root(data_dir, _is_root, nested=("DRIVE",))
    if root is None:
        raise layout_error("DRIVE", data_dir, EXPECTED)
    return root


def _part(root: Path, part: str, annotator: str) -> list[Record]:
    folder = root / part
    name = "training" if part == "training" else "test"
    if not (folder / "images").is_dir():
        raise layout_error("DRIVE", root, EXPECTED, note=f"Missing {folder / 'images'}.")
    images = index_files(list_images(folder / "images"), KeyRule((f"_{name}",)), "DRIVE image")
    labels = "1st_manual" if annotator == "1st" else "2nd_manual"
    label_dir = folder / labels
    if not label_dir.is_dir() or not list_images(label_dir, allow_empty=True):
        if part == "test":
            raise DataError(
                f"{label_dir}: the DRIVE test labels are absent (some distributions hide "
                f"them); --split test (and evaluation on DRIVE test) needs "
                f"test/{labels}/NN_manual{annotator[0]}.gif. Found in {folder}: "
                + ", ".join(sorted(p.name for p in folder.iterdir() if p.name[:1] != "."))
            )
        raise layout_error("DRIVE", root, EXPECTED, note=f"Missing or empty {label_dir}.")
    masks = index_files(
        list_images(label_dir, labels), KeyRule((f"_manual{annotator[0]}",)), "DRIVE manual"
    )
    fov_dir = folder / "mask"
    fovs = None
    if fov_dir.is_dir():
        fovs = index_files(list_images(fov_dir, "FOV mask"), KeyRule((f"_{name}_mask",)), "FOV")
    else:
        warnings.warn(
            f"{fov_dir}: DRIVE FOV masks missing; records of {folder} have no FOV",
            DataWarning,
            stacklevel=3,
        )
    return pair_records(images, masks, fovs, where=str(folder))


def load_split(
    data_dir: str | Path,
    split: str,
    *,
    val_fraction: float = 0.2,
    seed: int = 0,
    annotator: str = "1st",
) -> list[Record]:
    """DRIVE records of ``split`` ("train", "val", "test" or "all").

    ``annotator`` ("1st" or "2nd") picks the test reference; training only has ``1st_manual``,
    so ``annotator="2nd"`` is only valid with ``split="test"``. ``split="all"`` is training +
    test, or training alone (with a warning) when the test labels are absent.
    """
    check_split(split)
    if annotator not in ("1st", "2nd"):
        raise DataError(f"DRIVE annotator must be '1st' or '2nd', got {annotator!r}")
    if annotator == "2nd" and split != "test":
        raise DataError(
            "DRIVE annotator='2nd' is only available for split='test' (training has only "
            "1st_manual)"
        )
    root = resolve_root(data_dir)
    if split == "test":
        return _part(root, "test", annotator)
    train = _part(root, "training", "1st")
    test = None
    if split == "all":
        try:
            test = _part(root, "test", "1st")
        except DataError as exc:
            warnings.warn(
                f"DRIVE split 'all' holds only the training images: {exc}",
                DataWarning,
                stacklevel=2,
            )
    return select(split, train=train, test=test, val_fraction=val_fraction, seed=seed)
