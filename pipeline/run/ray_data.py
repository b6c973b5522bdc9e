"""The same stages on Ray Data (``engine: ray``), for corpora past one machine.

Documents are read on the driver with ``ingest.iter_items`` (Skipped records go straight
to the manifest), turned into a ``ray.data`` dataset of document dicts, and processed by
``map_batches`` with an actor pool: each actor builds one ``Pipeline(cfg)`` (models load
once per actor) and turns a batch of documents into flag rows plus the batch's counts. The
driver streams the results back, writes the flags to a parts file, sorts them by score into
the CSV and writes the same manifest as the local runner.

Environment:
    RAY_ADDRESS                    a cluster to connect to; unset: a local Ray instance
    CONTRADICT_RAY_ACTORS          actors in the pool (default 1)
    CONTRADICT_RAY_CPUS_PER_ACTOR  CPUs reserved per actor, also its torch threads (default 1)

Not supported on Ray: cross-document pairing (it needs one claim index seen by every
batch) and ``--resume`` (a Ray run is redone from the start).

Example:
    >>> from pipeline.config import RunConfig
    >>> from pipeline.ray_engine import run_ray
    >>> run_ray(["data/sample"], "out/flagged.csv", RunConfig(engine="ray"))  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
import time
from pathlib import Path
from typing import Any

from pipeline.config import RunConfig
from pipeline.errors import ConfigError
from pipeline.stages.ingest import iter_items
from pipeline.types import Document, Skipped

log = logging.getLogger(__name__)

DOC_FIELDS = ("id", "text", "title", "date", "source", "url", "origin")


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a positive integer", found=raw) from exc
    if value < 1:
        raise ConfigError(f"{name} must be a positive integer", found=raw)
    return value


def _portable(cfg: RunConfig) -> RunConfig:
    """A copy of cfg whose local paths are absolute, so actors find them whatever their cwd."""
    def absolute(p: str) -> str:
        return str(Path(p).expanduser().resolve()) if p and Path(p).expanduser().exists() else p

    score = dataclasses.replace(cfg.score, model=absolute(cfg.score.resolved_model()))
    embedder = cfg.topics.embedder
    topics = dataclasses.replace(cfg.topics, embedder=embedder if embedder == "auto" else absolute(embedder))
    decide = dataclasses.replace(cfg.decide, classifier=absolute(cfg.decide.classifier))
    return dataclasses.replace(cfg, score=score, topics=topics, decide=decide)


class PipelineActor:
    """One Pipeline per actor; ``__call__`` maps a batch of document dicts to result rows.

    Each output row is ``{"kind": "flag" | "batch", "seq": int, "payload": json}``: one row per
    flag (``write.flag_row``) and one per batch with its documents, counts and timings. The
    payload is JSON text so that Arrow never has to unify schemas across batches.
    """

    def __init__(self, cfg: RunConfig, threads: int = 1, quiet: bool = True):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        try:
            import torch

            torch.set_num_threads(max(1, threads))
        except ImportError:  # pragma: no cover
            pass
        if quiet:
            try:
                from transformers.utils import logging as hf_logging

                hf_logging.disable_progress_bar()
            except ImportError:  # pragma: no cover
                pass
        from pipeline.pipeline import Pipeline

        self.pipeline = Pipeline(cfg)
        # load the models now, not inside the first batch
        self.pipeline.nli  # noqa: B018
        self.pipeline.decider  # noqa: B018

    def __call__(self, batch: dict[str, Any]) -> dict[str, list]:
        from pipeline.run.sinks import flag_row

        n = len(batch["id"])
        docs = [Document(**{f: str(batch[f][i]) for f in DOC_FIELDS}) for i in range(n)]
        seqs = [int(s) for s in batch["_seq"]]
        res = self.pipeline.process(docs)
        first = min(seqs) if seqs else 0
        kinds, order, payloads = [], [], []
        for i, f in enumerate(res.flags):
            kinds.append("flag")
            order.append(first * 1_000_000 + i)
            payloads.append(json.dumps(flag_row(f), ensure_ascii=False))
        kinds.append("batch")
        order.append(first)
        payloads.append(json.dumps({
            "docs": [d.id for d in docs], "claims": len(res.claims), "pairs": len(res.pairs),
            "flags": len(res.flags), "timings": {k: round(v, 4) for k, v in res.timings.items()},
        }))
        return {"kind": kinds, "seq": order, "payload": payloads}


def _ray_log_level() -> int:
    return logging.INFO if logging.getLogger().isEnabledFor(logging.INFO) else logging.WARNING


def _init_ray(actors: int, cpus_per_actor: int) -> bool:
    """Connect to RAY_ADDRESS or start a local instance; True if this call started/connected
    (and so should shut down/disconnect at the end)."""
    import ray

    if ray.is_initialized():
        return False
    address = os.environ.get("RAY_ADDRESS", "").strip()
    if address:
        log.info("connecting to the Ray cluster at %s", address)
        ray.init(address=address, ignore_reinit_error=True, log_to_driver=True,
                 logging_level=_ray_log_level())
    else:
        cpus = max(os.cpu_count() or 1, actors * cpus_per_actor)
        log.info("starting a local Ray instance with %d CPUs", cpus)
        ray.init(num_cpus=cpus, include_dashboard=False, ignore_reinit_error=True,
                 log_to_driver=True, logging_level=_ray_log_level())
    return True


def _quiet_ray_data() -> None:
    """No progress bars or per-operator logs unless the caller asked for INFO logging."""
    import ray.data

    ctx = ray.data.DataContext.get_current()
    for attr in ("enable_progress_bars", "enable_operator_progress_bars", "print_on_execution_start",
                 "enable_auto_log_stats"):
        if hasattr(ctx, attr):
            setattr(ctx, attr, False)
    logging.getLogger("ray.data").setLevel(logging.WARNING)


def run_ray(inputs: list[str], out_csv: str | Path, cfg: RunConfig,
            manifest: str | Path | None = None):
    """Run the pipeline over ``inputs`` on Ray Data; write the CSV and manifest.

    Args:
        inputs: files and folders (see ingest.py).
        out_csv: the flagged-pairs CSV to write.
        cfg: the run configuration (``pair.cross_document`` must be off).
        manifest: where to write manifest.json (default: beside the CSV).

    Returns:
        runner.RunSummary, as the local runner returns.

    Raises:
        ConfigError: cross-document pairing is on, or a CONTRADICT_RAY_* variable is bad.
        InputError: an input path does not exist.
    """
    from pipeline.run.local import finalize

    if cfg.pair.cross_document:
        raise ConfigError("cross-document pairing is not supported with engine=ray",
                          fix="run with --engine local, or turn pair.cross_document off")
    try:
        import ray
        from ray.data import ActorPoolStrategy
    except ImportError as exc:
        raise ConfigError("engine=ray needs Ray Data installed",
                          fix="pip install 'contradict[ray]' (ray[data])") from exc

    t0 = time.perf_counter()
    out_csv = Path(out_csv)
    manifest = Path(manifest) if manifest else out_csv.with_name("manifest.json")
    inputs = [str(i) for i in inputs]
    actors = _env_int("CONTRADICT_RAY_ACTORS", 1)
    cpus_per_actor = _env_int("CONTRADICT_RAY_CPUS_PER_ACTOR", 1)

    # ingest on the driver ----------------------------------------------------------------
    skipped: list[dict] = []
    docs: list[dict] = []
    for item in iter_items(inputs, cfg.ingest):  # raises InputError for a missing path
        if isinstance(item, Skipped):
            skipped.append({"file": item.file, "line": item.line, "reason": item.reason,
                            "doc_id": item.doc_id})
            continue
        rec = {f: getattr(item, f) for f in DOC_FIELDS}
        rec["_seq"] = len(docs)
        docs.append(rec)
    timings: dict[str, float] = {"ingest": time.perf_counter() - t0}

    counts = {"documents": 0, "claims": 0, "pairs": 0, "flags": 0}
    done: list[str] = []
    parts = out_csv.with_name(out_csv.name + ".parts")
    shutil.rmtree(parts, ignore_errors=True)
    parts.mkdir(parents=True)
    flags_file = parts / "flags.jsonl"
    flags_file.touch()
    started = False
    try:
        if docs:
            t = time.perf_counter()
            started = _init_ray(actors, cpus_per_actor)
            timings["ray_init"] = time.perf_counter() - t
            quiet = not logging.getLogger().isEnabledFor(logging.INFO)
            if quiet:
                _quiet_ray_data()
            ds = ray.data.from_items(docs)
            docs = []  # the dataset holds them now
            ds = ds.map_batches(
                PipelineActor,
                fn_constructor_kwargs={"cfg": _portable(cfg), "threads": cpus_per_actor,
                                       "quiet": quiet},
                batch_size=cfg.batch_docs, batch_format="numpy",
                compute=ActorPoolStrategy(size=actors), num_cpus=cpus_per_actor,
            )
            with flags_file.open("w", encoding="utf-8") as fh:
                for row in ds.iter_rows():
                    payload = json.loads(row["payload"])
                    if row["kind"] == "flag":
                        # _seq keeps ties in input order; the CSV writer ignores it
                        fh.write(json.dumps({**payload, "_seq": int(row["seq"])},
                                            ensure_ascii=False) + "\n")
                        continue
                    done.extend(payload["docs"])
                    counts["documents"] += len(payload["docs"])
                    for k in ("claims", "pairs", "flags"):
                        counts[k] += int(payload[k])
                    for k, v in payload["timings"].items():
                        timings[k] = timings.get(k, 0.0) + v
    finally:
        if started:
            ray.shutdown()  # a local instance stops; a cluster connection only disconnects

    summary = finalize(out_csv, manifest, flags_file, cfg, inputs=inputs, counts=counts, done=done,
                       skipped=skipped, timings=timings, resumed=False, t0=t0)
    shutil.rmtree(parts, ignore_errors=True)
    return summary
