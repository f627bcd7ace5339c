"""Shared test settings: a private cache for generated data, the real-data location."""

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session", autouse=True)
def _private_cache(tmp_path_factory):
    """Generated datasets and derived masks go to a per-session folder, not ~/.cache."""
    if "MININET_CACHE_DIR" not in os.environ:
        os.environ["MININET_CACHE_DIR"] = str(tmp_path_factory.mktemp("mininet_cache"))
    yield


def shared_data_dir() -> Path:
    """The real datasets: $MININET_DATA_DIR, default ../shared/data beside the repository."""
    return Path(os.environ.get("MININET_DATA_DIR", ROOT.parent / "shared" / "data"))
