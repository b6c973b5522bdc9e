"""Document-level evaluation and the learned decision stage, on hand-built objects."""

from __future__ import annotations

import json

import numpy as np
import pytest

from pipeline.config import DecideConfig
from pipeline.stages.decide import FEATURES, Decider, LearnedDecider, features
from pipeline.errors import ConfigError, DataError
from pipeline.eval.docs import Analysed, GoldDoc, evaluate, label_candidates, load_gold, match_claims, same_speaker
from pipeline.types import Claim, Document, Pair, Score

TEXT = "Talks are ongoing. Cooperation is suspended. The plant employs 1,200 workers. Only 950 workers remain."


def _claim(i, start, end, speaker="", stance="asserts"):
    return Claim(doc_id="d", id=f"{i}.0", start=start, end=end, text=TEXT[start:end], sent_index=i,
                 speaker=speaker, speaker_id=speaker and f"s{speaker}", stance=stance)


def _gold():
    claims = {
        "c1": {"id": "c1", "start": 0, "end": 17, "text": TEXT[0:17], "speaker": "a senior US official"},
        "c2": {"id": "c2", "start": 19, "end": 43, "text": TEXT[19:43], "speaker": "Khurram Dastgir"},
        "c3": {"id": "c3", "start": 45, "end": 76, "text": TEXT[45:76], "speaker": None},
        "c4": {"id": "c4", "start": 78, "end": 101, "text": TEXT[78:101], "speaker": None},
    }
    pairs = [{"a": "c1", "b": "c2", "label": "contradiction", "type": "conflicting_facts"},
             {"a": "c3", "b": "c4", "label": "contradiction", "type": "numeric"},
             {"a": "c1", "b": "c3", "label": "non_contradiction", "type": "related_compatible"}]
    return GoldDoc(Document("d", TEXT), claims, pairs)


def _score(pc):
    return Score((pc, pc), (0.1, 0.1), (1 - pc - 0.1, 1 - pc - 0.1))


def test_matching_and_speakers():
    g = _gold()
    pred = [_claim(0, 0, 18, "senior US official"), _claim(1, 19, 30, "Dastgir")]
    m = match_claims(g.claims, pred)
    assert m["c1"] == [pred[0]] and m["c2"] == [pred[1]] and m["c3"] == []
    assert same_speaker("Khurram Dastgir", "Dastgir") and same_speaker(None, "")
    assert not same_speaker("Khurram Dastgir", "Muhammad Faisal") and not same_speaker(None, "X")


def test_side_accuracy_counts_the_claims_whose_gold_names_a_side():
    from dataclasses import replace as dc_replace

    from pipeline.eval.docs import same_side

    assert same_side("Skyline Air", "skyline air") and same_side("US", "US")
    assert not same_side("Pakistan", "") and not same_side("Pakistan", "US")
    g = _gold()
    g.claims["c1"]["side"], g.claims["c2"]["side"] = "US", "Pakistan"
    cs = [dc_replace(_claim(0, 0, 17, "a senior US official"), side="US"),
          dc_replace(_claim(1, 19, 43, "Khurram Dastgir"), side=""), _claim(2, 45, 76), _claim(3, 78, 101)]
    rep = evaluate([Analysed(g, cs, [], [])], Decider(DecideConfig(method="threshold")))
    assert rep["sides_gold"] == 2 and rep["side_accuracy"] == 0.5


def test_evaluate_counts_recall_precision_and_types():
    g = _gold()
    cs = [_claim(0, 0, 17, "a senior US official"), _claim(1, 19, 43, "Khurram Dastgir"),
          _claim(2, 45, 76), _claim(3, 78, 101)]
    pairs = [Pair(cs[0], cs[1], "opposing_sides", 0.6),   # gold contradiction
             Pair(cs[2], cs[3], "unattributed", 0.7),     # gold contradiction (numeric)
             Pair(cs[0], cs[2], "unattributed", 0.4),     # gold non-contradiction
             Pair(cs[1], cs[3], "unattributed", 0.3)]     # unannotated
    scores = [_score(0.9), _score(0.2), _score(0.8), _score(0.7)]
    a = Analysed(g, cs, pairs, scores)
    assert label_candidates(a) == [1, 1, 0, None]
    rep = evaluate([a], Decider(DecideConfig(method="threshold", threshold=0.5, numeric=True)))
    assert rep["claim_recall"] == 1.0 and rep["speaker_accuracy"] == 1.0
    # flagged: pair 0 (nli), pair 1 (numeric 1,200 vs 950), pair 2 (nli, a gold non-contradiction),
    # pair 3 (nli, unannotated)
    assert rep["pair_recall"] == 1.0
    assert rep["flags_gold_contradiction"] == 2 and rep["flags_gold_non_contradiction"] == 1
    assert rep["flags_unannotated"] == 1
    assert rep["pair_precision"] == pytest.approx(2 / 3)
    assert rep["per_type"]["numeric"]["flagged"] == 1
    strict = evaluate([a], Decider(DecideConfig(method="threshold", threshold=0.95, numeric=False)))
    assert strict["pair_recall"] == 0.0 and len(strict["misses"]) == 2
    assert {m["why"] for m in strict["misses"]} == {"scoring/decision: candidate not flagged"}


def test_learned_decider_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    dec = LearnedDecider(list(FEATURES), np.zeros(len(FEATURES)), np.ones(len(FEATURES)),
                         rng.normal(size=len(FEATURES)), 0.1, 0.4, {"note": "test"}, (1.3, -0.2))
    path = tmp_path / "decider.json"
    dec.save(path)
    back = LearnedDecider.load(path)
    x = rng.normal(size=(5, len(FEATURES)))
    assert np.allclose(dec.predict_proba(x), back.predict_proba(x))
    assert back.calibration == (1.3, -0.2)
    d = json.loads(path.read_text())
    d["features"] = d["features"][:-1]
    path.write_text(json.dumps(d))
    with pytest.raises(ConfigError, match="other features"):
        LearnedDecider.load(path)
    with pytest.raises(ConfigError, match="does not exist"):
        Decider(DecideConfig(method="learned"), model_dir=str(tmp_path / "none"))


def test_features_capture_stance_numbers_and_relation():
    a = _claim(2, 45, 76)
    b = _claim(3, 78, 101, stance="denies")
    f = features(Pair(a, b, "unattributed", 0.8), _score(0.3))
    assert f["rule_numeric"] == 1.0 and f["stance_denial"] == 1.0 and f["num_same_unit"] == 1.0
    assert f["rel_unattributed"] == 1.0 and f["rel_same_speaker"] == 0.0
    assert set(f) == set(FEATURES)


def test_load_gold_checks_spans(tmp_path):
    g = _gold()
    row = {"id": "d", "text": TEXT, "claims": list(g.claims.values()), "pairs": g.pairs}
    p = tmp_path / "gold.jsonl"
    p.write_text(json.dumps(row) + "\n")
    assert load_gold(p)[0].claims["c2"]["speaker"] == "Khurram Dastgir"
    row["claims"][0] = dict(row["claims"][0], end=5)
    p.write_text(json.dumps(row) + "\n")
    with pytest.raises(DataError, match="gold.jsonl:1: claim c1 span"):
        load_gold(p)


# ----------------------------------------------------------------------------- reader's metrics
from pipeline.eval.docs import doc_metrics, with_threshold  # noqa: E402
from pipeline.eval.metrics import article_ranking, docs_point, plot_docs_curves  # noqa: E402


def test_article_ranking_by_hand():
    # ranks: 1 correct (g1), 2 wrong, 3 correct (g2), 4 correct again (g1, a duplicate)
    r = article_ranking([["g1"], [], ["g2"], ["g1"]], n_gold=3, ks=(3, 5, 10))
    assert r["p@3"] == pytest.approx(2 / 3)
    assert r["p@5"] == pytest.approx(3 / 4) and r["p@10"] == pytest.approx(3 / 4)
    # AP: g1 found at rank 1 (P=1), g2 at rank 3 (P=2/3), g3 never (0); duplicates add nothing
    assert r["ap"] == pytest.approx((1 + 2 / 3) / 3)
    assert article_ranking([], n_gold=2, ks=(3,)) == {"p@3": 0.0, "ap": 0.0}
    assert article_ranking([["g1"]], n_gold=0, ks=(3,)) == {"p@3": None, "ap": None}
    # order matters: the correct flag last gives a lower AP and P@1
    assert article_ranking([[], ["g1"]], n_gold=1, ks=(1,)) == {"p@1": 0.0, "ap": 0.5}


def _f(contra=(), non=(), hard=()):
    return {"contra": list(contra), "non_contra": list(non), "hard": list(hard)}


def test_docs_point_counts_unannotated_flags_only_in_exhaustive_articles():
    arts = [
        {"flags": [_f([0]), _f(), _f(non=[2], hard=[2]), _f([1])], "gold_contra": [0, 1, 5],
         "gold_hard": [2, 3], "exhaustive": True},
        {"flags": [_f(), _f()], "gold_contra": [], "gold_hard": [], "exhaustive": True},
        {"flags": [_f([0]), _f()], "gold_contra": [0], "gold_hard": [1], "exhaustive": False},
    ]
    p = docs_point(arts, ks=(3, 5))
    # correct 3; wrong: 1 annotated + 1 + 2 unannotated in exhaustive articles; the
    # non-exhaustive article's unannotated flag is left out
    assert p["flags_correct"] == 3 and p["flags_unannotated"] == 4
    assert p["flags_unannotated_counted"] == 3
    assert p["precision"] == pytest.approx(3 / 7)
    assert p["recall"] == pytest.approx(3 / 4) and p["found"] == 3
    assert p["f1"] == pytest.approx(2 * (3 / 7) * 0.75 / (3 / 7 + 0.75))
    assert p["flags"] == 8 and p["flags_per_article"] == pytest.approx(8 / 3)
    assert p["hard_nc_flagged"] == 1 and p["hard_nc_total"] == 3
    assert p["hard_nc_flagged_rate"] == pytest.approx(1 / 3)
    # the article without gold is out of the ranking means
    assert p["articles_ranked"] == 2 and p["articles_without_gold"] == 1
    # article 1 ranks correct, wrong, wrong, correct; article 3 correct, wrong
    assert p["p@3"] == pytest.approx((1 / 3 + 1 / 2) / 2)
    assert p["p@5"] == pytest.approx((2 / 4 + 1 / 2) / 2)
    assert p["map"] == pytest.approx(((1 + 2 / 4) / 3 + 1.0) / 2)


def _exhaustive_case():
    g = _gold()
    g.exhaustive = True
    g.pairs.append({"a": "c2", "b": "c4", "label": "non_contradiction", "type": "agreeing"})
    cs = [_claim(0, 0, 17, "a senior US official"), _claim(1, 19, 43, "Dastgir"),
          _claim(2, 45, 76), _claim(3, 78, 101)]
    pairs = [Pair(cs[0], cs[1], "opposing_sides", 0.6),   # gold contradiction
             Pair(cs[2], cs[3], "unattributed", 0.3),     # gold contradiction
             Pair(cs[0], cs[2], "unattributed", 0.4),     # gold non-contradiction (hard)
             Pair(cs[1], cs[2], "unattributed", 0.3),     # unannotated
             Pair(cs[1], cs[3], "unattributed", 0.3)]     # gold non-contradiction (agreeing)
    scores = [_score(0.6), _score(0.3), _score(0.9), _score(0.8), _score(0.1)]
    return Analysed(g, cs, pairs, scores)


def test_evaluate_reports_honest_precision_and_ranking():
    a = _exhaustive_case()
    assert label_candidates(a) == [1, 1, 0, 0, 0]
    rep = evaluate([a], Decider(DecideConfig(threshold=0.5, numeric=False)), thresholds=(0.0, 0.5, 0.95))
    # flags in rank order: pair 2 (0.9, hard NC), pair 3 (0.8, unannotated), pair 0 (0.6, gold)
    assert rep["flags"] == 3 and rep["flags_correct"] == 1
    assert rep["precision"] == pytest.approx(1 / 3)
    assert rep["pair_precision"] == pytest.approx(1 / 2)  # the old measure ignores pair 3
    assert rep["recall"] == pytest.approx(1 / 2)
    assert rep["p@3"] == pytest.approx(1 / 3) and rep["map"] == pytest.approx((1 / 3) / 2)
    assert rep["hard_nc_flagged"] == 1 and rep["hard_nc_total"] == 2
    assert rep["threshold"] == 0.5 and rep["exhaustive_articles"] == 1
    curve = {p["threshold"]: p for p in rep["curve"]}
    assert curve[0.0]["flags"] == 5 and curve[0.0]["recall"] == 1.0
    assert curve[0.0]["hard_nc_flagged"] == 2
    assert curve[0.95]["flags"] == 0 and curve[0.95]["precision"] == 0.0
    assert curve[0.5]["precision"] == rep["precision"]
    # not exhaustive: the unannotated flag is left out of precision
    a.gold.exhaustive = False
    old = evaluate([a], Decider(DecideConfig(threshold=0.5, numeric=False)))
    assert old["precision"] == pytest.approx(1 / 2) and old["curve"] == []


def test_with_threshold_copies_and_doc_metrics_sweep():
    a = _exhaustive_case()
    dec = Decider(DecideConfig(threshold=0.5, numeric=False))
    low = with_threshold(dec, 0.05)
    assert dec.cfg.threshold == 0.5 and low.cfg.threshold == 0.05
    dm = doc_metrics([a], dec, thresholds=(0.05, 0.7))
    assert dm["default"]["flags"] == 3
    assert [p["flags"] for p in dm["curve"]] == [5, 2]
    rng = np.random.default_rng(0)
    learned = LearnedDecider(list(FEATURES), np.zeros(len(FEATURES)), np.ones(len(FEATURES)),
                             rng.normal(size=len(FEATURES)), 0.0, 0.4, {})
    ld = Decider(DecideConfig(threshold=0.5, numeric=False))
    ld.learned = learned
    l2 = with_threshold(ld, 0.9)
    assert l2.learned.threshold == 0.9 and ld.learned.threshold == 0.4


def test_plot_docs_curves_writes_a_png(tmp_path):
    pts = [{"threshold": t, "precision": 1 - t / 2, "recall": 1 - t, "p@5": 0.5,
            "hard_nc_flagged_rate": t / 3, "flags_per_article": 10 * (1 - t)} for t in (0.0, 0.5, 1.0)]
    path = plot_docs_curves({"threshold": pts}, {"threshold": pts[1]}, tmp_path / "x" / "pr.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_load_gold_exhaustive_flag(tmp_path):
    g = _gold()
    row = {"id": "d", "text": TEXT, "claims": list(g.claims.values()), "pairs": g.pairs,
           "exhaustive": True}
    p = tmp_path / "gold.jsonl"
    p.write_text(json.dumps(row) + "\n")
    assert load_gold(p)[0].exhaustive is True
    row["exhaustive"] = "yes"
    p.write_text(json.dumps(row) + "\n")
    with pytest.raises(DataError, match="exhaustive"):
        load_gold(p)


def test_report_eval_docs_writes_metrics_curve_png_and_candidates(tmp_path):
    from pipeline.config import RunConfig, ScoreConfig
    from pipeline.eval.docs import SWEEP, report_eval_docs

    a = _exhaustive_case()
    cfg = RunConfig(score=ScoreConfig(model=str(tmp_path / "no-model")),
                    decide=DecideConfig(threshold=0.5, numeric=False))
    reports = report_eval_docs([a], cfg, tmp_path / "out", gold_path="g.jsonl")
    assert list(reports) == ["threshold"]  # no decider.json beside the model
    m = json.loads((tmp_path / "out" / "metrics.json").read_text())
    d = m["methods"]["threshold"]
    assert d["default"]["precision"] == pytest.approx(1 / 3) and d["default"]["threshold"] == 0.5
    assert [p["threshold"] for p in d["curve"]] == list(SWEEP)
    assert "false positive" in m["conventions"]
    assert (tmp_path / "out" / "docs_pr.png").read_bytes()[:4] == b"\x89PNG"
    rows = [json.loads(ln) for ln in (tmp_path / "out" / "candidates.jsonl").read_text().splitlines()]
    assert len(rows) == 5 and sum(r["flagged"] for r in rows) == 3
    assert rows[0]["gold_pairs"][0]["label"] == "contradiction" and rows[3]["gold_pairs"] == []


def test_train_decider_cross_validates_by_article_and_stores_an_operating_point(tmp_path):
    from pipeline.eval.docs import train_decider

    analysed = _toy_analysed()
    out = tmp_path / "decider.json"
    dec = train_decider(analysed, out, c_grid=(0.3,))
    m = dec.metrics
    assert out.is_file() and m["cv_folds_by_article"] == 5 and m["positives"] == 12
    assert set(m["cv_plain_threshold"]) == {"max", "mean", "min"}
    op = m["cv_operating_point"]
    assert op["target_met"] and op["precision"] >= 0.6 and op["threshold"] == dec.threshold
    assert {"precision_at_5", "mean_average_precision", "flags_per_article",
            "hard_non_contradictions_flagged"} <= set(op)
    # the cross-validated curve every 0.05: flags can only thin out as the cut rises
    curve = m["cv_curve"]
    assert [r["threshold"] for r in curve] == [round(0.05 * k, 2) for k in range(1, 20)]
    fpa = [r["flags_per_article"] for r in curve]
    assert fpa == sorted(fpa, reverse=True) and fpa[0] >= op["flags_per_article"]
    back = LearnedDecider.load(out)
    flags = Decider(DecideConfig(method="auto", classifier=str(out))).decide(analysed[0].pairs, analysed[0].scores)
    assert {f.pair.a.id for f in flags} >= {"0.0", "2.0"} and all(f.reason.startswith("learned") for f in flags)
    assert back.threshold == dec.threshold
    # the NLI cascade's margin covers every training pair: on them it loses no flag
    from pipeline.eval.docs import cascade_check

    assert back.nli_margin == dec.nli_margin and dec.nli_margin >= 0.25
    check = cascade_check(analysed, Decider(DecideConfig(method="learned", classifier=str(out))))
    # on these 24 toy pairs the margin sends every pair to the NLI model, so no flag is lost
    assert check == {"pairs": 24, "nli_pairs": 24, "nli_share": 1.0, "flags": 12, "flags_lost": 0,
                     "margin": dec.nli_margin}


def test_decider_regularisation_keeps_the_simpler_model_within_one_standard_error():
    from pipeline.nli.decider_training import one_standard_error_c

    # C=1.0 is best on average, but C=0.1 is within one standard error of it: keep 0.1
    noisy = {0.03: [0.70, 0.72, 0.69, 0.71], 0.1: [0.52, 0.60, 0.45, 0.55], 1.0: [0.50, 0.58, 0.44, 0.52]}
    assert one_standard_error_c(noisy) == 0.1
    # a clear winner (folds agree) is kept
    clear = {0.03: [0.70, 0.70, 0.71, 0.70], 0.1: [0.60, 0.61, 0.60, 0.60], 1.0: [0.50, 0.50, 0.51, 0.50]}
    assert one_standard_error_c(clear) == 1.0


def test_decider_never_scores_a_pair_up_for_entailment():
    from pipeline.nli.decider_training import NON_POSITIVE, fit_monotone
    from pipeline.stages.decide import FEATURES

    rng = np.random.default_rng(3)
    n = 400
    x = rng.normal(size=(n, len(FEATURES)))
    y = (x[:, FEATURES.index("similarity")] + rng.normal(scale=0.5, size=n) > 0).astype(int)
    # on these articles entailment happens to go with the contradictions: unconstrained, its
    # weight would be positive
    x[:, FEATURES.index("pe_max")] = y + rng.normal(scale=0.3, size=n)
    sc, lr = fit_monotone(x, y, np.ones(n), 1.0)
    assert all(lr.coef_[0, FEATURES.index(f)] <= 1e-9 for f in NON_POSITIVE)
    assert lr.coef_[0, FEATURES.index("similarity")] > 0.5  # the other evidence is kept
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    free = LogisticRegression(C=1.0, max_iter=5000).fit(StandardScaler().fit_transform(x), y)
    assert free.coef_[0, FEATURES.index("pe_max")] > 0  # the case the constraint exists for



def _toy_analysed(n=6):
    rng = np.random.default_rng(1)
    analysed = []
    for k in range(n):
        g = _gold()
        g = GoldDoc(Document(f"d{k}", TEXT), g.claims, g.pairs)
        cs = [Claim(doc_id=f"d{k}", id=c.id, start=c.start, end=c.end, text=c.text, sent_index=c.sent_index,
                    speaker=c.speaker, speaker_id=c.speaker_id)
              for c in (_claim(0, 0, 17, "a"), _claim(1, 19, 43, "b"), _claim(2, 45, 76), _claim(3, 78, 101))]
        pairs = [Pair(cs[0], cs[1], "opposing_sides", 0.6), Pair(cs[2], cs[3], "unattributed", 0.7),
                 Pair(cs[0], cs[2], "unattributed", 0.4), Pair(cs[1], cs[3], "unattributed", 0.3)]
        hi, lo = rng.uniform(0.6, 0.9, 2), rng.uniform(0.05, 0.3, 2)
        analysed.append(Analysed(g, cs, pairs, [_score(hi[0]), _score(hi[1]), _score(lo[0]), _score(lo[1])]))
    return analysed


def test_the_decider_fit_sits_beside_the_decision_model_and_eval_only_builds_its_training_set(tmp_path):
    """The fit is pipeline/nli/decider_training.py (issue 28 item 4); eval/docs.py reads the
    training set off the gold and hands it over: the same model either way."""
    from pipeline.eval import docs
    from pipeline.nli.decider_training import fit_decider

    analysed = _toy_analysed()
    probe = Decider(DecideConfig(method="threshold"))
    fit_decider(docs.decider_training_set(analysed, probe), tmp_path / "a.json", decide_cfg=DecideConfig(),
                articles=len(analysed), c_grid=(0.3,))
    docs.train_decider(analysed, tmp_path / "b.json", c_grid=(0.3,))
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()
    assert not any(hasattr(docs, f) for f in ("fit_monotone", "one_standard_error_c", "choose_operating_point"))


def test_decide_features_leave_the_others_at_zero_weight(tmp_path):
    """train-decider fits only decide.features; every other input keeps a zero weight; extra
    articles add rows to the fit, never to the CV figures."""
    from dataclasses import replace as _replace

    from pipeline.config import DecideConfig
    from pipeline.errors import ConfigError
    from pipeline.eval.docs import train_decider

    cfg = _replace(DecideConfig(), features=("logit_pc_max", "similarity"))
    dec = train_decider(_toy_analysed(), tmp_path / "d.json", decide_cfg=cfg, c_grid=(0.3,),
                        extra=_toy_analysed(3), extra_weight=0.5)
    nonzero = {f for f, v in dec.metrics["coefficients"].items() if v != 0}
    assert nonzero == {"logit_pc_max", "similarity"}
    assert dec.metrics["extra_pairs"] == 12 and dec.metrics["train_pairs"] == 24
    with pytest.raises(ConfigError, match="no_such_feature"):
        train_decider(_toy_analysed(), tmp_path / "e.json", c_grid=(0.3,),
                      decide_cfg=_replace(DecideConfig(), features=("no_such_feature",)))
