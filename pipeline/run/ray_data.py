"""The Ray engine (``engine: ray``): the same stages on Ray Data, for corpora past one machine.

The run layer (``pipeline.run.api.run``) reads the documents lazily on the driver, cuts them
into batches and commits each batch's result to the same parts store as the local engine,
so a Ray run resumes (``--resume``) and reports progress like a local one. This engine only
ships batches to an actor pool, a chunk of documents at a time (see ``RayEngine``); each
actor holds one ``Pipeline(cfg)`` (models load once per actor and chunk).

Environment:
    RAY_ADDRESS                    a cluster to connect to; unset: a local Ray instance
    CONTRADICT_RAY_ACTORS          actors in the pool (default 1)
    CONTRADICT_RAY_CPUS_PER_ACTOR  CPUs reserved per actor, also its torch threads (default 1)
    CONTRADICT_RAY_CHUNK_DOCS      documents sent to Ray at a time (default 1024): the most
                                   the driver holds

Not supported on Ray: cross-document pairing (it needs one claim index seen by every
batch); the config is refused when it is built.

Example:
    >>> from pipeline.config import RunConfig
    >>> from pipeline.run import run
    >>> run(["data/sample"], "out/flagged.csv", RunConfig(engine="ray"))  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import time
from pathlib import Path
from typing import Any
from collections.abc import Iterable, Iterator

from pipeline.config import RunConfig
from pipeline.errors import ConfigError
from pipeline.run.batches import Batch, BatchOutput
from pipeline.types import Document

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
    """One Pipeline per actor; ``__call__`` maps dataset rows (one row = one driver-made
    batch) to one result row each: ``{"seq": int, "result": json}`` where the JSON is
    ``batches.process_batch``'s ``BatchOutput`` (``to_json``: JSON text, so that Arrow never has
    to unify schemas across batches). Per-document isolation happens here, in the actor.
    """

    def __init__(self, cfg: RunConfig, threads: int = 1, quiet: bool = True):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        if quiet:
            os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
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
        """Process a Ray Data batch (rows of JSON-encoded document batches); returns each
        batch's sequence number and JSON result."""
        from pipeline.run.batches import process_batch

        seqs, results = [], []
        for seq, docs_json in zip(batch["seq"], batch["docs"]):
            docs = [Document(**d) for d in json.loads(str(docs_json))]
            seqs.append(int(seq))
            results.append(process_batch(self.pipeline, docs, int(seq)).to_json())
        return {"seq": seqs, "result": results}


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


class RayEngine:
    """Batches made on the driver, processed by an actor pool on Ray Data.

    The driver reads the lazy ingest stream and sends it to Ray ``chunk_docs`` documents at a
    time (``CONTRADICT_RAY_CHUNK_DOCS``, default 1024): one small dataset per chunk, each row
    one batch, ``map_batches`` over an actor pool. Results are handed back to the run layer
    as each batch completes, so the driver holds at most one chunk of documents and the
    run commits, resumes and reports progress exactly as the local engine does. The actors
    (and their models) are started again for every chunk: a few seconds per chunk.
    """

    name = "ray"

    def __init__(self, cfg: RunConfig):
        if cfg.pair.cross_document:  # also refused when the config is built
            raise ConfigError("cross-document pairing is not supported with engine=ray",
                              fix="run with --engine local, or turn pair.cross_document off")
        try:
            import ray  # noqa: F401
            import ray.data  # noqa: F401
        except ImportError as exc:
            raise ConfigError("engine=ray needs Ray Data installed",
                              fix="pip install 'contradict[ray]' (ray[data])") from exc
        self.cfg = cfg
        self.actors = _env_int("CONTRADICT_RAY_ACTORS", 1)
        self.cpus_per_actor = _env_int("CONTRADICT_RAY_CPUS_PER_ACTOR", 1)
        self.chunk_docs = _env_int("CONTRADICT_RAY_CHUNK_DOCS", 1024)
        self._started = False
        self._ready = False
        self.ray_init_s = 0.0

    def open(self, parts: Path, committed_docs: set[str]) -> list[str]:
        """Nothing to reload: cross-document pairing is not run on Ray (the config refuses it)."""
        return []

    def _start(self) -> None:
        t = time.perf_counter()
        self._started = _init_ray(self.actors, self.cpus_per_actor)
        self.quiet = not logging.getLogger().isEnabledFor(logging.INFO)
        if self.quiet:
            _quiet_ray_data()
        self.ray_init_s = time.perf_counter() - t
        self._ready = True

    def _chunks(self, batches: Iterable[Batch]) -> Iterator[list[Batch]]:
        chunk: list[Batch] = []
        docs = 0
        for b in batches:
            chunk.append(b)
            docs += len(b.docs)
            if docs >= self.chunk_docs:
                yield chunk
                chunk, docs = [], 0
        if chunk:
            yield chunk

    def map(self, batches: Iterable[Batch]) -> Iterator[tuple[Batch, BatchOutput | None]]:
        """Send ``batches`` to the actor pool a chunk at a time; yield each with its result as it
        completes (None for a batch of only skips)."""
        import ray.data
        from ray.data import ActorPoolStrategy

        for chunk in self._chunks(batches):
            work = [b for b in chunk if b.docs]
            for b in chunk:
                if not b.docs:  # only skips: nothing to send
                    yield b, None
            if not work:
                continue
            if not self._ready:
                self._start()
            by_seq = {}
            items = []
            for b in work:
                items.append({"seq": b.seq, "docs": json.dumps(
                    [{f: getattr(d, f) for f in DOC_FIELDS} for d in b.docs], ensure_ascii=False)})
                # the driver keeps ids and hashes, not the texts
                by_seq[b.seq] = Batch(b.seq, [], b.hashes, b.skipped)
            ds: ray.data.Dataset = ray.data.from_items(items, override_num_blocks=len(items))
            del items
            ds = ds.map_batches(
                PipelineActor,
                fn_constructor_kwargs={"cfg": _portable(self.cfg), "threads": self.cpus_per_actor,
                                       "quiet": self.quiet},
                batch_size=1, batch_format="numpy",
                compute=ActorPoolStrategy(size=min(self.actors, len(work))),
                num_cpus=self.cpus_per_actor,
            )
            for row in ds.iter_rows():
                yield by_seq.pop(int(row["seq"])), BatchOutput.from_json(row["result"])
            if by_seq:  # pragma: no cover - Ray lost a batch without raising
                raise RuntimeError(f"Ray returned no result for batches {sorted(by_seq)}")

    def close(self) -> None:
        """Shut down the Ray instance this engine started (a cluster connection only disconnects)."""
        if self._started:
            import ray

            ray.shutdown()  # a local instance stops; a cluster connection only disconnects
            self._started = False
