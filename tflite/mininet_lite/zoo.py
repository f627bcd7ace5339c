"""The shipped `.tflite` models, by name: ``isic2017`` is ``mininet_isic2017_int8.tflite``.

In an installed mininet-lite they are package data (``mininet_lite/models/``); in a clone they
are ``tflite/models/``. A name is a dataset (the int8 file: the one the apps ship) or a
dataset and a precision (``isic2017_float16``); anything else is taken as a path.
"""

from __future__ import annotations

from pathlib import Path

_HERE = Path(__file__).resolve().parent
#: Installed package first, then the clone's folder beside the package.
_CANDIDATES = (_HERE / "models", _HERE.parent / "models")


def models_dir() -> Path | None:
    """The folder of shipped models, or None when there is none (a stripped install)."""
    return next((d for d in _CANDIDATES if any(d.glob("mininet_*.tflite"))), None)


def list_models() -> dict[str, Path]:
    """name -> path of every shipped model: ``drive`` (int8) and ``drive_float16`` alike."""
    folder = models_dir()
    if folder is None:
        return {}
    found = {}
    for path in folder.glob("mininet_*.tflite"):
        found[path.stem.removeprefix("mininet_").removesuffix("_int8")] = path
    return dict(sorted(found.items()))


def resolve_model(spec: str | Path) -> Path:
    """``spec`` as a model file: an existing path as is, else a shipped model's name."""
    path = Path(spec)
    if path.suffix == ".tflite" or path.exists():
        return path  # the runtime names a missing file
    shipped = list_models()
    key = str(spec).lower().removeprefix("mininet_").removesuffix("_int8")
    if key in shipped:
        return shipped[key]
    raise ValueError(
        f"--model {spec!r}: neither a .tflite file nor a shipped model; shipped: "
        f"{', '.join(shipped) or 'none (no models folder)'}"
    )
