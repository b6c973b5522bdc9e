"""Errors raised by library code. Only the CLI turns them into exit codes."""

from __future__ import annotations


class ContradictError(Exception):
    """Base error: a message that says what was expected, what was found, and the fix."""

    def __init__(self, message: str, *, expected: object = None, found: object = None, fix: str = ""):
        parts = [message]
        if expected is not None:
            parts.append(f"expected: {expected}")
        if found is not None:
            parts.append(f"found: {found}")
        if fix:
            parts.append(f"fix: {fix}")
        super().__init__("; ".join(parts))
        self.expected = expected
        self.found = found
        self.fix = fix


class ConfigError(ContradictError):
    pass


class InputError(ContradictError):
    """A missing or unusable input path (the whole run cannot go on)."""


class DataError(ContradictError):
    """A labelled-data file with a bad row: names the file and the line."""


class ModelError(ContradictError):
    """A model that cannot be loaded or lacks the labels we need."""


class ResumeError(ContradictError):
    """A run folder whose state cannot be resumed safely."""


class OutputError(ContradictError):
    """An output path that cannot be written (checked before any work)."""


class RunLockedError(ContradictError):
    """Another live run holds the lock on the same output."""
