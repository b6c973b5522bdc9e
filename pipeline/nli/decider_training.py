"""Training the learned decision stage (``stages/decide.py``, ``LearnedDecider``): the
regression with its entailment features held non-positive (``fit_monotone``), the
regularisation by the one-standard-error rule, Platt calibration and the operating point,
all cross-validated by article (``fit_decider``).

The training set itself (which candidates are gold contradictions) is read off annotated
articles by ``pipeline.eval.docs`` (``decider_training_set``, ``train_decider``, ``make
train-decider``), which calls ``fit_decider``; nothing here reads the gold annotations.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pipeline.config import DecideConfig
from pipeline.errors import ConfigError, DataError
from pipeline.stages.decide import FEATURES, LearnedDecider, combine_directions, fit_nli_margin


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
    p_at: dict[int, list[float]] = {3: [], 5: [], 10: []}
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


# Entailment is counter-evidence: these features may only lower the score. A fit that gives one
# of them a positive weight (on twenty articles, collinear with the others) has it held at its
# mean and is refitted, so a restatement entailed one way is never scored up for it.
NON_POSITIVE = ("pe_ab", "pe_ba", "pe_max")


def fit_monotone(x: np.ndarray, y: np.ndarray, w: np.ndarray, c: float):
    """Standardise and fit the decision regression (balanced classes, L2 with ``C=c``) with
    every ``NON_POSITIVE`` feature's weight <= 0: a feature that comes out positive is held
    constant (its mean, so its weight is 0) and the model refitted. Returns (scaler, model)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    x = np.array(x, dtype=np.float64, copy=True)
    cols = [FEATURES.index(f) for f in NON_POSITIVE]
    for _ in range(len(cols) + 1):
        scaler = StandardScaler().fit(x)
        lr = LogisticRegression(C=c, max_iter=5000, class_weight="balanced").fit(
            scaler.transform(x), y, sample_weight=w)
        bad = [i for i in cols if lr.coef_[0, i] > 1e-9]
        if not bad:
            break
        x[:, bad] = x[:, bad].mean(axis=0)
    return scaler, lr


def one_standard_error_c(fold_losses: dict[float, list[float]]) -> float:
    """The strongest regularisation (smallest C) whose mean cross-validated log loss lies within
    one standard error of the best C's (the one-standard-error rule, Breiman et al. 1984).

    With some twenty annotated articles the losses of neighbouring C values differ by less than
    their noise; the rule then keeps the simpler, more strongly shrunk model, whose weights
    carry over to articles unlike the training ones, instead of the one that fits these best.
    """
    means = {c: float(np.mean(v)) for c, v in fold_losses.items()}
    best = min(means, key=lambda c: means[c])
    v = np.asarray(fold_losses[best], dtype=float)
    se = float(v.std(ddof=1) / np.sqrt(len(v))) if len(v) > 1 else 0.0
    return min(c for c, m in means.items() if m <= means[best] + se)


def fit_decider(train: tuple, out_path: Path, *, decide_cfg: DecideConfig, articles: int,
                unannotated_weight: float = 1.0, target_precision: float = 0.6,
                c_grid: tuple[float, ...] = (0.003, 0.01, 0.03, 0.1, 0.3, 1.0),
                extra: tuple | None = None, extra_articles: int = 0,
                extra_weight: float = 0.0) -> LearnedDecider:
    """Fit the learned decision stage on a training set (``eval.docs.decider_training_set``:
    features, labels, raw labels, article index and gold contradictions per article, and the
    NLI probabilities of each candidate) of ``articles`` articles, write it to ``out_path``
    and return it; ``eval.docs.train_decider`` says how (cross-validation by article, the
    one-standard-error C, Platt calibration, the operating point). ``extra``: the features
    and raw labels of the articles added with ``extra_weight`` (``extra_articles`` of them),
    never in a test fold.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import log_loss
    from sklearn.model_selection import GroupKFold

    x, lab, groups, gold_total, pcs = train
    unknown = [f for f in decide_cfg.features if f not in FEATURES]
    if unknown:
        raise ConfigError(f"decide.features names unknown features: {', '.join(unknown)}",
                          fix="use names from pipeline/stages/decide.py FEATURES, or [] for all")
    # the inputs left out keep a zero weight: a constant column gets none
    unused = np.array([bool(decide_cfg.features) and f not in decide_cfg.features for f in FEATURES])
    x = np.where(unused, 0.0, x)
    y = np.array([1 if v == 1 else 0 for v in lab])
    w = np.array([1.0 if v is not None else unannotated_weight for v in lab])
    if len(y) == 0 or y.sum() < 2:
        raise DataError("too few gold contradictions among the candidate pairs to train on",
                        fix="annotate more articles, or check that the gold file matches the pipeline's claims")
    n_splits = min(5, len(set(groups.tolist())))
    if n_splits < 2:
        raise DataError("cross-validation by article needs at least 2 articles with candidates")
    folds = list(GroupKFold(n_splits=n_splits).split(x, y, groups))
    if extra is not None:
        xe, labe = extra
        xe = np.where(unused, 0.0, xe)
        ye = np.array([1 if v == 1 else 0 for v in labe])
        we = extra_weight * np.array([1.0 if v is not None else unannotated_weight for v in labe])
    else:
        xe, ye, we = np.zeros((0, x.shape[1])), np.zeros(0, dtype=int), np.zeros(0)

    def fit(idx, c: float):
        return fit_monotone(np.vstack([x[idx], xe]), np.concatenate([y[idx], ye]),
                            np.concatenate([w[idx], we]), c)

    def cv_logits(c: float) -> np.ndarray:
        z = np.zeros(len(y))
        for tr, te in folds:
            sc, lr = fit(tr, c)
            z[te] = lr.decision_function(sc.transform(x[te]))
        return z

    fold_losses, logits = {}, {}
    for c in c_grid:
        z = logits[c] = cv_logits(c)
        fold_losses[c] = [log_loss(y[te], 1 / (1 + np.exp(-z[te])), sample_weight=w[te], labels=[0, 1])
                          for _, te in folds]
    best_c = one_standard_error_c(fold_losses)
    best_z = logits[best_c]
    best_loss = log_loss(y, 1 / (1 + np.exp(-best_z)), sample_weight=w, labels=[0, 1])
    # Platt scaling of the out-of-fold logits: the score becomes a probability
    platt = LogisticRegression(C=1e4, max_iter=5000).fit(best_z.reshape(-1, 1), y, sample_weight=w)
    cal = (float(platt.coef_[0, 0]), float(platt.intercept_[0]))
    cv_probs = 1 / (1 + np.exp(-(cal[0] * best_z + cal[1])))
    op = choose_operating_point(cv_probs, y, lab, groups, gold_total,
                                target_precision=target_precision, unannotated_weight=unannotated_weight)
    cv_curve = [_article_metrics(cv_probs, y, lab, groups, gold_total, float(t), unannotated_weight)
                for t in np.round(np.arange(0.05, 0.951, 0.05), 2)]
    plain = {}
    for how in ("max", "mean", "min"):
        p = np.array([combine_directions(pc, how) for pc in pcs])
        plain[how] = choose_operating_point(p, y, lab, groups, gold_total, target_precision=target_precision,
                                            unannotated_weight=unannotated_weight)
    scaler, lr = fit(np.arange(len(y)), best_c)
    scale = np.where(scaler.scale_ == 0, 1.0, scaler.scale_)
    coefs = lr.coef_[0] * (scaler.scale_ / scale)  # a constant feature keeps a zero weight
    dec = LearnedDecider(
        features=list(FEATURES), mean=scaler.mean_, scale=scale, coef=coefs,
        intercept=float(lr.intercept_[0]), threshold=float(op["threshold"]), calibration=cal,
        nli_margin=None,
        metrics={"train_pairs": int(len(y)), "articles": articles, "positives": int(y.sum()),
                 "annotated_negatives": int(sum(1 for v in lab if v == 0)),
                 "unannotated": int(sum(1 for v in lab if v is None)),
                 "unannotated_weight": unannotated_weight, "C": best_c,
                 "extra_articles": extra_articles,
                 "extra_pairs": int(len(ye)), "extra_weight": extra_weight,
                 "features_used": [f for f, u in zip(FEATURES, unused) if not u],
                 "cv_folds_by_article": n_splits, "cv_log_loss": round(float(best_loss), 4),
                 "cv_log_loss_by_C": {str(c): round(float(np.mean(v)), 4) for c, v in fold_losses.items()},
                 "target_precision": target_precision, "cv_operating_point": op,
                 "cv_curve": cv_curve, "cv_plain_threshold": plain,
                 "coefficients": {f: round(float(v), 4) for f, v in zip(FEATURES, coefs)}},
    )
    dec.nli_margin = fit_nli_margin(dec, x)
    dec.save(out_path)
    return dec
