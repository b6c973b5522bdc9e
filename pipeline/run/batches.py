"""Batches: how documents are grouped on the driver and processed on either engine.

``make_batches`` reads the lazy ingest stream and cuts it into batches of ``batch_docs``
documents (ingest skips travel with the batch they precede); ``process_batch`` runs the
Pipeline on one batch with per-document isolation: if the batch raises, it is retried
document by document and a document that still raises is recorded as skipped with its error
class and message, and the run goes on. Both engines use these two functions, so a batch
gives the same rows and commit record wherever it runs.
"""

from __future__ import annotations

import json
import logging
import traceback
from dataclasses import dataclass, field
from collections.abc import Iterable, Iterator
from typing import Any

from pipeline.run.store import text_hash
from pipeline.types import Document, Skipped

log = logging.getLogger(__name__)

SEQ_STRIDE = 1_000_000  # flag rows of batch starting at document n are numbered n * SEQ_STRIDE + i


@dataclass
class Batch:
    """A batch of documents to process: its position in the input stream, the documents,
    their text hashes and the ingest skips read before it."""
    seq: int  # ordinal of the batch's first document in the input stream (stable on resume)
    docs: list[Document]
    hashes: dict[str, str]
    skipped: list[dict] = field(default_factory=list)  # ingest skips read before this batch


@dataclass(frozen=True)
class BatchOutput:
    """What one processed batch gives the run layer (``process_batch``), on either engine.

    ``rows``: its flags as output rows (``sinks.flag_row``), each with ``_seq``, which keeps
    ties in input order whatever order batches complete in. ``rec``: its commit record,
    ``batch`` (the sequence number), ``docs`` (processed ids), ``skipped`` (documents that
    raised), the counts ``claims``, ``pairs``, ``nli_pairs``, ``nli_confirmed`` and ``flags``,
    ``below`` (the batch's best rows under the cut), ``cut``, ``dropped`` (work dropped by
    caps) and ``timings`` (seconds per stage name); the run layer adds the ingest skips and
    the documents' hashes before committing it. The Ray engine sends it as JSON
    (``to_json``/``from_json``)."""

    rows: list[dict]
    rec: dict[str, Any]

    @classmethod
    def empty(cls, seq: int) -> BatchOutput:
        """The output of a batch of only ingest skips: nothing processed."""
        return cls([], {"batch": seq, "docs": [], "skipped": [], "claims": 0, "pairs": 0, "flags": 0,
                        "timings": {}})

    def to_json(self) -> str:
        """The output as one JSON text (non-ASCII kept as is)."""
        return json.dumps({"rows": self.rows, "rec": self.rec}, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> BatchOutput:
        """The output ``to_json`` wrote."""
        d = json.loads(text)
        return cls(d["rows"], d["rec"])


def skip_record(s: Skipped) -> dict:
    """An ingest skip as the manifest records it (file, line, reason, doc_id)."""
    return {"file": s.file, "line": s.line, "reason": s.reason, "doc_id": s.doc_id}


def make_batches(items: Iterable, size: int, done: dict[str, str],
                 seen_skips: set[tuple]) -> Iterator[Batch]:
    """Cut the ingest stream into batches of ``size`` documents not yet ``done``.

    Documents already committed (ids in ``done``) are not batched again; a skip already
    recorded (``seen_skips``, by file, line and reason) is not recorded twice. A last batch
    may have no documents, only skips.
    """
    ordinal = 0
    docs: list[Document] = []
    skips: list[dict] = []
    start = 0
    for item in items:
        if isinstance(item, Skipped):
            rec = skip_record(item)
            key = (rec["file"], rec["line"], rec["reason"])
            if key not in seen_skips:
                seen_skips.add(key)
                skips.append(rec)
            continue
        n = ordinal
        ordinal += 1
        if item.id in done:
            continue
        if not docs:
            start = n
        docs.append(item)
        if len(docs) >= size:
            yield Batch(start, docs, {d.id: text_hash(d.text) for d in docs}, skips)
            docs, skips = [], []
    if docs or skips:
        yield Batch(start if docs else ordinal, docs, {d.id: text_hash(d.text) for d in docs}, skips)


def _origin(doc: Document) -> tuple[str, int | None]:
    origin = doc.origin or doc.id
    head, sep, tail = origin.rpartition(":")
    if sep and tail.isdigit():
        return head, int(tail)
    return origin, None


def error_skip(doc: Document, exc: BaseException) -> dict:
    """The skip record of a document whose processing raised ``exc``: its file and line, and
    ``error: <type>: <message>`` (one line, at most 300 characters of message)."""
    file, line = _origin(doc)
    msg = " ".join(str(exc).split())[:300]
    return {"file": file, "line": line, "reason": f"error: {type(exc).__name__}: {msg}",
            "doc_id": doc.id}


def process_batch(pipe, docs: list[Document], seq: int, parsed=None) -> BatchOutput:
    """Run ``pipe`` on one batch: its flag rows and commit record (``BatchOutput``).
    ``parsed``: the batch's ``Pipeline.parse``, when it was done ahead."""
    from pipeline.run.sinks import flag_row

    results = []
    skipped: list[dict] = []
    try:
        results.append((docs, pipe.process(docs, parsed) if parsed is not None else pipe.process(docs)))
    except Exception as exc:  # noqa: BLE001 - isolated below, document by document
        if len(docs) > 1:
            log.warning("a batch of %d documents raised %s; retrying document by document",
                        len(docs), type(exc).__name__)
            for d in docs:
                try:
                    results.append(([d], pipe.process([d])))
                except Exception as exc1:  # noqa: BLE001
                    log.debug("document %s failed:\n%s", d.id, traceback.format_exc())
                    skipped.append(error_skip(d, exc1))
        else:
            log.debug("document %s failed:\n%s", docs[0].id, traceback.format_exc())
            skipped.append(error_skip(docs[0], exc))
    rows: list[dict] = []
    rec: dict[str, Any] = {"batch": seq, "docs": [], "skipped": skipped, "claims": 0, "pairs": 0,
                           "nli_pairs": 0, "nli_confirmed": 0, "flags": 0, "below": [],
                           "cut": float(pipe.decider.threshold),
                           "dropped": {}, "timings": {}}
    for ds, res in results:
        rec["docs"].extend(d.id for d in ds)
        rec["claims"] += len(res.claims)
        rec["pairs"] += len(res.pairs)
        rec["nli_pairs"] += res.nli_pairs
        rec["nli_confirmed"] += res.nli_confirmed
        rec["flags"] += len(res.flags)
        for k, v in res.dropped.items():
            rec["dropped"][k] = rec["dropped"].get(k, 0) + int(v)
        for k, v in res.timings.items():
            rec["timings"][k] = rec["timings"].get(k, 0.0) + v
        for f in res.flags:
            # _seq keeps ties in input order whatever order batches complete in; the CSV
            # writer ignores it
            rows.append({**flag_row(f), "_seq": seq * SEQ_STRIDE + len(rows)})
        for f in res.below:
            rec["below"].append({**flag_row(f), "_seq": seq * SEQ_STRIDE + len(rec["below"])})
    rec["timings"] = {k: round(v, 4) for k, v in rec["timings"].items()}
    return BatchOutput(rows, rec)
