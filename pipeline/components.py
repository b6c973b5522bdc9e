"""The stage objects (``pipeline/stages/base.py``'s protocol), one small class per stage.

Each wraps the entry point of its module in ``pipeline/stages/`` (or the NLI model): it is
built from the run's configuration with the shared models (``from_config``), ``predict``
computes what it adds to a batch without modifying it, ``apply`` returns a new batch
(``dataclasses.replace``) with it. ``pipeline.pipeline.STAGES`` puts them in order.

    normalize -> parse -> segment -> attribute -> claim_info -> embed -> topics -> pair (+ gate)
      -> cascade -> score -> confirm -> decide
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from pipeline.stages.attribute import attribute
from pipeline.stages.base import BatchResult, Component
from pipeline.nli.text import nli_text
from pipeline.stages.evidence import WordSimilarity, add_claim_info, gate, pairs_with_info
from pipeline.stages.normalize import normalize
from pipeline.stages.pairing import knn_pairs
from pipeline.types import Claim, Pair, Score


def _flat(per_doc: list[list[Claim]]) -> list[Claim]:
    return [c for cs in per_doc for c in cs]


def _by_doc(claims: list[Claim], per_doc: list[list[Claim]]) -> list[list[Claim]]:
    """``claims`` (one list, in order) cut into documents as ``per_doc`` is."""
    out, pos = [], 0
    for cs in per_doc:
        out.append(claims[pos:pos + len(cs)])
        pos += len(cs)
    return out


def _embeddings(batch: BatchResult) -> np.ndarray:
    if batch.embeddings is None:
        raise ValueError("the embed stage runs before topics and pair")
    return batch.embeddings


class NormalizeStage(Component):
    """normalize (``stages/normalize.py``): unwrapped text with a map back to raw offsets."""

    name = "normalize"
    ahead = True  # runs in the local engine's prefetch thread

    def predict(self, batch: BatchResult) -> list:
        """One ``Normalized`` per document."""
        return [normalize(d.text, self.cfg.normalize) for d in batch.documents]

    def apply(self, batch: BatchResult, prediction: list) -> BatchResult:
        """The batch with its normalised texts."""
        return replace(batch, norms=prediction)


class ParseStage(Component):
    """The spaCy parse of the normalised texts (``Segmenter.parse_many``): the part of
    segmentation that can run ahead, in a background thread (spaCy releases the GIL in its
    numeric work)."""

    name = "parse"
    ahead = True

    def predict(self, batch: BatchResult) -> list:
        """One spaCy ``Doc`` per document."""
        return self.models.segmenter.parse_many([n.text for n in batch.norms])

    def apply(self, batch: BatchResult, prediction: list) -> BatchResult:
        """The batch with its parses."""
        return replace(batch, parsed=prediction)


class SegmentStage(Component):
    """segment (``Segmenter.raw_claims``): the raw claims of each parsed document; the run
    layer's ``on_window`` hook hears of each window of a long document."""

    name = "segment"

    def predict(self, batch: BatchResult) -> list:
        """The raw claims, document by document."""
        seg, hook = self.models.segmenter, self.models.on_window
        return [seg.raw_claims(n, sp, on_window=None if hook is None else
                               (lambda k, total, _id=d.id, _hook=hook: _hook(_id, k, total)))
                for d, n, sp in zip(batch.documents, batch.norms, batch.parsed)]

    def apply(self, batch: BatchResult, prediction: list) -> BatchResult:
        """The batch with its raw claims; the parses are dropped."""
        return replace(batch, raw=prediction, parsed=[])


class AttributeStage(Component):
    """attribute (``stages/attribute.py``): Claims with speakers, sides and raw offsets."""

    name = "attribute"

    def predict(self, batch: BatchResult) -> list[list[Claim]]:
        """The claims, document by document."""
        return [attribute(d.id, n, raw) for d, n, raw in zip(batch.documents, batch.norms, batch.raw)]

    def apply(self, batch: BatchResult, prediction: list[list[Claim]]) -> BatchResult:
        """The batch with its claims; the normalised texts and raw claims are dropped."""
        return replace(batch, per_doc=prediction, claims=_flat(prediction), norms=[], raw=[])


class ClaimInfoStage(Component):
    """claim_info (``evidence.add_claim_info``): each claim's wording for the gate and the
    decision (a second, batched spaCy pass over the claim texts)."""

    name = "claim_info"

    def predict(self, batch: BatchResult) -> list[Claim]:
        """The claims copied with their ``info`` (those that had it, as they were)."""
        return add_claim_info(batch.claims, self.models.segmenter.nlp)

    def apply(self, batch: BatchResult, prediction: list[Claim]) -> BatchResult:
        """The batch with those claims."""
        return replace(batch, claims=prediction, per_doc=_by_doc(prediction, batch.per_doc))


class EmbedStage(Component):
    """The claims' sentence embeddings (``Topics.embed``), for topics and pairing."""

    name = "embed"

    def predict(self, batch: BatchResult) -> np.ndarray:
        """One unit row per claim."""
        return self.models.topics.embed([c.text for c in batch.claims])

    def apply(self, batch: BatchResult, prediction: np.ndarray) -> BatchResult:
        """The batch with its embeddings."""
        return replace(batch, embeddings=prediction)


class TopicsStage(Component):
    """topics (``Topics.label``): a topic label per claim, clustered document by document."""

    name = "topics"

    def predict(self, batch: BatchResult) -> list[list[Claim]]:
        """The claims copied with their topics, document by document."""
        emb = _embeddings(batch)
        out, pos = [], 0
        for cs in batch.per_doc:
            out.append(self.models.topics.label(cs, emb[pos:pos + len(cs)]))
            pos += len(cs)
        return out

    def apply(self, batch: BatchResult, prediction: list[list[Claim]]) -> BatchResult:
        """The batch with those claims."""
        return replace(batch, per_doc=prediction, claims=_flat(prediction))


class PairStage(Component):
    """pair (``pairing.knn_pairs``, then ``evidence.gate``): each claim's nearest neighbours in
    its document, and with ``pair.cross_document`` in earlier documents (the cross-document
    index, the stage's own state: this batch's claims are added to it)."""

    name = "pair"

    def predict(self, batch: BatchResult) -> tuple[list, dict[str, int]]:
        """The candidate pairs the gate keeps, and the work the caps dropped."""
        cfg = self.cfg.pair
        pairs: list = []
        dropped = dict(batch.dropped)
        emb = _embeddings(batch)
        pos = 0
        for cs in batch.per_doc:
            pairs.extend(gate(knn_pairs(cs, emb[pos:pos + len(cs)], cfg, dropped), cfg))
            pos += len(cs)
        cross_index = self.models.cross
        if cross_index is not None:
            cross = cross_index.add_and_pair(batch.claims, emb)
            # claims reloaded from a resumed run's index have no info yet
            cross = pairs_with_info(cross, self.models.segmenter.nlp)
            pairs.extend(gate(cross, cfg))
        return pairs, dropped

    def apply(self, batch: BatchResult, prediction: tuple[list, dict[str, int]]) -> BatchResult:
        """The batch with its candidate pairs."""
        pairs, dropped = prediction
        return replace(batch, pairs=batch.pairs + pairs, dropped=dropped)


class CascadeStage(Component):
    """The NLI cascade (``decide.nli_cascade``, ``Decider.nli_needed``): which pairs the NLI
    model must score, from each pair's same-event evidence (computed here once, and handed on
    to the confirm pass and the decision)."""

    name = "cascade"

    def predict(self, batch: BatchResult) -> tuple[list[dict] | None, np.ndarray]:
        """The evidence (None without the cascade) and the pairs to score."""
        decider = self.models.decider
        if decider.cascade and batch.pairs:
            evidence = decider.pair_evidence(batch.pairs)
            return evidence, decider.nli_needed(batch.pairs, evidence)
        return batch.evidence, np.ones(len(batch.pairs), dtype=bool)

    def apply(self, batch: BatchResult, prediction: tuple[list[dict] | None, np.ndarray]) -> BatchResult:
        """The batch with the evidence and the pairs to score."""
        evidence, need = prediction
        return replace(batch, evidence=evidence, need=need)


def nli_scores(nli, pairs: list[Pair], idx, batch_size: int | None = None) -> list[Score]:
    """The NLI scores of ``pairs[i]`` for ``i`` in ``idx``, both directions."""
    texts = [(nli_text(pairs[i].a), nli_text(pairs[i].b)) for i in idx]
    ab, ba = nli.predict_both(texts, batch_size=batch_size)
    return [Score((float(x[0]), float(y[0])), (float(x[1]), float(y[1])), (float(x[2]), float(y[2])))
            for x, y in zip(ab, ba)]


class ScoreStage(Component):
    """score: the NLI cross-encoder in both directions on the pairs the cascade left in
    (every pair without it); the others' score is None."""

    name = "score"

    def predict(self, batch: BatchResult) -> tuple[np.ndarray, list]:
        """The pairs scored and their scores."""
        need = batch.need if batch.need is not None else np.ones(len(batch.pairs), dtype=bool)
        idx = np.flatnonzero(need)
        return idx, nli_scores(self.models.nli, batch.pairs, idx)

    def apply(self, batch: BatchResult, prediction: tuple[np.ndarray, list]) -> BatchResult:
        """The batch with a score (or None) for every pair."""
        idx, scored = prediction
        scores: list = [None] * len(batch.pairs)
        for i, s in zip(idx, scored):
            scores[i] = s
        return replace(batch, scores=scores, nli_pairs=len(idx))


class ConfirmStage(Component):
    """The confirm pass (``decide.confirm_margin``): with models whose outputs depend on the
    batch (int8), the pairs near the cut are measured again one text or pair per call, the
    two claims' similarity and the word similarities of negation alignment (int8 embedder),
    and the NLI scores (int8 NLI model). What is flagged then depends on the pair alone, not
    on its batch-mates (the corpus, ``batch_docs``), the cascade or the cut."""

    name = "confirm"

    def __init__(self, cfg, models):
        super().__init__(cfg, models)
        self.words_alone: WordSimilarity | None = None  # one word per call, cached for the run

    def predict(self, batch: BatchResult) -> dict[str, Any] | None:
        """The pairs, evidence and scores the pass changes, and how many pairs it measured
        again (None when it does not run)."""
        margin = self.cfg.decide.confirm_margin
        if margin <= 0 or not batch.pairs:
            return None
        m = self.models
        nli_alone = getattr(m.nli, "batch_dependent", False)
        emb_alone = getattr(m.topics.embedder, "batch_dependent", False)
        if not (nli_alone or emb_alone):
            return None
        pairs, scores = list(batch.pairs), list(batch.scores)
        evidence = list(batch.evidence) if batch.evidence is not None else m.decider.pair_evidence(pairs)
        near = m.decider.near_cut(pairs, scores, evidence, margin)
        if emb_alone and len(near):
            self._similarities_alone(pairs, evidence, near)
        if nli_alone:
            for i, s in zip(near, nli_scores(m.nli, pairs, near, batch_size=1)):
                scores[i] = s
        return {"pairs": pairs, "evidence": evidence, "scores": scores, "nli_confirmed": len(near)}

    def _similarities_alone(self, pairs: list[Pair], evidence: list[dict], near) -> None:
        """Similarity and same-event evidence of the pairs ``near`` (in the stage's own copies
        of the lists) from embeddings of one text per call (words are cached for the run:
        each was embedded alone)."""
        emb = self.models.topics.embedder
        if self.words_alone is None:
            self.words_alone = WordSimilarity(lambda ws: emb.encode(ws, batch_size=1))
        claims = list({id(c): c for i in near for c in (pairs[i].a, pairs[i].b)}.values())
        vec = dict(zip(map(id, claims), emb.encode([c.text for c in claims], batch_size=1)))
        for i in near:
            p = pairs[i]
            pairs[i] = replace(p, similarity=float(vec[id(p.a)] @ vec[id(p.b)]))
        for i, ev in zip(near, self.models.decider.pair_evidence([pairs[i] for i in near],
                                                                 self.words_alone)):
            evidence[i] = ev

    def apply(self, batch: BatchResult, prediction: dict[str, Any] | None) -> BatchResult:
        """The batch with the pairs near the cut measured again (unchanged when the pass does
        not run)."""
        return batch if prediction is None else replace(batch, **prediction)


class DecideStage(Component):
    """decide (``Decider.decide_ranked``): the flagged pairs, and the ``output.top`` best
    under the cut."""

    name = "decide"

    def predict(self, batch: BatchResult) -> tuple[list, list]:
        """The flags and the best pairs under the cut."""
        return self.models.decider.decide_ranked(batch.pairs, batch.scores, batch.evidence,
                                                 below=self.cfg.output.top)

    def apply(self, batch: BatchResult, prediction: tuple[list, list]) -> BatchResult:
        """The batch with its flags."""
        flags, below = prediction
        return replace(batch, flags=flags, below=below)
