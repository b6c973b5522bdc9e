"""Evaluate the whole pipeline on annotated articles, and train the learned decision stage on
them (the training set is read off the gold here; the fit is ``pipeline/nli/decider_training.py``).

Gold format: see data/labelled/README.md (one article per JSONL line with ``claims``
(character spans, speaker) and ``pairs`` (contradiction or hard non-contradiction, typed)).

Matching is by span overlap: a predicted claim matches a gold claim when their overlap is
at least half of the shorter span. A gold pair is found when some predicted pair matches its
two claims, in either order. The overlap rule makes matching robust to claim boundaries that
differ slightly from the annotation (a trailing clause, a quote mark, a split compound).

An article whose gold record says ``"exhaustive": true`` lists every contradiction it holds:
any other pair of its statements is not a contradiction, so a flag that matches no gold
contradiction is a false positive whether or not the pair is annotated. In other articles an
unannotated flag is left out of precision. The metrics themselves (precision@k, average
precision, hard non-contradictions flagged) are pure functions in ``pipeline.eval.metrics``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from pipeline.config import DecideConfig, RunConfig
from pipeline.stages.decide import (DECIDER_FILE, FEATURES, Decider, LearnedDecider, decider_path,
                                    feature_matrix, fit_nli_margin)
from pipeline.errors import ConfigError, DataError
from pipeline.eval.metrics import HARD_NON_CONTRADICTION_TYPES, docs_point, plot_docs_curves
from pipeline.nli.decider_training import fit_decider
from pipeline.pipeline import BatchResult, Pipeline
from pipeline.types import CONTRADICTION_TYPES as CONTRA_TYPES  # noqa: F401
from pipeline.types import Claim, Document, Pair, Score

log = logging.getLogger(__name__)


@dataclass
class GoldDoc:
    """An annotated article: its document, the gold claims (id -> offsets, text, speaker)
    and the labelled pairs between them."""
    doc: Document
    claims: dict[str, dict]  # id -> {start, end, text, speaker}
    pairs: list[dict]  # {a, b, label, type}
    exhaustive: bool = False  # every contradiction in the article is among ``pairs``


# Annotations of real articles hold ids and offsets, not the texts (data/labelled/real/): a
# line's ``corpus`` names where its text lies under ``--texts`` (../shared/data/news).
REAL_CORPORA = {"fnc1": "fnc1_train_bodies.jsonl", "polnear-train": "polnear/train/text",
                "polnear-dev": "polnear/dev/text"}
DEFAULT_TEXTS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "news"


class _Texts:
    """The original texts of real articles, read once per corpus."""

    def __init__(self, root: str | Path | None):
        self.root = Path(root) if root else DEFAULT_TEXTS
        self._jsonl: dict[str, dict[str, str]] = {}

    def get(self, corpus: str, doc_id: str, where: str) -> str:
        rel = REAL_CORPORA.get(corpus)
        if rel is None:
            raise DataError(f"{where}: unknown corpus {corpus!r}", expected=", ".join(REAL_CORPORA))
        path = self.root / rel
        if rel.endswith(".jsonl"):
            if rel not in self._jsonl:
                if not path.is_file():
                    raise DataError(f"{where}: the texts of corpus {corpus!r} are not at {path}",
                                    fix="pass --texts DIR (the folder of ../shared/data/news)")
                self._jsonl[rel] = {o["id"]: o["text"] for o in map(json.loads, path.open(encoding="utf-8"))}
            if doc_id not in self._jsonl[rel]:
                raise DataError(f"{where}: article {doc_id!r} is not in {path}")
            return self._jsonl[rel][doc_id]
        file = path / f"{doc_id}.txt"
        if not file.is_file():
            raise DataError(f"{where}: the text of {doc_id!r} is not at {file}",
                            fix="pass --texts DIR (the folder of ../shared/data/news)")
        return file.read_text(encoding="utf-8")


def span_sha1(span: str) -> str:
    """The first 10 hex digits of the SHA-1 of a span (how real annotations pin their offsets)."""
    return hashlib.sha1(span.encode("utf-8")).hexdigest()[:10]


def load_gold(path: str | Path, texts: str | Path | None = None) -> list[GoldDoc]:
    """Annotated articles: the written set (each line holds its ``text``) or real articles
    (each line names its ``corpus``; the text is read from ``texts``, default
    ``../shared/data/news``, and every span checked against its ``sha1``)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"gold file not found: {path}", fix="pass data/labelled/test.jsonl or dev.jsonl")
    out = []
    source = _Texts(texts)
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            if "text" not in obj and "corpus" in obj:
                obj["text"] = source.get(obj["corpus"], obj["id"], f"{path}:{n}")
                for c in obj["claims"]:
                    span = obj["text"][c["start"]:c["end"]]
                    if span_sha1(span) != c["sha1"]:
                        raise DataError(f"{path}:{n}: claim {c['id']} offsets {c['start']}-{c['end']} "
                                        f"no longer point at the annotated words (sha1 differs)",
                                        fix="check that --texts is the same release of the corpus")
                    c["text"] = span
            doc = Document(id=obj["id"], text=obj["text"], title=obj.get("title", ""),
                           date=obj.get("date", ""), source=obj.get("source", ""))
            claims = {c["id"]: c for c in obj["claims"]}
            for c in claims.values():
                if obj["text"][c["start"]:c["end"]] != c["text"]:
                    raise DataError(f"{path}:{n}: claim {c['id']} span does not match its text")
            for p in obj["pairs"]:
                if p["a"] not in claims or p["b"] not in claims:
                    raise DataError(f"{path}:{n}: pair {p} names an unknown claim")
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise DataError(f"{path}:{n}: not a gold article ({exc})",
                            expected="id, text, claims, pairs; see data/labelled/README.md") from exc
        exhaustive = obj.get("exhaustive", False)
        if not isinstance(exhaustive, bool):
            raise DataError(f"{path}:{n}: 'exhaustive' must be true or false",
                            found=repr(exhaustive), fix="see data/labelled/README.md")
        out.append(GoldDoc(doc, claims, obj["pairs"], exhaustive))
    if not out:
        raise DataError(f"{path}: no articles")
    return out


def _overlap(a: tuple[int, int], b: tuple[int, int]) -> float:
    inter = min(a[1], b[1]) - max(a[0], b[0])
    if inter <= 0:
        return 0.0
    return inter / max(1, min(a[1] - a[0], b[1] - b[0]))


def match_claims(gold: dict[str, dict], pred: list[Claim], min_overlap: float = 0.5) -> dict[str, list[Claim]]:
    """Gold claim id -> predicted claims overlapping it (best first). A tied denial ("P, a
    claim Y denied": its span is P) also matches by its own clause, the span the protocol
    gives a denial (data/labelled/real/PROTOCOL.md)."""
    out: dict[str, list[Claim]] = {}
    for gid, g in gold.items():
        span = (g["start"], g["end"])
        hits = [(max(_overlap(span, (c.start, c.end)), _overlap(span, c.clause) if c.clause else 0.0), c)
                for c in pred]
        hits = [h for h in hits if h[0] >= min_overlap]
        hits.sort(key=lambda h: -h[0])
        out[gid] = [c for _, c in hits]
    return out


def _name_words(name: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", (name or "").lower())
            if w not in {"the", "a", "an", "of", "s", "mr", "ms", "dr"}}


def same_speaker(gold: str | None, pred: str) -> bool:
    """Lenient name match: both unknown, or the gold name's words are mostly in the
    prediction (surname included)."""
    if not gold:
        return not pred
    if not pred:
        return False
    g, p = _name_words(gold), _name_words(pred)
    if not g or not p:
        return False
    return len(g & p) / min(len(g), len(p)) >= 0.5


@dataclass
class Analysed:
    """A gold article after the pipeline: its claims, candidate pairs and their NLI scores."""
    gold: GoldDoc
    claims: list[Claim]
    pairs: list[Pair]
    scores: list[Score]


def analyse(pipe: Pipeline, gold: list[GoldDoc], batch: int = 8, on_progress=None) -> list[Analysed]:
    """Run the pipeline on the annotated articles, ``batch`` at a time; ``on_progress`` is
    called with (articles done, articles in all) after each batch. Every candidate must be
    scored: build ``pipe`` from ``full_scoring(cfg)``."""
    out = []
    for i in range(0, len(gold), batch):
        chunk = gold[i:i + batch]
        res: BatchResult = pipe.process([g.doc for g in chunk])
        if any(s is None for s in res.scores):
            raise ValueError("eval analyse: the pipeline's NLI cascade left candidates unscored; "
                             "build it with full_scoring(cfg)")
        by_doc: dict[str, list] = defaultdict(list)
        for c in res.claims:
            by_doc[c.doc_id].append(c)
        pairs_by_doc: dict[str, list] = defaultdict(list)
        for p, s in zip(res.pairs, res.scores):
            pairs_by_doc[p.a.doc_id].append((p, s))
        for g in chunk:
            ps = pairs_by_doc[g.doc.id]
            out.append(Analysed(g, by_doc[g.doc.id], [p for p, _ in ps], [s for _, s in ps]))
        if on_progress is not None:
            on_progress(len(out), len(gold))
    return out


def _pair_matches(pair: Pair, ga: list[Claim], gb: list[Claim]) -> bool:
    ka, kb = pair.a.key, pair.b.key
    sa, sb = {c.key for c in ga}, {c.key for c in gb}
    return (ka in sa and kb in sb) or (ka in sb and kb in sa)


def gold_label(pair: Pair, gold_pairs: list[dict], m: dict[str, list[Claim]]) -> str | None:
    """The gold label of a predicted pair ("contradiction" wins over "non_contradiction"
    when it matches both), or None when it is unannotated."""
    lab = None
    for gp in gold_pairs:
        if _pair_matches(pair, m[gp["a"]], m[gp["b"]]):
            lab = gp["label"]
            if lab == "contradiction":
                break
    return lab


def same_side(gold: str, pred: str | None) -> bool:
    """A predicted side matches the gold one when either holds the other, case aside
    ("Skyline Air" and "Skyline Air's", "US" and "us"); an empty prediction never does."""
    g, p = gold.strip().lower(), (pred or "").strip().lower()
    return bool(p) and (p in g or g in p)


def label_candidates(a: Analysed) -> list[int | None]:
    """For each candidate pair: 1 gold contradiction, 0 gold non-contradiction, None
    unannotated. In an exhaustively annotated article an unannotated pair is 0: the article
    lists all its contradictions."""
    m = match_claims(a.gold.claims, a.claims)
    labels = [gold_label(p, a.gold.pairs, m) for p in a.pairs]
    unannotated = 0 if a.gold.exhaustive else None
    return [unannotated if lab is None else int(lab == "contradiction") for lab in labels]


def pair_hits(pair: Pair, gold_pairs: list[dict], m: dict[str, list[Claim]]) -> dict[str, list[int]]:
    """The gold pairs (indices into ``gold_pairs``) a predicted pair matches:
    ``{"contra": [...], "non_contra": [...], "hard": [...]}`` (hard = non-contradictions of a
    type in ``metrics.HARD_NON_CONTRADICTION_TYPES``)."""
    out: dict[str, list[int]] = {"contra": [], "non_contra": [], "hard": []}
    for i, gp in enumerate(gold_pairs):
        if _pair_matches(pair, m[gp["a"]], m[gp["b"]]):
            if gp["label"] == "contradiction":
                out["contra"].append(i)
            else:
                out["non_contra"].append(i)
                if gp.get("type") in HARD_NON_CONTRADICTION_TYPES:
                    out["hard"].append(i)
    return out


def _pair_key(p: Pair) -> tuple[str, str]:
    return (p.a.key, p.b.key)


class _Prepared:
    """Per article: the claim matching and every candidate's gold hits, computed once so that
    a threshold sweep only re-runs the decision stage."""

    def __init__(self, a: Analysed):
        self.a = a
        self.m = match_claims(a.gold.claims, a.claims)
        self.hits = {_pair_key(p): pair_hits(p, a.gold.pairs, self.m) for p in a.pairs}
        self.gold_contra = [i for i, gp in enumerate(a.gold.pairs) if gp["label"] == "contradiction"]
        self.gold_hard = [i for i, gp in enumerate(a.gold.pairs) if gp["label"] != "contradiction"
                          and gp.get("type") in HARD_NON_CONTRADICTION_TYPES]

    def article(self, flags: list) -> dict:
        ranked = sorted(flags, key=lambda f: -f.score)
        empty: dict[str, list] = {"contra": [], "non_contra": [], "hard": []}
        return {"flags": [self.hits.get(_pair_key(f.pair), empty) for f in ranked],
                "gold_contra": self.gold_contra, "gold_hard": self.gold_hard,
                "exhaustive": self.a.gold.exhaustive}


def decider_threshold(decider: Decider) -> float:
    """The threshold a decision stage flags at (the learned stage's own, else the config's)."""
    learned = getattr(decider, "learned", None)
    return float(learned.threshold) if learned is not None else float(decider.cfg.threshold)


def with_threshold(decider: Decider, t: float) -> Decider:
    """A copy of ``decider`` that flags at threshold ``t`` (everything else unchanged)."""
    import copy
    from dataclasses import replace

    new = copy.copy(decider)
    learned = getattr(decider, "learned", None)
    if learned is not None:
        new.learned = copy.copy(learned)
        new.learned.threshold = float(t)
    else:
        new.cfg = replace(decider.cfg, threshold=float(t))
    return new


SWEEP = tuple(float(t) for t in np.round(np.arange(0.0, 1.0001, 0.05), 2))


def doc_metrics(analysed: list[Analysed], decider: Decider,
                thresholds: tuple[float, ...] | None = SWEEP) -> dict:
    """The reader's metrics (``metrics.docs_point``) at the decider's own operating point
    (``default``) and, when ``thresholds`` is given, at each of them (``curve``)."""
    prep = [_Prepared(a) for a in analysed]
    t0 = decider_threshold(decider)

    def point(dec: Decider, t: float) -> dict:
        arts = [pa.article(dec.decide(pa.a.pairs, pa.a.scores)) for pa in prep]
        return {"threshold": t, **docs_point(arts)}

    curve = [point(with_threshold(decider, t), t) for t in thresholds or ()]
    return {"default": point(decider, t0), "curve": curve}


def evaluate(analysed: list[Analysed], decider: Decider, top_k: int = 10,
             thresholds: tuple[float, ...] | None = None) -> dict:
    """Claim recall, speaker accuracy, pair recall/precision (overall and per type), and the
    reader's metrics of ``doc_metrics`` at the decider's operating point (``precision``,
    ``recall``, ``f1``, ``p@3``/``p@5``/``p@10``, ``map``, ``flags_per_article``,
    ``hard_nc_flagged_rate``, ...; ``precision`` counts unannotated flags of exhaustively
    annotated articles as false positives) and, when ``thresholds`` is given, at each
    threshold (``curve``). ``pair_precision`` is the older measure over annotated flags only.
    """
    claims_total = claims_found = spk_total = spk_ok = side_total = side_ok = 0
    per_type: defaultdict[str, dict[str, int]] = defaultdict(
        lambda: {"gold": 0, "candidate": 0, "flagged": 0, "top": 0})
    tp = fp = unannotated = 0
    misses: list[dict] = []
    for a in analysed:
        m = match_claims(a.gold.claims, a.claims)
        for gid, g in a.gold.claims.items():
            claims_total += 1
            if m[gid]:
                claims_found += 1
                spk_total += 1
                spk_ok += int(same_speaker(g.get("speaker"), m[gid][0].speaker))
                if g.get("side"):
                    side_total += 1
                    side_ok += int(same_side(g["side"], m[gid][0].side))
        flags = decider.decide(a.pairs, a.scores)
        flags.sort(key=lambda f: -f.score)
        top = flags[:top_k]
        for f in flags:
            lab = gold_label(f.pair, a.gold.pairs, m)
            if lab == "contradiction":
                tp += 1
            elif lab == "non_contradiction":
                fp += 1
            else:
                unannotated += 1
        for gp in a.gold.pairs:
            if gp["label"] != "contradiction":
                continue
            t = per_type[gp["type"]]
            t["gold"] += 1
            ga, gb = m[gp["a"]], m[gp["b"]]
            cand = any(_pair_matches(p, ga, gb) for p in a.pairs)
            hit = any(_pair_matches(f.pair, ga, gb) for f in flags)
            t["candidate"] += int(cand)
            t["flagged"] += int(hit)
            t["top"] += int(any(_pair_matches(f.pair, ga, gb) for f in top))
            if not hit:
                if not ga or not gb:
                    why = "segmentation: a claim was not extracted"
                elif not cand:
                    why = "pairing: not among the candidate pairs"
                else:
                    why = "scoring/decision: candidate not flagged"
                sc = None
                for p, s in zip(a.pairs, a.scores):
                    if _pair_matches(p, ga, gb):
                        sc = round(max(s.p_contradiction), 3)
                misses.append({"doc": a.gold.doc.id, "type": gp["type"],
                               "a": a.gold.claims[gp["a"]]["text"], "b": a.gold.claims[gp["b"]]["text"],
                               "why": why, "p_contradiction": sc, "note": gp.get("note", "")})
    gold_contra = sum(t["gold"] for t in per_type.values())
    flagged = sum(t["flagged"] for t in per_type.values())
    report = {
        "articles": len(analysed),
        "claim_recall": claims_found / max(1, claims_total),
        "claims_gold": claims_total,
        "claims_predicted": sum(len(a.claims) for a in analysed),
        "speaker_accuracy": spk_ok / max(1, spk_total),
        "side_accuracy": side_ok / max(1, side_total),
        "sides_gold": side_total,
        "pair_recall": flagged / max(1, gold_contra),
        "candidate_recall": sum(t["candidate"] for t in per_type.values()) / max(1, gold_contra),
        "pair_precision": tp / max(1, tp + fp),
        "flags": tp + fp + unannotated,
        "flags_gold_contradiction": tp,
        "flags_gold_non_contradiction": fp,
        "flags_unannotated": unannotated,
        "top_k": top_k,
        "recall_at_top_k": sum(t["top"] for t in per_type.values()) / max(1, gold_contra),
        "per_type": {k: {**v, "recall": v["flagged"] / max(1, v["gold"])} for k, v in sorted(per_type.items())},
        "misses": misses,
    }
    dm = doc_metrics(analysed, decider, thresholds)
    report.update(dm["default"])
    report["exhaustive_articles"] = sum(int(a.gold.exhaustive) for a in analysed)
    report["curve"] = dm["curve"]
    return report


def _cell(v, w: int) -> str:
    if v is None:
        return f"{'-':>{w}}"
    return f"{v:>{w}.3f}" if isinstance(v, float) else f"{v:>{w}}"


def format_report(reports: dict[str, dict]) -> str:
    """A terminal table: one column per decision method, then notes on the conventions."""
    names = list(reports)
    first = next(iter(reports.values()))
    w = max(14, *(len(n) for n in names))
    lines = [f"{'':<34}" + "".join(f"{n:>{w}}" for n in names)]

    def row(label: str, vals: list) -> None:
        lines.append(f"{label:<34}" + "".join(_cell(v, w) for v in vals))

    row("threshold (default point)", [reports[n].get("threshold") for n in names])
    for label, key in [("precision (unannotated = FP)", "precision"), ("recall", "recall"),
                       ("F1", "f1"), ("mean precision@3", "p@3"), ("mean precision@5", "p@5"),
                       ("mean precision@10", "p@10"), ("mean average precision", "map"),
                       ("flags per article", "flags_per_article")]:
        row(label, [reports[n].get(key) for n in names])
    lines.append(f"{'hard non-contradictions flagged':<34}" + "".join(
        f"{str(reports[n].get('hard_nc_flagged', 0)) + '/' + str(reports[n].get('hard_nc_total', 0)):>{w}}"
        for n in names))
    row("  rate", [reports[n].get("hard_nc_flagged_rate") for n in names])
    rows = [("claim recall", "claim_recall"), ("speaker accuracy", "speaker_accuracy"),
            ("side accuracy", "side_accuracy"),
            ("candidate recall", "candidate_recall"), ("pair recall", "pair_recall"),
            ("precision, annotated flags only", "pair_precision"),
            (f"recall@top{first['top_k']}", "recall_at_top_k"),
            ("flags", "flags"), ("  gold contradictions", "flags_gold_contradiction"),
            ("  gold non-contradictions", "flags_gold_non_contradiction"),
            ("  unannotated", "flags_unannotated"),
            ("  unannotated counted as FP", "flags_unannotated_counted")]
    for label, key in rows:
        row(label, [reports[n].get(key) for n in names])
    casc = [reports[n].get("cascade") for n in names]
    if any(casc):
        row("NLI cascade: share of pairs to NLI", [c["nli_share"] if c else None for c in casc])
        row("  default-point flags it loses", [c["flags_lost"] if c else None for c in casc])
    lines.append("pair recall by type")
    types = sorted({t for r in reports.values() for t in r["per_type"]})
    for t in types:
        vals = []
        for n in names:
            pt = reports[n]["per_type"].get(t, {"flagged": 0, "gold": 0})
            vals.append(f"{pt['flagged']}/{pt['gold']}")
        lines.append(f"  {t:<32}" + "".join(f"{v:>{w}}" for v in vals))
    n_art = first.get("articles", 0)
    lines += [
        "",
        f"precision: a flag is correct when it matches a gold contradiction; {first.get('exhaustive_articles', 0)} "
        f"of {n_art} articles are exhaustively annotated, and there every other flag, annotated "
        "or not, counts as a false positive (elsewhere unannotated flags are left out).",
        f"precision@k / average precision: means over the {first.get('articles_ranked', 0)} articles "
        f"with a gold contradiction; the {first.get('articles_without_gold', 0)} without one are left "
        "out of those means, but their flags count in precision and in flags per article. "
        "precision@k = correct among the first min(k, flags) rows; 0 for an article with gold "
        "contradictions and no flag.",
        "hard non-contradictions flagged: annotated agreeing / paraphrase / related_compatible "
        "pairs matched by a flag.",
    ]
    return "\n".join(lines)


def decider_training_set(analysed: list[Analysed], decider: Decider):
    """Features, labels (1 gold contradiction, 0 otherwise), raw labels (None unannotated),
    article index per candidate, gold contradictions per article."""
    xs, labels, groups = [], [], []
    gold_total: dict[int, int] = {}
    pcs: list[tuple[float, float]] = []
    for gi, a in enumerate(analysed):
        gold_total[gi] = sum(1 for p in a.gold.pairs if p["label"] == "contradiction")
        if not a.pairs:
            continue
        evs, hits = decider.evidence(a.pairs, a.scores)
        xs.append(feature_matrix(a.pairs, a.scores, evs, hits))
        labels.extend(label_candidates(a))
        groups.extend([gi] * len(a.pairs))
        pcs.extend(s.p_contradiction for s in a.scores)
    x = np.vstack(xs) if xs else np.zeros((0, len(FEATURES)))
    return x, labels, np.array(groups), gold_total, pcs


def train_decider(analysed: list[Analysed], out_path: Path, *, decide_cfg: DecideConfig | None = None,
                  embed=None, unannotated_weight: float = 1.0, target_precision: float = 0.6,
                  c_grid: tuple[float, ...] = (0.003, 0.01, 0.03, 0.1, 0.3, 1.0),
                  extra: list[Analysed] | None = None, extra_weight: float = 0.0) -> LearnedDecider:
    """Fit the learned decision stage on the candidate pairs of annotated articles.

    Gold contradictions are positives; gold non-contradictions and unannotated candidates
    negatives (unannotated ones with ``unannotated_weight``: 1.0 once the annotations are
    exhaustive). Everything is chosen by cross-validation *by article* (GroupKFold): the
    regularisation C (log loss, one-standard-error rule: ``one_standard_error_c``), the
    Platt calibration of the regression's logit, and the operating point (highest recall at
    precision >= ``target_precision``). The CV figures of the learned model and of the plain
    threshold (each ``decide.directions`` choice) are stored in ``metrics``. This builds the
    training sets (``decider_training_set``); the fit is ``fit_decider`` in
    ``pipeline/nli/decider_training.py``.

    ``extra`` articles (the written set beside the real one) add their candidates to every
    fit with weight ``extra_weight``; they are never in a test fold, so every CV figure and
    the operating point are the main set's.
    """
    decide_cfg = decide_cfg or DecideConfig()
    probe = Decider(replace(decide_cfg, method="threshold"), embed=embed)
    train = decider_training_set(analysed, probe)
    extra_set = decider_training_set(extra, probe)[:2] if extra and extra_weight > 0 else None
    return fit_decider(train, out_path, decide_cfg=decide_cfg, articles=len(analysed),
                       unannotated_weight=unannotated_weight, target_precision=target_precision,
                       c_grid=c_grid, extra=extra_set,
                       extra_articles=len(extra or []) if extra_weight > 0 else 0,
                       extra_weight=extra_weight)


def update_nli_margin(analysed: list[Analysed], path: Path, *, decide_cfg: DecideConfig | None = None,
                      embed=None) -> LearnedDecider:
    """Measure ``nli_margin`` for the decision model at ``path`` on fully scored articles and
    write it into the file; nothing else in it changes."""
    decide_cfg = decide_cfg or DecideConfig()
    probe = Decider(replace(decide_cfg, method="threshold"), embed=embed)
    x = decider_training_set(analysed, probe)[0]
    dec = LearnedDecider.load(path)
    dec.nli_margin = fit_nli_margin(dec, x)
    dec.save(path)
    return dec


def cascade_check(analysed: list[Analysed], decider: Decider) -> dict:
    """What the NLI cascade would change, measured on fully scored articles: the share of
    candidate pairs it sends to the NLI model, and the flags of the default point it would
    lose (pairs it leaves out although their full score reaches the cut)."""
    pairs = needed = lost = flags = 0
    for a in analysed:
        if not a.pairs:
            continue
        need = decider.nli_needed(a.pairs)
        by_key = {_pair_key(p): bool(n) for p, n in zip(a.pairs, need)}
        fl = decider.decide(a.pairs, a.scores)
        pairs += len(a.pairs)
        needed += int(need.sum())
        flags += len(fl)
        lost += sum(1 for f in fl if not by_key[_pair_key(f.pair)])
    return {"pairs": pairs, "nli_pairs": needed, "nli_share": round(needed / pairs, 4) if pairs else None,
            "flags": flags, "flags_lost": lost,
            "margin": decider.learned.nli_margin if decider.learned is not None else None}


def candidate_rows(analysed: list[Analysed], decider: Decider) -> list[dict]:
    """Every candidate pair with its scores, whether ``decider`` flags it, and the gold claims
    and pairs it matches: the material for reviewing annotations (see data/labelled/README.md)."""
    rows = []
    for a in analysed:
        m = match_claims(a.gold.claims, a.claims)
        owner: dict[str, list[str]] = defaultdict(list)
        for gid, cs in m.items():
            for c in cs:
                owner[c.key].append(gid)
        flagged = {_pair_key(f.pair): f for f in decider.decide(a.pairs, a.scores)}
        for p, s in zip(a.pairs, a.scores):
            f = flagged.get(_pair_key(p))
            hits = pair_hits(p, a.gold.pairs, m)
            rows.append({
                "doc": a.gold.doc.id, "relation": p.relation, "similarity": round(p.similarity, 4),
                "p_contradiction": [round(float(v), 4) for v in s.p_contradiction],
                "p_entailment": [round(float(v), 4) for v in s.p_entailment],
                "flagged": f is not None, "score": round(f.score, 4) if f else None,
                "reason": f.reason if f else "",
                "a": {"start": p.a.start, "end": p.a.end, "text": p.a.text, "speaker": p.a.speaker,
                      "gold": owner.get(p.a.key, [])},
                "b": {"start": p.b.start, "end": p.b.end, "text": p.b.text, "speaker": p.b.speaker,
                      "gold": owner.get(p.b.key, [])},
                "gold_pairs": [{"a": a.gold.pairs[i]["a"], "b": a.gold.pairs[i]["b"],
                                "label": a.gold.pairs[i]["label"], "type": a.gold.pairs[i]["type"]}
                               for i in hits["contra"] + hits["non_contra"]],
            })
    return rows


def run_eval_docs(gold_path: str | Path, cfg: RunConfig, out_dir: Path | None = None,
                  on_progress=None, texts: str | Path | None = None) -> dict[str, dict]:
    """Evaluate with the plain threshold and, when one exists, the learned stage
    (``on_progress``: see ``analyse``).

    With ``out_dir``: ``docs_report.json`` (everything), ``metrics.json`` (the reader's metrics
    at the default point and at every threshold of ``SWEEP``), ``docs_pr.png`` (those curves)
    and ``candidates.jsonl`` (every candidate pair, flagged or not, with its gold match).
    """
    gold = load_gold(gold_path, texts)
    pipe = Pipeline(full_scoring(cfg))
    analysed = analyse(pipe, gold, on_progress=on_progress)
    return report_eval_docs(analysed, cfg, out_dir, gold_path=str(gold_path),
                            embed=pipe.topics.embed)


def report_eval_docs(analysed: list[Analysed], cfg: RunConfig, out_dir: Path | None = None,
                     gold_path: str = "", embed=None) -> dict[str, dict]:
    """The reports (and, with ``out_dir``, the files) of ``run_eval_docs`` for articles the
    pipeline has already processed; ``embed`` is the claim embedder the decision rules use."""
    sweep = SWEEP if out_dir is not None else None
    deciders = {"threshold": Decider(replace(cfg.decide, method="threshold"), embed=embed)}
    model_dir = cfg.score.resolved_model()
    learned_path = decider_path(cfg.decide, model_dir)
    if learned_path.is_file() and cfg.decide.method != "threshold":
        try:
            deciders["learned"] = Decider(replace(cfg.decide, method="learned",
                                                  classifier=str(learned_path)), embed=embed)
        except ConfigError as exc:
            log.warning("eval docs: learned decision model %s not evaluated: %s", learned_path,
                        str(exc).split(";")[0])
    reports = {name: evaluate(analysed, dec, thresholds=sweep) for name, dec in deciders.items()}
    if "learned" in deciders:
        cascade = Decider(replace(cfg.decide, method="learned", classifier=str(learned_path),
                                  nli_cascade=True), embed=embed)
        if cascade.cascade:
            reports["learned"]["cascade"] = cascade_check(analysed, cascade)
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "docs_report.json").write_text(json.dumps(
            {"gold": str(gold_path), "model": model_dir, "reports": reports}, indent=2), encoding="utf-8")
        keys = ("threshold", "precision", "recall", "f1", "p@3", "p@5", "p@10", "map",
                "flags", "flags_per_article", "flags_correct", "flags_unannotated",
                "flags_unannotated_counted", "gold_contradictions", "found", "hard_nc_flagged",
                "hard_nc_total", "hard_nc_flagged_rate", "articles", "articles_ranked",
                "articles_without_gold", "exhaustive_articles", "speaker_accuracy", "claim_recall")
        metrics = {
            "gold": str(gold_path), "model": model_dir,
            "conventions": format_report(reports).split("\n\n", 1)[-1],
            "methods": {n: {"default": {k: r.get(k) for k in keys}, "curve": r["curve"],
                            **({"cascade": r["cascade"]} if "cascade" in r else {})}
                        for n, r in reports.items()},
        }
        (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=2), encoding="utf-8")
        plot_docs_curves({n: r["curve"] for n, r in reports.items()},
                         {n: r for n, r in reports.items()}, out_dir / "docs_pr.png")
        default = deciders.get("learned" if cfg.decide.method != "threshold" else "threshold",
                               deciders["threshold"])
        with open(out_dir / "candidates.jsonl", "w", encoding="utf-8") as fh:
            for row in candidate_rows(analysed, default):
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    return reports


def run_train_decider(gold_path: str | Path, cfg: RunConfig, out_path: Path | None = None, *,
                      unannotated_weight: float = 1.0, target_precision: float = 0.6,
                      margin_only: bool = False, on_progress=None,
                      texts: str | Path | None = None, extra_gold: str | Path | None = None,
                      extra_weight: float = 1.0) -> LearnedDecider:
    """``contradict train-decider``: run the pipeline (every pair scored) on the gold articles,
    fit the decision model and write it to ``out_path`` (default: ``decider.json`` beside the NLI
    model); with ``margin_only``, refit only the NLI cascade margin of the stored model."""
    gold = load_gold(gold_path, texts)
    pipe = Pipeline(full_scoring(cfg))
    analysed = analyse(pipe, gold, on_progress=on_progress)
    extra = analyse(pipe, load_gold(extra_gold, texts)) if extra_gold else None
    out_path = out_path or Path(cfg.score.resolved_model()) / DECIDER_FILE
    if margin_only:
        return update_nli_margin(analysed, out_path, decide_cfg=cfg.decide, embed=pipe.topics.embed)
    return train_decider(analysed, out_path, decide_cfg=cfg.decide, embed=pipe.topics.embed,
                         unannotated_weight=unannotated_weight, target_precision=target_precision,
                         extra=extra, extra_weight=extra_weight)


def full_scoring(cfg: RunConfig) -> RunConfig:
    """``cfg`` with the NLI cascade off: evaluation and training need every pair scored."""
    return replace(cfg, decide=replace(cfg.decide, nli_cascade=False))
