"""Tests for pipeline.metrics and pipeline.evaluate (no shared data, no real model weights)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import build_tiny_model
from pipeline.eval import metrics
from pipeline.errors import DataError
from pipeline.eval.pairs import eval_pairs

C, E, N = "contradiction", "entailment", "neutral"

# Columns in nli.LABELS order: contradiction, entailment, neutral.
#   row  true  probs (C, E, N)        pred  conf  correct
#   1    C     .85 .10 .05            C     .85   yes
#   2    C     .65 .15 .20            C     .65   yes
#   3    C     .35 .45 .20            E     .45   no
#   4    E     .15 .75 .10            E     .75   yes
#   5    E     .55 .25 .20            C     .55   no
#   6    N     .05 .10 .85            N     .85   yes
#   7    N     .25 .42 .33            E     .42   no
#   8    E     .20 .62 .18            E     .62   yes
Y_HAND = [C, C, C, E, E, N, N, E]
P_HAND = np.array(
    [
        [0.85, 0.10, 0.05],
        [0.65, 0.15, 0.20],
        [0.35, 0.45, 0.20],
        [0.15, 0.75, 0.10],
        [0.55, 0.25, 0.20],
        [0.05, 0.10, 0.85],
        [0.25, 0.42, 0.33],
        [0.20, 0.62, 0.18],
    ]
)


def test_hand_computed_report():
    r = metrics.classification_report(Y_HAND, P_HAND)
    assert r["n"] == 8
    # correct rows 1, 2, 4, 6, 8 -> 5/8
    assert r["accuracy"] == pytest.approx(5 / 8)

    # confusion, rows = true (C, E, N), cols = predicted (C, E, N):
    #   true C: preds C, C, E  -> [2, 1, 0]
    #   true E: preds E, C, E  -> [1, 2, 0]
    #   true N: preds N, E     -> [0, 1, 1]
    assert r["confusion_matrix"] == {"labels": [C, E, N], "matrix": [[2, 1, 0], [1, 2, 0], [0, 1, 1]]}

    # C: TP 2, predicted 3 (rows 1, 2, 5), support 3 -> P = R = F1 = 2/3
    # E: TP 2, predicted 4 (rows 3, 4, 7, 8), support 3 -> P 1/2, R 2/3,
    #    F1 = 2 * (1/2)(2/3) / (1/2 + 2/3) = (2/3) / (7/6) = 4/7
    # N: TP 1, predicted 1, support 2 -> P 1, R 1/2, F1 = 2/3
    pc = r["per_class"]
    assert pc[C] == pytest.approx({"precision": 2 / 3, "recall": 2 / 3, "f1": 2 / 3, "support": 3})
    assert pc[E] == pytest.approx({"precision": 1 / 2, "recall": 2 / 3, "f1": 4 / 7, "support": 3})
    assert pc[N] == pytest.approx({"precision": 1.0, "recall": 1 / 2, "f1": 2 / 3, "support": 2})
    # macro-F1 = (2/3 + 4/7 + 2/3) / 3 = 40/63
    assert r["macro_f1"] == pytest.approx(40 / 63)
    assert r["macro_f1_labels"] == [C, E, N]

    # ECE, 10 bins (lo, hi]:
    #   (.4,.5]: .45 no, .42 no  -> conf .435, acc 0 -> gap .435, weight 2/8
    #   (.5,.6]: .55 no          -> gap .55, weight 1/8
    #   (.6,.7]: .65 yes, .62 yes-> conf .635, acc 1 -> gap .365, weight 2/8
    #   (.7,.8]: .75 yes         -> gap .25, weight 1/8
    #   (.8,.9]: .85 yes, .85 yes-> gap .15, weight 2/8
    #   ECE = (2*.435 + .55 + 2*.365 + .25 + 2*.15) / 8 = 2.70 / 8 = .3375
    assert r["ece"] == pytest.approx(0.3375)
    counts = [b["count"] for b in r["reliability"]]
    assert counts == [0, 0, 0, 0, 2, 1, 2, 1, 2, 0]
    assert r["reliability"][4]["confidence"] == pytest.approx(0.435)
    assert r["reliability"][4]["accuracy"] == 0.0
    assert r["reliability"][0]["confidence"] is None

    # Contradiction scores sorted high to low (y = true C):
    #   .85 y, .65 y, .55 n, .35 y, .25 n, .20 n, .15 n, .05 n
    # AP = sum over positives of precision at that rank * 1/3
    #    = (1 + 1 + 3/4) / 3 = 11/12
    assert r["contradiction_pr_auc"] == pytest.approx(11 / 12)

    # Threshold t (predict C when p >= t):
    #   .85: TP1 FP0 -> P 1,   R 1/3, F1 .5
    #   .65: TP2 FP0 -> P 1,   R 2/3, F1 .8
    #   .55: TP2 FP1 -> P 2/3, R 2/3, F1 2/3
    #   .35: TP3 FP1 -> P 3/4, R 1,   F1 6/7  <- best
    #   .25: TP3 FP2 -> P 3/5, R 1,   F1 .75 (lower ones only add FPs)
    assert r["best_threshold"] == pytest.approx(
        {"threshold": 0.35, "f1": 6 / 7, "precision": 0.75, "recall": 1.0}
    )

    curve = r["pr_curve"]
    assert len(curve["precision"]) == len(curve["recall"]) == len(curve["thresholds"])
    assert curve["recall"][-1] == 0.0 and curve["precision"][-1] == 1.0
    json.dumps(r, allow_nan=False)  # JSON-ready


def test_perfect_classifier():
    y = [C, E, N, C, E, N]
    probs = np.array(
        [
            [0.90, 0.05, 0.05],
            [0.10, 0.80, 0.10],
            [0.15, 0.15, 0.70],
            [0.60, 0.30, 0.10],
            [0.05, 0.93, 0.02],
            [0.20, 0.25, 0.55],
        ]
    )
    r = metrics.classification_report(y, probs)
    assert r["accuracy"] == 1.0
    assert r["macro_f1"] == 1.0
    assert all(pc["f1"] == 1.0 for pc in r["per_class"].values())
    assert r["confusion_matrix"]["matrix"] == [[2, 0, 0], [0, 2, 0], [0, 0, 2]]
    # every bin has accuracy 1, so ECE = sum w_b (1 - conf_b) = 1 - mean confidence
    assert r["ece"] == pytest.approx(1 - probs.max(axis=1).mean())
    assert r["contradiction_pr_auc"] == pytest.approx(1.0)
    # the lower contradiction score (.60) still separates: all positives, no negatives
    assert r["best_threshold"] == pytest.approx(
        {"threshold": 0.60, "f1": 1.0, "precision": 1.0, "recall": 1.0}
    )


def test_missing_classes_do_not_crash(tmp_path):
    # 2-way file (no neutral) scored by a 2-way model (P(neutral) = 0)
    y = [C, E, C, E]
    probs = np.array([[0.8, 0.2, 0.0], [0.3, 0.7, 0.0], [0.4, 0.6, 0.0], [0.1, 0.9, 0.0]])
    r = metrics.classification_report(y, probs)
    assert r["per_class"][N] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    # neutral neither true nor predicted: macro-F1 over C and E only
    # C: P 1, R 1/2, F1 2/3;  E: P 2/3, R 1, F1 4/5
    assert r["macro_f1_labels"] == [C, E]
    assert r["macro_f1"] == pytest.approx((2 / 3 + 4 / 5) / 2)

    # a file without any contradiction row: the contradiction-only metrics are None
    r2 = metrics.classification_report([E, N], np.array([[0.5, 0.3, 0.2], [0.1, 0.2, 0.7]]))
    assert r2["contradiction_pr_auc"] is None
    assert r2["best_threshold"] is None and r2["pr_curve"] is None
    assert r2["per_class"][C]["support"] == 0
    # C is predicted (wrongly) once, so it counts in the macro average with F1 0
    assert r2["macro_f1_labels"] == [C, E, N]
    paths = metrics.plot_report(r2, tmp_path, "no_contra")
    # the PR curve too, though C is never gold (it is drawn empty)
    assert [p.name for p in paths] == ["no_contra_pr.png", "no_contra_confusion.png",
                                       "no_contra_reliability.png"]
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in paths)
    table = metrics.format_table({"two_way": r, "no_contra": r2})
    assert "no_contra" in table and "two_way" in table


def test_bad_inputs():
    with pytest.raises(ValueError):
        metrics.classification_report([], np.zeros((0, 3)))
    with pytest.raises(ValueError):
        metrics.classification_report([C, E], np.zeros((3, 3)))
    with pytest.raises(ValueError):
        metrics.classification_report(["maybe"], np.array([[0.2, 0.3, 0.5]]))


def test_pr_curve_subsampled():
    rng = np.random.default_rng(0)
    n = 1000
    y = [C if v else E for v in rng.random(n) < 0.3]
    pc = rng.random(n)
    probs = np.stack([pc, 1 - pc, np.zeros(n)], axis=1)
    r = metrics.classification_report(y, probs)
    assert len(r["pr_curve"]["precision"]) <= 200
    assert len(r["pr_curve"]["recall"]) == len(r["pr_curve"]["precision"])


def test_plot_report_writes_pngs(tmp_path):
    r = metrics.classification_report(Y_HAND, P_HAND)
    paths = metrics.plot_report(r, tmp_path / "plots", "hand")
    assert [p.name for p in paths] == ["hand_pr.png", "hand_confusion.png", "hand_reliability.png"]
    for p in paths:
        assert p.is_file() and p.stat().st_size > 0
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_format_table_aligned():
    r = metrics.classification_report(Y_HAND, P_HAND)
    table = metrics.format_table({"hand": r, "a_longer_file_name": r})
    lines = table.splitlines()
    assert len(lines) == 4  # header, rule, two rows
    assert len({len(line) for line in lines}) == 1
    assert "0.625" in lines[2] and "0.917" in lines[2] and "0.350" in lines[2]


# --- eval_pairs end to end with a tiny random BERT --------------------------------------

@pytest.fixture(scope="module")
def relabelled_model(tmp_path_factory):
    """The tiny model (conftest) with its labels in another order than the shipped model's,
    as a model from elsewhere may have them."""
    return build_tiny_model(tmp_path_factory.mktemp("tiny_bert"),
                            {0: "neutral", 1: "contradiction", 2: "entailment"})


def _write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def test_eval_pairs_end_to_end(relabelled_model, tmp_path):
    rows = [
        {"premise": "a man is sitting in the park .", "hypothesis": "a man is standing .", "label": "contradiction"},
        {"premise": "the dog is running outside .", "hypothesis": "the dog is outside .", "label": "entailment"},
        {"premise": "two children are eating .", "hypothesis": "the children are happy .", "label": "neutral"},
        {"premise": "a woman was sleeping .", "hypothesis": "no woman was sleeping .", "label": "contradiction"},
        {"premise": "the cat is inside the house .", "hypothesis": "the cat is inside .", "label": 0},
        {"premise": "a red car is in the street .", "hypothesis": "a blue car .", "label": 2},
    ]
    data = tmp_path / "tiny_dev.jsonl"
    _write_jsonl(data, rows)
    two_way = tmp_path / "two_way.jsonl"
    _write_jsonl(two_way, [r for r in rows if r["label"] in ("contradiction", "entailment")])
    out = tmp_path / "eval"

    reports = eval_pairs(str(relabelled_model), [str(data), str(two_way)], out, batch_size=4, max_length=32)
    assert list(reports) == ["tiny_dev", "two_way"]
    r = reports["tiny_dev"]
    assert r["n"] == len(rows)
    for key in ("accuracy", "macro_f1", "per_class", "confusion_matrix", "contradiction_pr_auc",
                "ece", "best_threshold", "reliability", "pr_curve"):
        assert key in r
    assert sum(map(sum, r["confusion_matrix"]["matrix"])) == len(rows)
    assert r["per_class"]["contradiction"]["support"] == 3
    assert reports["two_way"]["per_class"]["neutral"]["support"] == 0

    report = json.loads((out / "report.json").read_text())
    assert report["model"] == str(relabelled_model)
    assert report["data"] == [str(data), str(two_way)]
    assert set(report["files"]) == {"tiny_dev", "two_way"}
    assert report["files"]["tiny_dev"]["n"] == len(rows)
    for stem in ("tiny_dev", "two_way"):
        for kind in ("pr", "confusion", "reliability"):
            png = out / f"{stem}_{kind}.png"
            assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", png

    # limit keeps the first N rows of each file; out_dir=None writes nothing
    small = eval_pairs(str(relabelled_model), [str(data)], None, batch_size=4, max_length=32, limit=2)
    assert small["tiny_dev"]["n"] == 2
    assert metrics.format_table(reports).count("\n") == 3


def test_eval_pairs_missing_file(tmp_path):
    # data is loaded before the model, so no model is needed to see the DataError
    with pytest.raises(DataError):
        eval_pairs("no-such-model", [str(tmp_path / "missing.jsonl")], tmp_path / "out")
    assert not (tmp_path / "out").exists()
