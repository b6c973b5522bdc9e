"""Stress sets for the NLI model: where a model that learnt shortcuts says "contradiction".

* ``negation_stress_set``: pairs in which a negation or contrast word appears but the gold
  label is entailment or neutral, drawn from NLI files (dev files, CAD, the negation items of
  the Curriculum templated tasks) and from the hard non-contradiction pairs of annotated
  articles (``data/labelled/dev.jsonl``). A model that reads "not" as "contradiction" has a
  high false-contradiction rate here.
  Its counterpart (``contradictions=True``) draws the *contradiction* pairs that carry a cue
  from the same sources, so the stress set can also be read without a threshold: how well
  the model ranks negation contradictions above negation non-contradictions (ROC-AUC), and
  its false-contradiction rate at the threshold that recalls a fixed share of them. A model
  that merely says "contradiction" less often lowers the argmax rate, not these.
* ``cross_story_pairs``: claims of two *different* stories (a vaccine claim against a merger
  claim) cannot contradict; the share of them that reach the operating threshold is the
  unrelated-pair false-positive rate.

Both are pure data builders; scoring happens in ``eval/pairs.py``.
"""

from __future__ import annotations

import random
from pathlib import Path
from collections.abc import Iterable

from pipeline.errors import DataError
from pipeline.nli.data import NLIExample, expand_paths, iter_json_lines, read_jsonl
from pipeline.nli.augment import split_half
from pipeline.nli.debias import has_cue


def negation_stress_set(
    nli_specs: Iterable[str] = (), labelled: Iterable[Path] = (), per_file: int = 600,
    seed: int = 13, contradictions: bool = False,
) -> list[NLIExample]:
    """Entailment/neutral pairs carrying a negation or contrast word (with
    ``contradictions=True``: the contradiction pairs carrying one, source ``contra:<stem>``).

    Args:
        nli_specs: NLI JSONL files, folders or globs; from each, up to ``per_file`` pairs
            (sampled with ``seed``) whose premise or hypothesis has a cue and whose label is
            not contradiction. ``source`` is set to ``stress:<file stem>``.
        labelled: annotated-article JSONL files; every ``non_contradiction`` pair in which one
            claim has a cue is taken (``source`` ``stress:labelled``).
        per_file: cap per NLI file, so one big file does not dominate the rate.
        seed: sampling seed.
    """
    rng = random.Random(seed)
    prefix = _prefix(contradictions)
    out: list[NLIExample] = []
    for path in expand_paths(list(nli_specs)):
        rows = [r for r in read_jsonl(path) if (r.label == "contradiction") == contradictions
                and (has_cue(r.premise) or has_cue(r.hypothesis))]
        if len(rows) > per_file:
            rows = rng.sample(rows, per_file)
        out.extend(NLIExample(r.premise, r.hypothesis, r.label, f"{prefix}:{path.stem}") for r in rows)
    for path in labelled:
        out.extend(labelled_pairs(Path(path), require_cue=True, source=f"{prefix}:labelled",
                                  label="contradiction" if contradictions else "non_contradiction"))
    return out


def labelled_pairs(path: Path, label: str, require_cue: bool = False,
                   source: str = "stress:labelled") -> list[NLIExample]:
    """Annotated pairs of one label from an articles JSONL file, as NLI examples (claim a as
    premise, ``source`` as given); ``non_contradiction`` becomes ``neutral``."""
    out: list[NLIExample] = []
    for _lineno, doc in _read_docs(path):
        claims = {c["id"]: c["text"] for c in doc.get("claims", [])}
        for p in doc.get("pairs", []):
            if p.get("label") != label or p.get("a") not in claims or p.get("b") not in claims:
                continue
            a, b = " ".join(claims[p["a"]].split()), " ".join(claims[p["b"]].split())
            if require_cue and not (has_cue(a) or has_cue(b)):
                continue
            gold = "contradiction" if label == "contradiction" else "neutral"
            out.append(NLIExample(a, b, gold, source))
    return out


def _read_docs(path: Path):
    return iter_json_lines(Path(path), expected="one article object per line")


def story_claims(paths: Iterable[Path], text_field: str = "text") -> dict[str, list[str]]:
    """{story id: claim texts} from JSONL files of documents.

    Annotated articles give their gold claims; a plain document JSONL (``id``, ``text``)
    gives its sentences (a simple split on sentence-final punctuation, so that no model is
    needed to build the set).
    """
    import re

    out: dict[str, list[str]] = {}
    for path in paths:
        for lineno, doc in _read_docs(Path(path)):
            sid = str(doc.get("id") or f"{Path(path).stem}:{lineno}")
            if doc.get("claims"):
                texts = [" ".join(c["text"].split()) for c in doc["claims"]]
            else:
                text = " ".join(str(doc.get(text_field, "")).split())
                texts = [s for s in re.split(r"(?<=[.!?])\s+(?=[\"'A-Z])", text)
                         if len(s.split()) >= 5]
            if texts:
                out[sid] = texts
    return out


def cross_story_pairs(stories: dict[str, list[str]], n: int = 2000, seed: int = 13
                      ) -> list[tuple[str, str]]:
    """``n`` random pairs of claims from two different stories (none repeated).

    Stories whose ids share a subject prefix (``business-01``, ``business-02``) still count
    as different stories: different events of one beat are exactly what must not be flagged.
    """
    ids = sorted(stories)
    if len(ids) < 2:
        raise DataError("cross-story pairs need at least two stories", found=len(ids))
    rng = random.Random(seed)
    seen: set[tuple[str, str]] = set()
    out: list[tuple[str, str]] = []
    sizes = [len(v) for v in stories.values()]
    limit = min(n, (sum(sizes) ** 2 - sum(k * k for k in sizes)) // 2)  # unordered cross pairs
    attempts = 0
    while len(out) < limit and attempts < 50 * n:
        attempts += 1
        sa, sb = rng.sample(ids, 2)
        pair = (rng.choice(stories[sa]), rng.choice(stories[sb]))
        lo, hi = sorted(pair)
        key = (lo, hi)
        if key in seen:
            continue
        seen.add(key)
        out.append(pair)
    return out


def curriculum_negation(path: Path, n: int = 600, seed: int = 13,
                        contradictions: bool = False) -> list[NLIExample]:
    """The negation items of the Curriculum templated tasks (one file, no task column): the
    entailment/neutral pairs (``contradictions=True``: the contradiction pairs) whose
    hypothesis carries a negation cue, ``n`` sampled from the half of the file that training
    never sees (``augment.split_half``)."""
    rows = [r for r in read_jsonl(Path(path)) if (r.label == "contradiction") == contradictions
            and has_cue(r.hypothesis) and split_half(r.premise, r.hypothesis) == "stress"]
    if len(rows) > n:
        rows = random.Random(seed).sample(rows, n)
    source = f"{_prefix(contradictions)}:curriculum_negation"
    return [NLIExample(r.premise, r.hypothesis, r.label, source) for r in rows]


def _prefix(contradictions: bool) -> str:
    """The ``source`` prefix: ``stress`` for the stress set, ``contra`` for its counterpart."""
    return "contra" if contradictions else "stress"
