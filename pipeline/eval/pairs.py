"""Evaluate an NLI model on labelled JSONL files: one metrics report per file.

Library code only: no printing and no exit codes. The CLI prints
``metrics.format_table(eval_pairs(...))``.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.errors import DataError
from pipeline.eval import metrics

from pipeline.nli import model as nli

from pipeline.nli import data as nlidata

log = logging.getLogger(__name__)

REPORT_FILE = "report.json"


def eval_pairs(
    model: str,
    data: list[str],
    out_dir: Path | None,
    backend: str = "torch",
    batch_size: int = 64,
    max_length: int = 256,
    label_map: dict[str, str] | None = None,
    limit: int = 0,
    on_progress=None,
) -> dict[str, dict]:
    """Score every labelled pair in ``data`` with ``model`` and report metrics per file.

    Args:
        model: model folder or hub id, loaded once with ``nli.get_model``.
        data: file, folder, glob or hub-id specs, as for ``nlidata.load_files``.
        out_dir: if given, ``out_dir/report.json`` (model, backend, data specs, limit and
            every file's report) and per-file PNGs ``<stem>_{pr,confusion,reliability}.png``
            are written there (the folder is created).
        backend, batch_size, max_length: passed to ``nli.get_model``.
        label_map: raw label -> canonical label mapping, passed to ``nlidata.load_files``.
        limit: if > 0, only the first ``limit`` rows of each file are scored (smoke runs).
        on_progress: called with (pairs scored, pairs in all) as model batches complete.

    Returns:
        {file stem (or hub id): ``metrics.classification_report(...)``}, in load order.

    Raises:
        DataError: a data spec matches no file, or a file has a bad row (raised by
            ``nlidata.load_files`` before the model is loaded).
        ModelError: the model cannot be loaded or has no contradiction label.
    """
    files = nlidata.load_files(list(data), label_map)  # data first: a bad path fails fast
    nli_model = nli.get_model(
        model, backend=backend, batch_size=batch_size, max_length=max_length
    )
    bias = _bias_model(model)
    reports: dict[str, dict] = {}
    if limit and limit > 0:
        files = {stem: rows[:limit] for stem, rows in files.items()}
    total = sum(len(rows) for rows in files.values())
    scored = [0]

    def step(n: int) -> None:
        scored[0] += n
        if on_progress is not None:
            on_progress(scored[0], total)

    for stem, rows in files.items():
        probs = nli_model.predict([(r.premise, r.hypothesis) for r in rows], on_batch=step)
        gold = [r.label for r in rows]
        reports[stem] = metrics.classification_report(gold, probs, nli.LABELS)
        reports[stem]["ece_uncalibrated"] = uncalibrated_ece(gold, probs, nli_model.temperature)
        if bias is not None:
            reports[stem]["hypothesis_only"] = hypothesis_only_gap(bias, rows, probs)
        log.info("evaluated %s: n=%d acc=%.3f", stem, reports[stem]["n"], reports[stem]["accuracy"])

    if out_dir is not None:
        write_outputs(reports, Path(out_dir), model=model, data=data, backend=backend, limit=limit)
    return reports


def _bias_model(model: str):
    from pipeline.nli.debias import BIAS_FILE, HypothesisOnlyBias

    path = Path(model) / BIAS_FILE
    return HypothesisOnlyBias.load(path) if path.is_file() else None


def uncalibrated_ece(gold: list[str], probs: np.ndarray, temperature: float) -> float | None:
    """ECE of the probabilities before the model's temperature was applied.

    ``softmax(T * log p)`` undoes a temperature exactly, so no second pass is needed."""
    if not len(gold):
        return None
    raw = np.exp(temperature * np.log(np.clip(probs, 1e-12, 1.0)))
    raw = raw / raw.sum(axis=1, keepdims=True)
    idx = {lab: i for i, lab in enumerate(nli.LABELS)}
    correct = raw.argmax(1) == np.array([idx[g] for g in gold])
    ece, _ = metrics.reliability_bins(raw.max(1), correct)
    return round(float(ece), 4)


def hypothesis_only_gap(bias, rows, probs: np.ndarray) -> dict:
    """The hypothesis-only model's accuracy on ``rows`` and the NLI model's accuracy on the
    examples it gets right ("easy") and wrong ("hard"); a smaller gap means the NLI model
    leans less on the shortcut."""
    from pipeline.nli.debias import LABELS as BIAS_LABELS

    gold = [r.label for r in rows]
    bias_pred = [BIAS_LABELS[i] for i in bias.predict_proba([r.hypothesis for r in rows]).argmax(1)]
    pred = [nli.LABELS[i] for i in probs.argmax(1)]
    easy = [p == g for p, g, b in zip(pred, gold, bias_pred) if b == g]
    hard = [p == g for p, g, b in zip(pred, gold, bias_pred) if b != g]
    def acc(xs: list[bool]) -> float | None:
        return round(float(np.mean(xs)), 4) if xs else None

    easy_acc, hard_acc = acc(easy), acc(hard)
    out = {"bias_accuracy": acc([b == g for b, g in zip(bias_pred, gold)]),
           "model_accuracy_easy": easy_acc, "model_accuracy_hard": hard_acc,
           "n_easy": len(easy), "n_hard": len(hard)}
    out["gap"] = (round(easy_acc - hard_acc, 4)
                  if easy_acc is not None and hard_acc is not None else None)
    return out


def combine_directions(ab: np.ndarray, ba: np.ndarray, how: str) -> np.ndarray:
    """P(contradiction) of a pair from its two directions: ``max``, ``mean`` or ``min``."""
    if how == "max":
        return np.maximum(ab, ba)
    if how == "mean":
        return (ab + ba) / 2
    if how == "min":
        return np.minimum(ab, ba)
    raise DataError("directions must be max, mean or min", found=how)


def stress_report(nli_model, rows, threshold: float, positives=(), recall: float = 0.6) -> dict:
    """False-contradiction rate on a stress set (every gold label is entailment/neutral):
    argmax = contradiction, and P(contradiction) >= ``threshold``; overall and per source.

    With ``positives`` (contradiction pairs carrying a cue, from the same sources) the set is
    also read without a fixed threshold, since a model that only says "contradiction" less
    often lowers the argmax rate without reading negation any better:

    * ``contradiction_recall``: the share of ``positives`` called contradiction (argmax);
    * ``roc_auc``: how well P(contradiction) ranks ``positives`` above ``rows`` (0.5 = chance),
      and ``natural_roc_auc`` without the templated Curriculum items;
    * ``at_recall``: the rate at the threshold where the model recalls ``recall`` of
      ``positives`` (``rate``; ``natural_rate`` without the Curriculum items).
    """
    if not rows:
        return {"n": 0}
    probs = nli_model.predict([(r.premise, r.hypothesis) for r in rows])
    c = nli.LABELS.index("contradiction")
    arg = probs.argmax(1) == c
    thr = probs[:, c] >= threshold
    out: dict[str, Any] = {"n": len(rows), "false_contradiction_rate": round(float(arg.mean()), 4),
           "rate_at_threshold": round(float(thr.mean()), 4), "threshold": threshold,
           "per_source": {}}
    for src in sorted({r.source for r in rows}):
        m = np.array([r.source == src for r in rows])
        out["per_source"][src] = {"n": int(m.sum()),
                                  "false_contradiction_rate": round(float(arg[m].mean()), 4)}
    positives = list(positives)
    if positives:
        out.update(_negation_ranking(probs[:, c], rows, nli_model.predict(
            [(r.premise, r.hypothesis) for r in positives]), positives, recall))
    return out


def _negation_ranking(neg: np.ndarray, rows, pos_probs: np.ndarray, positives,
                      recall: float) -> dict:
    from sklearn.metrics import roc_auc_score

    c = nli.LABELS.index("contradiction")
    pos = pos_probs[:, c]
    def natural(items) -> np.ndarray:  # not the templated Curriculum items
        return np.array(["curriculum" not in r.source for r in items], dtype=bool)

    nat_neg, nat_pos = natural(rows), natural(positives)
    # the threshold that recalls ``recall`` of the contradictions with a cue
    t = float(np.quantile(pos, 1.0 - recall))

    def auc(p, n):
        if not len(p) or not len(n):
            return None
        return round(float(roc_auc_score(np.r_[np.ones(len(p)), np.zeros(len(n))], np.r_[p, n])), 4)

    return {"n_contradictions": len(positives),
            "contradiction_recall": round(float((pos_probs.argmax(1) == c).mean()), 4),
            "roc_auc": auc(pos, neg), "natural_roc_auc": auc(pos[nat_pos], neg[nat_neg]),
            "at_recall": {"recall": recall, "threshold": round(t, 4),
                          "rate": round(float((neg >= t).mean()), 4),
                          "natural_rate": round(float((neg[nat_neg] >= t).mean()), 4)
                          if nat_neg.any() else None}}


def unrelated_report(nli_model, pairs: list[tuple[str, str]], threshold: float,
                     directions: str = "max") -> dict:
    """Share of cross-story claim pairs (which cannot contradict) whose combined
    P(contradiction) reaches ``threshold``; also for each way of combining the directions
    and at 0.5."""
    if not pairs:
        return {"n": 0}
    ab, ba = nli_model.predict_both(pairs)
    c = nli.LABELS.index("contradiction")
    out: dict[str, Any] = {"n": len(pairs), "threshold": threshold, "directions": directions}
    for how in ("max", "mean", "min"):
        p = combine_directions(ab[:, c], ba[:, c], how)
        out[how] = {"rate_at_threshold": round(float((p >= threshold).mean()), 4),
                    "rate_at_0.5": round(float((p >= 0.5).mean()), 4)}
    out["false_positive_rate"] = out[directions]["rate_at_threshold"]
    return out


def directions_report(nli_model, labelled: Path, threshold: float) -> dict:
    """On the annotated pairs of ``labelled`` (gold claim texts): the recall of the
    contradiction pairs and the share of non-contradiction pairs reaching ``threshold``, for
    each way of combining the two directions: the evidence for ``decide.directions``."""
    from pipeline.eval import stress

    out: dict = {"threshold": threshold}
    scores: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    c = nli.LABELS.index("contradiction")
    for label, key in (("contradiction", "contradiction_recall"),
                       ("non_contradiction", "non_contradiction_flagged")):
        rows = stress.labelled_pairs(Path(labelled), label=label)
        if not rows:
            continue
        ab, ba = nli_model.predict_both([(r.premise, r.hypothesis) for r in rows])
        scores[label] = (ab[:, c], ba[:, c])
        for how in ("max", "mean", "min"):
            p = combine_directions(ab[:, c], ba[:, c], how)
            out.setdefault(how, {})[key] = round(float((p >= threshold).mean()), 4)
            out[how]["n_" + label] = len(rows)
    if len(scores) == 2:  # how well each combination ranks contradictions above the rest
        from sklearn.metrics import average_precision_score, roc_auc_score

        (ca, cb), (na, nb) = scores["contradiction"], scores["non_contradiction"]
        y = np.r_[np.ones(len(ca)), np.zeros(len(na))]
        for how in ("max", "mean", "min"):
            p = np.r_[combine_directions(ca, cb, how), combine_directions(na, nb, how)]
            out[how]["roc_auc"] = round(float(roc_auc_score(y, p)), 4)
            out[how]["average_precision"] = round(float(average_precision_score(y, p)), 4)
    return out


def eval_diagnostics(model: str, out_dir: Path | None, *, nli_root: Path | None,
                     labelled_dev: Path | None, stories: list[Path], threshold: float,
                     directions: str = "max", backend: str = "torch", batch_size: int = 64,
                     max_length: int = 256, n_unrelated: int = 2000) -> dict:
    """The news-reader diagnostics of an NLI model: the negation stress set's
    false-contradiction rate and the unrelated-pair false-positive rate.

    Args:
        model: model folder or hub id.
        out_dir: if given, ``out_dir/diagnostics.json`` is written.
        nli_root: the NLI data folder (``dev/``, ``test/cad_test.jsonl``, ``extra/``); parts
            that are missing are left out and listed under ``missing``.
        labelled_dev: annotated articles whose hard non-contradictions join the stress set.
        stories: JSONL files of documents or annotated articles for the cross-story pairs.
        threshold, directions: the operating point the pairs are judged at.
    """
    from pipeline.eval import stress

    nli_model = nli.get_model(model, backend=backend, batch_size=batch_size, max_length=max_length)
    specs: list[str] = []
    missing: list[str] = []
    if nli_root is not None:
        for rel in ("dev", "test/cad_test.jsonl"):
            (specs if (nli_root / rel).exists() else missing).append(str(nli_root / rel))
    labelled = [labelled_dev] if labelled_dev else []
    rows = stress.negation_stress_set(specs, labelled)
    positives = stress.negation_stress_set(specs, labelled, contradictions=True)
    curriculum = nli_root / "extra" / "curriculum_templated.jsonl" if nli_root else None
    if curriculum is not None and curriculum.is_file():
        rows += stress.curriculum_negation(curriculum)
        positives += stress.curriculum_negation(curriculum, contradictions=True)
    elif curriculum is not None:
        missing.append(str(curriculum))
    result: dict[str, Any] = {"model": str(model), "temperature": nli_model.temperature,
              "stress": stress_report(nli_model, rows, threshold, positives), "missing": missing}
    if labelled_dev is not None:
        result["labelled_pairs"] = directions_report(nli_model, labelled_dev, threshold)
    present = [p for p in stories if Path(p).is_file()]
    claims = stress.story_claims(present) if present else {}
    if len(claims) >= 2:
        pairs = stress.cross_story_pairs(claims, n=n_unrelated)
        result["unrelated"] = unrelated_report(nli_model, pairs, threshold, directions)
        result["unrelated"]["stories"] = [str(p) for p in present]
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "diagnostics.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return result


def write_outputs(
    reports: dict[str, dict], out_dir: Path, *, model: str, data: list[str],
    backend: str = "torch", limit: int = 0,
) -> Path:
    """Write ``out_dir/report.json`` and each file's PNGs; returns the JSON path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    plots = {
        stem: [p.name for p in metrics.plot_report(rep, out_dir, stem)]
        for stem, rep in reports.items()
    }
    payload = {
        "model": str(model),
        "backend": backend,
        "data": [str(d) for d in data],
        "limit": int(limit or 0),
        "files": reports,
        "plots": plots,
    }
    path = out_dir / REPORT_FILE
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(payload, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def format_diagnostics(diag: dict, reports: dict[str, dict]) -> str:
    """Plain-text lines for the diagnostics and the per-file calibration/bias columns."""
    lines = ["", "calibration and hypothesis-only gap (per file):",
             "file                  ECE-raw  ECE-cal  hyp-only-acc  acc-easy  acc-hard   gap"]
    f = lambda x: "-" if x is None else f"{x:.3f}"  # noqa: E731
    for stem, r in reports.items():
        h = r.get("hypothesis_only") or {}
        lines.append(f"{stem[:20]:20s}  {f(r.get('ece_uncalibrated')):>7s}  {f(r.get('ece')):>7s}"
                     f"  {f(h.get('bias_accuracy')):>12s}  {f(h.get('model_accuracy_easy')):>8s}"
                     f"  {f(h.get('model_accuracy_hard')):>8s}  {f(h.get('gap')):>5s}")
    s = diag.get("stress", {})
    if s.get("n"):
        lines += ["", f"negation stress set: n={s['n']}  false-contradiction rate "
                      f"{s['false_contradiction_rate']:.3f} (argmax), {s['rate_at_threshold']:.3f} "
                      f"at P(c) >= {s['threshold']:.3f}"]
        lines += [f"  {src:36s} n={v['n']:4d}  {v['false_contradiction_rate']:.3f}"
                  for src, v in s["per_source"].items()]
        if s.get("n_contradictions"):
            r = s["at_recall"]
            lines += [f"  read without a threshold, against {s['n_contradictions']} contradictions "
                      f"with a cue (argmax recall {s['contradiction_recall']:.3f}):",
                      f"    ROC-AUC {f(s['roc_auc'])} (without the Curriculum items "
                      f"{f(s['natural_roc_auc'])}); at the threshold recalling {r['recall']:.0%} "
                      f"of them ({r['threshold']:.3f}): rate {r['rate']:.3f}, without the "
                      f"Curriculum items {f(r['natural_rate'])}"]
    lp = diag.get("labelled_pairs")
    if lp and "max" in lp:
        lines += ["", f"annotated pairs of the stress gold at P(c) >= {lp['threshold']:.3f}: "
                      "contradiction recall / non-contradictions reaching it"]
        lines += [f"  {how:4s}: {lp[how].get('contradiction_recall', float('nan')):.3f} / "
                  f"{lp[how].get('non_contradiction_flagged', float('nan')):.3f}; ranking: ROC-AUC "
                  f"{lp[how].get('roc_auc', float('nan')):.3f}, AP {lp[how].get('average_precision', float('nan')):.3f}"
                  for how in ("max", "mean", "min")]
    u = diag.get("unrelated")
    if u and u.get("n"):
        lines += ["", f"unrelated-pair false-positive rate (cross-story claim pairs, n={u['n']}): "
                      f"{u['false_positive_rate']:.3f} at P(c) >= {u['threshold']:.3f} "
                      f"({u['directions']} of the two directions)"]
        lines += [f"  {how:4s}: {u[how]['rate_at_threshold']:.3f} at the threshold, {u[how]['rate_at_0.5']:.3f} at 0.5"
                  for how in ("max", "mean", "min")]
    if diag.get("missing"):
        lines.append("not found (left out): " + ", ".join(diag["missing"]))
    return "\n".join(lines)
