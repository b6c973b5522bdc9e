"""The local engine: batches processed in this process, one after another.

Models load once (the ``Pipeline`` is kept for the whole run, or passed in to reuse one
already loaded); with ``pair.cross_document`` the Pipeline's claim index sees every batch in
order and is persisted to the run's parts folder before each commit. With
``segment.prefetch`` the next batch is normalised and parsed in a background thread while
this one goes through the later stages. The run layer
(``pipeline.run.api.run``) does the reading, committing, resuming and bookkeeping.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from collections.abc import Iterable, Iterator

from pipeline.config import RunConfig
from pipeline.run.batches import Batch, BatchOutput, process_batch

log = logging.getLogger(__name__)


class LocalEngine:
    """The in-process engine: one Pipeline, the batches one after another, each next batch
    parsed ahead in a background thread when ``segment.prefetch``."""
    name = "local"

    def __init__(self, cfg: RunConfig, pipeline=None):
        self.cfg = cfg
        self.pipe = pipeline
        self.on_window = None  # (doc id, windows done, windows): set by the run layer

    def open(self, parts: Path, committed_docs: set[str]) -> list[str]:
        """Build (or reuse) the Pipeline; reload a resumed run's cross-document index.
        Returns notes on torn files dropped while reloading."""
        if self.pipe is None:
            from pipeline.pipeline import Pipeline

            self.pipe = Pipeline(self.cfg)
        self.pipe.on_window = self.on_window
        return self.pipe.start_run(parts, committed_docs)

    def map(self, batches: Iterable[Batch]) -> Iterator[tuple[Batch, BatchOutput | None]]:
        """Process ``batches`` in order, yielding each with its result (None for a batch of only
        skips); a parse ahead that raises is done again in the main thread."""
        if not self.cfg.segment.prefetch:
            for batch in batches:
                yield batch, self._one(batch, None)
            return
        with ThreadPoolExecutor(1, thread_name_prefix="contradict-parse") as pool:
            def ahead(b: Batch | None):
                return pool.submit(self.pipe.parse, b.docs) if b is not None and b.docs else None

            it = iter(batches)
            b: Batch | None = next(it, None)
            fut = ahead(b)
            while b is not None:
                nxt = next(it, None)
                nxt_fut = ahead(nxt)  # parsed while this batch is embedded and scored
                parsed = None
                if fut is not None:
                    t = time.perf_counter()
                    try:
                        parsed = fut.result()
                        # the main thread's wait for it; its parse time overlapped the last batch
                        parsed = replace(parsed, timings={**parsed.timings,
                                                          "parse_wait": time.perf_counter() - t})
                    except Exception as exc:  # noqa: BLE001 - process_batch parses again and isolates it
                        log.debug("parsing ahead raised %s; the batch is parsed again", exc)
                yield b, self._one(b, parsed)
                b, fut = nxt, nxt_fut

    def _one(self, b: Batch, parsed) -> BatchOutput | None:
        result = process_batch(self.pipe, b.docs, b.seq, parsed) if b.docs else None
        self.pipe.persist()  # cross-document claims before the batch's commit
        return result

    def close(self) -> None:
        """Nothing to release (the models stay loaded for the process)."""
        pass
