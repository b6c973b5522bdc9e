"""The one place that assembles the stages: ``STAGES``, in order, and a loop.

    ingest -> normalize -> parse -> segment -> attribute -> claim_info -> embed -> topics
      -> pair (+ gate) -> cascade -> score -> confirm -> decide -> write

Each entry of ``STAGES`` is a stage class (``pipeline/components.py``, the protocol in
``pipeline/stages/base.py``); its ``name`` is its timing key in every batch's ``timings``,
the manifest's ``timings_s`` and ``scripts/bench.py``'s per-stage profile, so adding a
stage is its module, its class and one entry here (plus its config section).

``Pipeline(cfg)`` builds the stages and holds the models they share (they load lazily, once
per process); ``Pipeline.process(docs)`` runs a batch of documents through every stage and
returns one ``BatchResult``. ``pipeline.run.run()`` streams a corpus through it in batches.
With ``pair.cross_document`` the Pipeline owns a cross-document claim index (``start_run``
gives it a folder to persist to and reloads what a resumed run had committed).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any
from dataclasses import replace
from pathlib import Path

from pipeline.components import (AttributeStage, CascadeStage, ClaimInfoStage, ConfirmStage, DecideStage,
                                 EmbedStage, NormalizeStage, PairStage, ParseStage, ScoreStage, SegmentStage,
                                 TopicsStage)
from pipeline.config import RunConfig
from pipeline.stages.base import BatchResult, Stage
from pipeline.stages.decide import Decider
from pipeline.stages.segment import Segmenter
from pipeline.stages.topics import Topics
from pipeline.types import Document

__all__ = ["STAGES", "STAGE_NAMES", "BatchResult", "Pipeline", "describe_models"]

# The stages in the order they run. The ``ahead`` ones at the front may run in the local
# engine's background thread for the next batch (``Pipeline.parse``, ``segment.prefetch``).
STAGES: tuple[type[Stage], ...] = (
    NormalizeStage, ParseStage, SegmentStage, AttributeStage, ClaimInfoStage, EmbedStage, TopicsStage,
    PairStage, CascadeStage, ScoreStage, ConfirmStage, DecideStage,
)
STAGE_NAMES: tuple[str, ...] = tuple(s.name for s in STAGES)


class Pipeline:
    """The stages, built from one RunConfig, and the models they share.

    Example:
        >>> p = Pipeline(RunConfig())                                  # doctest: +SKIP
        >>> res = p.process([Document("a", "Talks are ongoing. ...")])  # doctest: +SKIP
        >>> [f.reason for f in res.flags]                              # doctest: +SKIP
    """

    def __init__(self, cfg: RunConfig | None = None, stages: Sequence[type[Stage]] = STAGES):
        self.cfg = cfg or RunConfig()
        self.segmenter = Segmenter(self.cfg.segment)
        self.topics = Topics(self.cfg.topics, threads=self.cfg.threads)
        self._nli: Any = None  # the NLI model, loaded on first use (tests put a stand-in here)
        self._decider: Decider | None = None
        self.cross = self._new_cross(None) if self.cfg.pair.cross_document else None
        # progress within a long document: called as on_window(doc_id, windows_done, windows)
        # after each window is parsed and segmented (the run layer shows it)
        self.on_window = None
        self.stages: list[Stage] = [s.from_config(self.cfg, self) for s in stages]
        names = [s.name for s in self.stages]
        if len(set(names)) != len(names):
            raise ValueError(f"two stages share a name: {names}")
        # the stages that may run ahead: a prefix of the list
        self._ahead = next((i for i, s in enumerate(self.stages) if not s.ahead), len(self.stages))

    def _new_cross(self, folder):
        from pipeline.stages.crossdoc import CrossIndex

        return CrossIndex(self.cfg.pair, folder, dim=self.topics.embedder.dim)  # size read from the model

    def stage(self, name: str) -> Stage:
        """The stage called ``name``."""
        return next(s for s in self.stages if s.name == name)

    def start_run(self, folder=None, committed_docs: set[str] | None = None) -> list[str]:
        """Start a corpus run: a fresh cross-document index persisted in ``folder`` (the run's
        parts folder), reloaded with the claims of ``committed_docs`` when resuming.
        Returns notes on anything dropped while reloading (torn lines). No-op without
        cross-document pairing."""
        if not self.cfg.pair.cross_document:
            return []
        self.cross = self._new_cross(folder)
        if folder is not None and committed_docs:
            return self.cross.reload(committed_docs)
        return []

    def persist(self) -> None:
        """Write what this batch added to the cross-document index (before its commit)."""
        if self.cross is not None:
            self.cross.persist()

    # the models the stages share, built lazily ----------------------------------------
    @property
    def nli(self):
        """The NLI model ``score`` names (one per process and setting, shared)."""
        if self._nli is None:
            from pipeline.nli.model import get_model

            sc = self.cfg.score
            self._nli = get_model(sc.resolved_model(), backend=sc.backend, device=sc.device,
                                  max_length=sc.max_length, batch_size=sc.batch_size,
                                  token_budget=sc.token_budget, threads=self.cfg.threads,
                                  build_onnx=sc.build_onnx)
        return self._nli

    def describe(self) -> dict:
        """The models in use and their backends, for the manifest (loads them if needed)."""
        return {"nli": self.nli.describe(), "embedder": self.topics.embedder.describe()}

    @property
    def decider(self) -> Decider:
        """The decision model (``decide``), with the embedder for negation alignment."""
        if self._decider is None:
            self._decider = Decider(self.cfg.decide, model_dir=self.cfg.score.resolved_model(),
                                    embed=self.topics.embed)
        return self._decider

    # the loop ------------------------------------------------------------------------
    def run_stages(self, batch: BatchResult, first: int = 0, last: int | None = None) -> BatchResult:
        """``batch`` through ``self.stages[first:last]`` in order, each stage's seconds added
        to ``timings`` under its name."""
        for st in self.stages[first:last]:
            t = time.perf_counter()
            batch = st(batch)
            dt = time.perf_counter() - t
            batch = replace(batch, timings={**batch.timings, st.name: batch.timings.get(st.name, 0.0) + dt})
        return batch

    def _index(self, name: str) -> int:
        return next(i for i, s in enumerate(self.stages) if s.name == name)

    def _through(self, batch: BatchResult, first: str, last: str) -> BatchResult:
        return self.run_stages(batch, self._index(first), self._index(last) + 1)

    def parse(self, docs: list[Document]) -> BatchResult:
        """The stages that may run ahead (normalize, parse) on a batch of documents (safe in
        a background thread while another batch goes through the later stages: spaCy and
        onnxruntime release the GIL in their numeric work, and spaCy changes its vocabulary
        only while holding it)."""
        return self.run_stages(BatchResult.of(docs), 0, self._ahead)

    def _start(self, docs: list[Document], parsed: BatchResult | None) -> BatchResult:
        """``docs`` after the stages that run ahead: ``parsed`` when it is theirs (done ahead),
        else ``parse`` now."""
        if parsed is not None and [d.id for d in parsed.documents] == [d.id for d in docs]:
            return parsed
        return self.parse(docs)

    def extract(self, docs: list[Document], parsed: BatchResult | None = None) -> BatchResult:
        """The claim stages, normalize to topics, on a batch of documents (``parsed``: their
        ``parse``, done ahead; done here when None)."""
        return self.run_stages(self._start(docs, parsed), self._ahead, self._index("topics") + 1)

    def pair(self, res: BatchResult) -> BatchResult:
        """The pair stage (candidate pairs and the gate)."""
        return self._through(res, "pair", "pair")

    def score(self, res: BatchResult) -> BatchResult:
        """The NLI cascade, the NLI scores and the confirm pass (see ``components``)."""
        return self._through(res, "cascade", "confirm")

    def confirm(self, res: BatchResult) -> BatchResult:
        """The confirm pass alone (``components.ConfirmStage``)."""
        return self._through(res, "confirm", "confirm")

    def decide(self, res: BatchResult) -> BatchResult:
        """The decision stage."""
        return self._through(res, "decide", "decide")

    def process(self, docs: list[Document], parsed: BatchResult | None = None) -> BatchResult:
        """Every stage on one batch of documents (``parsed``: their ``parse``, when it was
        done ahead). If a stage raises, the cross-document index forgets the batch's claims,
        so the batch can be retried (document by document)."""
        mark = self.cross.mark() if self.cross is not None else None
        try:
            return self.run_stages(self._start(docs, parsed), self._ahead)
        except BaseException:
            if mark is not None and self.cross is not None:
                self.cross.rollback(mark)
            raise


def describe_models(cfg: RunConfig) -> dict:
    """The NLI model and the embedder with the backend each runs on, for the manifest.

    Models this process has loaded describe themselves (``describe()``: backend, why, threads,
    export hash); otherwise (a Ray driver) the ``auto`` rule is evaluated on the files now,
    without loading or building anything."""
    from pipeline import onnx_cache
    from pipeline.config import minilm_path
    from pipeline.nli import model as nli
    from pipeline.stages import topics
    from pipeline.threads import resolve_threads

    sc, tc = cfg.score, cfg.topics
    path = sc.resolved_model()
    out: dict = {}
    loaded = [m for p, m in nli.loaded_models() if p == path and m.backend_setting == sc.backend]
    if loaded:
        out["nli"] = loaded[-1].describe()
    else:
        folder = Path(path)
        st = nli.export_status(folder)  # beside the weights, else the cache (issue 29)
        onnx = sc.backend == "onnx" or (sc.backend == "auto" and st.valid
                                        and onnx_cache.onnxruntime_available())
        out["nli"] = {"name_or_path": path, "backend_setting": sc.backend,
                      "backend": "onnx-int8" if onnx else "torch-fp32",
                      "backend_reason": f"export {st.state} (not loaded in this process)",
                      "threads": resolve_threads(cfg.threads)}
    emb_path = minilm_path(tc.embedder)
    emb = [e for p, b, e in topics.loaded_embedders() if p == emb_path and b == tc.backend]
    if emb:
        out["embedder"] = emb[-1].describe()
    else:
        out["embedder"] = {"path": emb_path, "backend_setting": tc.backend,
                           "backend": "not loaded in this process"}
    return out
