"""The three fundus vessel datasets as one: DRIVE, STARE and CHASE_DB1 side by side.

``data_dir`` is the folder holding the three (each in its official layout, found as its own
loader finds it: ``DRIVE/``, ``STARE/``, ``CHASE_DB1/`` ...). Every split is the union of the
sources' splits of that name (DRIVE official, STARE ``splits/stare.json``, CHASE_DB1
``splits/chase_db1.json``; validation carved from each source's training split with the same
``val_fraction`` and seed), so the joint test split is exactly the three per-dataset test
splits. Record ids are prefixed with their source (``stare-im0001``).

The cameras differ in scale (vessel calibre 2.9, 3.8 and 5.6 px; FOV width 539, 661 and 915
px): train a joint model with ``fov_width`` set (`mininet_tf.config.TrainConfig`), which
resamples every image to one FOV width (`mininet_lite.fundus`).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from .records import DataError, Record

SOURCES = ("drive", "stare", "chase_db1")


def load_split(
    data_dir: str | Path,
    split: str,
    *,
    val_fraction: float = 0.2,
    seed: int = 0,
    sources: tuple[str, ...] = SOURCES,
    cache_dir: str | Path | None = None,
) -> list[Record]:
    """Records of ``split`` from every source (``cache_dir``: where STARE's and CHASE_DB1's
    derived FOV masks are cached; default their loaders')."""
    from . import get_split

    unknown = [s for s in sources if s not in SOURCES]
    if unknown or not sources:
        raise DataError(f"fundus sources must be among {SOURCES}, got {sources}")
    records = []
    for source in sources:
        options = {} if source == "drive" or cache_dir is None else {"cache_dir": cache_dir}
        try:
            chosen = get_split(
                source, data_dir, split, val_fraction=val_fraction, seed=seed, **options
            )
        except DataError as exc:
            raise DataError(f"joint fundus data in {data_dir}: {source}: {exc}") from exc
        records += [replace(r, id=f"{source}-{r.id}") for r in chosen]
    return records
