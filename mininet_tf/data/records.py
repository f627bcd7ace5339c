"""Sample records, split manifests and the data error type.

A dataset split is a sorted list of `Record`s (image, mask, optional field-of-view mask). Every
split can be written as a manifest CSV (image, mask, fov, sha256 of each file) and read back,
verified, so a run is reproducible from its run directory alone.
"""

from __future__ import annotations

import csv
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from mininet_lite.files import atomic_write_bytes

SPLITS = ("train", "val", "test", "all")
MANIFEST_FIELDS = ("id", "image", "mask", "fov", "image_sha256", "mask_sha256", "fov_sha256")


class DataError(ValueError):
    """A dataset problem a user can fix: the message names the file and what is wrong."""


@dataclass(frozen=True)
class Record:
    """One sample: paths to its image, its binary mask and (optionally) its FOV mask."""

    image: Path
    mask: Path | None
    fov: Path | None = None
    id: str = ""

    def __post_init__(self):
        object.__setattr__(self, "image", Path(self.image))
        if self.mask is not None:
            object.__setattr__(self, "mask", Path(self.mask))
        if self.fov is not None:
            object.__setattr__(self, "fov", Path(self.fov))
        if not self.id:
            object.__setattr__(self, "id", Path(self.image).stem)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def atomic_write_text(path: Path, text: str) -> Path:
    """`atomic_write_bytes` for UTF-8 text."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def write_manifest(records: list[Record], path: Path, *, relative_to: Path | None = None) -> Path:
    """Write records as a manifest CSV with the sha256 of every file.

    Paths are stored relative to ``relative_to`` when given (portable manifests shipped in the
    repository), absolute otherwise.
    """
    import io

    def rel(p: Path | None) -> str:
        if p is None:
            return ""
        if relative_to is not None:
            return Path(os.path.relpath(Path(p).resolve(), Path(relative_to).resolve())).as_posix()
        return str(Path(p).resolve())

    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=MANIFEST_FIELDS, lineterminator="\n")
    writer.writeheader()
    for r in records:
        writer.writerow(
            {
                "id": r.id,
                "image": rel(r.image),
                "mask": rel(r.mask),
                "fov": rel(r.fov),
                "image_sha256": sha256_file(r.image),
                "mask_sha256": sha256_file(r.mask) if r.mask else "",
                "fov_sha256": sha256_file(r.fov) if r.fov else "",
            }
        )
    atomic_write_text(Path(path), buffer.getvalue())
    return Path(path)


def read_manifest(path: Path, *, root: Path | None = None, verify: bool = True) -> list[Record]:
    """Read a manifest CSV back into records.

    Relative paths resolve against ``root`` (default: the manifest's folder). With ``verify``,
    every file must exist and match its recorded sha256; a mismatch is a `DataError` naming it.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: manifest not found")
    base = Path(root) if root is not None else path.parent
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        missing = {"image", "mask"} - set(reader.fieldnames or ())
        if missing:
            raise DataError(f"{path}: not a manifest, missing columns {sorted(missing)}")
        rows = list(reader)
    records = []
    for line, row in enumerate(rows, start=2):
        paths = {}
        for key in ("image", "mask", "fov"):
            value = (row.get(key) or "").strip()
            paths[key] = (
                (base / value)
                if value and not Path(value).is_absolute()
                else (Path(value) if value else None)
            )
        if paths["image"] is None:
            raise DataError(f"{path}:{line}: empty image path")
        if verify:
            for key, file in paths.items():
                if file is None:
                    continue
                if not file.is_file():
                    raise DataError(f"{path}:{line}: {key} file {file} does not exist")
                expected = (row.get(f"{key}_sha256") or "").strip()
                if expected and sha256_file(file) != expected:
                    raise DataError(
                        f"{path}:{line}: {key} file {file} has changed since the manifest was "
                        "written (sha256 mismatch)"
                    )
        records.append(Record(paths["image"], paths["mask"], paths["fov"], row.get("id") or ""))
    return records
