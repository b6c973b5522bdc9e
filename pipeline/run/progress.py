"""Progress on stderr for long commands, and the cheap document count behind it.

Library functions report progress through callbacks and return data; the CLI builds a
``Progress`` (a count bar: done/total, rate, counters, elapsed, ETA) or a ``RunProgressBar``
(the same for corpus runs: documents, claims, pairs, flags, skipped) and passes its update
method as the callback. On a terminal the bar is redrawn in place (carriage return); when
the stream is not a terminal (CI, ``nohup``, a log file) it writes one plain line per update
instead, without carriage returns. ``enabled=False`` (``-q``) writes nothing.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import IO
from collections.abc import Iterable

from pipeline.errors import printable
from pipeline.stages.ingest import reader_for


# ------------------------------------------------------------------------ cheap totals
def _files(folder: Path, exclude: frozenset[str]) -> list[Path]:
    out = []
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=True):
        dirnames[:] = [d for d in dirnames
                       if not exclude or os.path.realpath(os.path.join(dirpath, d)) not in exclude]
        for name in filenames:
            f = Path(dirpath) / name
            if name.startswith(".") or not f.is_file():
                continue
            if exclude and os.path.realpath(f) in exclude:
                continue
            out.append(f)
    return out


def count_total(inputs: Iterable[str | Path], cfg=None, *, exclude: Iterable[str] = ()) -> int | None:
    """How many documents the inputs hold, counted without parsing: one per text file,
    one per line of a JSONL file. None when it cannot be counted cheaply (a CSV file, whose
    records may span lines) or an input cannot be read. ``exclude``: resolved paths that are
    not inputs (a run's own outputs, parts and locks)."""
    n = 0
    exclude = frozenset(exclude)
    try:
        for p in inputs:
            path = Path(p)
            if path.is_dir():
                files = _files(path, exclude)
            else:
                files = [path]
            for f in files:
                count = reader_for(f).count(f)  # the table ingest reads the files by
                if count is None:
                    return None
                n += count
    except OSError:
        return None
    return n


# ------------------------------------------------------------------------ formatting
def _clock(seconds: float | None) -> str:
    if seconds is None or seconds != seconds or seconds == float("inf"):
        return "?"
    s = int(round(seconds))
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def _is_tty(stream: IO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


class Progress:
    """A count bar: ``label  done/total unit  pct | rate | counters | elapsed, ETA``.

    Args:
        label: the command ("run", "eval pairs").
        unit: what is counted ("docs", "pairs").
        stream: where to write (default stderr).
        enabled: False writes nothing (``-q``).
        tty: force terminal (True) or log-line (False) mode; default: ``stream.isatty()``.
        min_interval: on a terminal, redraw at most this often (seconds), except the last.
    """

    def __init__(self, label: str, unit: str = "docs", stream: IO | None = None,
                 enabled: bool = True, tty: bool | None = None, min_interval: float = 0.2):
        self.label = label
        self.unit = unit
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        self.tty = _is_tty(self.stream) if tty is None else tty
        self.min_interval = min_interval
        self.t0 = time.perf_counter()
        self.start_at = 0  # counts taken over (a resumed run): not part of the rate
        self._last_draw = 0.0
        self._drawn = False
        self._width = 0

    def line(self, done: int, total: int | None, counters: dict[str, int] | None = None,
             elapsed: float | None = None) -> str:
        """The bar's text for ``done`` of ``total``: count and percentage, rate, counters,
        elapsed time and ETA."""
        elapsed = time.perf_counter() - self.t0 if elapsed is None else elapsed
        if total is not None:
            total = max(total, done)
        new = done - self.start_at
        rate = new / elapsed if elapsed > 0 else 0.0
        parts = [f"{self.label}"]
        if total:
            parts.append(f"{done}/{total} {self.unit} {100 * done / total:3.0f}%")
        else:
            parts.append(f"{done} {self.unit}")
        parts.append(f"{rate:.2f} {self.unit}/s" if rate < 10 else f"{rate:.0f} {self.unit}/s")
        if counters:
            parts.append(" ".join(f"{v} {k}" for k, v in counters.items()))
        eta = (total - done) / rate if (total and rate > 0) else None
        tail = f"{_clock(elapsed)} elapsed"
        if total:
            tail += f", ETA {_clock(eta) if done < total else '0:00'}"
        parts.append(tail)
        return " | ".join(parts)

    def update(self, done: int, total: int | None = None, counters: dict[str, int] | None = None,
               *, elapsed: float | None = None, force: bool = False) -> None:
        """Redraw the bar (a terminal: at most every ``min_interval`` unless ``force`` or done;
        elsewhere one log line a call)."""
        if not self.enabled:
            return
        now = time.perf_counter()
        if self.tty and not force and self._drawn and now - self._last_draw < self.min_interval \
                and not (total and done >= total):
            return
        self._last_draw = now
        text = self.line(done, total, counters, elapsed)
        if self.tty:
            pad = max(0, self._width - len(text))
            self.stream.write("\r" + text + " " * pad)
            self._width = len(text)
        else:
            self.stream.write(text + "\n")
        self._drawn = True
        self.stream.flush()

    def note(self, text: str) -> None:
        """A line of its own (above the bar on a terminal)."""
        if not self.enabled:
            return
        if self.tty and self._drawn:
            self.stream.write("\r" + " " * self._width + "\r")
            self._width = 0
        self.stream.write(text + "\n")
        self.stream.flush()
        self._drawn = False

    def close(self) -> None:
        """End the bar's line on a terminal."""
        if self.enabled and self.tty and self._drawn:
            self.stream.write("\n")
            self.stream.flush()
        self._drawn = False


class RunProgressBar(Progress):
    """Progress of a corpus run, fed ``pipeline.run.RunProgress`` events (``update_run``).

    ``verbose`` adds a line of per-stage timings for every batch.
    """

    def __init__(self, label: str = "run", stream: IO | None = None, enabled: bool = True,
                 verbose: bool = False, tty: bool | None = None):
        super().__init__(label, "docs", stream, enabled, tty)
        self.verbose = verbose

    def update_run(self, p) -> None:
        """Show a run's progress event ``p``: a window of a long document, the start (or resume),
        or a committed batch with its counts."""
        if not self.enabled:
            return
        self.start_at = p.resumed_from
        if getattr(p, "window", None):  # within a long document, parsed window by window
            doc, k, n = p.window
            self.note(f"{self.label}: {printable(doc)}: window {k} of {n} segmented "
                      f"({p.done} of {p.total if p.total is not None else '?'} documents done)")
            return
        if p.batch_docs == 0:  # the start of the run
            if p.resumed_from:
                self.note(f"{self.label}: resuming at {p.resumed_from} documents already "
                          f"committed ({p.engine} engine)")
            self.update(p.done, p.total, self._counters(p), elapsed=p.elapsed, force=True)
            return
        if self.verbose and p.batch_timings:
            stages = " ".join(f"{k} {v:.2f}s" for k, v in p.batch_timings.items())
            self.note(f"{self.label}: batch of {p.batch_docs} docs: {stages}")
        self.update(p.done, p.total, self._counters(p), elapsed=p.elapsed,
                    force=not self.tty)

    @staticmethod
    def _counters(p) -> dict[str, int]:
        return {"claims": p.claims, "pairs": p.pairs, "flags": p.flags, "skipped": p.skipped}


def format_summary(s) -> str:
    """The end-of-run summary for a ``pipeline.run.RunSummary`` (printed by the CLI)."""
    lines = [
        f"{s.documents} documents, {len(s.skipped)} skipped, {s.claims} claims, "
        f"{s.pairs} candidate pairs, {s.flags} flagged -> {s.out_csv}",
    ]
    if s.resumed:
        lines.append(f"resumed: {s.resumed_documents} documents were taken from the interrupted run")
    if s.skipped:
        reasons = ", ".join(f"{k} ({n})" for k, n in s.top_skip_reasons)
        lines.append(f"skipped: {reasons}")
    per_doc = s.flags / s.documents if s.documents else 0.0
    lines.append(f"flags per document: {per_doc:.2f}")
    if s.documents and not s.flags and s.pairs and not s.below:
        # the cascade left every pair unscored (nothing came near the cut): say how to read on
        lines.append("no pair reached the cut; lower --threshold (the cut on the score column, "
                     "e.g. --threshold 0.1) to read further down the ranking")
    if s.dropped:
        lines.append("dropped by caps: " + ", ".join(f"{k} {v}" for k, v in s.dropped.items()))
    stages = [(k, v) for k, v in s.timings.items() if k != "total"]
    if stages:
        lines.append("time per stage: " + ", ".join(f"{k} {v:.1f}s" for k, v in stages)
                     + f"; total {s.timings.get('total', 0.0):.1f}s")
    outs = ", ".join(str(v) for v in s.outputs.values()) or str(s.out_csv)
    lines.append(f"outputs: {outs}; manifest: {s.manifest}"
                 + (" (skipped documents are listed there with reasons)" if s.skipped else ""))
    # names and reasons come from the inputs: shown, never obeyed by the terminal
    return "\n".join(printable(line) for line in lines)
