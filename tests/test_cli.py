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
