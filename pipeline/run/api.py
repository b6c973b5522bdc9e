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

import errno
import hashlib
import json
import logging
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Callable, Iterator

from pipeline.config import RunConfig, to_dict
from pipeline.errors import ContradictError, OutputError, ResumeError, RunInterrupted, printable
from pipeline.run.atomic import temp_path
from pipeline.run.batches import BatchOutput, make_batches
from pipeline.run.ledger import Ledger, manifest_path
from pipeline.run.store import PartsStore, RunLocks, lock_path, parts_path, text_hash
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
    # progress within one long document (local engine): (doc id, windows done, windows)
    window: tuple[str, int, int] | None = None


@dataclass
class RunSummary:
    """What a run did: its output and manifest paths, the counts, the top and best-below-cut
    rows, the cut, timings, what caps dropped and whether it resumed."""
    out_csv: Path
    manifest: Path
    documents: int = 0
    skipped: list[dict] = field(default_factory=list)
    claims: int = 0
    pairs: int = 0
    flags: int = 0
    top: list[dict] = field(default_factory=list)
    below: list[dict] = field(default_factory=list)  # with no flag: the best rows under the cut
    cut: float | None = None  # the decision stage's cut on the score column
    timings: dict[str, float] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)
    top_skip_reasons: list[tuple[str, int]] = field(default_factory=list)
    resumed: bool = False
    resumed_documents: int = 0
    outputs: dict[str, str] = field(default_factory=dict)
    engine: str = "local"


# ------------------------------------------------------------------------------ checks
def model_hashes(cfg: RunConfig) -> dict[str, str]:
    """sha256 of what scores the rows: the NLI weights, the decision model (unless the
    decision is a plain threshold) and the embedder's weights. A hub id that is not a local
    folder is named instead (it is in the config too)."""
    from pipeline import onnx_cache
    from pipeline.config import minilm_path

    def weights(folder: str) -> str:
        p = Path(folder).expanduser()
        w = onnx_cache.weights_file(p) if p.is_dir() else None
        return onnx_cache.sha256_file(w) if w is not None else f"not a local folder: {folder}"

    nli = cfg.score.resolved_model()
    out = {"nli": weights(nli)}
    if cfg.decide.method != "threshold":
        dec = Path(cfg.decide.classifier) if cfg.decide.classifier else Path(nli) / "decider.json"
        out["decider"] = onnx_cache.sha256_file(dec) if dec.is_file() else "none"
    try:
        out["embedder"] = weights(minilm_path(cfg.topics.embedder))
    except ContradictError:
        out["embedder"] = f"unavailable: {cfg.topics.embedder}"
    return out


def _fingerprint(inputs: list[str], cfg: RunConfig, models: dict[str, str] | None = None) -> str:
    """Inputs, config (less the engine: a local run may be resumed on Ray and back) and the
    sha256 of the models (``model_hashes``)."""
    conf = to_dict(cfg)
    conf.pop("engine", None)
    blob = {"inputs": [str(Path(i).resolve()) for i in inputs], "config": conf}
    if models is not None:
        blob["models"] = models
    return hashlib.sha256(json.dumps(blob, sort_keys=True, default=str).encode()).hexdigest()[:16]


@dataclass
class OutputPlan:
    """Every path a run writes: each format's file and its temporary file, the manifest and its
    temporary file, the parts folder, and one lock file per output file (so that two runs
    sharing any file, e.g. ``-o x.csv`` and ``-o x.tsv`` sharing ``x.manifest.json``, are
    refused). A file named through a symbolic link is written through it: its temporary
    file lies beside the link's target."""

    out: Path
    manifest: Path
    formats: dict[str, Path]
    parts: Path
    locks: list[Path]

    def files(self) -> list[tuple[str, Path]]:
        """(what, path) for every file written, finals first, then temporary files and locks."""
        from pipeline.run.atomic import temp_path

        finals = [(f"the {fmt} output", p) for fmt, p in self.formats.items()]
        finals.append(("the manifest", self.manifest))
        tmps = [(f"{what}'s temporary file", temp_path(p)) for what, p in finals]
        locks = [("the lock file", lk) for lk in self.locks]
        return finals + tmps + locks

    def exclude(self) -> frozenset[str]:
        """What a folder input must never read as a document (resolved paths)."""
        return frozenset([_real(p) for _, p in self.files()] + [_real(self.parts)])


def _real(p: Path) -> str:
    return os.path.realpath(p)


def _named_file(p: Path, what: str, option: str) -> None:
    if p.name in ("", ".", ".."):
        raise OutputError(f"{what} {p} names a folder, not a file",
                          fix=f"name a file, e.g. {option} out/flagged.csv")


def plan_outputs(out: str | Path, formats: list[str], manifest: str | Path | None = None) -> OutputPlan:
    """The paths of a run on ``out`` (see OutputPlan).

    Raises:
        OutputError: ``out`` or the manifest has no file name ("", ".", "/").
        ConfigError: two formats would write one file.
    """
    from pipeline.run.sinks import output_paths

    out = Path(out)
    _named_file(out, "the output", "-o")
    if manifest is not None and str(manifest) != "":
        manifest = Path(manifest)
        _named_file(manifest, "the manifest path", "--manifest")
    elif manifest is not None:
        raise OutputError("the manifest path '' names a folder, not a file",
                          fix="name a file, e.g. --manifest out/flagged.manifest.json")
    else:
        manifest = manifest_path(out)
    paths = output_paths(out, formats)
    locks = [lock_path(out)]
    seen = {_real(locks[0])}
    for p in [*paths.values(), manifest]:
        lk = lock_path(Path(_real(p)))
        if _real(lk) not in seen:
            seen.add(_real(lk))
            locks.append(lk)
    return OutputPlan(out=out, manifest=manifest, formats=paths, parts=parts_path(out), locks=locks)


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def check_outputs(inputs: list[str], out: Path | OutputPlan, manifest: Path | None = None) -> OutputPlan:
    """Refuse, before any work and without creating anything, an output that is an input, a
    folder, a device or FIFO, or cannot be written, and two outputs that are one file.

    Every path the run writes (each format, the manifest, their temporary files, the parts
    folder, the locks) is compared, after resolving links, with every input and with each
    other. Folders are created later, by ``make_folders``.
    """
    plan = out if isinstance(out, OutputPlan) else plan_outputs(out, ["csv"], manifest)
    out, manifest = plan.out, plan.manifest
    files = plan.files()
    if out.exists() and out.is_dir():
        raise OutputError(f"the output {out} is a folder", expected="a file to write",
                          fix=f"name a file, e.g. -o {out / 'flagged.csv'}")
    if manifest.exists() and manifest.is_dir():
        raise OutputError(f"the manifest path {manifest} is a folder",
                          fix=f"name a file, e.g. --manifest {manifest / 'flagged.manifest.json'}")
    for what, t in files:
        if t.exists() and not t.is_file():
            kind = "a folder" if t.is_dir() else "a device, FIFO or socket"
            raise OutputError(f"{what} {t} is {kind}, not a regular file; the run would replace it",
                              fix="name a regular file, e.g. -o out/flagged.csv")
    parts = _real(plan.parts)
    if plan.parts.exists() and not plan.parts.is_dir():
        raise OutputError(f"the parts folder {plan.parts} is a file",
                          fix="move it away, or write to another output with -o")
    real = [(what, t, _real(t)) for what, t in files]
    for i, (wa, ta, ra) in enumerate(real):
        for wb, tb, rb in real[i + 1:]:
            if ra == rb:
                if wa == "the manifest" and wb == "the csv output":
                    raise OutputError(f"the output and the manifest are the same file ({ta})",
                                      fix="give --manifest another name")
                raise OutputError(f"{wa} {ta} and {wb} {tb} are the same file; one would "
                                  f"overwrite the other",
                                  fix="give --manifest (or -o) another name")
        if _inside(ra, parts):
            raise OutputError(f"{wa} {ta} is inside the parts folder {plan.parts}, which is "
                              f"deleted when the run ends",
                              fix="write it somewhere else, e.g. beside -o")
    for inp in inputs:
        p = Path(inp)
        rp = _real(p)
        if _inside(rp, parts):
            raise OutputError(f"the input {p} is inside the parts folder {plan.parts}, which the "
                              f"run replaces and deletes",
                              fix="move the input out of it, or write to another output with -o")
        for what, t, rt in real:
            if _same_file(p, rp, t, rt):
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
            with tempfile.NamedTemporaryFile(dir=anc, prefix=".contradict-probe-"):
                pass
        except OSError as exc:
            raise OutputError(f"cannot write to {path}: {exc.strerror or exc}",
                              fix="choose a writable folder for -o (and --manifest)") from None
    for t in (out, manifest):
        if t.exists() and not os.access(t, os.W_OK):
            raise OutputError(f"{t} exists and is not writable", fix="choose another output")
    return plan


def _same_file(p: Path, rp: str, t: Path, rt: str) -> bool:
    """Whether the input ``p`` and the output ``t`` (``rp``, ``rt``: their resolved paths) are
    one file: the same resolved path, or the same inode (a hard link)."""
    if rp == rt:
        return True
    if not t.exists():
        return False
    try:
        return os.path.samefile(p, t)
    except OSError:
        return False


def check_output_file(inputs: list[str], out: str | Path) -> Path:
    """The checks of ``check_outputs`` for a command that writes one file (``claims``): no
    input, folder, device or FIFO is replaced. Returns ``out`` as a Path."""
    out = Path(out)
    _named_file(out, "the output", "-o")
    for what, t in [("the output", out), ("the output's temporary file", temp_path(out))]:
        if t.exists() and not t.is_file():
            kind = "a folder" if t.is_dir() else "a device, FIFO or socket"
            raise OutputError(f"{what} {t} is {kind}, not a regular file",
                              fix="name a regular file, e.g. -o out/claims.csv")
        for inp in inputs:
            if _same_file(Path(inp), _real(Path(inp)), t, _real(t)):
                raise OutputError(f"{what} {t} is one of the inputs; writing it would destroy it",
                                  fix="write the output somewhere else, e.g. -o out/claims.csv")
    return out


def make_folders(plan: OutputPlan) -> list[Path]:
    """Create the missing folders of the outputs; returns those created (deepest last)."""
    created: list[Path] = []
    for folder in dict.fromkeys([plan.out.parent, plan.manifest.parent,
                                 *(p.parent for p in plan.formats.values())]):
        missing = []
        anc = Path(folder)
        while not anc.exists() and anc != anc.parent:
            missing.append(anc)
            anc = anc.parent
        for m in reversed(missing):
            try:
                m.mkdir()
            except FileExistsError:
                continue
            except OSError as exc:
                raise OutputError(f"cannot create {m}: {exc.strerror or exc}",
                                  fix="choose a writable folder for -o (and --manifest)") from None
            created.append(m)
    return created


def _remove_empty(folders: list[Path]) -> None:
    for f in reversed(folders):
        try:
            f.rmdir()
        except OSError:
            pass


def check_model(cfg: RunConfig) -> None:
    """Load the NLI model's config and check its labels before any document is read."""
    from pipeline.nli.model import check_model as _check

    _check(cfg.score.resolved_model(), backend=cfg.score.backend)


def make_engine(cfg: RunConfig, pipeline=None):
    """The engine ``cfg.engine`` names: ``RayEngine`` for ray, else ``LocalEngine`` (using
    ``pipeline`` when given)."""
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
    inputs = [str(i) for i in inputs]
    plan = plan_outputs(out, cfg.output.formats, manifest)
    check_inputs(inputs)
    check_outputs(inputs, plan)
    if pipeline is None:
        check_model(cfg)
    created: list[Path] = []
    ok = False
    try:
        created = make_folders(plan)
        engine = make_engine(cfg, pipeline)
        try:
            lock = RunLocks(plan.locks).acquire()
            try:
                summary = _run_locked(inputs, plan, cfg, engine, resume=resume, fresh=fresh,
                                      keep_parts=keep_parts, on_progress=on_progress,
                                      total=total, t0=t0)
                ok = True
                return summary
            finally:
                lock.release()
        finally:
            engine.close()
    except OSError as exc:  # the lock or the parts folder could not be written (a full disk)
        if exc.errno not in _WRITE_ERRNOS:
            raise
        raise OutputError(f"cannot write {exc.filename or plan.parts}: {exc.strerror or exc}; "
                          f"nothing was committed", fix="free space (or fix the cause), then run "
                          "the same command again") from None
    finally:
        if not ok:
            _remove_empty(created)  # a refused run leaves no folder behind


# errors of a write that a user can fix (and then --resume)
_WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EIO}


def _write_failed(exc: OSError, path: Path | str | None, ledger: Ledger, store: PartsStore) -> OutputError:
    where = exc.filename or path or "an output"
    kept = (f"{ledger.documents} documents are committed in {store.folder} and kept"
            if ledger.documents or ledger.skipped else "nothing was committed yet")
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        fix = "free space on that filesystem, then run the same command with --resume"
    else:
        fix = "fix the cause, then run the same command with --resume"
    return OutputError(f"cannot write {where}: {exc.strerror or exc}; {kept}; no output of this "
                       f"run was written", fix=fix)


def _interrupted(ledger: Ledger, store: PartsStore) -> RunInterrupted:
    if ledger.complete:
        return RunInterrupted(
            f"interrupted after every output and the manifest were written: the run is complete; "
            f"what is left of {printable(store.folder)} can be deleted")
    if ledger.batches:
        return RunInterrupted(
            f"interrupted: {ledger.documents} documents processed and {len(ledger.skipped)} "
            f"skipped are committed in {printable(store.folder)} and kept; continue with the "
            f"same command and --resume (or start over with --fresh)")
    return RunInterrupted("interrupted before the first batch was committed; nothing to resume")


def _run_locked(inputs, plan: OutputPlan, cfg, engine, *, resume, fresh, keep_parts,
                on_progress, total, t0) -> RunSummary:
    store = PartsStore(plan.parts)
    models = model_hashes(cfg)
    fingerprint = _fingerprint(inputs, cfg, models)
    exclude = plan.exclude()
    ledger = Ledger(keep_below=cfg.output.top)
    done: dict[str, str] = {}  # committed document id -> text hash
    resumed = False
    if resume and store.exists() and store.progress.is_file():
        committed = store.load(fingerprint, models)
        for rec in committed.commits:
            ledger.add(rec)
            done.update(rec.get("hashes") or {d: "" for d in rec["docs"]})
        ledger.recovered.extend(committed.torn)
        ledger.resumed_documents = ledger.done
        resumed = bool(committed.commits)
        if not resumed:
            store.start(fingerprint, inputs, engine.name, models)
    elif store.unfinished() and not fresh:
        raise ResumeError(
            f"an interrupted run left its parts in {store.folder}",
            fix="continue it with --resume, or discard it and start over with --fresh",
        )
    else:
        store.start(fingerprint, inputs, engine.name, models)
    try:
        return _process(inputs, plan, cfg, engine, store, ledger, done, exclude, resumed=resumed,
                        keep_parts=keep_parts, on_progress=on_progress, total=total, t0=t0)
    except KeyboardInterrupt:
        raise _interrupted(ledger, store) from None
    except OSError as exc:
        if exc.errno not in _WRITE_ERRNOS:
            raise
        raise _write_failed(exc, None, ledger, store) from None


def _process(inputs, plan: OutputPlan, cfg, engine, store: PartsStore, ledger: Ledger,
             done: dict[str, str], exclude: frozenset[str], *, resumed, keep_parts, on_progress,
             total, t0) -> RunSummary:
    seen_skips = {(s["file"], s.get("line"), s["reason"]) for s in ledger.skipped}

    def report(batch_docs: int = 0, batch_timings: dict | None = None,
               window: tuple[str, int, int] | None = None) -> None:
        if on_progress is None:
            return
        on_progress(RunProgress(
            done=ledger.done, total=total, documents=ledger.documents,
            skipped=len(ledger.skipped), claims=ledger.claims, pairs=ledger.pairs,
            flags=ledger.flags, elapsed=time.perf_counter() - t0,
            resumed_from=ledger.resumed_documents, batch_docs=batch_docs,
            batch_timings=batch_timings or {}, engine=engine.name, window=window))

    if hasattr(engine, "on_window"):  # progress within a long document (local engine)
        engine.on_window = None if on_progress is None else (
            lambda doc, k, n: report(window=(doc, k, n)))
    ledger.recovered.extend(engine.open(store.folder, set(done)))

    if resumed:
        total = _check_unchanged(inputs, cfg, done, exclude)  # before any new work
    elif total is None:
        from pipeline.run.progress import count_total

        total = count_total(inputs, cfg.ingest, exclude=exclude)

    report()
    batches = make_batches(iter_items(inputs, cfg.ingest, exclude=exclude), cfg.batch_docs, done,
                           seen_skips)
    for batch, result in engine.map(batches):
        out = result if result is not None else BatchOutput.empty(batch.seq)
        rows = out.rows
        rec = {**out.rec, "skipped": batch.skipped + out.rec["skipped"], "hashes": batch.hashes}
        try:
            store.commit(rows, rec)
        except OSError as exc:
            raise _write_failed(exc, store.flags, ledger, store) from None
        ledger.add(rec)
        report(len(batch.hashes), rec.get("timings"))
    ray_init = getattr(engine, "ray_init_s", 0.0)
    if ray_init:
        ledger.timings["ray_init"] = ledger.timings.get("ray_init", 0.0) + ray_init

    summary = _finalize(plan, store, cfg, ledger, inputs=inputs, resumed=resumed,
                        engine=engine.name, t0=t0)
    ledger.complete = True
    if keep_parts:
        store.mark_finished()
    else:
        store.remove()
    return summary


def _check_unchanged(inputs: list[str], cfg: RunConfig, done: dict[str, str],
                     exclude: frozenset[str] = frozenset()) -> int:
    """Read the inputs once and refuse a resume whose committed documents changed or went
    missing; returns the number of input items (the progress total)."""
    seen: set[str] = set()
    n = 0
    for item in iter_items(inputs, cfg.ingest, exclude=exclude):
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


def _finalize(plan: OutputPlan, store: PartsStore, cfg: RunConfig, ledger: Ledger, *,
              inputs: list[str], resumed: bool, engine: str, t0: float) -> RunSummary:
    """Sort the committed rows into the output(s) and write the manifest (both engines).

    Every file is first written beside its final name (``.tmp``), the manifest last; only
    when all are written are they renamed into place, so a failure (a full disk) leaves no
    output that looks complete without its manifest, and the parts stay for ``--resume``."""
    from pipeline.run.sinks import stage_outputs

    t = time.perf_counter()
    top: list[dict] = []

    def rows_with_top() -> Iterator[dict]:
        top.clear()  # called once per sink: the top rows are the same each time
        for r in store.sorted_rows():
            if len(top) < cfg.output.top:
                top.append(r)
            yield r

    out, manifest = plan.out, plan.manifest
    outputs = {k: str(v) for k, v in plan.formats.items()}
    info = ledger.manifest(cfg, inputs=inputs, outputs=outputs, n_rows=ledger.flags,
                           resumed=resumed, engine=engine)
    # the one place where the outputs are written: every format (csv, jsonl, parquet, html)
    # gets the same rows in the same order
    try:
        staged = stage_outputs(out, cfg.output.formats, rows_with_top, info)
    except OSError as exc:
        raise _write_failed(exc, None, ledger, store) from None
    try:
        n_rows = staged.rows
        ledger.timings["write"] = ledger.timings.get("write", 0.0) + time.perf_counter() - t
        ledger.timings["total"] = time.perf_counter() - t0
        staged.add_json(manifest, ledger.manifest(cfg, inputs=inputs, outputs=outputs,
                                                  n_rows=n_rows, resumed=resumed, engine=engine))
        staged.commit()
    except OSError as exc:
        staged.discard()
        raise _write_failed(exc, None, ledger, store) from None
    except BaseException:
        staged.discard()
        raise
    return RunSummary(
        out_csv=out, manifest=manifest, documents=ledger.documents, skipped=ledger.skipped,
        claims=ledger.claims, pairs=ledger.pairs, flags=n_rows, top=top,
        below=[] if n_rows else list(ledger.below), cut=ledger.cut,
        timings={k: round(v, 3) for k, v in ledger.timings.items()}, dropped=dict(ledger.dropped),
        top_skip_reasons=ledger.top_skip_reasons(), resumed=resumed,
        resumed_documents=ledger.resumed_documents if resumed else 0, outputs=outputs,
        engine=engine)
