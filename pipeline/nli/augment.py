"""Training data for the news meaning of "contradiction", built from labelled NLI pairs.

SNLI-style data calls two captions of different scenes a contradiction; a news reader calls
two statements a contradiction only when they speak of the same thing and cannot both be
true. Three builders move a model towards the reader's meaning:

* ``unrelated_neutrals``: the premise of one example joined with the hypothesis (or, for a
  share of them, the *premise*) of an example from a different source, labelled neutral.
  Premise + premise pairs look like what the pipeline scores: two full sentences.
* ``knn_neutrals``: topically close but different-event pairs: each premise with its
  nearest neighbour (MiniLM embedding) among the premises of *other* examples, labelled
  neutral, inside a similarity band whose top guards against near-duplicates (which could
  be paraphrases, i.e. entailments). SNLI-derived sources are left out: two captions of one
  image are near neighbours and may well entail each other.
* ``reverse_contradictions``: contradiction is symmetric, so contradiction pairs are also
  trained as (hypothesis, premise).
* ``negation_balanced``: pairs whose hypothesis carries a negation word, sampled equally from
  the three labels (from the Curriculum templated file), so that "not" stops predicting
  "contradiction". Only the *training half* of that file is used (``split_half``); the
  negation stress set of ``eval/stress.py`` draws from the other half.

All builders are deterministic for a seed and never read files: ``train.py`` feeds them the
loaded training files.

Example:
    >>> rows = [NLIExample("A cat sat.", "No cat sat.", "contradiction", "s1"),
    ...         NLIExample("Prices rose.", "Prices fell.", "contradiction", "s2")]
    >>> [(r.premise, r.label) for r in reverse_contradictions(rows, 1.0, seed=0)][:1]
    [('No cat sat.', 'contradiction')]
"""

from __future__ import annotations

import hashlib
import logging
import random
import re
from collections.abc import Callable, Sequence

import numpy as np

from pipeline.nli.data import LABELS, NLIExample

log = logging.getLogger(__name__)

# Sources whose premises are image captions (SNLI and data derived from it).
CAPTION_SOURCES = ("snli", "breaking", "cad", "sick")
_WORD = re.compile(r"[a-z0-9]+")


def _words(text: str) -> set[str]:
    return set(_WORD.findall(text.lower()))


def _jaccard(a: str, b: str) -> float:
    wa, wb = _words(a), _words(b)
    return len(wa & wb) / max(len(wa | wb), 1)


def _is_caption_source(source: str) -> bool:
    s = source.lower()
    return any(s.startswith(c) for c in CAPTION_SOURCES)


def unrelated_neutrals(
    rows: Sequence[NLIExample], n: int, premise_share: float = 0.5, seed: int = 13,
    max_jaccard: float = 0.2,
) -> list[NLIExample]:
    """``n`` neutral pairs joining texts of two examples from different sources.

    Args:
        rows: the training examples to draw from (at least two sources).
        n: how many pairs to make.
        premise_share: the share of pairs made premise + premise (the rest premise +
            hypothesis of the other example).
        seed: random seed.
        max_jaccard: pairs whose word overlap is above this are dropped (a guard against
            two examples that happen to speak of the same thing).
    """
    if n <= 0 or not rows:
        return []
    by_source: dict[str, list[NLIExample]] = {}
    for r in rows:
        by_source.setdefault(r.source, []).append(r)
    sources = sorted(by_source)
    if len(sources) < 2:
        log.warning("unrelated neutrals need two sources; found %s", sources)
        return []
    rng = random.Random(seed)
    out: list[NLIExample] = []
    attempts = 0
    while len(out) < n and attempts < 20 * n:
        attempts += 1
        sa, sb = rng.sample(sources, 2)
        a, b = rng.choice(by_source[sa]), rng.choice(by_source[sb])
        other = b.premise if rng.random() < premise_share else b.hypothesis
        if _jaccard(a.premise, other) > max_jaccard:
            continue
        first, second = (a.premise, other) if rng.random() < 0.5 else (other, a.premise)
        out.append(NLIExample(first, second, "neutral", "aug_unrelated"))
    return out


def knn_neutrals(
    rows: Sequence[NLIExample], n: int, embed: Callable[[list[str]], np.ndarray],
    min_similarity: float = 0.45, max_similarity: float = 0.8, max_jaccard: float = 0.5,
    max_words: int = 60, pool: int = 12000, seed: int = 13,
) -> list[NLIExample]:
    """Up to ``n`` neutral pairs of topically close premises from different examples.

    Args:
        rows: training examples; caption sources (SNLI and derivatives) are skipped.
        n: the most pairs to make.
        embed: texts -> L2-normalised embeddings (rows of unit vectors).
        min_similarity, max_similarity: cosine band for a neighbour to count: close enough
            to share a topic, far enough not to be a paraphrase.
        max_jaccard: word-overlap guard against near-duplicates the embedding misses.
        max_words: premises longer than this are skipped (the pipeline scores sentences).
        pool: how many distinct premises to embed (the cost of this builder).
        seed: random seed.
    """
    if n <= 0:
        return []
    rng = random.Random(seed)
    seen: set[str] = set()
    premises: list[str] = []
    cand = [r for r in rows if not _is_caption_source(r.source)]
    rng.shuffle(cand)
    for r in cand:
        key = r.premise.strip().lower()
        if key in seen or len(r.premise.split()) > max_words or len(r.premise.split()) < 4:
            continue
        seen.add(key)
        premises.append(r.premise.strip())
        if len(premises) >= pool:
            break
    if len(premises) < 2:
        return []
    emb = np.asarray(embed(premises), dtype=np.float32)
    out: list[NLIExample] = []
    used: set[tuple[int, int]] = set()
    order = list(range(len(premises)))
    rng.shuffle(order)
    chunk = 1024
    for start in range(0, len(order), chunk):
        idx = order[start:start + chunk]
        sims = emb[idx] @ emb.T
        for row, i in enumerate(idx):
            s = sims[row]
            s[i] = -1.0
            band = np.where((s >= min_similarity) & (s <= max_similarity))[0]
            if band.size == 0:
                continue
            j = int(band[np.argmax(s[band])])
            ij = (min(i, j), max(i, j))
            if ij in used or _jaccard(premises[i], premises[j]) > max_jaccard:
                continue
            used.add(ij)
            out.append(NLIExample(premises[i], premises[j], "neutral", "aug_knn"))
            if len(out) >= n:
                return out
    return out


def reverse_contradictions(
    rows: Sequence[NLIExample], share: float = 1.0, seed: int = 13
) -> list[NLIExample]:
    """Contradiction pairs in the reverse order (hypothesis, premise), for ``share`` of them."""
    contra = [r for r in rows if r.label == "contradiction"]
    if share < 1.0:
        contra = random.Random(seed).sample(contra, int(round(share * len(contra))))
    return [NLIExample(r.hypothesis, r.premise, "contradiction", r.source + "_rev") for r in contra]


def split_half(premise: str, hypothesis: str) -> str:
    """``"train"`` or ``"stress"``: a fixed split of a pair by the hash of its text, so a
    file can feed both training (one half) and a stress set (the other) without overlap."""
    h = hashlib.sha1((premise + "\x1f" + hypothesis).encode("utf-8")).digest()
    return "train" if h[0] % 2 else "stress"


def negation_balanced(rows: Sequence[NLIExample], n: int, seed: int = 13) -> list[NLIExample]:
    """Up to ``n`` pairs whose hypothesis carries a negation or contrast word, as many of
    each label as the training half of ``rows`` allows (``source`` ``negbal_<source>``)."""
    from pipeline.nli.debias import has_cue

    if n <= 0:
        return []
    by_label: dict[str, list[NLIExample]] = {lab: [] for lab in LABELS}
    for r in rows:
        if r.label in by_label and has_cue(r.hypothesis) \
                and split_half(r.premise, r.hypothesis) == "train":
            by_label[r.label].append(r)
    rng = random.Random(seed)
    per = n // len(by_label)
    out: list[NLIExample] = []
    for lab in LABELS:
        got = by_label[lab]
        pick = rng.sample(got, min(per, len(got)))
        out.extend(NLIExample(r.premise, r.hypothesis, r.label, "negbal_" + r.source) for r in pick)
    if any(len(v) < per for v in by_label.values()):
        log.warning("negation-balanced pairs: fewer than %d for some label: %s", per,
                    {k: len(v) for k, v in by_label.items()})
    return out
