"""ISIC skin-lesion segmentation: ISBI 2016 Part 1, ISIC 2017 Part 1 and ISIC 2018 Task 1.

ISIC 2016 (Gutman et al., 2016), official archives unpacked side by side in ``data_dir``::

    ISBI2016_ISIC_Part1_Training_Data/ISIC_0000000.jpg              (900 images)
    ISBI2016_ISIC_Part1_Training_GroundTruth/ISIC_0000000_Segmentation.png
    ISBI2016_ISIC_Part1_Test_Data/ISIC_0000003.jpg                  (379 images)
    ISBI2016_ISIC_Part1_Test_GroundTruth/ISIC_0000003_Segmentation.png

ISIC 2017 Part 1 (Codella et al., 2018)::

    ISIC-2017_Training_Data/ISIC_0000000.jpg                        (2000 images)
    ISIC-2017_Training_Part1_GroundTruth/ISIC_0000000_segmentation.png
    ISIC-2017_Validation_Data/ + ISIC-2017_Validation_Part1_GroundTruth/          (150)
    ISIC-2017_Test_v2_Data/ + ISIC-2017_Test_v2_Part1_GroundTruth/                (600)

Each official ISIC 2017 part is used when its folders are present. A missing validation or
test part is carved from the training set by the shipped split ``splits/isic2017.json`` (1400
train / 200 val / 400 test over the 2000 official training ids, the "random split of the
training set" protocol of EGE-UNet and MALUNet); ids the split file assigns to a part that is
present officially stay in training. When the training folder does not hold exactly the ids of
the split file, a seeded split (test 20%, val 10% of the whole) is used, with a warning.

ISIC 2018 (Codella et al., 2019; Tschandl et al., 2018)::

    ISIC2018_Task1-2_Training_Input/ISIC_0000000.jpg                (2594 images)
    ISIC2018_Task1_Training_GroundTruth/ISIC_0000000_segmentation.png
    ISIC2018_Task1-2_Validation_Input/ + ISIC2018_Task1_Validation_GroundTruth/   (100)
    ISIC2018_Task1-2_Test_Input/ + ISIC2018_Task1_Test_GroundTruth/               (1000)

Input folders also hold ``ATTRIBUTION.txt`` / ``LICENSE.txt``: non-image files are ignored, as
are ``*_superpixels.png`` files (ISIC 2017-style inputs). The mask suffix is matched
case-insensitively. ISIC 2018's official validation split is used when present (val_fraction
and seed are then ignored); otherwise val is carved from training, with a warning. ISIC 2016
has no validation split: val is carved from training.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from .io import DataWarning, split_image_name
from .matching import (
    KeyRule,
    carve_val,
    check_split,
    find_root,
    index_files,
    layout_error,
    list_images,
    pair_records,
    require_data_dir,
    seeded_three_way,
    select,
    sort_records,
    split_by_definition,
)
from .records import Record

_MASK_RULE = KeyRule(("_segmentation",), ignore_case=True)

FOLDERS_2016 = {
    "train": ("ISBI2016_ISIC_Part1_Training_Data", "ISBI2016_ISIC_Part1_Training_GroundTruth"),
    "test": ("ISBI2016_ISIC_Part1_Test_Data", "ISBI2016_ISIC_Part1_Test_GroundTruth"),
}
FOLDERS_2017 = {
    "train": ("ISIC-2017_Training_Data", "ISIC-2017_Training_Part1_GroundTruth"),
    "val": ("ISIC-2017_Validation_Data", "ISIC-2017_Validation_Part1_GroundTruth"),
    "test": ("ISIC-2017_Test_v2_Data", "ISIC-2017_Test_v2_Part1_GroundTruth"),
}
#: Seeded fallback split of ISIC 2017's training set: test 20% of all, val 10% of all (12.5% of
#: what remains), as in the shipped splits/isic2017.json.
CARVE_2017 = {"test_fraction": 0.2, "val_fraction": 0.125}
FOLDERS_2018 = {
    "train": ("ISIC2018_Task1-2_Training_Input", "ISIC2018_Task1_Training_GroundTruth"),
    "val": ("ISIC2018_Task1-2_Validation_Input", "ISIC2018_Task1_Validation_GroundTruth"),
    "test": ("ISIC2018_Task1-2_Test_Input", "ISIC2018_Task1_Test_GroundTruth"),
}


def _pairs(root: Path, image_folder: str, mask_folder: str) -> list[Record]:
    images = [
        p
        for p in list_images(root / image_folder, "ISIC input")
        if not split_image_name(p)[0].lower().endswith("_superpixels")
    ]
    return pair_records(
        index_files(images, KeyRule(), "ISIC image"),
        index_files(list_images(root / mask_folder, "ISIC ground truth"), _MASK_RULE, "ISIC mask"),
        where=f"{root / image_folder} + {root / mask_folder}",
    )


def _load(
    data_dir: str | Path,
    split: str,
    folders: dict[str, tuple[str, str]],
    name: str,
    val_fraction: float,
    seed: int,
) -> list[Record]:
    check_split(split)
    data_dir = require_data_dir(data_dir, name)
    expected = [f"{f}/" for pair in folders.values() for f in pair]
    train_images = folders["train"][0]
    root = find_root(data_dir, lambda p: (p / train_images).is_dir(), nested=(name,))
    if root is None:
        root = find_root(data_dir, lambda p: (p / folders["test"][0]).is_dir(), nested=(name,))
    if root is None:
        raise layout_error(name, data_dir, expected)

    def part(key: str, *, required: bool) -> list[Record] | None:
        images, masks = (root / f for f in folders[key])
        if images.is_dir() and masks.is_dir():
            return _pairs(root, *folders[key])
        if not required:
            return None
        missing = [f"{f}/" for f in (images, masks) if not f.is_dir()]
        raise layout_error(
            name, root, expected, note=f"Split {split!r} needs {', '.join(missing)}."
        )

    if split == "test":
        return part("test", required=True)
    train = part("train", required=True)
    val = part("val", required=False) if "val" in folders else None
    if "val" in folders and val is None and split == "val":
        warnings.warn(
            f"{root}: no official {name} validation folders ({', '.join(folders['val'])}); "
            f"carving val from training (val_fraction={val_fraction}, seed={seed})",
            DataWarning,
            stacklevel=3,
        )
    test = part("test", required=False) if split == "all" else None
    return select(split, train=train, val=val, test=test, val_fraction=val_fraction, seed=seed)


def load_split_2016(
    data_dir: str | Path, split: str, *, val_fraction: float = 0.2, seed: int = 0
) -> list[Record]:
    """ISIC 2016 (ISBI 2016 Part 1) records of ``split``."""
    return _load(data_dir, split, FOLDERS_2016, "ISIC 2016", val_fraction, seed)


def load_split_2017(
    data_dir: str | Path,
    split: str,
    *,
    val_fraction: float = 0.2,
    seed: int = 0,
    split_file: str | Path | None = "shipped",
) -> list[Record]:
    """ISIC 2017 Part 1 records of ``split``: official parts where present, the rest carved
    from training by ``split_file`` (see the module docstring). ``seed`` only applies to the
    seeded fallback split (``split_file=None``, or a split file whose ids do not match the
    training folder), whose shares are fixed (`CARVE_2017`); ``val_fraction`` only to a
    user's split file without a val list."""
    check_split(split)
    name = "ISIC 2017"
    data_dir = require_data_dir(data_dir, name)
    folders = FOLDERS_2017
    expected = [f"{f}/" for pair in folders.values() for f in pair]
    root = find_root(
        data_dir,
        lambda p: any((p / folders[k][0]).is_dir() for k in folders),
        nested=("ISIC2017", "ISIC-2017"),
    )
    if root is None:
        raise layout_error(name, data_dir, expected)

    def official(key: str) -> list[Record] | None:
        images, masks = (root / f for f in folders[key])
        if not images.is_dir():
            return None
        if not masks.is_dir():
            raise layout_error(
                name, root, expected, note=f"{images.name}/ is there but not {masks.name}/."
            )
        return _pairs(root, *folders[key])

    parts = {key: official(key) for key in ("val", "test")}
    if split in ("val", "test") and parts[split] is not None:
        return sort_records(parts[split])
    training = official("train")
    if training is None:
        missing = folders["train"][0]
        raise layout_error(name, root, expected, note=f"Split {split!r} needs {missing}/.")
    if parts["val"] is not None and parts["test"] is not None:
        carved = {"train": training, "val": [], "test": []}
    elif split_file is None:
        carved = seeded_three_way(training, seed=seed, **CARVE_2017)
    else:
        carved = split_by_definition(
            training,
            dataset="isic2017",
            split_file=split_file,
            seed=seed,
            where=root / folders["train"][0],
            **CARVE_2017,
        )
        if carved["val"] is None:
            carved["train"], carved["val"] = carve_val(carved["train"], val_fraction, seed)
    train = list(carved["train"])
    for key in ("val", "test"):
        if parts[key] is not None:
            train += carved[key]  # the official part replaces the carved one
        else:
            parts[key] = carved[key]
    parts["train"] = train
    if split == "all":
        return sort_records([r for key in ("train", "val", "test") for r in parts[key]])
    return sort_records(parts[split])


def load_split_2018(
    data_dir: str | Path, split: str, *, val_fraction: float = 0.2, seed: int = 0
) -> list[Record]:
    """ISIC 2018 Task 1 records of ``split`` (official validation split when present)."""
    return _load(data_dir, split, FOLDERS_2018, "ISIC 2018", val_fraction, seed)


load_split = load_split_2018
