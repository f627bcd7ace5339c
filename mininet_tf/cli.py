"""What the command-line entry points share: a user-fixable error ends the command with one
``error: ...`` line on stderr and exit status 2, not a traceback."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable

#: Errors a user can fix (a bad path, option, file or missing extra). `DataError` and
#: `ExportError` are `ValueError`s. Anything else is a bug and keeps its traceback.
USER_ERRORS: tuple[type[BaseException], ...] = (
    ValueError,
    FileNotFoundError,
    FileExistsError,
    ImportError,
)


def exits_on_user_error(*extra: type[BaseException]) -> Callable:
    """Decorate a ``main(argv) -> int``: `USER_ERRORS` and ``extra`` print ``error: <message>``
    to stderr and return 2."""
    errors = USER_ERRORS + extra

    def decorate(main: Callable[..., int]) -> Callable[..., int]:
        @functools.wraps(main)
        def wrapper(*args, **kwargs) -> int:
            try:
                return main(*args, **kwargs)
            except errors as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 2

        return wrapper

    return decorate


def interactive() -> bool:
    """True when stderr is a terminal: progress bars then; plain lines in redirected logs."""
    return sys.stderr.isatty()


def progress(items, desc: str, *, enabled: bool = True):
    """Iterate ``items`` with progress: a tqdm bar on a terminal, else a plain line to stderr
    about every tenth item (no carriage returns or ANSI codes in log files)."""
    items = list(items)
    if not enabled:
        yield from items
        return
    if interactive():
        from tqdm import tqdm

        yield from tqdm(items, desc=desc, unit="image")
        return
    every = max(1, len(items) // 10)
    for index, item in enumerate(items, 1):
        yield item
        if index % every == 0 or index == len(items):
            print(f"{desc}: {index}/{len(items)}", file=sys.stderr, flush=True)
