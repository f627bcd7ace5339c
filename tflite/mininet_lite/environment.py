"""Where the notebooks run: the repository clone and how installed versions compare with the
pins of ``requirements.txt``. TensorFlow-free, so the TFLite notebook can use it too."""

from __future__ import annotations

import importlib.metadata as metadata
import platform
import re
import warnings
from collections.abc import Iterable
from pathlib import Path

#: Where the Colab install cell clones the repository.
COLAB_CLONE = Path("/content/mininet-tf")
_PIN = re.compile(r"^\s*([A-Za-z0-9_.-]+)\s*==\s*([^\s;#]+)")


def find_repo(start: Path | None = None) -> Path | None:
    """The mininet-tf clone holding ``start`` (default: the working directory) or the Colab
    clone; None if there is none (e.g. a plain ``pip install``)."""
    start = Path.cwd() if start is None else Path(start)
    for folder in (start, *start.parents, COLAB_CLONE):
        if (folder / "requirements.txt").is_file() and (folder / "mininet_tf").is_dir():
            return folder
    return None


def pinned_versions(repo: Path | None) -> dict[str, str]:
    """name (lower case) -> version pinned with ``==`` in ``repo/requirements.txt``, else in
    the installed package's metadata."""
    requirements = Path(repo) / "requirements.txt" if repo else None
    if requirements is not None and requirements.is_file():
        lines = requirements.read_text().splitlines()
    else:
        try:
            lines = metadata.requires("mininet-tf") or []
        except metadata.PackageNotFoundError:
            lines = []
    found = (_PIN.match(line) for line in lines)
    return {m[1].lower(): m[2] for m in found if m}


def check_versions(names: Iterable[str], repo: Path | None) -> dict[str, tuple]:
    """Print installed vs pinned versions of ``names`` and warn (never stop) on a mismatch:
    results and saved models depend on these versions. Returns ``{name: (installed, pinned)}``."""
    pins = pinned_versions(repo)
    names = list(names)
    width = max(len(n) for n in (*names, "python"))
    print(f"{'python':{width}s} {platform.python_version()}")
    report = {}
    for name in names:
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = None
        pinned = pins.get(name.lower())
        report[name] = (installed, pinned)
        print(f"{name:{width}s} {installed or 'missing':10s} (pinned {pinned})")
        if installed != pinned:
            warnings.warn(
                f"{name} {installed} is not the pinned {pinned}: results and saved models may "
                "differ. In Colab, run the install cell and restart the session.",
                stacklevel=2,
            )
    return report
