"""Which files a batch segmentation reads and writes: the shared, TensorFlow-free rules of
`python -m mininet_tf.predict` and `tflite/infer.py`.

Inputs are image files or folders of them (sorted, non-recursive); two inputs with the same
stem are refused because their outputs would collide. Every input ``<stem>`` gets
``<stem>_mask.png``, ``<stem>_prob.png`` and ``<stem>_overlay.png`` in the output folder. The
output folder may not be an input folder, and existing outputs are an error unless
``overwrite``: a user's files are never replaced silently.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

OUTPUT_KINDS = ("mask", "prob", "overlay")


def collect_inputs(
    inputs: Iterable[str | Path],
    is_image: Callable[[Path], bool],
    *,
    error: type[Exception] = ValueError,
) -> list[Path]:
    """Image files named directly or found by ``is_image`` in the named folders. An empty
    folder or two inputs sharing a stem raise ``error``; a missing path `FileNotFoundError`."""
    files: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.is_file() and is_image(p))
            if not found:
                raise error(f"{path}: folder holds no image files")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise FileNotFoundError(f"{path}: no such file or folder")
    stems: dict[str, Path] = {}
    for f in files:
        if f.stem in stems:
            raise error(f"two inputs share the name {f.stem!r}: {stems[f.stem]} and {f}")
        stems[f.stem] = f
    return files


def plan_outputs(
    files: Iterable[Path], out: str | Path, *, overwrite: bool = False
) -> dict[Path, tuple[Path, ...]]:
    """``{input: (mask, prob, overlay) paths}`` in ``out``, after checking that ``out`` is not
    an input folder and (unless ``overwrite``) that no output exists yet."""
    out = Path(out)
    files = list(files)
    if out.resolve() in {f.parent.resolve() for f in files}:
        raise ValueError(f"--out {out} is an input folder; choose a separate output folder")
    targets = {f: tuple(out / f"{f.stem}_{kind}.png" for kind in OUTPUT_KINDS) for f in files}
    if not overwrite:
        existing = [p for paths in targets.values() for p in paths if p.exists()]
        if existing:
            raise FileExistsError(
                f"{existing[0]}: exists ({len(existing)} output file(s) would be replaced); "
                "pass --overwrite or choose another --out"
            )
    return targets


def prepare_output_folder(out: str | Path) -> Path:
    """Create ``out`` (with parents) and prove it writable with a probe file, before any image
    is processed: a folder that cannot be written is a clear `ValueError`, not a traceback
    after the first image. (A probe, not `os.access`: root passes `os.access` even on a
    read-only file system.)"""
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=out, prefix=".write-probe-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ValueError(f"--out {out}: cannot write the output folder ({reason})") from exc
    return out


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write a file via a temporary file and rename, so readers never see half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        # mkstemp creates 0600 files; give the result the permissions open() would have.
        os.chmod(tmp, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def json_safe(value, _path: str = "", _undefined: list | None = None):
    """``value`` with every NaN or infinite float replaced by None (JSON null).

    Returns ``(clean, undefined)``: ``undefined`` lists the dotted paths that were replaced, so
    callers can warn about them. Metrics are NaN when undefined (no positive pixels, one class
    only); JSON has no NaN, and strict parsers reject the ``NaN`` token Python writes.
    """
    import math

    undefined = [] if _undefined is None else _undefined
    if isinstance(value, dict):
        clean = {
            k: json_safe(v, f"{_path}.{k}" if _path else str(k), undefined)[0]
            for k, v in value.items()
        }
    elif isinstance(value, list | tuple):
        clean = [json_safe(v, f"{_path}[{i}]", undefined)[0] for i, v in enumerate(value)]
    elif hasattr(value, "item") and getattr(value, "ndim", None) == 0:  # numpy scalar
        return json_safe(value.item(), _path, undefined)
    elif isinstance(value, float) and not math.isfinite(value):
        undefined.append(_path or "<value>")
        clean = None
    else:
        clean = value
    return clean, undefined


def dumps_json(value, *, what: str = "JSON", **kwargs) -> str:
    """Strict JSON text of ``value``: NaN/Infinity become null with a warning naming them
    (``what`` says whose values they are), and the encoder refuses any that remain."""
    import json
    import warnings

    clean, undefined = json_safe(value)
    if undefined:
        shown = ", ".join(undefined[:8]) + (" ..." if len(undefined) > 8 else "")
        warnings.warn(
            f"{what}: {len(undefined)} undefined value(s) (NaN/Infinity) written as null: {shown}",
            stacklevel=2,
        )
    return json.dumps(clean, allow_nan=False, **kwargs)


def atomic_write_json(path: str | Path, value, **kwargs) -> Path:
    """`dumps_json` written atomically (``kwargs``: json.dumps options such as indent)."""
    return atomic_write_bytes(path, dumps_json(value, what=str(path), **kwargs).encode())
