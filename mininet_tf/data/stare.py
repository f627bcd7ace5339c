"""STARE (Hoover et al., 2000): retinal vessels, 20 labelled images of 700x605 (of 400).

Official layout (the three tar archives unpacked into folders of their own name; the files
may stay gzipped or be gunzipped; ``data_dir`` may also be a ``STARE`` folder's parent)::

    stare-images/im0001.ppm.gz     labels-ah/im0001.ah.ppm.gz     labels-vk/im0001.vk.ppm.gz

Only images with a label of the chosen annotator (``"ah"``: Hoover, the usual reference,
default; ``"vk"``: Kouznetsova) are used; the other 380 images are ignored. A label without an
image is an error.

STARE has no FOV masks: they are derived with `mininet_tf.data.io.derive_fov` and cached as
PNGs in ``cache_dir``. No official split either: the shipped ``splits/stare.json`` uses the
first 10 labelled images (sorted ids) for training and the last 10 for test, a common choice
(others use leave-one-out); val is carved from train with `carve_val`.
"""

from __future__ import annotations

from pathlib import Path

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

EXPECTED = ("stare-images/", "labels-ah/ (and/or labels-vk/)")


def _is_root(path: Path) -> bool:
    return (path / "stare-images").is_dir()


def load_all(data_dir: str | Path, annotator: str = "ah") -> list[Record]:
    if annotator not in ("ah", "vk"):
        raise DataError(f"STARE annotator must be 'ah' or 'vk', got {annotator!r}")
    data_dir = require_data_dir(data_dir, "STARE")
    root = find_root(data_dir, _is_root, nested=("STARE", "stare"))
    if root is None:
        raise layout_error("STARE", data_dir, EXPECTED)
    label_dir = root / f"labels-{annotator}"
    if not label_dir.is_dir():
        raise layout_error("STARE", root, EXPECTED, note=f"Missing {label_dir}.")
    images = index_files(list_images(root / "stare-images"), KeyRule(), "STARE image")
    masks = index_files(
        list_images(label_dir, f"labels-{annotator}"), KeyRule((f".{annotator}",)), "STARE label"
    )
    return pair_records(images, masks, where=str(root), allow_unlabelled=True)


def load_split(
    data_dir: str | Path,
    split: str,
    *,
    val_fraction: float = 0.2,
    seed: int = 0,
    annotator: str = "ah",
    split_file: str | Path | None = "shipped",
    test_fraction: float = 0.5,
    derive_fov: bool = True,
    cache_dir: str | Path | None = None,
) -> list[Record]:
    """STARE records of ``split``; FOVs derived into ``cache_dir`` (default
    ``~/.cache/mininet_tf/stare_fov``) unless ``derive_fov=False``."""
    records = load_all(data_dir, annotator)
    chosen = split_by_definition_or_seed(
        records,
        split,
        dataset="stare",
        split_file=split_file,
        test_fraction=test_fraction,
        val_fraction=val_fraction,
        seed=seed,
        where=data_dir,
    )
    return add_derived_fov(chosen, cache_dir, "stare_fov") if derive_fov else chosen
