"""Errors that skelkd raises for user mistakes; the CLI prints them without a traceback."""

from __future__ import annotations

import signal
from pathlib import Path


class SkelkdError(Exception):
    """Base class of the errors a user can fix (bad file, bad option, missing data)."""


class FormatError(SkelkdError, ValueError):
    """A file that does not hold what its format promises.

    The message names the file, the field and what was expected.
    """

    def __init__(self, path: str | Path, field: str, expected: str, got: object = None):
        self.path, self.field, self.expected, self.got = str(path), field, expected, got
        msg = f"{path}: field '{field}': expected {expected}"
        if got is not None:
            msg += f", got {got}"
        super().__init__(msg)


class RunInterrupted(Exception):
    """Training stopped by a signal (Ctrl-C: SIGINT, a scheduler's SIGTERM): the last
    checkpoint is intact and the same command resumes. The CLI exits 128 + the signal's
    number (130, 143), so a batch system reads a killed run as killed, not as done."""

    def __init__(self, signum: int):

        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class LayoutWarning(UserWarning):
    """Data that does not look like its layout (left and right bone lengths disagree)."""
