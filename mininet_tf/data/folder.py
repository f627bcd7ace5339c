"""Generic folder dataset: your own images and masks.

Layout::

    data_dir/images/<stem>.<ext>
    data_dir/masks/<stem>[<suffix>].<ext>      suffix: mask_suffix=, else one of
                                               _mask, _segmentation, _lesion, _manual1 or none
    data_dir/fov/<stem>[_fov|_mask].<ext>      (optional field-of-view masks)

or the same layout inside ``data_dir/train/``, ``data_dir/val/`` and ``data_dir/test/``
(``train/`` required; a missing ``val/`` is carved from train; a missing ``test/`` makes
split "test" an error; record ids get the sub-folder as prefix: ``train_case00``, since stems
may repeat across sub-folders). Without sub-folders, a seeded split is used (`seeded_three_way`:
``test_fraction`` then ``val_fraction``, ``seed``).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from .matching import (
    KeyRule,
    check_split,
    index_files,
    layout_error,
    list_images,
    pair_records,
    require_data_dir,
    seeded_three_way,
    select,
)
from .records import Record

MASK_SUFFIXES = ("_mask", "_segmentation", "_lesion", "_manual1")
FOV_SUFFIXES = ("_fov", "_mask")
EXPECTED = (
    "images/",
    "masks/",
    "fov/ (optional)",
    "or train/{images,masks}/ (+ val/, test/ with the same layout)",
)


def load_folder(folder: str | Path, *, mask_suffix: str | None = None) -> list[Record]:
    """Records of one ``images/`` + ``masks/`` (+ ``fov/``) folder, paired by stem."""
    folder = Path(folder)
    if not (folder / "images").is_dir() or not (folder / "masks").is_dir():
        raise layout_error("folder", folder, EXPECTED)
    rule = (
        KeyRule((mask_suffix,), optional=True)
        if mask_suffix
        else KeyRule(MASK_SUFFIXES, optional=True)
    )
    images = index_files(list_images(folder / "images"), KeyRule(), "image")
    masks = index_files(list_images(folder / "masks", "masks"), rule, "mask")
    fovs = None
    if (folder / "fov").is_dir():
        fovs = index_files(
            list_images(folder / "fov", "fov"), KeyRule(FOV_SUFFIXES, optional=True), "FOV mask"
        )
    return pair_records(images, masks, fovs, where=str(folder))


def load_split(
    data_dir: str | Path,
    split: str,
    *,
    val_fraction: float = 0.2,
    seed: int = 0,
    test_fraction: float = 0.2,
    mask_suffix: str | None = None,
) -> list[Record]:
    """Records of ``split`` from a folder dataset (see the module docstring)."""
    check_split(split)
    data_dir = require_data_dir(data_dir, "folder")
    if (data_dir / "train").is_dir():
        parts = {
            name: [
                replace(r, id=f"{name}_{r.id}")
                for r in load_folder(data_dir / name, mask_suffix=mask_suffix)
            ]
            if (data_dir / name).is_dir()
            else None
            for name in ("train", "val", "test")
        }
        return select(
            split,
            **parts,
            val_fraction=val_fraction,
            seed=seed,
            test_missing=f"{data_dir}: no test/ folder, so there is no split 'test'",
        )
    records = load_folder(data_dir, mask_suffix=mask_suffix)
    if split == "all":
        return records
    parts = seeded_three_way(
        records, test_fraction=test_fraction, val_fraction=val_fraction, seed=seed
    )
    return parts[split]
