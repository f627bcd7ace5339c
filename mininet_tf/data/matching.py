"""Shared loader logic: listing, pairing by stem, layout errors and split selection.

Rules every loader follows:

* files are listed sorted (never in ``os.listdir`` order); hidden files (``.*``) and files
  without a supported image extension (``ATTRIBUTION.txt``, ``Thumbs.db``, ...) are ignored;
* images and masks pair by a *key* derived from the stem (e.g. ``21_training`` and
  ``21_manual1`` both give ``21``); an image without a mask, a mask without an image, two files
  with the same key (``a.png`` and ``a.jpg``) and an empty folder are each a `DataError` naming
  the file(s);
* a data directory that does not have the expected layout is a `DataError` listing the
  expected folder names and what was actually found;
* a record's id is its image stem (``21_training``, ``IMD002``, ``im0001``); splits are sorted
  by id.

Validation splits are carved from the training split by `carve_val`: a fixed permutation
``numpy.random.default_rng(seed).permutation(n)`` of the id-sorted records; ``val`` takes the
first ``round(val_fraction * n)`` (at least 1), ``train`` the rest.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from .io import IMAGE_EXTENSIONS, DataWarning, cached_fov, default_cache_dir, split_image_name
from .records import SPLITS, DataError, Record

SPLITS_DIR = Path(__file__).resolve().parent / "splits"
_MAX_LISTED = 10


def _names(paths: Iterable[object], limit: int = _MAX_LISTED) -> str:
    items = [str(p) for p in paths]
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def check_split(split: str) -> str:
    if split not in SPLITS:
        raise DataError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    return split


# --------------------------------------------------------------------------------------------
# Layout
# --------------------------------------------------------------------------------------------


def require_data_dir(data_dir: str | Path, dataset: str) -> Path:
    data_dir = Path(data_dir).expanduser()
    if not data_dir.exists():
        raise DataError(f"{data_dir}: {dataset} data directory does not exist")
    if not data_dir.is_dir():
        raise DataError(f"{data_dir}: {dataset} data directory is not a directory")
    return data_dir


def describe_entries(folder: Path, limit: int = 30) -> str:
    try:
        entries = sorted(
            p.name + ("/" if p.is_dir() else "") for p in folder.iterdir() if p.name[:1] != "."
        )
    except OSError as exc:
        return f"(unreadable: {exc})"
    if not entries:
        return "(nothing: the folder is empty)"
    return _names(entries, limit)


def layout_error(
    dataset: str, data_dir: Path, expected: Sequence[str], note: str = ""
) -> DataError:
    """A `DataError` saying which layout was expected and what ``data_dir`` holds."""
    return DataError(
        f"{data_dir}: not a {dataset} layout. Expected: {', '.join(expected)}. "
        f"Found in {data_dir}: {describe_entries(data_dir)}." + (f" {note}" if note else "")
    )


def find_root(
    data_dir: Path, is_root: Callable[[Path], bool], nested: Sequence[str] = ()
) -> Path | None:
    """``data_dir`` itself, one of its ``nested`` sub-folders, or its only visible sub-folder,
    whichever first satisfies ``is_root``; None when none does."""
    candidates = [data_dir, *(data_dir / n for n in nested)]
    subdirs = [p for p in sorted(data_dir.iterdir()) if p.is_dir() and p.name[:1] != "."]
    subdirs = [p for p in subdirs if p.name != "__MACOSX"]
    if len(subdirs) == 1:
        candidates.append(subdirs[0])
    for candidate in candidates:
        if candidate.is_dir() and is_root(candidate):
            return candidate
    return None


# --------------------------------------------------------------------------------------------
# Listing and pairing
# --------------------------------------------------------------------------------------------


def list_images(folder: Path, what: str = "images", *, allow_empty: bool = False) -> list[Path]:
    """Sorted visible image files of ``folder`` (not recursive)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: {what} folder does not exist")
    files = sorted(
        p for p in folder.iterdir() if p.name[:1] != "." and split_image_name(p) and p.is_file()
    )
    if not files and not allow_empty:
        raise DataError(
            f"{folder}: {what} folder has no image files (supported: "
            f"{', '.join(IMAGE_EXTENSIONS)}); found: {describe_entries(folder)}"
        )
    return files


@dataclass(frozen=True)
class KeyRule:
    """How a file stem maps to its pairing key: strip one of ``suffixes`` (required unless
    ``optional``). ``ignore_case`` compares suffixes case-insensitively."""

    suffixes: tuple[str, ...] = ()
    optional: bool = False
    ignore_case: bool = False

    def key(self, stem: str) -> str | None:
        test = stem.lower() if self.ignore_case else stem
        for suffix in self.suffixes:
            s = suffix.lower() if self.ignore_case else suffix
            if test.endswith(s) and len(test) > len(s):
                return stem[: len(stem) - len(s)]
        return stem if (self.optional or not self.suffixes) else None

    def describe(self) -> str:
        if not self.suffixes:
            return "<stem>.<ext>"
        forms = " or ".join(f"<stem>{s}.<ext>" for s in self.suffixes)
        return forms + (" or <stem>.<ext>" if self.optional else "")


def index_files(files: Iterable[Path], rule: KeyRule, what: str) -> dict[str, Path]:
    """Map pairing key -> file. Unexpected names and duplicate keys are `DataError`s."""
    index: dict[str, Path] = {}
    for path in sorted(files):
        stem = split_image_name(path)[0]
        key = rule.key(stem)
        if key is None:
            raise DataError(f"{path}: unexpected {what} file name; expected {rule.describe()}")
        if key in index:
            raise DataError(
                f"duplicate {what} for {key!r}: {index[key]} and {path} (same stem; keep one)"
            )
        index[key] = path
    return index


def pair_records(
    images: dict[str, Path],
    masks: dict[str, Path],
    fovs: dict[str, Path] | None = None,
    *,
    where: str = "",
    allow_unlabelled: bool = False,
) -> list[Record]:
    """Records for every image key, sorted by id (the image stem).

    An image without a mask (unless ``allow_unlabelled``: then it is skipped), a mask without
    an image, and (when ``fovs`` is given) an image without an FOV mask are `DataError`s
    naming the files.
    """
    where = f" ({where})" if where else ""
    orphans = sorted(set(masks) - set(images))
    if orphans:
        raise DataError(f"masks without an image{where}: {_names(masks[k] for k in orphans)}")
    unlabelled = sorted(set(images) - set(masks))
    if unlabelled and not allow_unlabelled:
        raise DataError(f"images without a mask{where}: {_names(images[k] for k in unlabelled)}")
    if fovs is not None:
        orphans = sorted(set(fovs) - set(images))
        if orphans:
            raise DataError(
                f"FOV masks without an image{where}: {_names(fovs[k] for k in orphans)}"
            )
        missing = sorted(k for k in images if k in masks and k not in fovs)
        if missing:
            raise DataError(
                f"images without an FOV mask{where}: {_names(images[k] for k in missing)}"
            )
    records = [
        Record(
            images[k],
            masks[k],
            fovs[k] if fovs is not None else None,
            split_image_name(images[k])[0],
        )
        for k in images
        if k in masks
    ]
    return sort_records(records)


def add_derived_fov(
    records: Iterable[Record], cache_dir: str | Path | None, cache_name: str
) -> list[Record]:
    """Records with ``fov`` set to a derived FOV mask (`cached_fov`) in ``cache_dir``
    (default: `default_cache_dir(cache_name)`)."""
    cache = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir(cache_name)
    return [replace(r, fov=cached_fov(r.image, cache)) for r in records]


def sort_records(records: Iterable[Record]) -> list[Record]:
    records = sorted(records, key=lambda r: r.id)
    for a, b in zip(records, records[1:], strict=False):
        if a.id == b.id:
            raise DataError(f"two samples share the id {a.id!r}: {a.image} and {b.image}")
    return records


# --------------------------------------------------------------------------------------------
# Splits
# --------------------------------------------------------------------------------------------


def carve_val(
    records: Sequence[Record], val_fraction: float, seed: int
) -> tuple[list[Record], list[Record]]:
    """``(train, val)``: val = first ``max(1, round(val_fraction * n))`` of a seeded
    permutation of the id-sorted records; ``val_fraction <= 0`` gives an empty val."""
    records = sort_records(records)
    if val_fraction <= 0:
        return records, []
    if val_fraction >= 1:
        raise DataError(f"val_fraction must be in [0, 1), got {val_fraction}")
    n = len(records)
    n_val = max(1, round(val_fraction * n))
    if n_val >= n:
        raise DataError(
            f"cannot carve {n_val} validation sample(s) out of {n} training sample(s) "
            f"(val_fraction={val_fraction}); add data or lower val_fraction"
        )
    order = np.random.default_rng(seed).permutation(n)
    val = [records[i] for i in order[:n_val]]
    train = [records[i] for i in order[n_val:]]
    return sort_records(train), sort_records(val)


def seeded_three_way(
    records: Sequence[Record], *, test_fraction: float, val_fraction: float, seed: int
) -> dict[str, list[Record]]:
    """Split a dataset without an official split: test = first ``max(1, round(test_fraction*n))``
    of ``default_rng(seed).permutation(n)`` of the id-sorted records, then val is carved from
    the rest with `carve_val` (same seed)."""
    records = sort_records(records)
    if not 0 < test_fraction < 1:
        raise DataError(f"test_fraction must be in (0, 1), got {test_fraction}")
    n = len(records)
    n_test = max(1, round(test_fraction * n))
    if n_test >= n:
        raise DataError(f"cannot hold out {n_test} test sample(s) out of {n}")
    order = np.random.default_rng(seed).permutation(n)
    test = sort_records(records[i] for i in order[:n_test])
    train, val = carve_val([records[i] for i in order[n_test:]], val_fraction, seed)
    return {"train": train, "val": val, "test": test}


def select(
    split: str,
    *,
    train: Sequence[Record],
    test: Sequence[Record] | None,
    val: Sequence[Record] | None = None,
    val_fraction: float,
    seed: int,
    test_missing: str = "",
) -> list[Record]:
    """Records of ``split`` given the train / val / test parts. ``val=None`` carves val from
    ``train``; ``test=None`` with split "test" raises ``DataError(test_missing)``."""
    check_split(split)
    if split == "all":
        return sort_records([*train, *(val or []), *(test or [])])
    if split == "test":
        if test is None:
            raise DataError(test_missing or "this dataset has no labelled test split")
        return sort_records(test)
    if val is None:
        train, val = carve_val(train, val_fraction, seed)
    return sort_records(train if split == "train" else val)


def load_split_file(path: str | Path) -> dict[str, list[str]]:
    """Read a split definition JSON: ``{"train": [ids], "val": [ids]?, "test": [ids], ...}``."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise DataError(f"{path}: split file not found") from exc
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: unreadable split file ({exc})") from exc
    parts = {k: data.get(k) for k in ("train", "val", "test") if data.get(k) is not None}
    if "train" not in parts or "test" not in parts:
        raise DataError(f"{path}: a split file needs 'train' and 'test' id lists")
    seen: dict[str, str] = {}
    for name, ids in parts.items():
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise DataError(f"{path}: {name!r} must be a list of id strings")
        for i in ids:
            if i in seen:
                raise DataError(f"{path}: id {i!r} is in both {seen[i]!r} and {name!r}")
            seen[i] = name
    return parts


def shipped_split_path(dataset: str) -> Path:
    return SPLITS_DIR / f"{dataset}.json"


def split_file_path(dataset: str, split_file: str | Path) -> Path:
    """``"shipped"``: the dataset's own split file; the name of another shipped split file
    (``splits/<name>.json``, e.g. ``"monuseg_all"``); otherwise a path."""
    if str(split_file) == "shipped":
        return shipped_split_path(dataset)
    name = str(split_file)
    if "/" not in name and "\\" not in name and not name.endswith(".json"):
        if not (SPLITS_DIR / f"{name}.json").is_file():
            shipped = sorted(p.stem for p in SPLITS_DIR.glob("*.json"))
            raise DataError(
                f"split file {name!r}: not a shipped split ({', '.join(shipped)}) nor a .json path"
            )
        return SPLITS_DIR / f"{name}.json"
    return Path(split_file).expanduser()


def split_by_definition(
    records: Sequence[Record],
    *,
    dataset: str,
    split_file: str | Path | None,
    test_fraction: float,
    val_fraction: float,
    seed: int,
    where: Path | str = "",
) -> dict[str, list[Record] | None]:
    """Parts (train / val / test; val None = carve later) from a split definition.

    ``split_file="shipped"`` uses ``splits/<dataset>.json``; the name of another shipped split
    file or a path uses that file (`split_file_path`); None a seeded split
    (`seeded_three_way`). A definition with an empty test list trains on everything else: the
    final model of a recipe chosen before, with nothing left to test on. The definition is used
    when every id it lists is present; otherwise a seeded split is used, with a `DataWarning`.
    Present ids the definition does not list are left out of train/val/test (warned; they stay
    in "all").
    """
    if split_file is None:
        return dict(
            seeded_three_way(
                records, test_fraction=test_fraction, val_fraction=val_fraction, seed=seed
            )
        )
    path = split_file_path(dataset, split_file)
    definition = load_split_file(path)
    by_id = {r.id: r for r in records}
    listed = [i for ids in definition.values() for i in ids]
    missing = sorted(set(listed) - set(by_id))
    if missing:
        warnings.warn(
            f"{dataset}: {len(missing)} of the {len(listed)} ids in the split file {path} are "
            f"not in {where or 'the data'} (e.g. {_names(missing, 5)}); using a seeded split "
            f"instead (seed={seed}, test_fraction={test_fraction}, val_fraction={val_fraction})",
            DataWarning,
            stacklevel=4,
        )
        return dict(
            seeded_three_way(
                records, test_fraction=test_fraction, val_fraction=val_fraction, seed=seed
            )
        )
    extra = sorted(set(by_id) - set(listed))
    if extra:
        warnings.warn(
            f"{dataset}: {len(extra)} sample(s) in {where or 'the data'} are not in the split "
            f"file {path} (e.g. {_names(extra, 5)}); they are only part of split 'all'",
            DataWarning,
            stacklevel=4,
        )
    parts: dict[str, list[Record] | None] = {
        name: sort_records(by_id[i] for i in ids) for name, ids in definition.items()
    }
    parts.setdefault("val", None)
    return parts


def split_by_definition_or_seed(
    records: Sequence[Record],
    split: str,
    *,
    dataset: str,
    split_file: str | Path | None,
    test_fraction: float,
    val_fraction: float,
    seed: int,
    where: Path | str = "",
) -> list[Record]:
    """Records of ``split`` for a dataset without an official split: ``"all"`` is every
    record; otherwise the parts of `split_by_definition`, with val carved from train when the
    definition does not list one."""
    check_split(split)
    if split == "all":
        return sort_records(records)
    parts = split_by_definition(
        records,
        dataset=dataset,
        split_file=split_file,
        test_fraction=test_fraction,
        val_fraction=val_fraction,
        seed=seed,
        where=where,
    )
    return select(split, **parts, val_fraction=val_fraction, seed=seed)
