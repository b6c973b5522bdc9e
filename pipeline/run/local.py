"""Streaming, resumable corpus runs.

Documents are read lazily and processed in batches of ``batch_docs``; each batch's flag rows
are appended to ``<out>.parts/flags.jsonl`` and fsynced, *then* a commit line naming the
batch's documents and the flags file's length is appended to ``progress.jsonl``. A run killed
at any point (even ``kill -9``) resumes with ``--resume``: the flags file is cut back to the
last committed length, committed documents are skipped, and nothing is lost or repeated.
At the end the rows are sorted by score into the CSV and the manifest is written.
Memory stays flat: only one batch (plus, with cross-document pairing, the claim index) is
held at a time.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

from pipeline import __version__
from pipeline.config import RunConfig, to_dict
from pipeline.errors import ResumeError
from pipeline.stages.ingest import iter_items
from pipeline.pipeline import Pipeline
from pipeline.types import Document, Skipped
from pipeline.run.sinks import FLAG_COLUMNS, flag_row, write_csv, write_json

log = logging.getLogger(__name__)


@dataclass
class RunSummary:
    out_csv: Path
    manifest: Path
    documents: int = 0
    skipped: list[dict] = field(default_factory=list)
    claims: int = 0
    pairs: int = 0
    flags: int = 0
    top: list[dict] = field(default_factory=list)


def _fingerprint(inputs: list[str], cfg: RunConfig) -> str:
    blob = json.dumps({"inputs": [str(Path(i).resolve()) for i in inputs], "config": to_dict(cfg)},
                      sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _batches(items: Iterator, size: int, on_skip: Callable[[Skipped], None]) -> Iterator[list[Document]]:
    batch: list[Document] = []
    for item in items:
        if isinstance(item, Skipped):
            on_skip(item)
            continue
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


class _State:
    """The parts folder: state.json, flags.jsonl and progress.jsonl."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.state = folder / "state.json"
        self.flags = folder / "flags.jsonl"
        self.progress = folder / "progress.jsonl"

    def start(self, fingerprint: str, inputs: list[str]) -> None:
        if self.folder.exists():
            shutil.rmtree(self.folder)
        self.folder.mkdir(parents=True)
        write_json(self.state, {"fingerprint": fingerprint, "inputs": inputs,
                                "version": __version__, "created": time.time()})
        self.flags.touch()
        self.progress.touch()

    def load(self, fingerprint: str) -> tuple[list[dict], int]:
        """Committed batches and the committed length of flags.jsonl; explains corruption."""
        if not self.state.is_file():
            raise ResumeError(f"{self.folder}: no state.json; this is not a resumable run folder",
                              fix="run again without --resume")
        try:
            state = json.loads(self.state.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ResumeError(f"{self.state}: corrupt ({exc})", fix="run again without --resume") from exc
        if state.get("fingerprint") != fingerprint:
            raise ResumeError(
                f"{self.folder} belongs to a run with other inputs or another config",
                expected=state.get("fingerprint"), found=fingerprint,
                fix="resume with the same inputs and config, or run without --resume",
            )
        if not self.progress.is_file() or not self.flags.is_file():
            raise ResumeError(f"{self.folder}: progress.jsonl or flags.jsonl is missing",
                              fix="run again without --resume")
        data = self.progress.read_bytes()
        lines = data.split(b"\n")
        tail = lines.pop()  # after the last newline: empty, or a torn write from a kill
        if tail:
            log.warning("progress.jsonl ends in a torn line (%d bytes); ignoring it", len(tail))
        commits = []
        for n, line in enumerate(lines, start=1):
            try:
                rec = json.loads(line)
                int(rec["flags_bytes"]), list(rec["docs"])
            except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
                raise ResumeError(f"{self.progress}:{n}: corrupt commit line ({exc})",
                                  fix="run again without --resume") from exc
            if commits and rec["flags_bytes"] < commits[-1]["flags_bytes"]:
                raise ResumeError(f"{self.progress}:{n}: flags length goes backwards",
                                  fix="run again without --resume")
            commits.append(rec)
        committed = commits[-1]["flags_bytes"] if commits else 0
        size = self.flags.stat().st_size
        if size < committed:
            raise ResumeError(
                f"{self.flags} is shorter ({size} bytes) than its last commit ({committed} bytes)",
                fix="the run folder was damaged; run again without --resume",
            )
        # cut back rows written after the last commit (a batch killed half-way)
        with self.flags.open("r+b") as fh:
            fh.truncate(committed)
        # headers and the committed rows must parse
        with self.flags.open("rb") as fh:
            for n, line in enumerate(fh, start=1):
                try:
                    json.loads(line)
                except json.JSONDecodeError as exc:
                    raise ResumeError(f"{self.flags}:{n}: corrupt flag row",
                                      fix="run again without --resume") from exc
        with self.progress.open("r+b") as fh:
            fh.truncate(len(data) - len(tail))
        return commits, committed

    def commit(self, rows: list[dict], record: dict) -> None:
        with self.flags.open("ab") as fh:
            for r in rows:
                fh.write((json.dumps(r, ensure_ascii=False) + "\n").encode("utf-8"))
            fh.flush()
            os.fsync(fh.fileno())
            record["flags_bytes"] = fh.tell()
        with self.progress.open("ab") as fh:
            fh.write((json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8"))
            fh.flush()
            os.fsync(fh.fileno())


def _sorted_rows(flags_file: Path) -> Iterator[dict]:
    """Rows by score, highest first, holding only (score, offset) pairs in memory."""
    index = []
    with flags_file.open("rb") as fh:
        while True:
            off = fh.tell()
            line = fh.readline()
            if not line:
                break
            row = json.loads(line)
            index.append((-row["score"], row.get("_seq", 0), off))
    index.sort()
    with flags_file.open("rb") as fh:
        for _, _, off in index:
            fh.seek(off)
            yield json.loads(fh.readline())


def run(
    inputs: list[str],
    out_csv: str | Path,
    cfg: RunConfig,
    *,
    resume: bool = False,
    manifest: str | Path | None = None,
    pipeline: Pipeline | None = None,
    keep_parts: bool = False,
    on_batch: Callable[[int, int], None] | None = None,
) -> RunSummary:
    """Run the pipeline over ``inputs`` and write the flagged-pairs CSV and manifest.

    Args:
        inputs: files and folders (see ingest.py).
        out_csv: the CSV to write; its parts folder is ``<out_csv>.parts``.
        cfg: the run configuration.
        resume: continue an interrupted run of the same inputs and config.
        manifest: where to write manifest.json (default: beside the CSV).
        pipeline: an already built Pipeline to reuse (models stay loaded).
        keep_parts: keep the parts folder after a successful run.
        on_batch: called with (documents done, flags so far) after every batch.
    """
    t0 = time.perf_counter()
    out_csv = Path(out_csv)
    manifest = Path(manifest) if manifest else out_csv.with_name("manifest.json")
    inputs = [str(i) for i in inputs]
    items = iter_items(inputs, cfg.ingest)  # raises InputError for a missing path, now
    first = next(items, None)
    fingerprint = _fingerprint(inputs, cfg)
    state = _State(out_csv.with_name(out_csv.name + ".parts"))

    done: set[str] = set()
    skipped: list[dict] = []
    counts = {"documents": 0, "claims": 0, "pairs": 0, "flags": 0}
    timings: dict[str, float] = {}
    if resume and state.folder.exists():
        commits, _ = state.load(fingerprint)
        for rec in commits:
            done.update(rec["docs"])
            skipped.extend(rec.get("skipped", []))
            for k in ("claims", "pairs", "flags"):
                counts[k] += int(rec.get(k, 0))
            for k, v in rec.get("timings", {}).items():
                timings[k] = timings.get(k, 0.0) + v
        counts["documents"] = len(done)
        log.info("resuming: %d documents already done", len(done))
    else:
        if resume:
            log.warning("--resume: no parts folder at %s, starting a fresh run", state.folder)
        state.start(fingerprint, inputs)
    seen_skips = {(s["file"], s.get("line"), s["reason"]) for s in skipped}

    pipe = pipeline or Pipeline(cfg)
    if cfg.pair.cross_document and pipe.cross is None:
        from pipeline.stages.crossdoc import CrossIndex

        pipe.cross = CrossIndex(cfg.pair, state.folder)
        if done:
            pipe.cross.reload(done)

    pending_skips: list[dict] = []

    def on_skip(s: Skipped) -> None:
        rec = {"file": s.file, "line": s.line, "reason": s.reason, "doc_id": s.doc_id}
        key = (rec["file"], rec["line"], rec["reason"])
        if key not in seen_skips:
            seen_skips.add(key)
            pending_skips.append(rec)

    def todo() -> Iterator:
        if first is not None:
            yield first
        yield from items

    def not_done(it: Iterable) -> Iterator:
        for x in it:
            if isinstance(x, Document) and x.id in done:
                continue
            yield x

    batch_no = 0
    for batch in _batches(not_done(todo()), cfg.batch_docs, on_skip):
        res = pipe.process(batch)
        if pipe.cross is not None:
            pipe.cross.persist()
        rows = [flag_row(f) for f in res.flags]
        rec = {"batch": batch_no, "docs": [d.id for d in batch], "skipped": pending_skips,
               "claims": len(res.claims), "pairs": len(res.pairs), "flags": len(rows),
               "timings": {k: round(v, 4) for k, v in res.timings.items()}}
        state.commit(rows, rec)
        skipped.extend(pending_skips)
        pending_skips = []
        done.update(rec["docs"])
        counts["documents"] += len(batch)
        counts["claims"] += rec["claims"]
        counts["pairs"] += rec["pairs"]
        counts["flags"] += rec["flags"]
        for k, v in res.timings.items():
            timings[k] = timings.get(k, 0.0) + v
        batch_no += 1
        if on_batch:
            on_batch(counts["documents"], counts["flags"])
    if pending_skips:  # skips after the last document
        state.commit([], {"batch": batch_no, "docs": [], "skipped": pending_skips, "claims": 0,
                          "pairs": 0, "flags": 0, "timings": {}})
        skipped.extend(pending_skips)

    summary = finalize(out_csv, manifest, state.flags, cfg, inputs=inputs, counts=counts,
                       done=done, skipped=skipped, timings=timings, resumed=bool(resume and done),
                       t0=t0)
    if not keep_parts:
        shutil.rmtree(state.folder, ignore_errors=True)
    return summary


def _models(cfg: RunConfig) -> dict:
    """``model`` (the NLI model, its backend as run: torch-fp32 / onnx-int8, and why) and
    ``embedder``, for the manifest."""
    from pipeline.pipeline import describe_models

    d = describe_models(cfg)
    return {"model": d["nli"], "embedder": d["embedder"]}


def finalize(out_csv: Path, manifest: Path, flags_file: Path, cfg: RunConfig, *, inputs: list[str],
             counts: dict, done: set[str], skipped: list[dict], timings: dict[str, float],
             resumed: bool, t0: float) -> RunSummary:
    """Sort the committed rows into the CSV and write the manifest (both engines)."""
    t = time.perf_counter()
    top: list[dict] = []

    def rows_with_top() -> Iterator[dict]:
        for r in _sorted_rows(flags_file):
            if len(top) < cfg.output.top:
                top.append(r)
            yield r

    n_rows = write_csv(out_csv, FLAG_COLUMNS, rows_with_top())
    timings["write"] = timings.get("write", 0.0) + time.perf_counter() - t
    timings["total"] = time.perf_counter() - t0
    write_json(manifest, {
        "tool": "contradict", "version": __version__,
        "inputs": inputs, "output": str(out_csv),
        "documents_processed": counts["documents"],
        "documents": sorted(done),
        "skipped": skipped,
        "counts": {"documents": counts["documents"], "skipped": len(skipped),
                   "claims": counts["claims"], "pairs": counts["pairs"], "flags": n_rows},
        **_models(cfg),
        "decision": {"method": cfg.decide.method, "threshold": cfg.decide.threshold},
        "config": to_dict(cfg),
        "resumed": resumed,
        "timings_s": {k: round(v, 3) for k, v in sorted(timings.items())},
    })
    return RunSummary(out_csv=out_csv, manifest=manifest, documents=counts["documents"],
                      skipped=skipped, claims=counts["claims"], pairs=counts["pairs"],
                      flags=n_rows, top=top)
