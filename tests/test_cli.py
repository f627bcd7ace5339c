"""The shared CLI error policy: user-fixable errors exit 2 with one line, bugs keep their
traceback."""

import pytest

from mininet_tf.cli import exits_on_user_error
from mininet_tf.data.records import DataError


class CustomError(RuntimeError):
    pass


def _main_raising(exc):
    @exits_on_user_error(CustomError)
    def main(argv=None) -> int:
        """Docstring kept."""
        if exc is not None:
            raise exc
        return 0

    return main


@pytest.mark.parametrize(
    "exc",
    [
        DataError("data/x.png: corrupt"),
        FileNotFoundError("model.keras: no such file"),
        FileExistsError("out/a_mask.png: exists"),
        ImportError("install the [edge] extra"),
        CustomError("QAT child failed"),
    ],
)
def test_user_errors_print_one_line_and_exit_2(exc, capsys):
    assert _main_raising(exc)() == 2
    err = capsys.readouterr().err
    assert err == f"error: {exc}\n"


def test_success_passes_through_and_metadata_is_kept():
    main = _main_raising(None)
    assert main() == 0
    assert main.__doc__ == "Docstring kept."


def test_bugs_keep_their_traceback():
    with pytest.raises(KeyError):
        _main_raising(KeyError("bug"))()


def test_plain_progress_lines_when_not_a_terminal(capsys, monkeypatch):
    from mininet_tf import cli

    monkeypatch.setattr(cli, "interactive", lambda: False)
    assert list(cli.progress(range(25), "predict")) == list(range(25))
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "predict: 2/25" and lines[-1] == "predict: 25/25"
    assert len(lines) == 13
    assert list(cli.progress([1, 2], "x", enabled=False)) == [1, 2]
    assert capsys.readouterr().err == ""


def test_quiet_logs_only_for_commands_without_verbose(monkeypatch):
    from mininet_tf._logs import command_line_run, wants_native_logs

    monkeypatch.delenv("MININET_TF_LOGS", raising=False)
    assert command_line_run(["-m", "--epochs", "2"])
    assert command_line_run(["/venv/bin/mininet-train"])
    assert not command_line_run(["/venv/bin/pytest"]) and not command_line_run([])
    assert wants_native_logs(["mininet-train", "--verbose", "2"])
    assert not wants_native_logs(["mininet-predict", "a.png"])
    monkeypatch.setenv("MININET_TF_LOGS", "1")
    assert wants_native_logs(["mininet-predict", "a.png"])


@pytest.mark.slow
def test_train_command_is_quiet_plain_and_says_what_next(tmp_path):
    """Redirected like a CI log: no TensorFlow start-up lines, no ANSI/carriage-return
    progress bars, and the run ends by naming the model and the next commands."""
    import os
    import subprocess
    import sys

    from .conftest import ROOT

    out = tmp_path / "run"
    env = {
        k: v for k, v in os.environ.items() if k not in ("MININET_TF_LOGS", "TF_CPP_MIN_LOG_LEVEL")
    }
    args = ["--epochs", "1", "--steps-per-epoch", "2", "--batch-size", "2", "--patch-size", "32"]
    done = subprocess.run(
        [sys.executable, "-m", "mininet_tf.train", *args, "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    logs = done.stdout + done.stderr
    for noise in ("absl::InitializeLog", "cudart_stub", "cuda_", "\x1b[", "\r"):
        assert noise not in logs, noise
    assert f"model: {out / 'best.keras'}" in done.stdout
    assert "python -m mininet_tf.evaluate --model" in done.stdout
    assert "tensorboard --logdir" in done.stdout
