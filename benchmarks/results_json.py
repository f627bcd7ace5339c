"""The header every latency benchmark's result JSON starts with, and how it is written.

Shared by compare_latency.py, profile_int8.py, rewrites_int8.py and fast_heads_int8.py: the
command that reproduces the file, the machine, and an atomic write to
``benchmarks/results/<stem>.json`` (strict JSON, never a half-written file).
"""

from __future__ import annotations

import platform
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def header(script: str) -> dict:
    """``command`` (as typed from the repository root), ``machine`` and ``python``."""
    return {
        "command": "python " + " ".join([f"benchmarks/{Path(script).name}", *sys.argv[1:]]),
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "python": platform.python_version(),
    }


def write(stem: str, result: dict) -> Path:
    """Write ``result`` to ``benchmarks/results/<stem>.json`` atomically and say where."""
    from mininet_lite.files import atomic_write_json

    path = RESULTS / f"{stem}.json"
    atomic_write_json(path, result, indent=2)
    print(f"\nwrote {path}")
    return path
