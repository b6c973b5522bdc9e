"""Evaluate the whole pipeline on annotated articles, and train the learned decision stage.

Gold format: see data/labelled/README.md (one article per JSONL line with ``claims``
(character spans, speaker) and ``pairs`` (contradiction or hard non-contradiction, typed)).

Matching is by span overlap: a predicted claim matches a gold claim when their overlap is
at least half of the shorter span. A gold pair is found when some predicted pair matches its
two claims, in either order.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.config import RunConfig
from pipeline.stages.decide import DECIDER_FILE, FEATURES, Decider, LearnedDecider, feature_matrix
from pipeline.errors import DataError
from pipeline.pipeline import BatchResult, Pipeline
from pipeline.types import Claim, Document, Pair, Score

CONTRA_TYPES = ("negation_antonym", "numeric", "conflicting_facts", "walk_back", "denial",
                "change_over_time")


@dataclass
class GoldDoc:
    doc: Document
    claims: dict[str, dict]  # id -> {start, end, text, speaker}
    pairs: list[dict]  # {a, b, label, type}


def load_gold(path: str | Path) -> list[GoldDoc]:
    path = Path(path)
    if not path.is_file():
        raise DataError(f"gold file not found: {path}", fix="pass data/labelled/test.jsonl or dev.jsonl")
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
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
        out.append(GoldDoc(doc, claims, obj["pairs"]))
    if not out:
        raise DataError(f"{path}: no articles")
    return out


def _overlap(a: tuple[int, int], b: tuple[int, int]) -> float:
    inter = min(a[1], b[1]) - max(a[0], b[0])
    if inter <= 0:
        return 0.0
    return inter / max(1, min(a[1] - a[0], b[1] - b[0]))


def match_claims(gold: dict[str, dict], pred: list[Claim], min_overlap: float = 0.5) -> dict[str, list[Claim]]:
    """Gold claim id -> predicted claims overlapping it (best first)."""
    out: dict[str, list[Claim]] = {}
    for gid, g in gold.items():
        hits = [(_overlap((g["start"], g["end"]), (c.start, c.end)), c) for c in pred]
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
    gold: GoldDoc
    claims: list[Claim]
    pairs: list[Pair]
    scores: list[Score]


def analyse(pipe: Pipeline, gold: list[GoldDoc], batch: int = 8, on_progress=None) -> list[Analysed]:
    """Run the pipeline on the annotated articles, ``batch`` at a time; ``on_progress`` is
    called with (articles done, articles in all) after each batch."""
    out = []
    for i in range(0, len(gold), batch):
        chunk = gold[i:i + batch]
        res: BatchResult = pipe.process([g.doc for g in chunk])
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


def label_candidates(a: Analysed) -> list[int | None]:
    """For each candidate pair: 1 gold contradiction, 0 gold non-contradiction, None
    unannotated."""
    m = match_claims(a.gold.claims, a.claims)
    labels = [gold_label(p, a.gold.pairs, m) for p in a.pairs]
    return [None if lab is None else int(lab == "contradiction") for lab in labels]


def evaluate(analysed: list[Analysed], decider: Decider, top_k: int = 10) -> dict:
    """Claim recall, speaker accuracy, pair recall/precision (overall and per type)."""
    claims_total = claims_found = spk_total = spk_ok = 0
    per_type = defaultdict(lambda: {"gold": 0, "candidate": 0, "flagged": 0, "top": 0})
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
    return report


def format_report(reports: dict[str, dict]) -> str:
    """A terminal table: one column per decision method."""
    names = list(reports)
    rows = [("claim recall", "claim_recall"), ("speaker accuracy", "speaker_accuracy"),
            ("candidate recall", "candidate_recall"), ("pair recall", "pair_recall"),
            ("pair precision", "pair_precision"), (f"recall@top{next(iter(reports.values()))['top_k']}", "recall_at_top_k"),
            ("flags", "flags"), ("  gold contradictions", "flags_gold_contradiction"),
            ("  gold non-contradictions", "flags_gold_non_contradiction"),
            ("  unannotated", "flags_unannotated")]
    w = max(14, *(len(n) for n in names))
    lines = [f"{'':<28}" + "".join(f"{n:>{w}}" for n in names)]
    for label, key in rows:
        vals = [reports[n][key] for n in names]
        lines.append(f"{label:<28}" + "".join(
            f"{v:>{w}.3f}" if isinstance(v, float) else f"{v:>{w}}" for v in vals))
    lines.append("pair recall by type")
    types = sorted({t for r in reports.values() for t in r["per_type"]})
    for t in types:
        vals = []
        for n in names:
            pt = reports[n]["per_type"].get(t, {"flagged": 0, "gold": 0})
            vals.append(f"{pt['flagged']}/{pt['gold']}")
        lines.append(f"  {t:<26}" + "".join(f"{v:>{w}}" for v in vals))
    return "\n".join(lines)


def train_decider(analysed: list[Analysed], out_path: Path, *, unannotated_weight: float = 0.3,
                  c: float = 0.5, seed: int = 0) -> LearnedDecider:
    """Fit the learned decision stage on candidate pairs of annotated articles.

    Gold contradictions are positives; gold non-contradictions negatives; unannotated
    candidates are negatives with a lower weight (most are unrelated or compatible, but not
    all). The threshold is chosen on cross-validated probabilities for the best F1 over
    annotated pairs.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold, cross_val_predict
    from sklearn.preprocessing import StandardScaler

    pairs, scores, labels, weights, groups = [], [], [], [], []
    for gi, a in enumerate(analysed):
        for p, s, lab in zip(a.pairs, a.scores, label_candidates(a)):
            pairs.append(p)
            scores.append(s)
            labels.append(1 if lab == 1 else 0)
            weights.append(1.0 if lab is not None else unannotated_weight)
            groups.append(gi)
    if not pairs or sum(labels) < 2:
        raise DataError("too few gold contradictions among the candidate pairs to train on")
    x = feature_matrix(pairs, scores)
    y = np.array(labels)
    w = np.array(weights)
    annotated = w == 1.0
    scaler = StandardScaler().fit(x)
    xs = scaler.transform(x)
    lr = LogisticRegression(C=c, max_iter=2000)
    n_splits = min(5, len(set(groups)))
    cv = cross_val_predict(lr, xs, y, cv=GroupKFold(n_splits=n_splits), groups=groups,
                           method="predict_proba", params={"sample_weight": w})[:, 1]
    def f1_at(scores: np.ndarray, t: float) -> float:
        # unannotated flags count as errors with the same weight they had in training:
        # most unannotated candidates are not contradictions, but not all of them
        pred = scores >= t
        tp_ = float((pred & (y == 1)).sum())
        fp_ = float((w * (pred & (y == 0))).sum())
        fn_ = float((~pred & (y == 1)).sum())
        return 2 * tp_ / max(1.0, 2 * tp_ + fp_ + fn_)

    best = max(((f1_at(cv, t), float(t)) for t in sorted(set(np.round(cv, 3)))), default=(0.0, 0.5))
    # the plain threshold's best value on the same pairs, for decide.threshold
    pcmax = x[:, FEATURES.index("pc_max")]
    best_plain = max((f1_at(pcmax, float(t)), float(t)) for t in np.round(np.arange(0.05, 0.96, 0.025), 3))
    lr.fit(xs, y, sample_weight=w)
    scale = np.where(scaler.scale_ == 0, 1.0, scaler.scale_)
    dec = LearnedDecider(
        features=list(FEATURES), mean=scaler.mean_, scale=scale, coef=lr.coef_[0],
        intercept=float(lr.intercept_[0]), threshold=best[1],
        metrics={"train_pairs": len(y), "positives": int(y.sum()),
                 "annotated_negatives": int(((y == 0) & annotated).sum()),
                 "unannotated": int((~annotated).sum()), "cv_best_f1_weighted": round(best[0], 4),
                 "cv_threshold": best[1], "C": c,
                 "plain_threshold_best": best_plain[1], "plain_threshold_f1": round(best_plain[0], 4), "unannotated_weight": unannotated_weight,
                 "coefficients": {f: round(float(v), 4) for f, v in zip(FEATURES, lr.coef_[0])}},
    )
    dec.save(out_path)
    return dec


def run_eval_docs(gold_path: str | Path, cfg: RunConfig, out_dir: Path | None = None,
                  on_progress=None) -> dict[str, dict]:
    """Evaluate with the plain threshold and, when one exists, the learned stage
    (``on_progress``: see ``analyse``)."""
    from dataclasses import replace

    gold = load_gold(gold_path)
    pipe = Pipeline(cfg)
    analysed = analyse(pipe, gold, on_progress=on_progress)
    reports = {"threshold": evaluate(analysed, Decider(replace(cfg.decide, method="threshold")))}
    model_dir = cfg.score.resolved_model()
    learned_path = Path(cfg.decide.classifier) if cfg.decide.classifier else Path(model_dir) / DECIDER_FILE
    if learned_path.is_file():
        reports["learned"] = evaluate(analysed, Decider(replace(cfg.decide, method="learned",
                                                                classifier=str(learned_path))))
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "docs_report.json").write_text(json.dumps(
            {"gold": str(gold_path), "model": model_dir, "reports": reports}, indent=2), encoding="utf-8")
    return reports


def run_train_decider(gold_path: str | Path, cfg: RunConfig, out_path: Path | None = None,
                      on_progress=None) -> LearnedDecider:
    gold = load_gold(gold_path)
    analysed = analyse(Pipeline(cfg), gold, on_progress=on_progress)
    out_path = out_path or Path(cfg.score.resolved_model()) / DECIDER_FILE
    return train_decider(analysed, out_path)
