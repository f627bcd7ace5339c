"""The life of a run directory: validate, create, lock, resume, clean up after an early
failure, and the state and log files that make resuming possible.

`mininet_tf.train` owns what happens inside a run (data, model, fit, selection, report); this
module owns the folder around it:

- ``prepare_run_dir``: a new run refuses a non-empty ``--out``; ``--resume`` reopens the saved
  options (`resume_conflicts` refuses flags that would be ignored); an interrupted
  multi-worker job reopens with identical options.
- ``run_lock``: one process per run (an exclusive ``flock`` on ``<out>/.lock``).
- ``clean_failed_run``: a run that fails before its first epoch leaves ``--out`` as it found it.
- ``state.json`` (epochs done, best score) and ``log.csv`` (one row per epoch), both written
  atomically by the checkpointer after every epoch.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import shutil
from pathlib import Path

from mininet_tf.config import TrainConfig
from mininet_tf.data.records import atomic_write_text

STATE_FILE = "state.json"


class TrainingError(RuntimeError):
    """Training could not go on (NaN loss, bad run directory...); the message says why."""


def read_state(run_dir: Path) -> dict:
    path = run_dir / STATE_FILE
    return json.loads(path.read_text()) if path.is_file() else {}


def read_log(run_dir: Path) -> list[dict]:
    path = run_dir / "log.csv"
    if not path.is_file():
        return []
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def write_log(run_dir: Path, rows: list[dict]) -> None:
    import io

    fields = list(dict.fromkeys(k for row in rows for k in row))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(run_dir / "log.csv", buffer.getvalue())


def prepare_run_dir(cfg: TrainConfig, reopen: bool = False) -> tuple[Path, TrainConfig]:
    """Create the run directory, or reopen it for --resume with its saved config.

    ``reopen``: the directory of an interrupted multi-worker job, restarted with the same options.
    """
    run_dir = Path(cfg.out)
    config_path = run_dir / "config.json"
    if reopen and config_path.is_file():
        saved = json.loads(config_path.read_text())
        ignored = ("verbose", "resume")
        changed = sorted(
            k for k, v in cfg.to_dict().items() if k not in ignored and saved.get(k) != v
        )
        if changed:
            raise TrainingError(
                f"{run_dir}: restarted with other options than the interrupted job: {changed}"
            )
        return run_dir, cfg
    if cfg.resume:
        if not config_path.is_file():
            raise TrainingError(f"{run_dir}: nothing to resume (no config.json)")
        saved = json.loads(config_path.read_text())
        saved.update(resume=True, out=cfg.out, verbose=cfg.verbose)
        return run_dir, TrainConfig(**saved).validate()
    if run_dir.exists() and any(run_dir.iterdir()):
        raise TrainingError(
            f"{run_dir}: run directory exists and is not empty; pass --resume to continue it "
            "or choose another --out"
        )
    run_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(config_path, json.dumps(cfg.to_dict(), indent=2))
    return run_dir, cfg


@contextlib.contextmanager
def run_lock(run_dir: Path, chief: bool = True):
    """Hold an exclusive lock on ``run_dir`` while training: a second process training or
    resuming the same run is refused instead of interleaving its log and state."""
    if not chief:
        yield
        return
    import fcntl

    handle = open(run_dir / ".lock", "w")  # noqa: SIM115  (held for the whole run)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise TrainingError(
                f"{run_dir}: another process is training this run (it holds {run_dir / '.lock'})"
            ) from exc
        yield
    finally:
        handle.close()


def resume_conflicts(args: argparse.Namespace) -> list[str]:
    """Options given with --resume that differ from the run's saved ones (they would be
    ignored: a resumed run continues with its saved options)."""
    import dataclasses as dc

    saved_path = Path(args.out or TrainConfig.out) / "config.json"
    if not saved_path.is_file():
        return []
    saved = json.loads(saved_path.read_text())
    free = ("resume", "out", "verbose")
    return sorted(
        f"--{f.name.replace('_', '-')} {getattr(args, f.name)} (run: {saved.get(f.name)})"
        for f in dc.fields(TrainConfig)
        if f.name not in free
        and getattr(args, f.name, None) is not None
        and getattr(args, f.name) != saved.get(f.name)
    )


def ours_to_clean(out: Path) -> bool:
    """True when ``out`` is missing or empty: everything a failed run leaves there is its own."""
    return not out.exists() or (out.is_dir() and not any(out.iterdir()))


def clean_failed_run(out: Path, existed: bool) -> None:
    """Remove what a run wrote into ``out`` when it failed before finishing an epoch (no
    ``state.json``), so that the corrected command is not refused. Call only when
    `ours_to_clean` was true before the run started."""
    if not out.is_dir() or (out / STATE_FILE).exists():
        return
    for child in out.iterdir():
        if child.is_dir():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)
    if not existed:
        with contextlib.suppress(OSError):
            out.rmdir()
