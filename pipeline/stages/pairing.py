"""Pair: candidate pairs of related claims by embedding nearest neighbours, with a relation.

Within a document every claim is paired with its ``k`` nearest neighbours (cosine similarity
at least ``min_similarity``), never with a claim of its own sentence (except the two claims a
sentence ties as a dispute, "P, a claim Y denied": ``Claim.target``, always paired); pairs are
unordered and unique. The number of candidates grows linearly with the number of claims (at most
``k`` per claim), never quadratically.

A long document (more than ``pair.block_claims`` claims: a report, a book, a live blog) is
paired block by block: its claims, in text order, are cut into blocks of ``block_claims`` and
each claim's neighbours are sought in its own block and the next (every pair of adjacent
blocks is one search), so time and memory stay linear in the document's length instead of
the n x n similarity matrix of the whole document (28,343 claims of bench_long's 3M-character article:
3.2 GB for one float32 matrix). ``max_pairs_per_doc`` then applies per block. A document of at most
``block_claims`` claims is paired exactly as before.
"""

from __future__ import annotations

import numpy as np

from pipeline.config import PairConfig
from pipeline.stages.evidence import (anaphoric_dispute, disputes, hedged, one_speaker, reported, retracts,
                                      retracts_only)
from pipeline.types import Claim, Pair


def relation(a: Claim, b: Claim) -> str:
    """same_speaker | same_side | opposing_sides | unattributed (within one document).

    A speaker with no known side counts as a side of its own, so two different speakers
    whose sides are unknown are opposing sides; a claim without a speaker is unattributed.
    """
    if a.doc_id != b.doc_id:
        return "cross_document"
    if not a.speaker_id or not b.speaker_id:
        return "unattributed"
    if a.speaker_id == b.speaker_id:
        return "same_speaker"
    side_a = (a.side or a.speaker).lower()
    side_b = (b.side or b.speaker).lower()
    return "same_side" if side_a == side_b else "opposing_sides"


def knn_pairs(claims: list[Claim], emb: np.ndarray, cfg: PairConfig,
              stats: dict[str, int] | None = None) -> list[Pair]:
    """Nearest-neighbour candidate pairs within one document (block by block past
    ``cfg.block_claims`` claims, see the module docstring).

    ``stats``, when given, counts the pairs dropped by ``max_pairs_per_doc`` under the key
    ``"max_pairs_per_doc"`` (the run records it in the manifest)."""
    n = len(claims)
    if n < 2:
        return []
    block = max(2, cfg.block_claims)
    if n <= block:
        seen, ranks = _neighbours(claims, emb, cfg)
        cap = cfg.max_pairs_per_doc
    else:
        seen, ranks = {}, {}
        for lo in range(0, n - block, block):  # blocks [lo, lo + block) and the next one
            hi = min(n, lo + 2 * block)
            s, r = _neighbours(claims[lo:hi], emb[lo:hi], cfg)
            for (i, j), v in s.items():
                seen[(lo + i, lo + j)] = v
            for (i, j), v in r.items():
                key = (lo + i, lo + j)
                ranks[key] = min(v, ranks.get(key, v))
        cap = cfg.max_pairs_per_doc * -(-n // block)
    ranked = sorted(seen.items(), key=lambda kv: -kv[1])
    if stats is not None and len(ranked) > cap:
        stats["max_pairs_per_doc"] = stats.get("max_pairs_per_doc", 0) + len(ranked) - cap
    ranked = ranked[:cap]
    ranked.sort(key=lambda kv: kv[0])
    return [Pair(claims[i], claims[j], relation(claims[i], claims[j]), s, ranks.get((i, j), 0))
            for (i, j), s in ranked]


def _neighbours(claims: list[Claim], emb: np.ndarray, cfg: PairConfig
                ) -> tuple[dict[tuple[int, int], float], dict[tuple[int, int], int]]:
    """The candidate pairs among ``claims`` ((i, j) -> similarity, i < j) and the dispute
    rank of those a dispute joins, before the ``max_pairs_per_doc`` cap."""
    n = len(claims)
    sims = emb @ emb.T
    np.fill_diagonal(sims, -1.0)
    sent = np.array([c.sent_index for c in claims])
    sims[sent[:, None] == sent[None, :]] = -1.0  # no pairs within one sentence
    question = np.array([c.modality == "question" for c in claims])
    sims[question, :] = -1.0  # a question asserts nothing to contradict
    sims[:, question] = -1.0
    k = min(cfg.k, n - 1)
    seen: dict[tuple[int, int], float] = {}
    nn = np.argpartition(-sims, kth=k - 1, axis=1)[:, :k]
    for i in range(n):
        for j in nn[i]:
            s = float(sims[i, j])
            if s < cfg.min_similarity:
                continue
            key = (min(i, int(j)), max(i, int(j)))
            seen[key] = s
    # a claim that reports or voices a dispute is paired with the claims of other speakers
    # nearest to it, whatever their number among its neighbours: what it disputes may be
    # said in other words ("the allegations", "the report"); they are ranked for the decision
    ranks: dict[tuple[int, int], int] = {}
    central = emb @ emb.mean(axis=0)
    # "P, a claim Y denied": the article ties the two claims of one sentence; always a pair,
    # first among the denial's targets
    index = {c.id: i for i, c in enumerate(claims)}
    for i, c in enumerate(claims):
        j = index.get(c.target, -1) if c.target else -1
        if j >= 0 and j != i:
            key = (min(i, j), max(i, j))
            seen[key] = float(emb[i] @ emb[j])
            ranks[key] = 1
    for i in range(n):
        if not disputes(claims[i]) or question[i]:
            continue  # a question disputes nothing ("Could the report be true?")
        # "These claims are false": the words say little of what is disputed; the account of
        # another speaker just before it, then those most central to the article (nearest its
        # mean claim), are the targets
        anaphoric = anaphoric_dispute(claims[i])
        order = np.argsort(-(central if anaphoric else sims[i]), kind="stable")
        others = [j for j in order
                  if (anaphoric or sims[i, j] >= cfg.min_similarity)
                  and sent[i] != sent[int(j)] and not question[int(j)]
                  and not disputes(claims[int(j)])
                  and (retracts(claims[i]) if one_speaker(claims[i], claims[int(j)])
                       else not retracts_only(claims[i]))]
        if anaphoric:
            # "This new report is a hoax", "Pakistan denied the allegations": most often an
            # account the article gave before it as reported ("allegedly", by "sources"), the
            # nearest first, else the account just before it
            before = sorted((j for j in others if claims[int(j)].start < claims[i].start),
                            key=lambda j: -claims[int(j)].start)
            first = [j for j in before if reported(claims[int(j)])]
            # the account just before, when it is asserted: "These claims are false" does
            # not dispute an opinion or a forecast ("I think he's gonna ...", "could")
            stated = [j for j in before if claims[int(j)].modality == "asserted"
                      and not hedged(claims[int(j)])]
            if stated and stated[0] not in first:
                first.append(stated[0])
            others = first + [j for j in others if j not in first]
        for r, j in enumerate(others[:cfg.dispute_k * (2 if anaphoric else 1)], start=1):
            key = (min(i, int(j)), max(i, int(j)))
            seen[key] = float(sims[i, j])
            ranks[key] = min(r, ranks.get(key, r))
    return seen, ranks
