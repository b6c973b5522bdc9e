"""Ingest: turn input paths into a lazy stream of Documents (and Skipped records).

Inputs are ``.txt``/``.md`` files, folders of them (recursively), JSONL with one document a
line, or CSV with the same columns. A bad file or line never stops the run: it becomes a
``Skipped`` record with file, line and reason. A missing input path raises InputError.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import sys
from pathlib import Path
from typing import Iterable, Iterator, Union

from pipeline.config import IngestConfig
from pipeline.errors import InputError
from pipeline.types import Document, Skipped

Item = Union[Document, Skipped]


def check_inputs(paths: Iterable[str | Path]) -> list[Path]:
    out = []
    for p in paths:
        path = Path(p)
        if not path.exists():
            raise InputError(
                f"input not found: {path}",
                fix="pass an existing .txt/.md file, a folder, or a .jsonl/.csv file",
            )
        out.append(path)
    return out


# characters that show nothing: a text of only these and whitespace (a BOM, NBSP, U+3000,
# zero-width spaces) holds nothing, like an empty file
_INVISIBLE = re.compile("[\ufeff\u200b\u200c\u200d\u2060\u00ad\u180e]")


def blank(text: str) -> bool:
    """True when ``text`` holds nothing but whitespace (any Unicode space) and invisible
    characters (byte-order marks, zero-width spaces and joiners)."""
    return not _INVISIBLE.sub("", text).strip()


def _bom_reason(raw: bytes) -> str:
    if raw.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        return "UTF-32 text (byte-order mark); re-save the file as UTF-8"
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "UTF-16 text (byte-order mark); re-save the file as UTF-8"
    return ""


def _decode(raw: bytes, path: Path, *, nul_anywhere: bool = True) -> tuple[str | None, str]:
    """UTF-8 text, or None and the reason. A NUL byte anywhere makes it binary; with
    ``nul_anywhere=False`` (a CSV, whose records are checked one by one) only a file whose
    first 8 KB are mostly NUL bytes (binary, UTF-16) is refused whole. A file that holds
    nothing (whitespace, a byte-order mark, invisible characters) is an empty file."""
    if not raw.strip():
        return None, "empty file"
    bom = _bom_reason(raw)
    if bom:
        return None, bom
    if nul_anywhere:
        nul = raw.find(b"\x00")
    else:
        head = raw[:8192]
        nul = head.find(b"\x00") if head.count(b"\x00") * 10 > len(head) else -1
    if nul >= 0:
        return None, f"binary file (NUL byte at byte {nul}); expected UTF-8 text"
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return None, f"not valid UTF-8 at byte {exc.start}; re-save the file as UTF-8"
    if blank(text):
        return None, "empty file"
    return text, ""


def _read_bytes(path: Path, max_bytes: int) -> tuple[bytes | None, str]:
    try:
        size = path.stat().st_size
        if size > max_bytes:
            return None, f"file is {size} bytes, over ingest.max_bytes={max_bytes}"
        return path.read_bytes(), ""
    except OSError as exc:
        return None, f"unreadable: {exc.strerror or exc}"


def _text_doc(path: Path, doc_id: str, cfg: IngestConfig) -> Item:
    raw, why = _read_bytes(path, cfg.max_bytes)
    if raw is None:
        return Skipped(str(path), None, why, doc_id)
    text, why = _decode(raw, path)
    if text is None:
        return Skipped(str(path), None, why, doc_id)
    title = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    return Document(id=doc_id, text=text, title=title[:200], origin=str(path))


def _record_doc(obj: dict, path: Path, line: int, cfg: IngestConfig) -> Item:
    if not isinstance(obj, dict):
        return Skipped(str(path), line, "not a JSON object; expected one object per line")
    doc_id = obj.get(cfg.id_field)
    text = obj.get(cfg.text_field)
    if doc_id is None or str(doc_id).strip() == "":
        return Skipped(str(path), line, f"missing id field {cfg.id_field!r}")
    if not isinstance(text, str):
        return Skipped(str(path), line, f"missing or non-string text field {cfg.text_field!r}",
                       str(doc_id))
    if blank(text):
        return Skipped(str(path), line, "empty text", str(doc_id))
    size = len(text.encode("utf-8", "surrogatepass"))
    for name in (cfg.text_field, cfg.id_field, cfg.title_field, cfg.date_field, cfg.source_field,
                 cfg.url_field):
        v = obj.get(name)
        if isinstance(v, str) and _SURROGATE.search(v):
            return Skipped(str(path), line, f"field {name!r} holds a lone surrogate (\\ud800-\\udfff), "
                                            "which is not valid Unicode text", str(doc_id))
    if size > cfg.max_bytes:
        return Skipped(str(path), line, f"text is {size} bytes, over ingest.max_bytes={cfg.max_bytes}",
                       str(doc_id))
    nul = text.find("\x00")
    if nul >= 0:
        return Skipped(str(path), line, f"text contains a NUL character (at {nul}); binary data "
                                        "or a damaged record", str(doc_id))

    def get(name: str) -> str:
        v = obj.get(name)
        return "" if v is None else str(v)

    return Document(
        id=str(doc_id), text=text, title=get(cfg.title_field), date=get(cfg.date_field),
        source=get(cfg.source_field), url=get(cfg.url_field), origin=f"{path}:{line}",
    )


_CHUNK = 1 << 20
_SURROGATE = re.compile("[\ud800-\udfff]")


def _limited_lines(fh, max_bytes: int) -> Iterator[tuple[int, bytes | None, int]]:
    """(line number, line, size) of a binary file; a line over ``max_bytes`` comes back as
    None with its size and is never held in memory whole."""
    lineno = 0
    while True:
        line = fh.readline(max_bytes + 2)
        if not line:
            return
        lineno += 1
        if len(line) <= max_bytes + 1 or line.endswith(b"\n"):
            yield lineno, line, len(line.rstrip(b"\r\n"))
            continue
        size = len(line)
        while not line.endswith(b"\n"):  # skip the rest of the long line, counting it
            line = fh.readline(_CHUNK)
            if not line:
                break
            size += len(line)
        yield lineno, None, size - (1 if line.endswith(b"\n") else 0)


def _jsonl_docs(path: Path, cfg: IngestConfig) -> Iterator[Item]:
    try:
        fh = path.open("rb")
    except OSError as exc:
        yield Skipped(str(path), None, f"unreadable: {exc.strerror or exc}")
        return
    with fh:
        seen_any = False
        # a record's JSON may escape its text, so the line may be longer than the text
        for lineno, raw, size in _limited_lines(fh, 6 * cfg.max_bytes + 1024):
            if raw is None:
                seen_any = True
                yield Skipped(str(path), lineno, f"line is {size} bytes, over 6 x ingest.max_bytes="
                                                 f"{cfg.max_bytes} (JSON-escaped); not read")
                continue
            if not raw.strip():
                continue
            try:
                line = raw.decode("utf-8-sig" if lineno == 1 else "utf-8")
            except UnicodeDecodeError:
                seen_any = True
                yield Skipped(str(path), lineno, "line is not valid UTF-8")
                continue
            if blank(line):
                continue  # a line of whitespace, a byte-order mark
            seen_any = True
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                msg = exc.msg[:-3] if exc.msg.endswith(" at") else exc.msg  # "starting at"
                yield Skipped(str(path), lineno, f"malformed JSON: {msg} at column {exc.colno}")
                continue
            yield _record_doc(obj, path, lineno, cfg)
        if not seen_any:
            yield Skipped(str(path), None, "empty file")


def _csv_records(lines: list[str]) -> Iterator[tuple[int, list[str] | None, str, int]]:
    """(first physical line, cells or None, why, lines it spans) for each record after the
    header, parsed in strict mode one record at a time.

    A record that cannot be parsed (an unclosed quote runs to the end of the file or to a
    later quote followed by text; a quote inside a quoted field not doubled) is reported
    with the line it starts on, and parsing restarts on the *next physical line*, so the
    rows an unclosed quote would have swallowed are read as rows of their own."""
    i, n = 1, len(lines)
    while i < n:
        reader = csv.reader((lines[k] for k in range(i, n)), strict=True)
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            spans = max(1, reader.line_num)
            why = str(exc)
            if "unexpected end of data" in why:
                why = (f"unclosed quote: the quoted field opened on this line never closes "
                       f"(it would swallow the {n - i - 1} lines after it)")
            else:
                why = (f"malformed CSV quoting ({why}); a quote inside a quoted field must be "
                       f"doubled, and an opening quote must be closed on its own row")
            yield i + 1, None, why, spans
            i += 1
            continue
        spans = max(1, reader.line_num)
        yield i + 1, cells, "", spans
        i += spans


def _csv_docs(path: Path, cfg: IngestConfig) -> Iterator[Item]:
    raw, why = _read_bytes(path, 1 << 40)
    if raw is None:
        yield Skipped(str(path), None, why)
        return
    text, why = _decode(raw, path, nul_anywhere=False)  # records are checked one by one
    if text is None:
        yield Skipped(str(path), None, why)
        return
    csv.field_size_limit(min(sys.maxsize, 1 << 30))
    lines = io.StringIO(text, newline="").readlines()
    try:
        header = next(csv.reader(lines[:1], strict=True), None)
    except csv.Error as exc:
        yield Skipped(str(path), 1, f"malformed CSV header: {exc}")
        return
    if not header or cfg.text_field not in header:
        yield Skipped(str(path), 1, f"CSV header lacks the text column {cfg.text_field!r}; "
                                    f"found {header}")
        return
    damaged_until = 0  # lines inside a record that could not be parsed
    damaged_from = 0
    for line, cells, why, spans in _csv_records(lines):
        if cells is None:
            yield Skipped(str(path), line, why)
            damaged_from, damaged_until = line, max(damaged_until, line + spans - 1)
            continue
        if not cells:
            continue  # a blank line
        if len(cells) > len(header):
            yield Skipped(str(path), line, "row has more cells than the header")
            continue
        if line <= damaged_until and len(cells) != len(header):
            yield Skipped(str(path), line, f"row has {len(cells)} cells, the header {len(header)}, "
                                           f"inside the damaged record at line {damaged_from}")
            continue
        row: dict = dict(zip(header, cells))
        for name in header[len(cells):]:
            row[name] = None
        yield _record_doc(row, path, line, cfg)


def _file_items(path: Path, doc_id: str, cfg: IngestConfig) -> Iterator[Item]:
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        yield from _jsonl_docs(path, cfg)
    elif suffix == ".csv":
        yield from _csv_docs(path, cfg)
    else:
        yield _text_doc(path, doc_id, cfg)


# Folders that hold tools' data, never articles: skipped whole, with their file count.
SKIP_DIRS = frozenset({".git", ".hg", ".svn", ".bzr", "CVS", "__pycache__", ".cache",
                       "node_modules", ".venv", "venv", ".tox", ".mypy_cache", ".pytest_cache",
                       ".ipynb_checkpoints", ".idea", ".vscode"})


def _count_files(folder: str) -> int:
    n = 0
    for _, _, files in os.walk(folder, onerror=lambda e: None):
        n += len(files)
    return n


def _walk(root: Path, exts: set[str], exclude: frozenset[str] = frozenset()
          ) -> tuple[list[tuple[Path, str]], list[Skipped]]:
    """The readable entries of a folder (path, id) and a record for everything skipped:
    version-control/cache folders (with their file count), hidden files and folders,
    broken symbolic links, symbolic-link loops, non-regular files, unknown extensions,
    unreadable folders. Symbolic links to files and folders are followed. Files and folders
    in ``exclude`` (resolved paths: the run's own outputs, parts and locks) are not inputs:
    left out without a record."""
    entries: list[tuple[Path, str]] = []
    skipped: list[tuple[Path, Skipped]] = []

    def skip(p: Path, reason: str) -> None:
        skipped.append((p, Skipped(str(p), None, reason)))

    def onerror(exc: OSError) -> None:
        skip(Path(exc.filename or root), f"unreadable folder: {exc.strerror or exc}")

    seen_dirs = {os.path.realpath(root)}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True, onerror=onerror):
        keep = []
        for d in sorted(dirnames):
            full = Path(dirpath) / d
            if exclude and os.path.realpath(full) in exclude:
                continue
            if d in SKIP_DIRS:
                skip(full, f"version-control or cache folder; {_count_files(str(full))} files not read")
            elif d.startswith("."):
                skip(full, f"hidden folder; {_count_files(str(full))} files not read")
            elif os.path.realpath(full) in seen_dirs:
                skip(full, "symbolic link to a folder already read (a loop); not followed")
            else:
                seen_dirs.add(os.path.realpath(full))
                keep.append(d)
        dirnames[:] = keep
        for name in filenames:
            f = Path(dirpath) / name
            suffix = f.suffix.lower()
            if exclude and os.path.realpath(f) in exclude:
                continue
            if name.startswith("."):
                skip(f, "hidden file (the name starts with '.')")
            elif f.is_symlink() and not f.exists():
                skip(f, f"broken symbolic link to {os.readlink(f)}")
            elif not f.is_file():
                skip(f, "not a regular file (a socket, pipe or device)")
            elif suffix in exts or suffix in (".jsonl", ".csv"):
                entries.append((f, f.relative_to(root).as_posix()))
            else:
                skip(f, f"unsupported file type {f.suffix or '(none)'}; "
                        f"expected {', '.join(sorted(exts))}, .jsonl or .csv")
    entries.sort(key=lambda e: e[0])
    skipped.sort(key=lambda e: e[0])
    return entries, [s for _, s in skipped]


def iter_items(paths: Iterable[str | Path], cfg: IngestConfig | None = None, *,
               exclude: Iterable[str] = ()) -> Iterator[Item]:
    """Yield Documents and Skipped records from the inputs, lazily, in a stable order.

    Document ids are the file name for a file input and the path relative to the folder for
    files in a folder; JSONL/CSV rows use their id field. A repeated id is skipped. In a
    folder, whatever is not read is recorded as Skipped (see ``_walk``); what ``exclude``
    names (resolved paths of files and folders: a run's own outputs) is left out.

    Example:
        >>> items = list(iter_items(["data/sample"]))  # doctest: +SKIP
    """
    cfg = cfg or IngestConfig()
    seen: set[str] = set()
    exts = {e.lower() for e in cfg.extensions}
    exclude = frozenset(exclude)
    for path in check_inputs(paths):
        if path.is_dir():
            entries, skipped = _walk(path, exts, exclude)
            yield from skipped
        elif not path.is_file():
            yield Skipped(str(path), None, "not a regular file (a socket, pipe or device)")
            continue
        else:
            entries = [(path, path.name)]
        for f, doc_id in entries:
            for item in _file_items(f, doc_id, cfg):
                if isinstance(item, Document):
                    if item.id in seen:
                        yield Skipped(item.origin, None, f"duplicate document id {item.id!r}", item.id)
                        continue
                    seen.add(item.id)
                yield item
