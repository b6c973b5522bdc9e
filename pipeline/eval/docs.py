"""Evaluate the whole pipeline on annotated articles, and train the learned decision stage.

Gold format: see data/labelled/README.md (one article per JSONL line with ``claims``
(character spans, speaker) and ``pairs`` (contradiction or hard non-contradiction, typed)).

Matching is by span overlap: a predicted claim matches a gold claim when their overlap is
at least half of the shorter span. A gold pair is found when some predicted pair matches its
two claims, in either order.
"""

from __future__ import annotations

import json
import logging
import re
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from pipeline.config import DecideConfig, RunConfig
from pipeline.stages.decide import (DECIDER_FILE, FEATURES, Decider, LearnedDecider, combine_directions,
                                    decider_path, feature_matrix)
from pipeline.errors import ConfigError, DataError
from pipeline.pipeline import BatchResult, Pipeline
from pipeline.types import Claim, Document, Pair, Score

log = logging.getLogger(__name__)

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


def analyse(pipe: Pipeline, gold: list[GoldDoc], batch: int = 8) -> list[Analysed]:
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


def _article_metrics(probs: np.ndarray, y: np.ndarray, lab: list, groups: np.ndarray,
                     gold_total: dict[int, int], t: float, unannotated_weight: float) -> dict:
    """Precision, recall, F1, per-article precision@3/5/10 and average precision, flags per
    article and the share of hard non-contradictions flagged, at operating point ``t``.

    Recall counts every gold contradiction of the articles (also those that never became a
    candidate); unannotated flags count as false positives with ``unannotated_weight``."""
    pred = probs >= t
    annotated = np.array([v is not None for v in lab])
    tp = float((pred & (y == 1)).sum())
    fp = float((pred & (y == 0) & annotated).sum()) + unannotated_weight * float((pred & ~annotated).sum())
    gold = sum(gold_total.values())
    prec = tp / max(1e-9, tp + fp) if tp + fp else 0.0
    rec = tp / max(1, gold)
    hard = (y == 0) & annotated
    p_at = {3: [], 5: [], 10: []}
    aps, flags = [], []
    for g in sorted(gold_total):
        m = groups == g
        order = np.argsort(-probs[m], kind="stable")
        yy = y[m][order]
        for k in p_at:
            n = min(k, len(yy))
            p_at[k].append(float(yy[:n].sum()) / n if n else 0.0)
        hits = np.cumsum(yy)
        ranks = np.arange(1, len(yy) + 1)
        aps.append(float((hits / ranks * yy).sum() / max(1, gold_total[g])))
        flags.append(int(pred[m].sum()))
    return {"threshold": round(float(t), 4), "precision": round(prec, 4), "recall": round(rec, 4),
            "f1": round(2 * prec * rec / max(1e-9, prec + rec), 4),
            "precision_at_3": round(float(np.mean(p_at[3])), 4),
            "precision_at_5": round(float(np.mean(p_at[5])), 4),
            "precision_at_10": round(float(np.mean(p_at[10])), 4),
            "mean_average_precision": round(float(np.mean(aps)), 4),
            "flags_per_article": round(float(np.mean(flags)), 2),
            "hard_non_contradictions_flagged": round(float((pred & hard).sum()) / max(1, int(hard.sum())), 4)}


def choose_operating_point(probs: np.ndarray, y: np.ndarray, lab: list, groups: np.ndarray,
                           gold_total: dict[int, int], *, target_precision: float,
                           unannotated_weight: float) -> dict:
    """The threshold with the highest recall whose precision reaches ``target_precision``
    (``target_met``); when none does, the one with the best F1."""
    cands = sorted(set(np.round(probs, 4))) or [0.5]
    rows = [_article_metrics(probs, y, lab, groups, gold_total, float(t), unannotated_weight)
            for t in cands]
    ok = [r for r in rows if r["precision"] >= target_precision and r["recall"] > 0]
    if ok:
        best = max(ok, key=lambda r: (r["recall"], r["precision"]))
        return {**best, "target_met": True}
    return {**max(rows, key=lambda r: r["f1"]), "target_met": False}


def decider_training_set(analysed: list[Analysed], decider: Decider):
    """Features, labels (1 gold contradiction, 0 otherwise), raw labels (None unannotated),
    article index per candidate, gold contradictions per article."""
    xs, labels, groups = [], [], []
    gold_total: dict[int, int] = {}
    pcs = []
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
                  c_grid: tuple[float, ...] = (0.03, 0.1, 0.3, 1.0)) -> LearnedDecider:
    """Fit the learned decision stage on the candidate pairs of annotated articles.

    Gold contradictions are positives; gold non-contradictions and unannotated candidates
    negatives (unannotated ones with ``unannotated_weight``: 1.0 once the annotations are
    exhaustive). Everything is chosen by cross-validation *by article* (GroupKFold): the
    regularisation C (log loss), the Platt calibration of the regression's logit, and the
    operating point (highest recall at precision >= ``target_precision``). The CV figures
    of the learned model and of the plain threshold (each ``decide.directions`` choice) are
    stored in ``metrics``.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import log_loss
    from sklearn.model_selection import GroupKFold
    from sklearn.preprocessing import StandardScaler

    decide_cfg = decide_cfg or DecideConfig()
    probe = Decider(replace(decide_cfg, method="threshold"), embed=embed)
    x, lab, groups, gold_total, pcs = decider_training_set(analysed, probe)
    y = np.array([1 if v == 1 else 0 for v in lab])
    w = np.array([1.0 if v is not None else unannotated_weight for v in lab])
    if len(y) == 0 or y.sum() < 2:
        raise DataError("too few gold contradictions among the candidate pairs to train on",
                        fix="annotate more articles, or check that the gold file matches the pipeline's claims")
    n_splits = min(5, len(set(groups.tolist())))
    if n_splits < 2:
        raise DataError("cross-validation by article needs at least 2 articles with candidates")
    folds = list(GroupKFold(n_splits=n_splits).split(x, y, groups))

    def cv_logits(c: float) -> np.ndarray:
        z = np.zeros(len(y))
        for tr, te in folds:
            sc = StandardScaler().fit(x[tr])
            lr = LogisticRegression(C=c, max_iter=5000, class_weight="balanced")
            lr.fit(sc.transform(x[tr]), y[tr], sample_weight=w[tr])
            z[te] = lr.decision_function(sc.transform(x[te]))
        return z

    best_c, best_loss, best_z = c_grid[0], np.inf, None
    for c in c_grid:
        z = cv_logits(c)
        loss = log_loss(y, 1 / (1 + np.exp(-z)), sample_weight=w, labels=[0, 1])
        if loss < best_loss:
            best_c, best_loss, best_z = c, loss, z
    # Platt scaling of the out-of-fold logits: the score becomes a probability
    platt = LogisticRegression(C=1e4, max_iter=5000).fit(best_z.reshape(-1, 1), y, sample_weight=w)
    cal = (float(platt.coef_[0, 0]), float(platt.intercept_[0]))
    cv_probs = 1 / (1 + np.exp(-(cal[0] * best_z + cal[1])))
    op = choose_operating_point(cv_probs, y, lab, groups, gold_total,
                                target_precision=target_precision, unannotated_weight=unannotated_weight)
    plain = {}
    for how in ("max", "mean", "min"):
        p = np.array([combine_directions(pc, how) for pc in pcs])
        plain[how] = choose_operating_point(p, y, lab, groups, gold_total, target_precision=target_precision,
                                            unannotated_weight=unannotated_weight)
    scaler = StandardScaler().fit(x)
    lr = LogisticRegression(C=best_c, max_iter=5000, class_weight="balanced").fit(
        scaler.transform(x), y, sample_weight=w)
    scale = np.where(scaler.scale_ == 0, 1.0, scaler.scale_)
    coefs = lr.coef_[0] * (scaler.scale_ / scale)  # a constant feature keeps a zero weight
    dec = LearnedDecider(
        features=list(FEATURES), mean=scaler.mean_, scale=scale, coef=coefs,
        intercept=float(lr.intercept_[0]), threshold=float(op["threshold"]), calibration=cal,
        metrics={"train_pairs": int(len(y)), "articles": len(analysed), "positives": int(y.sum()),
                 "annotated_negatives": int(sum(1 for v in lab if v == 0)),
                 "unannotated": int(sum(1 for v in lab if v is None)),
                 "unannotated_weight": unannotated_weight, "C": best_c,
                 "cv_folds_by_article": n_splits, "cv_log_loss": round(float(best_loss), 4),
                 "target_precision": target_precision, "cv_operating_point": op,
                 "cv_plain_threshold": plain,
                 "coefficients": {f: round(float(v), 4) for f, v in zip(FEATURES, coefs)}},
    )
    dec.save(out_path)
    return dec


def run_eval_docs(gold_path: str | Path, cfg: RunConfig, out_dir: Path | None = None) -> dict[str, dict]:
    """Evaluate with the plain threshold and, when one exists, the learned stage."""
    gold = load_gold(gold_path)
    pipe = Pipeline(cfg)
    analysed = analyse(pipe, gold)
    embed = pipe.topics.embed
    reports = {"threshold": evaluate(analysed, Decider(replace(cfg.decide, method="threshold"),
                                                       embed=embed))}
    model_dir = cfg.score.resolved_model()
    learned_path = decider_path(cfg.decide, model_dir)
    if learned_path.is_file():
        try:
            learned = Decider(replace(cfg.decide, method="learned", classifier=str(learned_path)),
                              embed=embed)
        except ConfigError as exc:
            log.warning("eval docs: learned decision model %s not evaluated: %s", learned_path,
                        str(exc).split(";")[0])
        else:
            reports["learned"] = evaluate(analysed, learned)
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "docs_report.json").write_text(json.dumps(
            {"gold": str(gold_path), "model": model_dir, "reports": reports}, indent=2), encoding="utf-8")
    return reports


def run_train_decider(gold_path: str | Path, cfg: RunConfig, out_path: Path | None = None, *,
                      unannotated_weight: float = 1.0, target_precision: float = 0.6) -> LearnedDecider:
    gold = load_gold(gold_path)
    pipe = Pipeline(cfg)
    analysed = analyse(pipe, gold)
    out_path = out_path or Path(cfg.score.resolved_model()) / DECIDER_FILE
    return train_decider(analysed, out_path, decide_cfg=cfg.decide, embed=pipe.topics.embed,
                         unannotated_weight=unannotated_weight, target_precision=target_precision)
