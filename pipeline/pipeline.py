"""The one place that assembles the stages.

    ingest -> normalize -> segment -> attribute -> topics -> pair (+ gate) -> score -> decide -> write

``Pipeline(cfg)`` holds the stages (models load lazily, once per process);
``Pipeline.process(docs)`` runs a batch of documents through every stage and returns one
``BatchResult``. ``pipeline.run.run()`` streams a corpus through it in batches. With
``pair.cross_document`` the Pipeline owns a cross-document claim index (``start_run`` gives
it a folder to persist to and reloads what a resumed run had committed).
"""

from __future__ import annotations

import time
from pathlib import Path
from collections import defaultdict
from dataclasses import dataclass, field, replace

import numpy as np

from pipeline.stages.attribute import attribute
from pipeline.config import RunConfig
from pipeline.stages.decide import Decider, nli_text
from pipeline.stages.evidence import WordSimilarity, add_claim_info, gate
from pipeline.stages.normalize import normalize
from pipeline.stages.pairing import knn_pairs
from pipeline.stages.segment import Segmenter
from pipeline.stages.topics import Topics
from pipeline.types import Claim, Document, Flag, Pair, Score


@dataclass
class BatchResult:
    docs: list[str] = field(default_factory=list)
    claims: list[Claim] = field(default_factory=list)
    pairs: list[Pair] = field(default_factory=list)
    scores: list[Score | None] = field(default_factory=list)  # None: left out by the NLI cascade
    evidence: list[dict] | None = None  # same-event evidence per pair (decide stage), once computed
    nli_pairs: int = 0  # pairs the NLI model scored
    nli_confirmed: int = 0  # of them, scored again one by one near the cut (decide.confirm_margin)
    flags: list[Flag] = field(default_factory=list)
    below: list[Flag] = field(default_factory=list)  # the best pairs under the cut (output.top of them)
    embeddings: np.ndarray | None = None  # one row per claim
    dropped: dict[str, int] = field(default_factory=dict)  # work dropped by a cap, by cap name
    per_doc: list[list[Claim]] = field(default_factory=list)  # the claims, document by document
    timings: dict[str, float] = field(default_factory=lambda: defaultdict(float))


@dataclass
class Parsed:
    """A batch normalised and parsed by spaCy (``Pipeline.parse``), ready for ``extract``:
    the local engine parses the next batch in a background thread while this one is
    embedded and scored (``segment.prefetch``)."""
    docs: list[Document]
    norms: list
    parsed: list
    timings: dict[str, float]


class Pipeline:
    """All stages, built from one RunConfig.

    Example:
        >>> p = Pipeline(RunConfig())                                  # doctest: +SKIP
        >>> res = p.process([Document("a", "Talks are ongoing. ...")])  # doctest: +SKIP
        >>> [f.reason for f in res.flags]                              # doctest: +SKIP
    """

    def __init__(self, cfg: RunConfig | None = None):
        self.cfg = cfg or RunConfig()
        self.segmenter = Segmenter(self.cfg.segment)
        self.topics = Topics(self.cfg.topics, threads=self.cfg.threads)
        self._nli = None
        self._decider = None
        self._words_alone = None  # word similarities from one word per call (confirm pass)
        self.cross = self._new_cross(None) if self.cfg.pair.cross_document else None
        # progress within a long document: called as on_window(doc_id, windows_done, windows)
        # after each window is parsed and segmented (the run layer shows it)
        self.on_window = None

    def _new_cross(self, folder):
        from pipeline.stages.crossdoc import CrossIndex

        return CrossIndex(self.cfg.pair, folder, dim=self.topics.embedder.dim)  # size read from the model

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

    # lazily built model stages ------------------------------------------------------
    @property
    def nli(self):
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
        if self._decider is None:
            self._decider = Decider(self.cfg.decide, model_dir=self.cfg.score.resolved_model(),
                                    embed=self.topics.embed)
        return self._decider

    # stages ----------------------------------------------------------------------------
    def parse(self, docs: list[Document]) -> Parsed:
        """normalize -> spaCy parse, for a batch of documents (safe to run in a background
        thread while another batch goes through the later stages: spaCy and onnxruntime
        release the GIL in their numeric work, and spaCy changes its vocabulary only while
        holding it)."""
        timings: dict[str, float] = {}
        t = time.perf_counter()
        norms = [normalize(d.text, self.cfg.normalize) for d in docs]
        timings["normalize"] = time.perf_counter() - t
        t = time.perf_counter()
        parsed = self.segmenter.parse_many([n.text for n in norms])
        timings["parse"] = time.perf_counter() - t
        return Parsed(list(docs), norms, parsed, timings)

    def extract(self, docs: list[Document], res: BatchResult | None = None,
                parsed: Parsed | None = None) -> BatchResult:
        """normalize -> segment -> attribute -> topics, for a batch of documents (``parsed``:
        their ``parse``, done ahead; done here when None)."""
        res = res or BatchResult()
        if parsed is None or [d.id for d in parsed.docs] != [d.id for d in docs]:
            parsed = self.parse(docs)
        for k, v in parsed.timings.items():
            res.timings[k] += v
        norms, parsed = parsed.norms, parsed.parsed
        per_doc: list[list[Claim]] = []
        t = time.perf_counter()
        hook = self.on_window
        for d, n, sp in zip(docs, norms, parsed):
            raw = self.segmenter.raw_claims(
                n, sp, on_window=None if hook is None else
                (lambda k, total, _id=d.id, _hook=hook: _hook(_id, k, total)))
            per_doc.append(attribute(d.id, n, raw))
            res.docs.append(d.id)
        res.timings["segment_attribute"] += time.perf_counter() - t
        t = time.perf_counter()
        all_claims = [c for cs in per_doc for c in cs]
        add_claim_info(all_claims, self.segmenter.nlp)  # evidence for the gate and decision
        res.timings["claim_info"] += time.perf_counter() - t
        t = time.perf_counter()
        emb = self.topics.embed([c.text for c in all_claims])
        res.timings["embed"] += time.perf_counter() - t
        t = time.perf_counter()
        pos = 0
        for cs in per_doc:
            self.topics.label(cs, emb[pos:pos + len(cs)])
            pos += len(cs)
        res.timings["topics"] += time.perf_counter() - t
        res.claims.extend(all_claims)
        res.embeddings = emb
        res.per_doc.extend(per_doc)
        return res

    def pair(self, res: BatchResult) -> BatchResult:
        t = time.perf_counter()
        pos = 0
        for cs in res.per_doc:
            res.pairs.extend(gate(knn_pairs(cs, res.embeddings[pos:pos + len(cs)], self.cfg.pair,
                                            res.dropped), self.cfg.pair))
            pos += len(cs)
        if self.cross is not None:
            cross = self.cross.add_and_pair(res.claims, res.embeddings)
            add_claim_info([c for p in cross for c in (p.a, p.b)], self.segmenter.nlp)
            res.pairs.extend(gate(cross, self.cfg.pair))
        res.timings["pair"] += time.perf_counter() - t
        return res

    def score(self, res: BatchResult) -> BatchResult:
        """NLI in both directions for the pairs the decision stage needs it for (all of them
        unless the NLI cascade, ``decide.nli_cascade``, leaves some out: their score is None)."""
        t = time.perf_counter()
        if self.decider.cascade and res.pairs:
            res.evidence = self.decider.pair_evidence(res.pairs)
            need = self.decider.nli_needed(res.pairs, res.evidence)
        else:
            need = np.ones(len(res.pairs), dtype=bool)
        res.timings["cascade"] += time.perf_counter() - t
        t = time.perf_counter()
        idx = np.flatnonzero(need)
        res.scores = [None] * len(res.pairs)
        self._nli_scores(res, idx)
        res.nli_pairs = len(idx)
        res.timings["score"] += time.perf_counter() - t
        self.confirm(res)
        return res

    def _nli_scores(self, res: BatchResult, idx, batch_size: int | None = None) -> None:
        texts = [(nli_text(res.pairs[i].a), nli_text(res.pairs[i].b)) for i in idx]
        ab, ba = self.nli.predict_both(texts, batch_size=batch_size)
        for i, x, y in zip(idx, ab, ba):
            res.scores[i] = Score((float(x[0]), float(y[0])), (float(x[1]), float(y[1])),
                                  (float(x[2]), float(y[2])))

    def confirm(self, res: BatchResult) -> BatchResult:
        """With models whose outputs depend on the batch (int8), the pairs near the cut
        (``decide.confirm_margin``) are measured again one text or pair per call: the two
        claims' similarity and the word similarities of negation alignment (int8 embedder),
        and the NLI scores (int8 NLI model). What is flagged then depends on the pair alone,
        not on its batch-mates (the corpus, ``batch_docs``), the cascade or the cut."""
        margin = self.cfg.decide.confirm_margin
        if margin <= 0 or not res.pairs:
            return res
        nli_alone = getattr(self.nli, "batch_dependent", False)
        emb_alone = getattr(self.topics.embedder, "batch_dependent", False)
        if not (nli_alone or emb_alone):
            return res
        t = time.perf_counter()
        if res.evidence is None:
            res.evidence = self.decider.pair_evidence(res.pairs)
        near = self.decider.near_cut(res.pairs, res.scores, res.evidence, margin)
        if emb_alone and len(near):
            self._similarities_alone(res, near)
        if nli_alone:
            self._nli_scores(res, near, batch_size=1)
        res.nli_confirmed = len(near)
        res.timings["confirm"] += time.perf_counter() - t
        return res

    def _similarities_alone(self, res: BatchResult, near) -> None:
        """Similarity and same-event evidence of the pairs ``near`` from embeddings of one
        text per call (words are cached for the run: each was embedded alone)."""
        emb = self.topics.embedder
        if self._words_alone is None:
            self._words_alone = WordSimilarity(lambda ws: emb.encode(ws, batch_size=1))
        claims = list({id(c): c for i in near for c in (res.pairs[i].a, res.pairs[i].b)}.values())
        vec = dict(zip(map(id, claims), emb.encode([c.text for c in claims], batch_size=1)))
        for i in near:
            p = res.pairs[i]
            res.pairs[i] = replace(p, similarity=float(vec[id(p.a)] @ vec[id(p.b)]))
        pairs = [res.pairs[i] for i in near]
        for i, ev in zip(near, self.decider.pair_evidence(pairs, self._words_alone)):
            res.evidence[i] = ev

    def decide(self, res: BatchResult) -> BatchResult:
        t = time.perf_counter()
        res.flags, res.below = self.decider.decide_ranked(res.pairs, res.scores, res.evidence,
                                                          below=self.cfg.output.top)
        res.timings["decide"] += time.perf_counter() - t
        return res

    def process(self, docs: list[Document], parsed: Parsed | None = None) -> BatchResult:
        """Every stage on one batch of documents (``parsed``: their ``parse``, when it was
        done ahead). If a stage raises, the cross-document index forgets the batch's claims,
        so the batch can be retried (document by document)."""
        mark = self.cross.mark() if self.cross is not None else None
        try:
            res = self.extract(docs, parsed=parsed)
            self.pair(res)
            self.score(res)
            self.decide(res)
        except BaseException:
            if mark is not None:
                self.cross.rollback(mark)
            raise
        return res


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
