"""The local engine: batches processed in this process, one after another.

Models load once (the ``Pipeline`` is kept for the whole run, or passed in to reuse one
already loaded); with ``pair.cross_document`` the Pipeline's claim index sees every batch in
order and is persisted to the run's parts folder before each commit. The run layer
(``pipeline.run.api.run``) does the reading, committing, resuming and bookkeeping.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Iterator

from pipeline.config import RunConfig
from pipeline.run.batches import Batch, process_batch


class LocalEngine:
    name = "local"

    def __init__(self, cfg: RunConfig, pipeline=None):
        self.cfg = cfg
        self.pipe = pipeline

    def open(self, parts: Path, committed_docs: set[str]) -> list[str]:
        """Build (or reuse) the Pipeline; reload a resumed run's cross-document index.
        Returns notes on torn files dropped while reloading."""
        if self.pipe is None:
            from pipeline.pipeline import Pipeline

            self.pipe = Pipeline(self.cfg)
        return self.pipe.start_run(parts, committed_docs)

    def map(self, batches: Iterable[Batch]) -> Iterator[tuple[Batch, dict]]:
        for b in batches:
            result = process_batch(self.pipe, b.docs, b.seq) if b.docs else None
            self.pipe.persist()  # cross-document claims before the batch's commit
            yield b, result

    def close(self) -> None:
        pass
