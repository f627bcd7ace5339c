"""A batch segmentation run over many files: the shared, TensorFlow-free loop of
`python -m mininet_tf.predict` and `tflite/infer.py`.

Semantics (README, "Batch runs"):

- One unreadable or failing input never stops the batch: it is reported (name and reason) and
  the run goes on; the summary at the end counts ok / failed / skipped inputs, and the command
  exits non-zero when any failed.
- Every output folder holds ``manifest.json``: the model (path, sha256, threshold, tta, fov_width) and the
  status of every input, rewritten atomically as the batch goes (every ``flush_every`` inputs
  and at the end, also after Ctrl-C).
- ``skip_existing`` resumes an interrupted batch: inputs whose three outputs exist and which
  the manifest records as done by the same model are skipped.
- A folder's outputs come from one model: ``overwrite`` or ``skip_existing`` into a folder
  whose manifest names another model (other sha256, threshold, tta or fov_width) is refused unless
  ``allow_other_model``, so masks of two models are never mixed silently.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

from .files import atomic_write_json, plan_outputs, prepare_output_folder
from .runtime import file_sha256
from .tiling import check_tta

MANIFEST = "manifest.json"


class BatchError(ValueError):
    """A batch that must not start (its outputs would mix two models)."""


def model_identity(
    model_path: str | Path,
    threshold: float,
    tta: str | None = None,
    fov_width: float | None = None,
) -> dict:
    path = Path(model_path)
    return {
        "path": str(path),
        "sha256": file_sha256(path),
        "threshold": float(threshold),
        "tta": check_tta(tta),
        "fov_width": None if fov_width is None else float(fov_width),
    }


def read_manifest(out: str | Path) -> dict | None:
    path = Path(out) / MANIFEST
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise BatchError(f"{path}: not valid JSON ({exc}); move it away to start over") from exc


def _same_model(a: dict, b: dict) -> bool:
    # TTA and FOV rescaling change the maps as a threshold does. A manifest without "tta" or
    # "fov_width" predates the option: one pass, no rescaling, i.e. None.
    return all(a.get(key) == b.get(key) for key in ("sha256", "threshold", "tta", "fov_width"))


def plan_batch(
    files: list[Path],
    out: str | Path,
    model: dict,
    *,
    overwrite: bool = False,
    skip_existing: bool = False,
    allow_other_model: bool = False,
) -> tuple[dict[Path, tuple[Path, ...]], list[Path], dict | None]:
    """``(targets, to_skip, previous manifest)``; raises before anything is written."""
    previous = read_manifest(out)
    if previous is not None and not _same_model(previous.get("model", {}), model):
        if (overwrite or skip_existing) and not allow_other_model:
            old = previous.get("model", {})
            raise BatchError(
                f"{Path(out) / MANIFEST}: the outputs in {out} come from another model "
                f"({old.get('path')}, sha256 {str(old.get('sha256'))[:12]}..., threshold "
                f"{old.get('threshold')}, tta {old.get('tta') or 'none'}, fov_width "
                f"{old.get('fov_width') or 'none'}); writing this model's "
                "masks there would mix two models. Choose another --out, or pass "
                "--allow-other-model."
            )
    # Only outputs of inputs recorded as done by this very model may be skipped or redone.
    resumable = previous is not None and _same_model(previous.get("model", {}), model)
    done = set()
    if skip_existing and resumable:
        done = {
            name for name, row in previous.get("inputs", {}).items() if row.get("status") == "ok"
        }
    targets = plan_outputs(files, out, overwrite=True)
    to_skip = [f for f in files if f.name in done and all(p.is_file() for p in targets[f])]
    remaining = [f for f in files if f not in set(to_skip)]
    # Existing outputs of the others: replaced with --overwrite, or when resuming this model's
    # own batch (an input interrupted half-written); a user's other files never.
    plan_outputs(remaining, out, overwrite=overwrite or (skip_existing and resumable))
    return targets, to_skip, previous


def run_batch(
    files: list[Path],
    out: str | Path,
    model: dict,
    segment: Callable[[Path, tuple[Path, ...]], dict],
    *,
    tool: str,
    overwrite: bool = False,
    skip_existing: bool = False,
    allow_other_model: bool = False,
    progress: Callable | None = None,
    log: Callable[[str], None] | None = None,
    flush_every: int = 25,
) -> dict:
    """Run ``segment(input, (mask, prob, overlay))`` over ``files``; returns the manifest.

    ``segment`` returns a small summary dict for the manifest; any exception it raises marks
    that input failed with the exception as the reason, and the batch goes on.
    """
    log = log or (lambda line: print(line, file=sys.stderr, flush=True))
    targets, to_skip, previous = plan_batch(
        files,
        out,
        model,
        overwrite=overwrite,
        skip_existing=skip_existing,
        allow_other_model=allow_other_model,
    )
    prepare_output_folder(out)
    rows = dict(previous.get("inputs", {})) if previous and skip_existing else {}
    manifest = {"tool": tool, "model": model, "started": time.strftime("%Y-%m-%dT%H:%M:%S")}
    this_run: dict[str, str] = {}

    def flush() -> None:
        counts = {s: sum(v == s for v in this_run.values()) for s in ("ok", "failed")}
        counts["skipped"] = len(to_skip)
        manifest.update(inputs=rows, counts=counts)
        atomic_write_json(Path(out) / MANIFEST, manifest, indent=2)

    skip = set(to_skip)
    iterate = progress(files) if progress else files
    try:
        for index, f in enumerate(iterate, 1):
            if f in skip:
                continue
            outputs = [str(p) for p in targets[f]]
            try:
                summary = segment(f, targets[f])
            except Exception as exc:  # noqa: BLE001  (any bad input: report it, go on)
                reason = f"{type(exc).__name__}: {exc}"
                rows[f.name] = {"input": str(f), "status": "failed", "reason": reason}
                log(f"failed: {f}: {reason}")
            else:
                rows[f.name] = {"input": str(f), "status": "ok", "outputs": outputs, **summary}
            this_run[f.name] = rows[f.name]["status"]
            if index % flush_every == 0:
                flush()
    finally:
        flush()
    return manifest


def summary_line(manifest: dict, out: str | Path) -> str:
    c = manifest["counts"]
    return (
        f"{c['ok']} ok, {c['failed']} failed, {c['skipped']} skipped (already done); "
        f"manifest: {Path(out) / MANIFEST}"
    )


def add_batch_arguments(parser) -> None:
    """The batch options shared by predict and infer."""
    parser.add_argument(
        "--overwrite", action="store_true", help="replace existing outputs of these inputs"
    )
    parser.add_argument(
        "--skip-existing",
        action="store_true",
        help="resume an interrupted batch: skip inputs the folder's manifest records as done "
        "by this model",
    )
    parser.add_argument(
        "--allow-other-model",
        action="store_true",
        help="write into a folder whose manifest names another model (mixes two models' masks)",
    )
    parser.add_argument(
        "--no-verify",
        dest="verify",
        action="store_false",
        help="load a .tflite even if it differs from the sha256 in its card",
    )


def add_tta_argument(parser) -> None:
    """The --tta option of predict, infer and evaluate."""
    parser.add_argument(
        "--tta",
        choices=("none", "flip", "flip4"),
        default="none",
        help="test-time flip averaging: mean of the probability maps of each model input and "
        "its left-right flip (flip: 2 passes) or also its up-down and double flip (flip4: "
        "4 passes); multiplies inference time by the number of passes (default: none)",
    )


def report(manifest: dict, out: str | Path) -> int:
    """Print one line per input and the summary; the exit status (1 when any input failed)."""
    for row in manifest["inputs"].values():
        if row["status"] == "ok" and "foreground_fraction" in row:
            print(
                f"{row['input']} -> {row['outputs'][0]} "
                f"(foreground {100 * row['foreground_fraction']:.1f}%)"
            )
    failed = [r for r in manifest["inputs"].values() if r["status"] == "failed"]
    for row in failed:
        print(f"FAILED {row['input']}: {row['reason']}", file=sys.stderr)
    print(summary_line(manifest, out))
    return 1 if manifest["counts"]["failed"] else 0
