"""Evaluation metrics for NLI predictions: pure functions, no model.

``classification_report`` turns gold labels and predicted probabilities into a JSON-ready
dict (accuracy, macro-F1, per-class P/R/F1, confusion matrix, contradiction PR-AUC, ECE, the
best contradiction threshold, and the data for the plots); ``plot_report`` draws it as PNGs
and ``format_table`` prints several reports as one aligned text table.

Conventions:

* Predictions are the argmax of ``probs`` (first column wins a tie); the columns of
  ``probs`` follow ``labels`` (``nli.LABELS`` = contradiction, entailment, neutral).
* A label absent from ``y_true`` gets support 0 and precision/recall/F1 0 where undefined.
  ``macro_f1`` averages over the labels that occur in ``y_true`` OR in the predictions (the
  scikit-learn default): a class nobody has and nobody predicts (``neutral`` in a 2-way
  file with a 2-way model) does not drag the average down, while a class that is predicted
  but never true still counts, with F1 0, since those predictions are all errors.
* ``ece`` is the expected calibration error of the top-class confidence over ``n_bins``
  equal-width bins of [0, 1], each bin ``(lo, hi]`` (the first also takes 0):
  ``sum_b |B_b|/n * |accuracy(B_b) - mean confidence(B_b)|``.
* ``best_threshold`` is the P(contradiction) threshold ``t`` (predict contradiction when
  ``p >= t``) that maximises contradiction-vs-rest F1, chosen among the unique scores; on
  a tie the highest threshold wins. It and ``contradiction_pr_auc`` / ``pr_curve`` are
  ``None`` when no row is labelled contradiction.
"""

from __future__ import annotations

import re
from pathlib import Path
from collections.abc import Sequence

import numpy as np

from pipeline.nli import model as nli

CONTRADICTION = "contradiction"
MAX_PR_POINTS = 200


def _f(x) -> float:
    return float(x)


def _prf(tp: float, n_pred: float, n_true: float) -> tuple[float, float, float]:
    """Precision, recall, F1 with 0 where a ratio is undefined."""
    p = tp / n_pred if n_pred else 0.0
    r = tp / n_true if n_true else 0.0
    f = 2 * p * r / (p + r) if (p + r) else 0.0
    return float(p), float(r), float(f)


def reliability_bins(
    confidence: np.ndarray, correct: np.ndarray, n_bins: int = 10
) -> tuple[float, list[dict]]:
    """ECE and per-bin {lo, hi, confidence, accuracy, count} for equal-width bins.

    Bin ``i`` holds confidences in ``(i/n_bins, (i+1)/n_bins]``; a confidence of exactly 0
    goes to the first bin. Empty bins have ``confidence``/``accuracy`` None.
    """
    if n_bins < 1:
        raise ValueError(f"n_bins must be >= 1, got {n_bins}")
    confidence = np.asarray(confidence, dtype=np.float64)
    correct = np.asarray(correct, dtype=np.float64)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    # searchsorted(..., side="left") on the inner edges puts an edge value in the lower bin.
    idx = np.clip(np.searchsorted(edges[1:-1], confidence, side="left"), 0, n_bins - 1)
    n = len(confidence)
    ece = 0.0
    bins: list[dict] = []
    for b in range(n_bins):
        mask = idx == b
        count = int(mask.sum())
        conf: float | None = None  # an empty bin has no mean
        acc: float | None = None
        if count:
            c_mean, a_mean = float(confidence[mask].mean()), float(correct[mask].mean())
            ece += count / n * abs(a_mean - c_mean)
            conf, acc = c_mean, a_mean
        bins.append(
            {"lo": _f(edges[b]), "hi": _f(edges[b + 1]), "confidence": conf,
             "accuracy": acc, "count": count}
        )
    return float(ece), bins


def best_f1_threshold(y: np.ndarray, scores: np.ndarray) -> dict | None:
    """The threshold among the unique scores maximising binary F1 of ``scores >= t``.

    Returns {threshold, f1, precision, recall}, or None when ``y`` has no positive.
    Ties go to the highest threshold.
    """
    y = np.asarray(y, dtype=bool)
    scores = np.asarray(scores, dtype=np.float64)
    n_pos = int(y.sum())
    if n_pos == 0:
        return None
    order = np.argsort(-scores, kind="mergesort")
    s, yy = scores[order], y[order]
    tp = np.cumsum(yy)
    fp = np.cumsum(~yy)
    # the last position of each run of equal scores = everything with score >= that score
    last = np.r_[np.nonzero(np.diff(s))[0], len(s) - 1]
    tp, fp, thr = tp[last].astype(np.float64), fp[last].astype(np.float64), s[last]
    prec = tp / (tp + fp)
    rec = tp / n_pos
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(prec + rec > 0, 2 * prec * rec / (prec + rec), 0.0)
    best = int(np.argmax(f1))  # thresholds run high to low: first max = highest threshold
    return {"threshold": _f(thr[best]), "f1": _f(f1[best]), "precision": _f(prec[best]),
            "recall": _f(rec[best])}


def _pr_curve(y: np.ndarray, scores: np.ndarray, max_points: int = MAX_PR_POINTS) -> dict:
    from sklearn.metrics import precision_recall_curve

    precision, recall, thresholds = precision_recall_curve(y, scores)
    # precision/recall have one more point than thresholds (the (P=1, R=0) end); pad it.
    thresholds = np.r_[thresholds, np.nan]
    if len(precision) > max_points:
        keep = np.unique(np.r_[np.linspace(0, len(precision) - 1, max_points).round().astype(int)])
        precision, recall, thresholds = precision[keep], recall[keep], thresholds[keep]
    return {
        "precision": [float(v) for v in precision],
        "recall": [float(v) for v in recall],
        "thresholds": [None if np.isnan(v) else float(v) for v in thresholds],
    }


def classification_report(
    y_true: Sequence[str],
    probs: np.ndarray,
    labels: Sequence[str] = nli.LABELS,
    n_bins: int = 10,
) -> dict:
    """A JSON-ready evaluation report for gold labels ``y_true`` and probabilities ``probs``.

    Args:
        y_true: gold label names, each one of ``labels``.
        probs: shape (n, len(labels)), column ``j`` = P(labels[j]).
        labels: label names in column order (default ``nli.LABELS``).
        n_bins: number of equal-width calibration bins for ``ece``/``reliability``.

    Returns:
        {n, labels, accuracy, macro_f1, macro_f1_labels, per_class {label: {precision,
        recall, f1, support}}, confusion_matrix {labels, matrix (rows = true, cols =
        predicted)}, contradiction_pr_auc, ece, best_threshold {threshold, f1, precision,
        recall}, reliability [per-bin {lo, hi, confidence, accuracy, count}], pr_curve
        {precision, recall, thresholds} (at most 200 points)}. See the module docstring for
        the conventions (ties, absent classes, bins).

    Raises:
        ValueError: on empty input, a shape mismatch, or a label not in ``labels``.
    """
    labels = list(labels)
    probs = np.asarray(probs, dtype=np.float64)
    y_true = [str(y) for y in y_true]
    n = len(y_true)
    if n == 0:
        raise ValueError("classification_report needs at least one row")
    if probs.ndim != 2 or probs.shape != (n, len(labels)):
        raise ValueError(
            f"probs must have shape ({n}, {len(labels)}) for {n} labels over {labels}, "
            f"got {probs.shape}"
        )
    index = {lab: i for i, lab in enumerate(labels)}
    unknown = sorted(set(y_true) - set(index))
    if unknown:
        raise ValueError(f"unknown gold label(s) {unknown}; expected one of {labels}")

    t = np.array([index[y] for y in y_true])
    p = probs.argmax(axis=1)
    k = len(labels)
    cm = np.zeros((k, k), dtype=np.int64)
    np.add.at(cm, (t, p), 1)

    per_class = {}
    for i, lab in enumerate(labels):
        prec, rec, f1 = _prf(cm[i, i], cm[:, i].sum(), cm[i, :].sum())
        per_class[lab] = {"precision": prec, "recall": rec, "f1": f1, "support": int(cm[i, :].sum())}
    present = [lab for i, lab in enumerate(labels) if cm[i, :].sum() or cm[:, i].sum()]
    macro_f1 = float(np.mean([per_class[lab]["f1"] for lab in present]))

    confidence = probs[np.arange(n), p]
    ece, bins = reliability_bins(confidence, p == t, n_bins)

    pr_auc = best = curve = None
    if CONTRADICTION in index:
        y_c = t == index[CONTRADICTION]
        s_c = probs[:, index[CONTRADICTION]]
        if y_c.any():
            from sklearn.metrics import average_precision_score

            pr_auc = float(average_precision_score(y_c, s_c))
            best = best_f1_threshold(y_c, s_c)
            curve = _pr_curve(y_c, s_c)

    return {
        "n": n,
        "labels": labels,
        "accuracy": float((p == t).mean()),
        "macro_f1": macro_f1,
        "macro_f1_labels": present,
        "per_class": per_class,
        "confusion_matrix": {"labels": labels, "matrix": cm.tolist()},
        "contradiction_pr_auc": pr_auc,
        "ece": ece,
        "best_threshold": best,
        "reliability": bins,
        "pr_curve": curve,
    }


def safe_stem(stem: str) -> str:
    """A file-name-safe version of ``stem`` (hub ids contain ``/`` and ``:``)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", str(stem)).strip("._") or "data"


def plot_report(report: dict, out_dir: Path, stem: str) -> list[Path]:
    """Write ``<stem>_pr.png``, ``<stem>_confusion.png`` and ``<stem>_reliability.png``.

    Uses matplotlib's Agg canvas directly (``Figure`` + ``FigureCanvasAgg``), so pyplot is
    never imported and the process-wide backend is left alone. ``stem`` is made file-name
    safe (see ``safe_stem``). Returns the paths written, in that order.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = safe_stem(stem)
    paths: list[Path] = []

    def save(fig: Figure, name: str) -> None:
        FigureCanvasAgg(fig)
        path = out_dir / f"{stem}_{name}.png"
        fig.savefig(path, dpi=100, bbox_inches="tight")
        paths.append(path)

    # precision-recall curve for contradiction vs rest
    fig = Figure(figsize=(5, 4))
    ax = fig.add_subplot()
    curve = report.get("pr_curve")
    if curve:
        ax.plot(curve["recall"], curve["precision"], drawstyle="steps-post")
        title = f"contradiction PR (AP = {report['contradiction_pr_auc']:.3f})"
        best = report.get("best_threshold")
        if best:
            ax.plot([best["recall"]], [best["precision"]], "o",
                    label=f"best F1 {best['f1']:.3f} at p >= {best['threshold']:.3f}")
            ax.legend(loc="lower left")
    else:
        ax.text(0.5, 0.5, "no contradiction rows", ha="center", va="center")
        title = "contradiction PR (n/a)"
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_title(f"{stem}: {title}")
    save(fig, "pr")

    # confusion matrix, rows = true, cols = predicted
    cmd = report["confusion_matrix"]
    labs, mat = cmd["labels"], np.asarray(cmd["matrix"])
    fig = Figure(figsize=(4.5, 4))
    ax = fig.add_subplot()
    im = ax.imshow(mat, cmap="Blues")
    fig.colorbar(im, ax=ax)
    ax.set_xticks(range(len(labs)), labs, rotation=30, ha="right")
    ax.set_yticks(range(len(labs)), labs)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    top = mat.max() if mat.size else 0
    for i in range(mat.shape[0]):
        for j in range(mat.shape[1]):
            ax.text(j, i, str(mat[i, j]), ha="center", va="center",
                    color="white" if top and mat[i, j] > top / 2 else "black")
    ax.set_title(f"{stem}: confusion (acc {report['accuracy']:.3f})")
    save(fig, "confusion")

    # reliability diagram
    fig = Figure(figsize=(5, 4))
    ax = fig.add_subplot()
    bins = [b for b in report["reliability"] if b["count"]]
    ax.plot([0, 1], [0, 1], "--", color="grey", label="perfect calibration")
    if bins:
        ax.bar([(b["lo"] + b["hi"]) / 2 for b in bins], [b["accuracy"] for b in bins],
               width=[b["hi"] - b["lo"] for b in bins], edgecolor="black", alpha=0.7,
               label="accuracy")
        ax.plot([b["confidence"] for b in bins], [b["accuracy"] for b in bins], "o",
                color="C1", label="mean confidence")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("top-class confidence")
    ax.set_ylabel("accuracy")
    ax.legend(loc="upper left")
    ax.set_title(f"{stem}: reliability (ECE {report['ece']:.3f})")
    save(fig, "reliability")
    return paths


def _num(x, digits: int = 3) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def format_table(reports: dict[str, dict]) -> str:
    """A plain-text table, one row per data file.

    Columns: file, n, accuracy, macro-F1, contradiction precision/recall/F1, PR-AUC, ECE,
    best threshold (``-`` where undefined). Text is left-aligned, numbers right-aligned.
    """
    header = ["file", "n", "acc", "macro-F1", "C-prec", "C-rec", "C-F1", "PR-AUC", "ECE",
              "best-thr"]
    rows = [header]
    for name, r in reports.items():
        c = r.get("per_class", {}).get(CONTRADICTION, {})
        best = r.get("best_threshold")
        rows.append([
            str(name), str(r["n"]), _num(r.get("accuracy")), _num(r.get("macro_f1")),
            _num(c.get("precision")), _num(c.get("recall")), _num(c.get("f1")),
            _num(r.get("contradiction_pr_auc")), _num(r.get("ece")),
            _num(best["threshold"] if best else None),
        ])
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = []
    for k, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])] + [v.rjust(w) for v, w in zip(row[1:], widths[1:])]
        lines.append("  ".join(cells).rstrip())
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


# ----------------------------------------------------------------------------- article-level
# Document evaluation (``pipeline.eval.docs``) reduces each article to its flags in rank order,
# each flag carrying the ids of the gold pairs it matches; the functions below turn that into
# the reader's metrics. Pure: no pipeline, no model.

HARD_NON_CONTRADICTION_TYPES = ("agreeing", "paraphrase", "related_compatible")
DOC_KS = (3, 5, 10)


def article_ranking(hits: Sequence[Sequence], n_gold: int, ks: Sequence[int] = DOC_KS) -> dict:
    """Precision@k and average precision of one article's ranked flags.

    Args:
        hits: one entry per flag, best first: the ids of the gold contradictions the flag
            matches (empty: the flag is not a gold contradiction).
        n_gold: gold contradictions in the article.
        ks: the cut-offs.

    Returns:
        ``{"p@k": ..., "ap": ...}``, all None when ``n_gold`` is 0 (such an article has nothing
        to rank: it is left out of the means). ``p@k`` = correct flags among the first
        ``min(k, flags)`` / ``min(k, flags)``, what a reader of the top k rows sees; 0 when
        the article has gold contradictions but no flag. ``ap`` = the mean over the gold
        contradictions of the precision at the rank where each is first found (0 for one never
        found); a second flag for an already-found contradiction counts as correct in p@k but
        adds nothing to ``ap``, so ``ap`` <= 1.

    Example:
        >>> article_ranking([["g1"], [], ["g2"]], n_gold=2, ks=(3,))
        {'p@3': 0.6666666666666666, 'ap': 0.8333333333333333}
    """
    if n_gold <= 0:
        return {**{f"p@{k}": None for k in ks}, "ap": None}
    out: dict = {}
    for k in ks:
        top = list(hits[:k])
        out[f"p@{k}"] = sum(1 for h in top if h) / len(top) if top else 0.0
    found: set = set()
    correct = 0
    ap = 0.0
    for rank, h in enumerate(hits, start=1):
        if h:
            correct += 1
            new = set(h) - found
            if new:
                found |= new
                ap += len(new) * correct / rank
    out["ap"] = min(1.0, ap / n_gold)
    return out


def docs_point(articles: Sequence[dict], ks: Sequence[int] = DOC_KS) -> dict:
    """The document-level metrics at one operating point.

    Args:
        articles: one dict per article::

            {"flags": [{"contra": [gold contradiction ids matched],
                        "non_contra": [gold non-contradiction ids matched],
                        "hard": [those of them that are hard (same subject)]}, ...],  # best first
             "gold_contra": [every gold contradiction id],
             "gold_hard": [every gold hard non-contradiction id],
             "exhaustive": True}   # every contradiction in the article is annotated

    Returns:
        precision, recall, f1: over flags pooled across articles. A flag is correct when it
        matches a gold contradiction. In an exhaustive article every other flag is a false
        positive, annotated or not; in a non-exhaustive one an unannotated flag is left out
        of precision (it might be an unlisted contradiction). Recall = gold contradictions
        matched by at least one flag / gold contradictions.
        ``p@k`` and ``map`` (mean average precision): means of ``article_ranking`` over the
        articles with at least one gold contradiction (``articles_ranked``); the others
        (``articles_without_gold``) are left out of those means, but their flags count in
        precision and in ``flags_per_article``.
        ``hard_nc_flagged`` = hard non-contradiction pairs matched by a flag that is not a
        gold contradiction / ``hard_nc_total`` (``hard_nc_flagged_rate``).
        Counts: flags, flags_correct, flags_annotated_wrong, flags_unannotated,
        flags_unannotated_counted (those counted as false positives), gold_contradictions,
        found.
    """
    flags = correct = wrong_annotated = unann = unann_counted = 0
    n_gold = found_total = 0
    hard_total = hard_flagged = 0
    per_k: dict[int, list[float]] = {k: [] for k in ks}
    aps: list[float] = []
    ranked = without = 0
    for art in articles:
        fl = art["flags"]
        gold = set(art["gold_contra"])
        hard = set(art["gold_hard"])
        exhaustive = bool(art.get("exhaustive", False))
        flags += len(fl)
        found: set = set()
        hard_hit: set = set()
        for f in fl:
            c = set(f["contra"]) & gold
            if c:
                correct += 1
                found |= c
                continue
            hard_hit |= set(f.get("hard", ())) & hard
            if f.get("non_contra"):
                wrong_annotated += 1
            else:
                unann += 1
                unann_counted += int(exhaustive)
        n_gold += len(gold)
        found_total += len(found)
        hard_total += len(hard)
        hard_flagged += len(hard_hit)
        if gold:
            ranked += 1
            r = article_ranking([sorted(set(f["contra"]) & gold) for f in fl], len(gold), ks)
            for k in ks:
                per_k[k].append(r[f"p@{k}"])
            aps.append(r["ap"])
        else:
            without += 1
    counted = correct + wrong_annotated + unann_counted
    precision, recall, f1 = _prf(correct, counted, n_gold)
    if n_gold:
        recall = found_total / n_gold
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    out = {
        "precision": precision, "recall": recall, "f1": float(f1),
        "flags": flags, "flags_per_article": flags / len(articles) if articles else 0.0,
        "flags_correct": correct, "flags_annotated_wrong": wrong_annotated,
        "flags_unannotated": unann, "flags_unannotated_counted": unann_counted,
        "gold_contradictions": n_gold, "found": found_total,
        "hard_nc_total": hard_total, "hard_nc_flagged": hard_flagged,
        "hard_nc_flagged_rate": hard_flagged / hard_total if hard_total else 0.0,
        "articles": len(articles), "articles_ranked": ranked, "articles_without_gold": without,
        "map": float(np.mean(aps)) if aps else None,
    }
    for k in ks:
        out[f"p@{k}"] = float(np.mean(per_k[k])) if per_k[k] else None
    return out


def plot_docs_curves(curves: dict[str, list[dict]], points: dict[str, dict], path: Path) -> Path:
    """One PNG: precision against recall over thresholds (left) and, against the threshold,
    mean precision@5, hard non-contradictions flagged and flags per article (right), one line
    per decision method, the default operating point marked. Agg canvas, no pyplot."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig = Figure(figsize=(11, 4.5))
    FigureCanvasAgg(fig)
    ax, bx = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    cx = bx.twinx()
    for i, (name, curve) in enumerate(curves.items()):
        col = f"C{i}"
        pts = sorted(curve, key=lambda p: p["threshold"])
        ax.plot([p["recall"] for p in pts], [p["precision"] for p in pts], "-", color=col,
                label=name)
        d = points.get(name)
        if d:
            ax.plot([d["recall"]], [d["precision"]], "o", color=col,
                    label=f"{name} default (t={d['threshold']:.3f}): P {d['precision']:.2f} "
                          f"R {d['recall']:.2f}")
        t = [p["threshold"] for p in pts]
        bx.plot(t, [p["p@5"] if p["p@5"] is not None else np.nan for p in pts], "-", color=col,
                label=f"{name} mean P@5")
        bx.plot(t, [p["hard_nc_flagged_rate"] for p in pts], ":", color=col,
                label=f"{name} hard non-contra. flagged")
        cx.plot(t, [p["flags_per_article"] for p in pts], "--", color=col, alpha=0.6,
                label=f"{name} flags/article")
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("recall (gold contradictions found)")
    ax.set_ylabel("precision (unannotated flags = false positives)")
    ax.set_title("flags vs annotations, every threshold")
    ax.legend(loc="upper right", fontsize=7)
    bx.set_xlabel("threshold")
    bx.set_ylim(0, 1.02)
    bx.set_ylabel("rate")
    cx.set_ylabel("flags per article")
    h1, l1 = bx.get_legend_handles_labels()
    h2, l2 = cx.get_legend_handles_labels()
    bx.legend(h1 + h2, l1 + l2, loc="upper right", fontsize=7)
    bx.set_title("ranking and false alarms by threshold")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return path
