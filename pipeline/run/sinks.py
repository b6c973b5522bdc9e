"""Write: the flag rows in every output format (CSV, JSONL, Parquet, HTML report), the claims
CSV, the run manifest.

``write_outputs`` is what the run layer calls at the end of a run; each format is a small sink
class (``SINKS``). CSV cells that a spreadsheet would run as a formula (starting with
= + - @, tab or CR) are prefixed with a single quote.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from collections.abc import Callable, Iterable, Mapping, Sequence

from pipeline.errors import ANSI_RE, ConfigError, OutputError
from pipeline.run.atomic import atomically, replace, temp_path
from pipeline.types import Claim, Flag

FLAG_COLUMNS = [
    "doc_a", "doc_b", "start_a", "end_a", "start_b", "end_b", "claim_a", "claim_b",
    "speaker_a", "speaker_b", "side_a", "side_b", "relation", "topic", "score",
    "p_contradiction", "p_entailment", "p_neutral", "reason", "similarity", "stance_a",
    "stance_b", "cue_a", "cue_b", "modality_a", "modality_b", "details",
]
# Named like the flags CSV without the _a/_b suffix: doc_a/claim_a/speaker_a -> doc/claim/speaker.
CLAIM_COLUMNS = [
    "doc", "claim_id", "start", "end", "claim", "speaker", "speaker_id", "side", "mention",
    "cue", "stance", "modality", "topic", "is_quote",
]
_DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


# control characters (C0 but tab, newline and carriage return; DEL, C1) and bidi
# overrides/isolates never reach a cell: an id, a speaker or a claim from a hostile article must
# not recolour a terminal that prints the file, nor reorder what a reader sees
_CELL_DROP = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def clean_text(value: object) -> object:
    """A text cell without terminal escape sequences, control characters or bidi overrides
    (offsets still index the original text); anything else passes through."""
    if not isinstance(value, str):
        return value
    if _CELL_DROP.search(value):
        value = _CELL_DROP.sub("", ANSI_RE.sub("", value))
    return value


def safe_cell(value: object) -> object:
    """A CSV cell: control characters dropped (``clean_text``), spreadsheet formulas
    neutralised; numbers pass through."""
    value = clean_text(value)
    if isinstance(value, str) and value.startswith(_DANGEROUS):
        return "'" + value
    return value


def flag_row(f: Flag) -> dict:
    """A flag as an output row: the FLAG_COLUMNS values, floats rounded to 6 decimals and
    ``details`` as JSON (empty when there are none)."""
    a, b = f.pair.a, f.pair.b
    return {
        "doc_a": a.doc_id, "doc_b": b.doc_id, "start_a": a.start, "end_a": a.end,
        "start_b": b.start, "end_b": b.end, "claim_a": a.text, "claim_b": b.text,
        "speaker_a": a.speaker, "speaker_b": b.speaker, "side_a": a.side, "side_b": b.side,
        "relation": f.pair.relation, "topic": f.topic, "score": round(f.score, 6),
        "p_contradiction": round(f.p_contradiction, 6), "p_entailment": round(f.p_entailment, 6),
        "p_neutral": round(f.p_neutral, 6), "reason": f.reason,
        "similarity": round(f.pair.similarity, 6), "stance_a": a.stance, "stance_b": b.stance,
        "cue_a": a.cue, "cue_b": b.cue, "modality_a": a.modality, "modality_b": b.modality,
        "details": json.dumps(f.details, ensure_ascii=False) if f.details else "",
    }


def claim_row(c: Claim) -> dict:
    """A claim as a row of ``contradict claims``' CSV."""
    return {
        "doc": c.doc_id, "claim_id": c.id, "start": c.start, "end": c.end, "claim": c.text,
        "speaker": c.speaker, "speaker_id": c.speaker_id, "side": c.side, "mention": c.mention,
        "cue": c.cue, "stance": c.stance, "modality": c.modality, "topic": c.topic, "is_quote": int(c.is_quote),
    }


def _csv_to(path: Path, columns: list[str], rows: Iterable[dict]) -> int:
    n = 0
    with Path(path).open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
        w.writeheader()
        for row in rows:
            w.writerow({k: safe_cell(v) for k, v in row.items()})
            n += 1
    return n


def write_csv(path: Path, columns: list[str], rows: Iterable[dict]) -> int:
    """A CSV of ``rows`` (cells through ``safe_cell``), written atomically."""
    return atomically(path, lambda tmp: _csv_to(tmp, columns, rows))


def _json_text(data: dict) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, default=str)


def write_json(path: Path, data: dict) -> None:
    """Write ``data`` as JSON to ``path`` atomically (a temporary file renamed into place)."""
    atomically(path, lambda tmp: tmp.write_text(_json_text(data), encoding="utf-8"))


# --- sinks: one per output format --------------------------------------------------------------
#
# A sink writes the flag rows of a finished run to one file. Every sink receives the same rows
# in the same order (score, highest first) and the manifest (inputs, config, counts, model).
# To add an output format: write a class with ``format``, ``suffix`` and ``write`` below, add it
# to SINKS, and add its name to pipeline.config.OUTPUT_FORMATS.


class Sink(Protocol):
    """Writes flag rows (dicts keyed by FLAG_COLUMNS) to ``path``; returns the number of rows."""

    format: str
    suffix: str
    path: Path

    def __init__(self, path: Path) -> None: ...

    def write(self, rows: Iterable[dict], manifest: dict) -> int:
        """Write ``rows`` (and, where the format holds it, ``manifest``); returns how many rows
        were written."""
        ...


class CsvSink:
    """The flagged-pairs CSV (the contract in DESIGN.md), formula cells neutralised."""

    format, suffix = "csv", ".csv"

    def __init__(self, path: Path):
        self.path = Path(path)

    def write(self, rows: Iterable[dict], manifest: dict) -> int:
        """Write ``rows`` as CSV (cells through ``safe_cell``); returns the count."""
        return _csv_to(self.path, FLAG_COLUMNS, rows)


def _details(value: object) -> object:
    if isinstance(value, str):
        return json.loads(value) if value else {}
    return value or {}


class JsonlSink:
    """One JSON object a line, FLAG_COLUMNS in order; ``details`` is an object, not a string."""

    format, suffix = "jsonl", ".jsonl"

    def __init__(self, path: Path):
        self.path = Path(path)

    def write(self, rows: Iterable[dict], manifest: dict) -> int:
        """Write ``rows`` as JSON lines (``details`` as an object); returns the count."""
        n = 0
        with self.path.open("w", encoding="utf-8", newline="\n") as fh:
            for row in rows:
                rec = {k: clean_text(row.get(k, "")) for k in FLAG_COLUMNS}
                rec["details"] = _details(rec["details"])
                fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
                n += 1
        return n


INT_COLUMNS = ("start_a", "end_a", "start_b", "end_b")
FLOAT_COLUMNS = ("score", "p_contradiction", "p_entailment", "p_neutral", "similarity")


class ParquetSink:
    """A Parquet file with a fixed schema (offsets int64, scores float64, the rest strings;
    ``details`` a JSON string), written in row groups of ``batch_rows``; the manifest is kept
    in the file's key-value metadata under ``contradict.manifest``."""

    format, suffix = "parquet", ".parquet"
    batch_rows = 10_000

    def __init__(self, path: Path):
        self.path = Path(path)

    @staticmethod
    def schema():
        """The Parquet schema: integer offsets, float scores, every other column a string."""
        import pyarrow as pa

        def typ(c: str):
            return pa.int64() if c in INT_COLUMNS else pa.float64() if c in FLOAT_COLUMNS else pa.string()

        return pa.schema([pa.field(c, typ(c)) for c in FLAG_COLUMNS])

    def write(self, rows: Iterable[dict], manifest: dict) -> int:
        """Write ``rows`` as Parquet, ``batch_rows`` rows a write, the manifest in the schema's
        metadata; returns the count."""
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError as exc:  # pragma: no cover - pyarrow is a dependency
            raise ConfigError("output format parquet needs pyarrow", found="pyarrow not importable",
                              fix="pip install 'pyarrow>=14', or drop parquet from --format") from exc
        meta = {"contradict.manifest": json.dumps(manifest, ensure_ascii=False, default=str)}
        schema = self.schema().with_metadata(meta)
        n = 0
        with pq.ParquetWriter(self.path, schema) as writer:
            batch: list[dict] = []

            def flush() -> None:
                cols: dict[str, list[Any]] = {c: [r.get(c) for r in batch] for c in FLAG_COLUMNS}
                for c in INT_COLUMNS:
                    cols[c] = [int(v) for v in cols[c]]
                for c in FLOAT_COLUMNS:
                    cols[c] = [float(v) for v in cols[c]]
                cols["details"] = [clean_text(v) if isinstance(v, str)
                                   else json.dumps(v or {}, ensure_ascii=False)
                                   for v in cols["details"]]
                for c in FLAG_COLUMNS:
                    if c not in INT_COLUMNS and c not in FLOAT_COLUMNS and c != "details":
                        cols[c] = ["" if v is None else clean_text(str(v)) for v in cols[c]]
                writer.write_table(pa.table(cols, schema=schema))
                batch.clear()

            for row in rows:
                batch.append(row)
                n += 1
                if len(batch) >= self.batch_rows:
                    flush()
            if batch or n == 0:
                flush()
        return n


class HtmlSink:
    """A self-contained HTML report (pipeline.run.report): per document the article text with
    the flagged claims highlighted, and a sortable, filterable table of flags.

    ``texts`` maps document ids to their original text; without it the flagged documents are
    read again from the manifest's inputs, lazily, keeping only those that have flags.
    """

    format, suffix = "html", ".html"

    def __init__(self, path: Path, texts: Mapping[str, str] | None = None):
        self.path = Path(path)
        self.texts = texts

    def write(self, rows: Iterable[dict], manifest: dict) -> int:
        """Write the HTML report of ``rows`` (with the article texts); returns the count."""
        from pipeline.run.report import write_report

        return write_report(self.path, rows, manifest, texts=self.texts, atomic=False)


SINKS: dict[str, type[Sink]] = {s.format: s for s in (CsvSink, JsonlSink, ParquetSink, HtmlSink)}


def output_paths(out: str | Path, formats: Iterable[str]) -> dict[str, Path]:
    """Where each format goes: csv to ``out`` itself, the others to ``out`` with their suffix
    (out/flagged.csv -> out/flagged.jsonl, out/flagged.parquet, out/flagged.html)."""
    out = Path(out)
    if out.name in ("", ".", ".."):
        raise OutputError(f"the output {out} names a folder, not a file",
                          fix="name a file, e.g. -o out/flagged.csv")
    paths: dict[str, Path] = {}
    for fmt in formats:
        if fmt not in SINKS:
            raise ConfigError(f"unknown output format {fmt!r}", expected=", ".join(SINKS),
                              fix="pass --format with names from the expected list")
        paths[fmt] = out if fmt == "csv" else out.with_suffix(SINKS[fmt].suffix)
    clash = [f for f, p in paths.items() if list(paths.values()).count(p) > 1]
    if clash:
        raise ConfigError(f"formats {', '.join(clash)} would write the same file {paths[clash[0]]}",
                          fix="name the output with -o x.csv (the other formats take its stem)")
    return paths


@dataclass
class Written:
    """What write_outputs wrote: the path of each format and the number of rows."""

    paths: dict[str, Path]
    rows: int


@dataclass
class Staged:
    """Files written beside their final names (``.tmp``), renamed into place by ``commit``
    (in the order they were added) or removed by ``discard``."""

    paths: dict[str, Path]
    rows: int
    files: list[tuple[Path, Path]]  # (tmp, final)

    def add_json(self, path: Path, data: dict) -> None:
        """Stage a JSON file (the manifest), to be renamed after the others."""
        path = Path(path)
        tmp = temp_path(path)
        self.files.append((tmp, path))
        tmp.write_text(_json_text(data), encoding="utf-8")

    def commit(self) -> None:
        """Rename every staged file into place, in the order added."""
        for tmp, final in self.files:
            replace(tmp, final)
        self.files = []

    def discard(self) -> None:
        """Remove every staged temporary file."""
        for tmp, _ in self.files:
            try:
                tmp.unlink(missing_ok=True)
            except OSError:
                pass
        self.files = []


def stage_outputs(out: str | Path, formats: Iterable[str],
                  rows: Callable[[], Iterable[dict]] | Sequence[dict], manifest: dict,
                  texts: Mapping[str, str] | None = None) -> Staged:
    """``write_outputs`` without the final renames: every format written to its ``.tmp``
    file; on any failure (a full disk) every file written so far is removed and the error
    raised, an OSError naming the file it was writing."""
    formats = list(dict.fromkeys(formats))
    paths = output_paths(out, sorted(formats, key=lambda f: f != "csv"))
    if not callable(rows) and not isinstance(rows, Sequence):
        rows = list(rows)  # a one-shot iterator: keep it for the other sinks
    staged = Staged(paths=paths, rows=0, files=[])
    for fmt, path in paths.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = temp_path(path)
        staged.files.append((tmp, path))
        sink = HtmlSink(tmp, texts) if fmt == "html" else SINKS[fmt](tmp)
        try:
            staged.rows = sink.write(rows() if callable(rows) else rows, manifest)
        except OSError as exc:
            staged.discard()
            if exc.filename is None:
                exc.filename = str(path)
            raise
        except BaseException:
            staged.discard()
            raise
    return staged


def write_outputs(out: str | Path, formats: Iterable[str],
                  rows: Callable[[], Iterable[dict]] | Sequence[dict], manifest: dict,
                  texts: Mapping[str, str] | None = None) -> Written:
    """Write the flag rows in every format (csv first), the same rows in the same order to each.

    Every file is written beside its final name first and renamed into place once all are
    written; a symbolic link is written through, never replaced.

    Args:
        out: the ``-o`` path; see output_paths for the other formats' names.
        formats: names from SINKS, e.g. ["csv", "html"].
        rows: a list of rows, or a function returning a fresh iterator over them (called once
            per sink, so a large run streams from disk instead of holding the rows).
        manifest: the run's manifest (the HTML report and Parquet metadata show it).
        texts: document id -> original text for the HTML report (default: read again).

    Raises:
        ConfigError: an unknown format, or two formats mapped to one file.
        OSError: a file could not be written (nothing is left half-written).
    """
    staged = stage_outputs(out, formats, rows, manifest, texts)
    paths, n = staged.paths, staged.rows
    staged.commit()
    return Written(paths=paths, rows=n)
