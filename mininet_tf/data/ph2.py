"""PH2 (Mendonca et al., 2013): 200 dermoscopy images (~768x560) with lesion masks.

Two layouts are accepted:

(a) the official release; ``data_dir`` is ``PH2Dataset`` or its ``PH2 Dataset images``
    sub-folder (``IMDxxx_roi/`` folders and the ``PH2_dataset.txt`` / ``.xlsx`` are ignored)::

        PH2Dataset/PH2 Dataset images/IMD002/IMD002_Dermoscopic_Image/IMD002.bmp
        PH2Dataset/PH2 Dataset images/IMD002/IMD002_lesion/IMD002_lesion.bmp

(b) flat folders (as in ``../shared/data/PH2``)::

        images/IMD002.jpg      masks/IMD002_lesion.png

No official split. The shipped ``splits/ph2.json`` (100 train / 20 val / 40 test over the 160
ids of ``../shared/data/PH2``) is used when every id it lists is present; otherwise (or with
``split_file=None``) a seeded split (`seeded_three_way`, ``test_fraction=0.25``) is used, with
a warning. With the shipped split, ``val_fraction`` and ``seed`` are ignored.
"""

from __future__ import annotations

from pathlib import Path

from .matching import (
    KeyRule,
    find_root,
    index_files,
    layout_error,
    list_images,
    pair_records,
    require_data_dir,
    split_by_definition_or_seed,
)
from .records import DataError, Record

OFFICIAL_IMAGES = "PH2 Dataset images"
EXPECTED = (
    f"PH2Dataset/{OFFICIAL_IMAGES}/IMDxxx/IMDxxx_Dermoscopic_Image/IMDxxx.bmp + "
    "IMDxxx/IMDxxx_lesion/IMDxxx_lesion.bmp (official)",
    "or images/IMDxxx.<ext> + masks/IMDxxx_lesion.<ext> (flat)",
)


def _is_official(path: Path) -> bool:
    return any(p.is_dir() and (p / f"{p.name}_Dermoscopic_Image").is_dir() for p in path.iterdir())


def _official(root: Path) -> list[Record]:
    images: dict[str, Path] = {}
    masks: dict[str, Path] = {}
    cases = sorted(p for p in root.iterdir() if p.is_dir() and p.name[:1] != ".")
    for case in cases:
        for kind, folder, index, rule in (
            ("image", case / f"{case.name}_Dermoscopic_Image", images, KeyRule()),
            ("lesion mask", case / f"{case.name}_lesion", masks, KeyRule(("_lesion",))),
        ):
            if not folder.is_dir():
                raise DataError(f"{case}: PH2 case folder without {folder.name}/ ({kind})")
            found = index_files(list_images(folder, f"PH2 {kind}"), rule, f"PH2 {kind}")
            if list(found) != [case.name]:
                raise DataError(
                    f"{folder}: expected exactly one {kind} for {case.name}, found "
                    + ", ".join(str(p) for p in found.values())
                )
            index.update(found)
    if not cases:
        raise DataError(f"{root}: no PH2 case folders (IMDxxx/)")
    return pair_records(images, masks, where=str(root))


def load_all(data_dir: str | Path) -> list[Record]:
    data_dir = require_data_dir(data_dir, "PH2")
    root = find_root(
        data_dir, _is_official, nested=(OFFICIAL_IMAGES, f"PH2Dataset/{OFFICIAL_IMAGES}")
    )
    if root is not None:
        return _official(root)
    flat = find_root(data_dir, lambda p: (p / "images").is_dir(), nested=("PH2",))
    if flat is None:
        raise layout_error("PH2", data_dir, EXPECTED)
    if not (flat / "masks").is_dir():
        raise layout_error("PH2", flat, EXPECTED, note=f"Missing {flat / 'masks'}/.")
    images = index_files(list_images(flat / "images"), KeyRule(), "PH2 image")
    masks = index_files(
        list_images(flat / "masks", "PH2 masks"), KeyRule(("_lesion",), optional=True), "PH2 mask"
    )
    return pair_records(images, masks, where=str(flat))


def load_split(
    data_dir: str | Path,
    split: str,
    *,
    val_fraction: float = 0.2,
    seed: int = 0,
    split_file: str | Path | None = "shipped",
    test_fraction: float = 0.25,
) -> list[Record]:
    """PH2 records of ``split`` (see the module docstring for the split rules)."""
    return split_by_definition_or_seed(
        load_all(data_dir),
        split,
        dataset="ph2",
        split_file=split_file,
        test_fraction=test_fraction,
        val_fraction=val_fraction,
        seed=seed,
        where=data_dir,
    )
