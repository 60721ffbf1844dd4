"""The errors a user can cause or meet, and how CLIs report them.

``DataError`` is bad input data: it names the file and, where there is one, the 1-based line, so
the message reads ``PATH:LINE: what is wrong`` like a compiler's. ``UsageError`` is a bad flag,
a missing run directory or a similar mistake on the command line. CLIs wrap ``main`` in
``exit_on_error``: either error prints its message to stderr and exits with status 2 (the
status argparse uses for bad arguments), with no traceback. Anything else is a bug and keeps
its traceback. ``RunError`` is a run that cannot go on (non-finite loss, disk full): its
message says what happened, what was kept and what to try; CLIs exit with status 3. Its
subclass ``NonFiniteScores`` is a model whose scores came out NaN/inf (diverged weights):
prediction and evaluation stop with it, and training turns it into a divergence at its step.
"""
from __future__ import annotations

import functools
import sys
from typing import Callable, Optional, TypeVar

__all__ = ["DataError", "UsageError", "RunError", "NonFiniteScores", "exit_on_error", "EXIT_USAGE", "EXIT_RUN"]

EXIT_USAGE = 2
EXIT_RUN = 3

F = TypeVar("F", bound=Callable)


class DataError(ValueError):
    """Bad input data at ``path`` (and ``line``, 1-based, when the problem has one)."""

    def __init__(self, path, line: Optional[int], message: str):
        # args = (path, line, message) so the exception pickles and unpickles unchanged
        # (DataLoader workers and multiprocessing re-raise it in the parent).
        super().__init__(str(path), line, message)
        self.path = str(path)
        self.line = line
        self.message = message

    def __str__(self) -> str:
        if self.line is None:
            return f"{self.path}: {self.message}"
        return f"{self.path}:{self.line}: {self.message}"


class UsageError(ValueError):
    """A mistake in how a command was called (bad flag value, missing run directory, ...)."""


class RunError(RuntimeError):
    """A training run that had to stop (loss became NaN/inf, a checkpoint could not be
    written); the message names the step, what was kept and what to try."""


class NonFiniteScores(RunError):
    """The model's scores for some inputs were NaN, inf or absurdly large (``crf.SCORE_LIMIT``):
    its weights diverged or are damaged, and tags decoded from those scores would be noise."""


def exit_on_error(fn: F) -> F:
    """Decorate a CLI ``main``: DataError/UsageError -> message on stderr, ``SystemExit(2)``;
    RunError -> message on stderr, ``SystemExit(3)``."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (DataError, UsageError) as err:
            print(str(err), file=sys.stderr)
            raise SystemExit(EXIT_USAGE) from None
        except RunError as err:
            print(str(err), file=sys.stderr)
            raise SystemExit(EXIT_RUN) from None

    return wrapper  # type: ignore[return-value]
