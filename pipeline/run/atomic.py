"""Atomic file writes: a temporary file beside the target, renamed into place.

A symbolic link is written through (its target changes), never replaced by a file. The
sinks (run/sinks.py), the HTML report (run/report.py) and the run layer's clean-up of
temporary files (run/api.py) share these three.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


def write_target(path: Path) -> Path:
    """The file a write of ``path`` changes: the target of a symbolic link, else ``path``."""
    path = Path(path)
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def temp_path(path: Path) -> Path:
    """Where ``path`` is written before it is renamed into place: beside the file it names,
    through a symbolic link (a link is written through, never replaced by a file)."""
    target = write_target(path)
    return target.with_name(target.name + ".tmp")


def replace(tmp: Path, path: Path) -> None:
    """Rename ``tmp`` onto ``path`` (onto a link's target)."""
    os.replace(tmp, write_target(path))


def atomically(path: Path, write: Callable[[Path], T]) -> T:
    """``write(tmp)`` then rename tmp to ``path`` (through a link); tmp is removed on failure."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path)
    try:
        result = write(tmp)
        replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return result
