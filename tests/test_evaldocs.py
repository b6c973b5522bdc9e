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


def test_train_decider_cross_validates_by_article_and_stores_an_operating_point(tmp_path):
    from pipeline.eval.docs import train_decider

    rng = np.random.default_rng(1)
    analysed = []
    for k in range(6):
        g = _gold()
        g = GoldDoc(Document(f"d{k}", TEXT), g.claims, g.pairs)
        cs = [Claim(doc_id=f"d{k}", id=c.id, start=c.start, end=c.end, text=c.text, sent_index=c.sent_index,
                    speaker=c.speaker, speaker_id=c.speaker_id)
              for c in (_claim(0, 0, 17, "a"), _claim(1, 19, 43, "b"), _claim(2, 45, 76), _claim(3, 78, 101))]
        pairs = [Pair(cs[0], cs[1], "opposing_sides", 0.6), Pair(cs[2], cs[3], "unattributed", 0.7),
                 Pair(cs[0], cs[2], "unattributed", 0.4), Pair(cs[1], cs[3], "unattributed", 0.3)]
        hi, lo = rng.uniform(0.6, 0.9, 2), rng.uniform(0.05, 0.3, 2)
        analysed.append(Analysed(g, cs, pairs, [_score(hi[0]), _score(hi[1]), _score(lo[0]), _score(lo[1])]))
    out = tmp_path / "decider.json"
    dec = train_decider(analysed, out, c_grid=(0.3,))
    m = dec.metrics
    assert out.is_file() and m["cv_folds_by_article"] == 5 and m["positives"] == 12
    assert set(m["cv_plain_threshold"]) == {"max", "mean", "min"}
    op = m["cv_operating_point"]
    assert op["target_met"] and op["precision"] >= 0.6 and op["threshold"] == dec.threshold
    assert {"precision_at_5", "mean_average_precision", "flags_per_article",
            "hard_non_contradictions_flagged"} <= set(op)
    back = LearnedDecider.load(out)
    flags = Decider(DecideConfig(method="auto", classifier=str(out))).decide(analysed[0].pairs, analysed[0].scores)
    assert {f.pair.a.id for f in flags} >= {"0.0", "2.0"} and all(f.reason.startswith("learned") for f in flags)
    assert back.threshold == dec.threshold
