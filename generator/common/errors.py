"""Errors that mean "the user gave us something wrong": the CLI prints them as one line and exits non-zero.

Anything else that escapes is a bug and keeps its traceback. Messages should name the file, the row and the field
(``where``) so the user can fix the input without reading code.
"""

from __future__ import annotations


class UserError(Exception):
    """A mistake in the user's input or arguments (bad file, bad row, bad option)."""

    exit_code = 2

    def __init__(self, message: str, *, where: str | None = None) -> None:
        self.where = where
        super().__init__(f"{where}: {message}" if where else message)


class UnknownInstructionError(UserError, KeyError):
    """An instruction id that the catalogue does not define; scoring must never pass it silently."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return Exception.__str__(self)


class ValidationError(UserError):
    """Data that fails a schema or a consistency check."""
