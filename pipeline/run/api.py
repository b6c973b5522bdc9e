"""One run layer for both engines: ``run(inputs, out, cfg, resume=False)``.

    check outputs -> check model -> lock -> parts store (fresh or resumed) -> batches
    -> engine (local or ray) -> commit each batch -> ledger -> CSV + manifest

Documents are read lazily (``ingest.iter_items``) and cut into batches of ``batch_docs`` on
this process; the engine named by ``cfg.engine`` processes them (in this process, or on a
Ray actor pool) and hands each batch's rows and commit record back; the batch is committed
to ``<out>.parts/`` (see store.py) and counted in the ledger (see ledger.py). A run killed at
any point continues with ``resume=True``. At the end the committed rows are sorted by score
into the CSV and the manifest (``<out stem>.manifest.json``) is written.

Library code: returns a ``RunSummary`` and reports progress through a callback; raises
``ContradictError`` subclasses, never prints.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from pipeline.config import RunConfig, to_dict
from pipeline.errors import OutputError, ResumeError
from pipeline.run.batches import make_batches
from pipeline.run.ledger import Ledger, manifest_path
from pipeline.run.store import PartsStore, RunLock, lock_path, parts_path, text_hash
from pipeline.stages.ingest import check_inputs, iter_items
from pipeline.types import Document

log = logging.getLogger(__name__)


@dataclass
class RunProgress:
    """What a run has done so far (sent to ``on_progress`` at the start and after each batch)."""

    done: int  # documents processed + records skipped
    total: int | None  # expected documents (None: unknown)
    documents: int
    skipped: int
    claims: int
    pairs: int
    flags: int
    elapsed: float
    resumed_from: int = 0  # ``done`` taken over from an interrupted run
    batch_docs: int = 0  # documents in the batch just committed (0 at the start)
    batch_timings: dict[str, float] = field(default_factory=dict)
    engine: str = "local"


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
    timings: dict[str, float] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)
    top_skip_reasons: list[tuple[str, int]] = field(default_factory=list)
    resumed: bool = False
    resumed_documents: int = 0
    outputs: dict[str, str] = field(default_factory=dict)
    engine: str = "local"


# ------------------------------------------------------------------------------ checks
def _fingerprint(inputs: list[str], cfg: RunConfig) -> str:
    """Inputs and config, less the engine (a local run may be resumed on Ray and back)."""
    conf = to_dict(cfg)
    conf.pop("engine", None)
    blob = json.dumps({"inputs": [str(Path(i).resolve()) for i in inputs], "config": conf},
                      sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def check_outputs(inputs: list[str], out: Path, manifest: Path) -> None:
    """Refuse, before any work, an output that is an input, a folder, or cannot be written.

    Creates the output's folder when it is missing (it would be created anyway).
    """
    targets = {"-o": out, "--manifest": manifest, "parts folder": parts_path(out),
               "lock file": lock_path(out)}
    if out.exists() and out.is_dir():
        raise OutputError(f"the output {out} is a folder", expected="a file to write",
                          fix=f"name a file, e.g. -o {out / 'flagged.csv'}")
    if manifest.exists() and manifest.is_dir():
        raise OutputError(f"the manifest path {manifest} is a folder",
                          fix=f"name a file, e.g. --manifest {manifest / 'flagged.manifest.json'}")
    if out.resolve() == manifest.resolve():
        raise OutputError(f"the output and the manifest are the same file ({out})",
                          fix="give --manifest another name")
    for inp in inputs:
        p = Path(inp)
        for what, t in targets.items():
            if not t.exists():
                continue
            try:
                same = os.path.samefile(p, t)
            except OSError:
                same = False
            if same:
                raise OutputError(f"{what} {t} is one of the inputs; writing it would destroy it",
                                  fix="write the output somewhere else, e.g. -o out/flagged.csv")
    for path in {out.parent, manifest.parent}:
        anc = path
        while not anc.exists() and anc != anc.parent:
            anc = anc.parent
        if anc.exists() and not anc.is_dir():
            raise OutputError(f"cannot write below {anc}: it is a file, not a folder",
                              fix="choose an output in a folder, e.g. -o out/flagged.csv")
        try:
            path.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=path, prefix=".contradict-probe-"):
                pass
        except OSError as exc:
            raise OutputError(f"cannot write to {path}: {exc.strerror or exc}",
                              fix="choose a writable folder for -o (and --manifest)") from None
    for t in (out, manifest):
        if t.exists() and not os.access(t, os.W_OK):
            raise OutputError(f"{t} exists and is not writable", fix="choose another output")


def check_model(cfg: RunConfig) -> None:
    """Load the NLI model's config and check its labels before any document is read."""
    from pipeline.nli.model import check_model as _check

    _check(cfg.score.resolved_model(), backend=cfg.score.backend)


def make_engine(cfg: RunConfig, pipeline=None):
    if cfg.engine == "ray":
        from pipeline.run.ray_data import RayEngine

        return RayEngine(cfg)
    from pipeline.run.local import LocalEngine

    return LocalEngine(cfg, pipeline)


# ------------------------------------------------------------------------------ run
def run(
    inputs: list[str],
    out: str | Path,
    cfg: RunConfig,
    resume: bool = False,
    *,
    fresh: bool = False,
    manifest: str | Path | None = None,
    pipeline=None,
    keep_parts: bool = False,
    on_progress: Callable[[RunProgress], None] | None = None,
    total: int | None = None,
) -> RunSummary:
    """Run the pipeline over ``inputs``; write the flagged-pairs CSV and the manifest.

    Args:
        inputs: files and folders (see stages/ingest.py).
        out: the CSV to write; its parts folder is ``<out>.parts``, its lock ``<out>.lock``.
        cfg: the run configuration; ``cfg.engine`` picks the engine (local or ray).
        resume: continue an interrupted run of the same inputs and config (any engine);
            without parts to resume, a fresh run starts (and the manifest says
            ``resumed: false``).
        fresh: discard an interrupted run's parts and start over.
        manifest: where to write the manifest (default ``<out stem>.manifest.json``).
        pipeline: an already built Pipeline to reuse (local engine; models stay loaded).
        keep_parts: keep the parts folder after a successful run.
        on_progress: called with a ``RunProgress`` at the start and after every batch.
        total: the expected number of documents, for progress (default: counted cheaply).

    Raises:
        InputError: an input path does not exist.
        OutputError: the output is an input, a folder, or not writable.
        ModelError: the model cannot be loaded or has no contradiction label.
        RunLockedError: another run holds this output.
        ResumeError: an interrupted run is in the way (without resume/fresh), its parts are
            damaged, or an input changed since it committed.
    """
    t0 = time.perf_counter()
    out = Path(out)
    manifest = Path(manifest) if manifest else manifest_path(out)
    inputs = [str(i) for i in inputs]
    check_inputs(inputs)
    check_outputs(inputs, out, manifest)
    if pipeline is None:
        check_model(cfg)
    engine = make_engine(cfg, pipeline)
    lock = RunLock(out).acquire()
    try:
        return _run_locked(inputs, out, manifest, cfg, engine, resume=resume, fresh=fresh,
                           keep_parts=keep_parts, on_progress=on_progress, total=total, t0=t0)
    finally:
        engine.close()
        lock.release()


def _run_locked(inputs, out, manifest, cfg, engine, *, resume, fresh, keep_parts, on_progress,
                total, t0) -> RunSummary:
    store = PartsStore(parts_path(out))
    fingerprint = _fingerprint(inputs, cfg)
    ledger = Ledger()
    done: dict[str, str] = {}  # committed document id -> text hash
    resumed = False
    if resume and store.exists() and store.progress.is_file():
        committed = store.load(fingerprint)
        for rec in committed.commits:
            ledger.add(rec)
            done.update(rec.get("hashes") or {d: "" for d in rec["docs"]})
        ledger.recovered.extend(committed.torn)
        ledger.resumed_documents = ledger.done
        resumed = bool(committed.commits)
        if not resumed:
            store.start(fingerprint, inputs, engine.name)
    elif store.unfinished() and not fresh:
        raise ResumeError(
            f"an interrupted run left its parts in {store.folder}",
            fix="continue it with --resume, or discard it and start over with --fresh",
        )
    else:
        store.start(fingerprint, inputs, engine.name)
    seen_skips = {(s["file"], s.get("line"), s["reason"]) for s in ledger.skipped}
    ledger.recovered.extend(engine.open(store.folder, set(done)))

    if resumed:
        total = _check_unchanged(inputs, cfg, done)  # before any new work
    elif total is None:
        from pipeline.run.progress import count_total

        total = count_total(inputs, cfg.ingest)

    def report(batch_docs: int = 0, batch_timings: dict | None = None) -> None:
        if on_progress is None:
            return
        on_progress(RunProgress(
            done=ledger.done, total=total, documents=ledger.documents,
            skipped=len(ledger.skipped), claims=ledger.claims, pairs=ledger.pairs,
            flags=ledger.flags, elapsed=time.perf_counter() - t0,
            resumed_from=ledger.resumed_documents, batch_docs=batch_docs,
            batch_timings=batch_timings or {}, engine=engine.name))

    report()
    batches = make_batches(iter_items(inputs, cfg.ingest), cfg.batch_docs, done, seen_skips)
    for batch, result in engine.map(batches):
        rows = result["rows"] if result else []
        rec = result["rec"] if result else {"batch": batch.seq, "docs": [], "skipped": [],
                                            "claims": 0, "pairs": 0, "flags": 0, "timings": {}}
        rec["skipped"] = batch.skipped + rec["skipped"]
        rec["hashes"] = batch.hashes
        store.commit(rows, rec)
        ledger.add(rec)
        report(len(batch.hashes), rec.get("timings"))
    ray_init = getattr(engine, "ray_init_s", 0.0)
    if ray_init:
        ledger.timings["ray_init"] = ledger.timings.get("ray_init", 0.0) + ray_init

    summary = _finalize(out, manifest, store, cfg, ledger, inputs=inputs, resumed=resumed,
                        engine=engine.name, t0=t0)
    if keep_parts:
        store.mark_finished()
    else:
        store.remove()
    return summary


def _check_unchanged(inputs: list[str], cfg: RunConfig, done: dict[str, str]) -> int:
    """Read the inputs once and refuse a resume whose committed documents changed or went
    missing; returns the number of input items (the progress total)."""
    seen: set[str] = set()
    n = 0
    for item in iter_items(inputs, cfg.ingest):
        n += 1
        if not isinstance(item, Document) or item.id not in done:
            continue
        seen.add(item.id)
        want = done[item.id]
        if want and text_hash(item.text) != want:
            raise ResumeError(
                f"document {item.id!r} ({item.origin}) changed since the interrupted run "
                f"committed it; its rows would be stale",
                fix="start over with --fresh, or write to a new output with -o",
            )
    missing = sorted(set(done) - seen)
    if missing:
        raise ResumeError(
            f"{len(missing)} committed document(s) are no longer in the inputs, e.g. "
            f"{missing[0]!r}",
            fix="start over with --fresh, or write to a new output with -o",
        )
    return n


def _finalize(out: Path, manifest: Path, store: PartsStore, cfg: RunConfig, ledger: Ledger, *,
              inputs: list[str], resumed: bool, engine: str, t0: float) -> RunSummary:
    """Sort the committed rows into the output(s) and write the manifest (both engines)."""
    from pipeline.run.sinks import output_paths, write_json, write_outputs

    t = time.perf_counter()
    top: list[dict] = []

    def rows_with_top() -> Iterator[dict]:
        top.clear()  # called once per sink: the top rows are the same each time
        for r in store.sorted_rows():
            if len(top) < cfg.output.top:
                top.append(r)
            yield r

    outputs = {k: str(v) for k, v in output_paths(out, cfg.output.formats).items()}
    info = ledger.manifest(cfg, inputs=inputs, outputs=outputs, n_rows=ledger.flags,
                           resumed=resumed, engine=engine)
    # the one place where the outputs are written: every format (csv, jsonl, parquet, html)
    # gets the same rows in the same order
    n_rows = write_outputs(out, cfg.output.formats, rows_with_top, info).rows
    ledger.timings["write"] = ledger.timings.get("write", 0.0) + time.perf_counter() - t
    ledger.timings["total"] = time.perf_counter() - t0
    write_json(manifest, ledger.manifest(cfg, inputs=inputs, outputs=outputs, n_rows=n_rows,
                                         resumed=resumed, engine=engine))
    return RunSummary(
        out_csv=out, manifest=manifest, documents=ledger.documents, skipped=ledger.skipped,
        claims=ledger.claims, pairs=ledger.pairs, flags=n_rows, top=top,
        timings={k: round(v, 3) for k, v in ledger.timings.items()}, dropped=dict(ledger.dropped),
        top_skip_reasons=ledger.top_skip_reasons(), resumed=resumed,
        resumed_documents=ledger.resumed_documents if resumed else 0, outputs=outputs,
        engine=engine)
