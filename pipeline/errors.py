"""Errors raised by library code. Only the CLI turns them into exit codes."""

from __future__ import annotations

import re

# terminal escape sequences, other C0/C1 control characters and bidi overrides/isolates/marks:
# text from the input (a file name, an id) must not move the cursor, recolour or reorder a
# terminal, nor a cell of an output
ANSI_RE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")
CONTROL_RE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def printable(s: object) -> str:
    """``s`` for a message: every control or bidi character written as an escape (``\\x1b``,
    ``\\u202e``), so a hostile file name is shown, not obeyed."""
    def esc(m: re.Match) -> str:
        c = m.group(0)
        return c.encode("unicode_escape").decode("ascii") if ord(c) < 0x100 else f"\\u{ord(c):04x}"

    return CONTROL_RE.sub(esc, str(s))


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
        super().__init__(printable("; ".join(parts)))
        self.expected = expected
        self.found = found
        self.fix = fix


class ConfigError(ContradictError):
    """A bad configuration value, file or option (exit code 1)."""


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


class RunInterrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM stopped a run; the message says what was kept and how to go on."""
