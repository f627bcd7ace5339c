"""MoNuSeg 2018 (Kumar et al., 2017 and 2020): H&E nuclei, 1000x1000 tiles.

Two layouts are accepted:

(a) the official release (``data_dir`` holds either or both folders, or is the training
    folder itself)::

        MoNuSeg 2018 Training Data/Tissue Images/TCGA-*.tif      (30 tiles)
        MoNuSeg 2018 Training Data/Annotations/TCGA-*.xml
        MoNuSegTestData/TCGA-*.tif + TCGA-*.xml                   (14 tiles)

    The Aperio XML annotations (``Region/Vertices/Vertex X= Y=``, X = column) are rasterised
    to binary masks (every region filled with ``cv2.fillPoly`` after rounding the vertices;
    touching nuclei merge) and cached as PNGs in ``cache_dir`` (atomic writes; the file name
    holds the XML's sha256, so an edited XML is re-rasterised).

(b) ``training/images/*.png`` + ``training/masks/*.png`` (mask stem = image stem, optionally
    with ``_mask``), and optionally ``test/images`` + ``test/masks`` (``../shared/data/MoNuSeg``
    has only ``training``).

Splits: with a test set (official test folder or ``test/``), test = it and train/val come from
training (val carved). Without one, the shipped ``splits/monuseg.json`` (20 train / 4 val /
6 test of the 30 training tiles) is used when all its ids are present, else a seeded split
(``test_fraction=0.2``) with a warning.

Test data alone is enough to evaluate: a ``data_dir`` holding only ``MoNuSegTestData/`` (or
that folder itself, tif + xml, rasterised as above), or only ``test/images`` + ``test/masks``,
gives splits "test" and "all"; "train" and "val" are then a `DataError` saying the folder only
holds test data. ``MoNuSegTestData/`` next to a flat ``training/`` (two layouts mixed) is a
layout error.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .io import default_cache_dir, write_mask_png
from .matching import (
    KeyRule,
    check_split,
    index_files,
    layout_error,
    list_images,
    pair_records,
    require_data_dir,
    select,
    split_by_definition_or_seed,
)
from .records import DataError, Record, sha256_file

TRAIN_OFFICIAL = "MoNuSeg 2018 Training Data"
TEST_OFFICIAL = "MoNuSegTestData"
RASTER_VERSION = 1
EXPECTED = (
    f"{TRAIN_OFFICIAL}/Tissue Images/*.tif + {TRAIN_OFFICIAL}/Annotations/*.xml",
    f"and/or {TEST_OFFICIAL}/*.tif + *.xml",
    "or training/images/ + training/masks/ and/or test/images/ + test/masks/",
)


def parse_aperio_xml(path: str | Path) -> list[np.ndarray]:
    """Polygons ``(N, 2)`` float (x, y) of every ``Region`` of an Aperio XML annotation."""
    path = Path(path)
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError) as exc:
        raise DataError(f"{path}: unreadable Aperio XML annotation ({exc})") from exc
    polygons = []
    for region in root.iter("Region"):
        try:
            points = [(float(v.get("X")), float(v.get("Y"))) for v in region.iter("Vertex")]
        except (TypeError, ValueError) as exc:
            raise DataError(f"{path}: a Vertex without numeric X/Y ({exc})") from exc
        if len(points) >= 3:
            polygons.append(np.asarray(points, dtype=np.float64))
    return polygons


def rasterise(polygons: list[np.ndarray], width: int, height: int) -> np.ndarray:
    """Binary ``uint8 (height, width)`` mask: each polygon filled (vertices rounded)."""
    import cv2

    mask = np.zeros((height, width), np.uint8)
    for polygon in polygons:
        cv2.fillPoly(mask, [np.rint(polygon).astype(np.int32).reshape(-1, 1, 2)], 1)
    return mask


def _image_size(path: Path) -> tuple[int, int]:
    from PIL import Image

    try:
        with Image.open(path) as im:
            return im.size
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot read the image size ({exc})") from exc


def rasterised_mask(image: Path, xml: Path, cache_dir: Path) -> Path:
    """Cached binary mask PNG of ``xml`` at the size of ``image`` (computed on first use)."""
    width, height = _image_size(image)
    digest = sha256_file(xml)[:16]
    out = cache_dir / f"{xml.stem}_{digest}_{width}x{height}_v{RASTER_VERSION}.png"
    if not out.is_file():
        write_mask_png(out, rasterise(parse_aperio_xml(xml), width, height))
    return out


def _xmls(folder: Path) -> dict[str, Path]:
    return {
        p.stem: p
        for p in sorted(folder.iterdir())
        if p.suffix.lower() == ".xml" and p.name[:1] != "." and p.is_file()
    }


def _official_pairs(images_dir: Path, xml_dir: Path) -> list[Record]:
    images = index_files(list_images(images_dir, "MoNuSeg tissue images"), KeyRule(), "image")
    xmls = _xmls(xml_dir)
    if not xmls:
        raise DataError(f"{xml_dir}: no MoNuSeg XML annotations (*.xml)")
    return pair_records(images, xmls, where=f"{images_dir} + {xml_dir}")


def _flat_pairs(folder: Path) -> list[Record]:
    if not (folder / "masks").is_dir():
        raise DataError(f"{folder}: has images/ but no masks/ folder")
    return pair_records(
        index_files(list_images(folder / "images"), KeyRule(), "MoNuSeg image"),
        index_files(
            list_images(folder / "masks", "MoNuSeg masks"),
            KeyRule(("_mask",), optional=True),
            "MoNuSeg mask",
        ),
        where=str(folder),
    )


def _is_official_test(folder: Path) -> bool:
    """``folder`` is an official test folder: ``MoNuSegTestData`` itself, or tif + xml files."""
    if folder.name == TEST_OFFICIAL:
        return True
    suffixes = {p.suffix.lower() for p in folder.iterdir() if p.is_file()}
    return ".xml" in suffixes and bool(suffixes & {".tif", ".tiff"})


class _Parts(NamedTuple):
    train: list[Record] | None  # None: no training data
    test: list[Record] | None  # None: no test data (never both None)
    xml: bool  # masks are Aperio XML files (rasterised on load)
    test_dir: Path | None  # where the test records are


def _flat_training_roots(data_dir: Path) -> list[Path]:
    return [r for r in (data_dir, data_dir / "MoNuSeg") if (r / "training" / "images").is_dir()]


def _parts(data_dir: Path) -> _Parts:
    train_dir = data_dir / TRAIN_OFFICIAL
    if (data_dir / "Tissue Images").is_dir():
        train_dir = data_dir
    test_dir = data_dir / TEST_OFFICIAL
    if not test_dir.is_dir() and _is_official_test(data_dir):
        test_dir = data_dir
    if (train_dir / "Tissue Images").is_dir() or test_dir.is_dir():
        train = test = None
        if (train_dir / "Tissue Images").is_dir():
            if not (train_dir / "Annotations").is_dir():
                raise layout_error("MoNuSeg", train_dir, EXPECTED, note="Missing Annotations/.")
            train = _official_pairs(train_dir / "Tissue Images", train_dir / "Annotations")
        elif _flat_training_roots(data_dir):
            raise layout_error(
                "MoNuSeg",
                data_dir,
                EXPECTED,
                note=f"{TEST_OFFICIAL}/ (official tif + xml) next to training/ (PNG masks) mixes "
                f"two layouts: give {test_dir} itself as the data directory to use the test "
                "data alone, or use one layout for both.",
            )
        if test_dir.is_dir():
            test = _official_pairs(test_dir, test_dir)
        return _Parts(train, test, True, test_dir if test is not None else None)
    for name in ("MoNuSeg", ""):
        root = data_dir / name if name else data_dir
        has_train = (root / "training" / "images").is_dir()
        has_test = (root / "test" / "images").is_dir()
        if has_train or has_test:
            train = _flat_pairs(root / "training") if has_train else None
            test = _flat_pairs(root / "test") if has_test else None
            return _Parts(train, test, False, root / "test" if has_test else None)
    raise layout_error("MoNuSeg", data_dir, EXPECTED)


def _test_only_error(data_dir: Path, parts: _Parts, split: str) -> DataError:
    where = "" if parts.test_dir == data_dir else f" in {parts.test_dir}"
    return DataError(
        f"{data_dir}: only holds MoNuSeg test data ({len(parts.test)} tiles{where}), no "
        f"training data; split {split!r} needs {TRAIN_OFFICIAL}/ or training/images/ + "
        "training/masks/. Use split 'test' (or 'all') to evaluate on the test data."
    )


def load_split(
    data_dir: str | Path,
    split: str,
    *,
    val_fraction: float = 0.2,
    seed: int = 0,
    split_file: str | Path | None = "shipped",
    test_fraction: float = 0.2,
    cache_dir: str | Path | None = None,
) -> list[Record]:
    """MoNuSeg records of ``split``; XML annotations rasterised into ``cache_dir`` (default
    ``~/.cache/mininet_tf/monuseg_masks``)."""
    check_split(split)
    data_dir = require_data_dir(data_dir, "MoNuSeg")
    parts = _parts(data_dir)
    train, test, xml = parts.train, parts.test, parts.xml
    if train is None:
        if split in ("train", "val"):
            raise _test_only_error(data_dir, parts, split)
        chosen = list(test)
    elif test is not None:
        chosen = select(split, train=train, test=test, val_fraction=val_fraction, seed=seed)
    else:
        chosen = split_by_definition_or_seed(
            train,
            split,
            dataset="monuseg",
            split_file=split_file,
            test_fraction=test_fraction,
            val_fraction=val_fraction,
            seed=seed,
            where=data_dir,
        )
    if not xml:
        return chosen
    cache = (
        Path(cache_dir).expanduser()
        if cache_dir is not None
        else default_cache_dir("monuseg_masks")
    )
    return [replace(r, mask=rasterised_mask(r.image, r.mask, cache)) for r in chosen]
