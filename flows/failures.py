"""Failures without personal data: what a failed run raises, logs and shows.

Every task of the nightly flows (and the flows' own bodies) runs under ``scrubbed``: an
exception is replaced by a ``RunFailure`` whose text is ``tkpk.publish.privacy.scrub_error``'s
(the error's type for engine and library errors, whose messages can quote a cell), raised
``from None``, so neither Prefect's failure logs and state messages, nor the service's failure
hook (``flows.serve.report_failure``), nor a traceback on the terminal shows the original text.
tkpk's own errors (their messages are built from names and codes) keep their type, so callers
and tests can still catch them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from tkpk.publish.privacy import own_message, scrub_error

P = ParamSpec("P")
R = TypeVar("R")


class RunFailure(RuntimeError):
    """A step of the run failed; the message is scrubbed (``scrub_error``).

    ``error_type`` is the original exception's type name; ``lock_conflict`` is True when it was
    a DuckDB I/O error about the warehouse file's lock (the open step retries those).
    """

    def __init__(self, message: str, error_type: str = "", lock_conflict: bool = False):
        super().__init__(message)
        self.error_type = error_type
        self.lock_conflict = lock_conflict


def lock_conflict(error: BaseException) -> bool:
    """A DuckDB I/O error on the warehouse file's lock (another process holds it)."""
    import duckdb

    return isinstance(error, duckdb.IOException) and "lock" in str(error).lower()


def as_run_failure(error: BaseException, step: str) -> BaseException:
    """``error`` as it may leave the step: tkpk's own errors unchanged, any other a
    ``RunFailure`` naming the step and the scrubbed error."""
    if own_message(error):
        return error
    return RunFailure(
        f"{step} failed: {scrub_error(error)}",
        error_type=type(error).__name__,
        lock_conflict=lock_conflict(error),
    )


def scrubbed(function: Callable[P, R]) -> Callable[P, R]:
    """Decorator: exceptions leave ``function`` scrubbed and without their chain (``from None``:
    the original message, which may quote a cell, is neither logged nor shown)."""

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return function(*args, **kwargs)
        except Exception as error:  # noqa: BLE001 (re-raised below, scrubbed)
            failure = as_run_failure(error, function.__name__)
        # raised outside the handler: no frame of this traceback holds the original error
        failure.__context__ = None
        raise failure from None

    return wrapper
