"""CHASE_DB1 (Fraz et al., 2012; Owen et al., 2009): retinal vessels, 28 images of 999x960.

Official layout (the ``CHASEDB1.zip`` archive, flat; ``data_dir`` may also be the parent of a
``CHASEDB1`` / ``CHASE_DB1`` folder)::

    Image_01L.jpg   Image_01L_1stHO.png   Image_01L_2ndHO.png   ...   Image_14R.jpg ...

Reference: ``_1stHO`` (default, ``annotator="1st"``) or ``_2ndHO`` (``annotator="2nd"``).
No FOV masks: derived with `mininet_tf.data.io.derive_fov` and cached in ``cache_dir``.
No official split: the shipped ``splits/chase_db1.json`` is the common first 20 images
(children 1-10) for training / last 8 (children 11-14) for test; val carved from train.
"""

from __future__ import annotations

from pathlib import Path

from .io import split_image_name
from .matching import (
    KeyRule,
    add_derived_fov,
    find_root,
    index_files,
    layout_error,
    list_images,
    pair_records,
    require_data_dir,
    split_by_definition_or_seed,
)
from .records import DataError, Record

EXPECTED = ("Image_01L.jpg, Image_01L_1stHO.png, Image_01L_2ndHO.png, ... (flat folder)",)
_LABEL_SUFFIXES = ("_1stHO", "_2ndHO")


def _is_root(path: Path) -> bool:
    return any(
        (split_image_name(p) or ("", ""))[0].endswith(_LABEL_SUFFIXES) for p in path.iterdir()
    )


def load_all(data_dir: str | Path, annotator: str = "1st") -> list[Record]:
    if annotator not in ("1st", "2nd"):
        raise DataError(f"CHASE_DB1 annotator must be '1st' or '2nd', got {annotator!r}")
    data_dir = require_data_dir(data_dir, "CHASE_DB1")
    root = find_root(data_dir, _is_root, nested=("CHASEDB1", "CHASE_DB1", "CHASE"))
    if root is None:
        raise layout_error("CHASE_DB1", data_dir, EXPECTED)
    files = list_images(root)
    suffix = f"_{annotator}HO"
    labels = [p for p in files if split_image_name(p)[0].endswith(_LABEL_SUFFIXES)]
    images = [p for p in files if p not in labels]
    chosen = [p for p in labels if split_image_name(p)[0].endswith(suffix)]
    if not chosen:
        raise DataError(f"{root}: no CHASE_DB1 {annotator} annotations (*{suffix}.png) found")
    return pair_records(
        index_files(images, KeyRule(), "CHASE_DB1 image"),
        index_files(chosen, KeyRule((suffix,)), "CHASE_DB1 label"),
        where=str(root),
    )


def load_split(
    data_dir: str | Path,
    split: str,
    *,
    val_fraction: float = 0.2,
    seed: int = 0,
    annotator: str = "1st",
    split_file: str | Path | None = "shipped",
    test_fraction: float = 8 / 28,
    derive_fov: bool = True,
    cache_dir: str | Path | None = None,
) -> list[Record]:
    """CHASE_DB1 records of ``split``; FOVs derived into ``cache_dir`` (default
    ``~/.cache/mininet_tf/chase_db1_fov``) unless ``derive_fov=False``."""
    records = load_all(data_dir, annotator)
    chosen = split_by_definition_or_seed(
        records,
        split,
        dataset="chase_db1",
        split_file=split_file,
        test_fraction=test_fraction,
        val_fraction=val_fraction,
        seed=seed,
        where=data_dir,
    )
    return add_derived_fov(chosen, cache_dir, "chase_db1_fov") if derive_fov else chosen
