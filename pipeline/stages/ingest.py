"""Ingest: turn input paths into a lazy stream of Documents (and Skipped records).

Inputs are ``.txt``/``.md`` files, folders of them (recursively), JSONL with one document a
line, or CSV with the same columns. A bad file or line never stops the run: it becomes a
``Skipped`` record with file, line and reason. A missing input path raises InputError.
"""

from __future__ import annotations

import csv
import json
import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from pipeline.config import IngestConfig
from pipeline.errors import InputError
from pipeline.types import Document, Skipped

Item = Document | Skipped  # what a reader yields: a document, or a record it skipped


def check_inputs(paths: Iterable[str | Path]) -> list[Path]:
    """``paths`` as Paths; one that does not exist is an ``InputError`` naming it and the fix."""
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


class _LongLine:
    """A physical line over the record cap, never held: its length and its quote count."""

    __slots__ = ("size", "quotes")

    def __init__(self, size: int, quotes: int):
        self.size, self.quotes = size, quotes


class _TooLong(Exception):
    pass


class _Lines:
    """The physical lines of a text file (``\n``, ``\r\n`` or ``\r``, kept), read lazily and
    held only from the record being parsed on: ``get(k)`` is line k (0: the first line read),
    ``drop(k)`` forgets the lines before k. A line over ``cap`` characters comes back as a
    ``_LongLine``."""

    def __init__(self, fh, cap: int):
        self.fh, self.cap = fh, cap
        self.buf: list = []
        self.base = 0
        self.eof = False

    def _read(self):
        line = self.fh.readline(self.cap + 1)
        if not line or len(line) <= self.cap or line.endswith(("\n", "\r")):
            return line
        size, quotes = len(line), line.count('"')
        while not line.endswith(("\n", "\r")):  # the rest of the long line, counted, not kept
            line = self.fh.readline(1 << 20)
            if not line:
                break
            size += len(line)
            quotes += line.count('"')
        return _LongLine(size, quotes)

    def get(self, k: int):
        while k >= self.base + len(self.buf):
            if self.eof:
                return None
            line = self._read()
            if not line:
                self.eof = True
                return None
            self.buf.append(line)
        return self.buf[k - self.base] if k >= self.base else None

    def drop(self, k: int) -> None:
        n = k - self.base
        if n > 0:
            del self.buf[:n]
            self.base = k

    def known(self) -> int:
        return self.base + len(self.buf)


def _csv_records(lines: _Lines, first: int, cap: int, reopen) -> Iterator[tuple[int, list[str] | None, str, int]]:
    """(first physical line, cells or None, why, lines it spans) for each record from line
    ``first`` (0-based) on, parsed in strict mode one record at a time, holding at most
    ``cap`` characters of one record.

    A record that cannot be parsed (an unclosed quote runs to the end of the file or to a
    later quote followed by text; a quote inside a quoted field not doubled) is reported
    with the line it starts on, and parsing restarts on the *next physical line*, so the
    rows an unclosed quote would have swallowed are read as rows of their own. A record over
    ``cap`` characters is reported and skipped unread up to where its quotes close."""
    i = first
    while True:
        lines.drop(i)
        if lines.get(i) is None:
            return
        size = [0]

        def source(start: int = i, lines=lines, size=size):  # bound now (B023)
            k = start
            while True:
                line = lines.get(k)
                if line is None:
                    return
                size[0] += line.size if isinstance(line, _LongLine) else len(line)
                if isinstance(line, _LongLine) or size[0] > cap:
                    raise _TooLong
                yield line
                k += 1

        reader = csv.reader(source(), strict=True)
        try:
            cells = next(reader)
        except StopIteration:
            return
        except _TooLong:
            # skip the record up to the line where its quotes are balanced, holding nothing
            k, odd = i, False
            while True:
                line = lines.get(k)
                if line is None:
                    break
                q = line.quotes if isinstance(line, _LongLine) else line.count('"')
                odd ^= bool(q % 2)
                lines.drop(k + 1)
                k += 1
                if not odd:
                    break
            if odd:  # never closed: an unclosed quote; read the lines after it as rows
                yield i + 1, None, (f"unclosed quote: the quoted field opened on this line never "
                                    f"closes (it runs over {cap} characters to the end of the "
                                    f"file)"), 1
                lines = reopen(i + 1)
                i += 1
                continue
            yield i + 1, None, (f"record is over {cap} characters (6 x ingest.max_bytes, with "
                                f"CSV quoting); not read"), k - i
            i = k
            continue
        except csv.Error as exc:
            spans = max(1, reader.line_num)
            why = str(exc)
            if "unexpected end of data" in why:
                after = max(0, lines.known() - i - 1)
                why = (f"unclosed quote: the quoted field opened on this line never closes "
                       f"(it would swallow the {after} lines after it)")
            else:
                why = (f"malformed CSV quoting ({why}); a quote inside a quoted field must be "
                       f"doubled, and an opening quote must be closed on its own row")
            yield i + 1, None, why, spans
            i += 1
            continue
        spans = max(1, reader.line_num)
        yield i + 1, cells, "", spans
        i += spans


def _csv_check(path: Path, fh) -> str:
    """Why a CSV file cannot be read at all (empty, UTF-16/32, binary, not UTF-8), read in
    chunks without holding it; "" when it can."""
    import codecs

    head = fh.read(8192)
    if not head.strip():
        while True:  # whitespace so far: is there anything at all?
            chunk = fh.read(1 << 16)
            if not chunk:
                return "empty file"
            if chunk.strip():
                break
    bom = _bom_reason(head)
    if bom:
        return bom
    if head.count(b"\x00") * 10 > len(head):
        return f"binary file (NUL byte at byte {head.find(bytes(1))}); expected UTF-8 text"
    fh.seek(0)
    start = 3 if head.startswith(codecs.BOM_UTF8) else 0
    fh.seek(start)
    dec = codecs.getincrementaldecoder("utf-8")()
    pos, visible = start, False
    while True:
        chunk = fh.read(1 << 16)
        pending = len(dec.getstate()[0])
        try:
            text = dec.decode(chunk, final=not chunk)
        except UnicodeDecodeError as exc:
            return f"not valid UTF-8 at byte {pos - pending + exc.start}; re-save the file as UTF-8"
        if not visible and text and not blank(text):
            visible = True
        if not chunk:
            break
        pos += len(chunk)
    return "" if visible else "empty file"


def _csv_docs(path: Path, cfg: IngestConfig) -> Iterator[Item]:
    """The records of a CSV file, streamed: the header is checked first, then the whole file
    for its encoding (in chunks), then it is read one record at a time, holding at most one
    record (``6 x ingest.max_bytes`` characters) in memory."""
    cap = 6 * cfg.max_bytes + 1024
    handles: list = []

    def reopen(skip: int) -> _Lines:
        """The file from physical line ``skip`` on (0: the header)."""
        for h in handles:
            h.close()
        handles.clear()
        fh = path.open("r", encoding="utf-8-sig", newline="")
        handles.append(fh)
        lines = _Lines(fh, cap)
        for _ in range(skip):  # count lines without holding them
            if not lines._read():
                break
        lines.base = skip
        return lines

    def whole_file() -> str:
        with path.open("rb") as raw:
            return _csv_check(path, raw)

    try:
        with path.open("rb") as raw:
            head = raw.read(8192)
        why = _bom_reason(head)
        if not why and head.count(b"\x00") * 10 > len(head):
            why = f"binary file (NUL byte at byte {head.find(bytes(1))}); expected UTF-8 text"
        if why:
            yield Skipped(str(path), None, why)
            return
        try:
            lines = reopen(0)
            first = lines.get(0)
        except UnicodeDecodeError:
            first = None
            why = whole_file()
        if not why and (first is None or (isinstance(first, str) and blank(first))):
            why = whole_file()  # "empty file", or a file whose first line is blank
        if why:
            yield Skipped(str(path), None, why)
            return
        if isinstance(first, _LongLine):
            yield Skipped(str(path), 1, f"CSV header is over {cap} characters; not read")
            return
        try:
            header = next(csv.reader([first], strict=True), None)
        except csv.Error as exc:
            yield Skipped(str(path), 1, f"malformed CSV header: {exc}")
            return
        if not header or cfg.text_field not in header:
            yield Skipped(str(path), 1, f"CSV header lacks the text column {cfg.text_field!r}; "
                                        f"found {header}")
            return
        why = whole_file()  # the encoding of the whole file, before any record is used
        if why:
            yield Skipped(str(path), None, why)
            return
        csv.field_size_limit(min(sys.maxsize, max(cap, 1 << 17)))
        damaged_until = 0  # lines inside a record that could not be parsed
        damaged_from = 0
        for line, cells, why, spans in _csv_records(lines, 1, cap, reopen):
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
    except OSError as exc:
        yield Skipped(str(path), None, f"unreadable: {exc.strerror or exc}")
    finally:
        for h in handles:
            h.close()


def count_lines(path: Path) -> int:
    """The number of lines in the file at ``path`` (a last line without a newline counts),
    read in 1 MiB chunks."""
    n = 0
    last = b"\n"
    with path.open("rb") as fh:
        while True:
            chunk = fh.read(1 << 20)
            if not chunk:
                break
            n += chunk.count(b"\n")
            last = chunk[-1:]
    return n + (last != b"\n")


@dataclass(frozen=True)
class Reader:
    """How one kind of input file is read, and how its documents are counted without
    reading them (for progress totals)."""

    read: Callable[[Path, str, IngestConfig], Iterator[Item]]  # (path, file's doc id, cfg)
    count: Callable[[Path], int | None]  # None: not countable cheaply


def _one_text_doc(path: Path, doc_id: str, cfg: IngestConfig) -> Iterator[Item]:
    yield _text_doc(path, doc_id, cfg)


# The readers of record files by (lowercased) suffix: a JSONL file holds one document a line;
# a CSV file's records may span lines, so it is not counted. Every other file is one text
# document (in a folder, only ``ingest.extensions`` are read besides these).
READERS: dict[str, Reader] = {
    ".jsonl": Reader(lambda path, _id, cfg: _jsonl_docs(path, cfg), count_lines),
    ".csv": Reader(lambda path, _id, cfg: _csv_docs(path, cfg), lambda _path: None),
}
TEXT_READER = Reader(_one_text_doc, lambda _path: 1)


def reader_for(path: Path) -> Reader:
    """The reader of the file at ``path``: by its suffix in ``READERS``, else ``TEXT_READER``."""
    return READERS.get(path.suffix.lower(), TEXT_READER)


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
    names = {os.path.basename(e) for e in exclude}

    def excluded(p: Path) -> bool:  # resolve only what could be excluded: its name, or a link
        return bool(exclude) and (p.name in names or p.is_symlink()) and os.path.realpath(p) in exclude

    for dirpath, dirnames, filenames in os.walk(root, followlinks=True, onerror=onerror):
        keep = []
        for d in sorted(dirnames):
            full = Path(dirpath) / d
            if excluded(full):
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
            if excluded(f):
                continue
            if name.startswith("."):
                skip(f, "hidden file (the name starts with '.')")
            elif f.is_symlink() and not f.exists():
                skip(f, f"broken symbolic link to {os.readlink(f)}")
            elif not f.is_file():
                skip(f, "not a regular file (a socket, pipe or device)")
            elif suffix in exts or suffix in READERS:
                entries.append((f, f.relative_to(root).as_posix()))
            else:
                skip(f, f"unsupported file type {f.suffix or '(none)'}; "
                        f"expected {', '.join(sorted(exts))}, {' or '.join(READERS)}")
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
            for item in reader_for(f).read(f, doc_id, cfg):
                if isinstance(item, Document):
                    if item.id in seen:
                        yield Skipped(item.origin, None, f"duplicate document id {item.id!r}", item.id)
                        continue
                    seen.add(item.id)
                yield item
