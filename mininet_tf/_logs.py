"""Quiet start-up: the command-line entry points hide TensorFlow's native import logs.

Importing TensorFlow prints absl lines on every machine ("All log messages before
absl::InitializeLog() ...", "Could not find cuda drivers ...") that ``TF_CPP_MIN_LOG_LEVEL``
does not reach (checked with TensorFlow 2.21), so for a command we silence file descriptor 2
while TensorFlow is imported and set ``TF_CPP_MIN_LOG_LEVEL=3`` for its later C++ logs.
Python errors are unaffected: an exception leaves the block with stderr restored. ``--verbose``
on the command line, or ``MININET_TF_LOGS=1``, keeps every log.
"""

from __future__ import annotations

import contextlib
import os
import sys

#: Names of our console scripts (setup.cfg) and what ``sys.argv[0]`` is while ``python -m``
#: locates a module.
_SCRIPT_PREFIX = "mininet-"


def command_line_run(argv: list[str] | None = None) -> bool:
    """True while a mininet command starts (``python -m mininet_tf.X`` or ``mininet-X``)."""
    argv = sys.argv if argv is None else argv
    if not argv:
        return False
    name = os.path.basename(argv[0])
    return name == "-m" or name.startswith(_SCRIPT_PREFIX)


def wants_native_logs(argv: list[str] | None = None) -> bool:
    argv = sys.argv if argv is None else argv
    return os.environ.get("MININET_TF_LOGS") == "1" or any(
        a == "--verbose" or a.startswith("--verbose=") for a in argv[1:]
    )


@contextlib.contextmanager
def native_stderr_silenced():
    """Send file descriptor 2 (C/C++ writes) to /dev/null inside the block."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real stderr (embedded interpreter): nothing to hide
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def import_tensorflow_quietly_for_commands() -> None:
    """Import TensorFlow now, quietly, when a command is starting without ``--verbose``."""
    if not command_line_run() or wants_native_logs():
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with native_stderr_silenced():
        import tensorflow  # noqa: F401
