"""Ingest: turn input paths into a lazy stream of Documents (and Skipped records).

Inputs are ``.txt``/``.md`` files, folders of them (recursively), JSONL with one document a
line, or CSV with the same columns. A bad file or line never stops the run: it becomes a
``Skipped`` record with file, line and reason. A missing input path raises InputError.
"""

from __future__ import annotations

import csv
import io
import json
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


def _decode(raw: bytes, path: Path) -> tuple[str | None, str]:
    if not raw.strip():
        return None, "empty file"
    if b"\x00" in raw[:8192]:
        return None, "binary file (NUL bytes); expected UTF-8 text"
    try:
        return raw.decode("utf-8-sig"), ""
    except UnicodeDecodeError as exc:
        return None, f"not valid UTF-8 at byte {exc.start}; re-save the file as UTF-8"


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
    if not text.strip():
        return Skipped(str(path), line, "empty text", str(doc_id))

    def get(name: str) -> str:
        v = obj.get(name)
        return "" if v is None else str(v)

    return Document(
        id=str(doc_id), text=text, title=get(cfg.title_field), date=get(cfg.date_field),
        source=get(cfg.source_field), url=get(cfg.url_field), origin=f"{path}:{line}",
    )


def _jsonl_docs(path: Path, cfg: IngestConfig) -> Iterator[Item]:
    try:
        fh = path.open("rb")
    except OSError as exc:
        yield Skipped(str(path), None, f"unreadable: {exc.strerror or exc}")
        return
    with fh:
        seen_any = False
        for lineno, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            seen_any = True
            try:
                obj = json.loads(raw.decode("utf-8-sig" if lineno == 1 else "utf-8"))
            except UnicodeDecodeError:
                yield Skipped(str(path), lineno, "line is not valid UTF-8")
                continue
            except json.JSONDecodeError as exc:
                yield Skipped(str(path), lineno, f"malformed JSON ({exc.msg} at column {exc.colno})")
                continue
            yield _record_doc(obj, path, lineno, cfg)
        if not seen_any:
            yield Skipped(str(path), None, "empty file")


def _csv_docs(path: Path, cfg: IngestConfig) -> Iterator[Item]:
    raw, why = _read_bytes(path, 1 << 40)
    if raw is None:
        yield Skipped(str(path), None, why)
        return
    text, why = _decode(raw, path)
    if text is None:
        yield Skipped(str(path), None, why)
        return
    csv.field_size_limit(min(sys.maxsize, 1 << 30))
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if not reader.fieldnames or cfg.text_field not in reader.fieldnames:
        yield Skipped(str(path), 1, f"CSV header lacks the text column {cfg.text_field!r}; "
                                    f"found {reader.fieldnames}")
        return
    while True:
        line = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            yield Skipped(str(path), line, f"malformed CSV row: {exc}")
            continue
        if None in row:  # more cells than header columns
            yield Skipped(str(path), line, "row has more cells than the header")
            continue
        yield _record_doc(row, path, line, cfg)


def _file_items(path: Path, doc_id: str, cfg: IngestConfig) -> Iterator[Item]:
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        yield from _jsonl_docs(path, cfg)
    elif suffix == ".csv":
        yield from _csv_docs(path, cfg)
    else:
        yield _text_doc(path, doc_id, cfg)


def iter_items(paths: Iterable[str | Path], cfg: IngestConfig | None = None) -> Iterator[Item]:
    """Yield Documents and Skipped records from the inputs, lazily, in a stable order.

    Document ids are the file name for a file input and the path relative to the folder for
    files in a folder; JSONL/CSV rows use their id field. A repeated id is skipped.

    Example:
        >>> items = list(iter_items(["data/sample"]))  # doctest: +SKIP
    """
    cfg = cfg or IngestConfig()
    seen: set[str] = set()
    exts = {e.lower() for e in cfg.extensions}
    for path in check_inputs(paths):
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
            entries = []
            for f in files:
                if f.suffix.lower() in exts or f.suffix.lower() in (".jsonl", ".csv"):
                    entries.append((f, f.relative_to(path).as_posix()))
                else:
                    yield Skipped(str(f), None, f"unsupported file type {f.suffix or '(none)'}; "
                                                f"expected {', '.join(sorted(exts))}, .jsonl or .csv")
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
