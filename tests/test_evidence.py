"""Same-event evidence, negation alignment, the candidate gate and the decision rules, on
sentences written for the tests (spaCy's small English model parses them)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from pipeline.config import DecideConfig, PairConfig
from pipeline.errors import ConfigError
from pipeline.stages.decide import (FEATURES, NLI_FEATURES, RULES, Decider, LearnedDecider, Rule,
                                    build_rules, combine_directions, feature_matrix, features,
                                    fit_nli_margin, NLI_MARGIN_ALLOWANCE)
from pipeline.stages.evidence import (WordSimilarity, add_claim_info, gate, negation_alignment, pairs_with_info,
                                      pair_evidence)
from pipeline.stages.nlp import load_spacy
from pipeline.types import Claim, Pair, Score


@pytest.fixture(scope="module")
def nlp():
    return load_spacy("auto")


def _claims(nlp, *texts, speakers=None):
    cs = [Claim(doc_id="d", id=f"{i}.0", start=0, end=len(t), text=t, sent_index=i,
                speaker=(speakers or [""] * len(texts))[i],
                speaker_id=(speakers or [""] * len(texts))[i]) for i, t in enumerate(texts)]
    return add_claim_info(cs, nlp)


def _score(pc, pe=0.05):
    return Score((pc, pc), (pe, pe), (1 - pc - pe, 1 - pc - pe))


def test_claim_info_subject_predicates_negation_entities_times(nlp):
    a, b, c = _claims(nlp, "There is no freeze in relations between Pakistan and the United States.",
                      "The two sides continue to communicate on Monday.",
                      "Relations are not frozen.")
    assert "freeze" in a.info.neg_heads and "pakistan" in a.info.ents
    assert {"continue", "communicate"} <= b.info.preds and "side" in b.info.subj
    assert "monday" in b.info.times and not a.info.times
    assert c.info.neg_heads == {"frozen"}  # the lemma of the negated adjective: itself


def test_negated_predicate_aligned_with_the_other_claim_is_evidence_of_contradiction(nlp):
    a, b = _claims(nlp, "Cooperation has not been suspended.", "Cooperation has been suspended.")
    ev = pair_evidence(Pair(a, b, "opposing_sides", 0.9))
    assert negation_alignment(a.info, b.info) == 1.0
    assert ev["neg_one_side"] == 1.0 and ev["neg_aligned"] == 1.0 and ev["neg_unaligned"] == 0.0
    hits = [r.applies(Pair(a, b, "opposing_sides", 0.9), _score(0.8), ev) for r in build_rules(DecideConfig())]
    assert "negation" in {h.name for h in hits if h}


def test_negated_predicate_not_spoken_of_is_not_evidence_of_contradiction(nlp):
    # "no freeze" against "continue to communicate": the negated word is "freeze", which the
    # other claim does not speak of; the claims agree
    a, b = _claims(nlp, "There is no freeze in relations.", "The two sides continue to communicate.")
    ev = pair_evidence(Pair(a, b, "opposing_sides", 0.5))
    assert ev["neg_aligned"] == 0.0 and ev["neg_unaligned"] == 1.0
    hits = [r.applies(Pair(a, b, "opposing_sides", 0.5), _score(0.9), ev) for r in build_rules(DecideConfig())]
    assert "negation" not in {h.name for h in hits if h}


def test_embedding_alignment_of_the_negated_head():
    class FakeInfo:
        def __init__(self, neg, preds):
            self.neg_heads, self.preds, self.lemmas = frozenset(neg), frozenset(preds), frozenset(preds)

    vec = {"close": [1.0, 0.0], "shut": [0.96, 0.28], "communicate": [0.0, 1.0]}
    words = WordSimilarity(lambda ws: np.array([vec[w] for w in ws], dtype=np.float32))
    words.prepare(vec)
    assert negation_alignment(FakeInfo({"close"}, {"close"}), FakeInfo(set(), {"shut"}), words) > 0.9
    assert negation_alignment(FakeInfo({"close"}, {"close"}), FakeInfo(set(), {"communicate"}), words) < 0.1
    assert negation_alignment(FakeInfo(set(), {"open"}), FakeInfo(set(), {"shut"}), words) == 0.0


def test_same_event_evidence_numbers_entities_times(nlp):
    a, b, c = _claims(nlp, "Acme will cut 400 jobs at its Leeds plant on Monday.",
                      "Acme said only 250 jobs would go at the Leeds plant on Tuesday.",
                      "The weather in Madrid was warm.")
    ev = pair_evidence(Pair(a, b, "same_side", 0.7))
    assert ev["ent_shared"] >= 1 and ev["num_same_unit"] == 1.0 and ev["num_agree"] == 0.0
    assert ev["time_diff"] == 1.0 and ev["time_same"] == 0.0 and ev["lemma_overlap"] > 0
    far = pair_evidence(Pair(a, c, "unattributed", 0.1))
    assert far["ent_shared"] == 0.0 and far["lemma_overlap"] == 0.0 and far["num_same_unit"] == 0.0


def test_gate_drops_unrelated_pairs_keeps_related_ones(nlp):
    a, b, c = _claims(nlp, "Acme will cut 400 jobs at its Leeds plant.",
                      "Only 250 jobs will go, the union said.",
                      "The weather in Madrid was warm.")
    pairs = [Pair(a, b, "opposing_sides", 0.2), Pair(a, c, "unattributed", 0.1),
             Pair(b, c, "unattributed", 0.6)]
    kept = gate(pairs, PairConfig(gate_keep_similarity=0.5, gate_min_shared=1))
    assert kept == [pairs[0], pairs[2]]  # shared counted noun; similarity above the bar
    assert gate(pairs, PairConfig(gate=False)) == pairs


def test_rules_are_objects_in_a_registry_with_config_constants(nlp):
    assert set(RULES) == {"numeric", "denial", "negation", "antonym"}
    assert all(issubclass(r, Rule) for r in RULES.values())
    with pytest.raises(ConfigError, match="unknown decision rule"):
        build_rules(DecideConfig(rules=["numeric", "bogus"]))
    a, b = _claims(nlp, "The plant employs 1,200 workers.", "Only 950 workers remain at the plant.")
    p = Pair(a, b, "opposing_sides", 0.7)
    ev = pair_evidence(p)
    numeric = RULES["numeric"](DecideConfig())
    assert numeric.applies(p, _score(0.1), ev).name == "numeric"
    assert numeric.applies(p, _score(0.1, pe=0.95), ev) is None  # entailed: numeric_max_entailment
    assert RULES["numeric"](DecideConfig(numeric_min_similarity=0.8)).applies(p, _score(0.1), ev) is None


def test_rules_feed_the_learned_model_as_features(nlp):
    a, b = _claims(nlp, "The plant employs 1,200 workers.", "Only 950 workers remain at the plant.")
    f = features(Pair(a, b, "opposing_sides", 0.7), _score(0.1))
    assert f["rule_numeric"] == 1.0 and f["num_same_unit"] == 1.0


def test_directions_combine_and_fallback_is_logged(tmp_path, caplog):
    assert combine_directions((0.2, 0.8), "max") == 0.8
    assert combine_directions((0.2, 0.8), "min") == 0.2
    assert combine_directions((0.2, 0.8), "mean") == pytest.approx(0.5)
    with pytest.raises(ConfigError, match="directions"):
        DecideConfig(directions="sum")
    with caplog.at_level("WARNING"):
        d = Decider(DecideConfig(method="auto"), model_dir=str(tmp_path))
    assert d.learned is None and d.method == "threshold"
    assert "falling back to a threshold" in caplog.text


def test_threshold_path_uses_the_configured_direction(nlp):
    a, b = _claims(nlp, "Talks are ongoing at all levels.", "Talks have been suspended.")
    pair = Pair(a, b, "opposing_sides", 0.6)
    sc = Score((0.3, 0.7), (0.1, 0.1), (0.6, 0.2))
    def flagged(how):
        return Decider(DecideConfig(method="threshold", threshold=0.5, directions=how,
                                    fallback_rules_flag=False)).decide([pair], [sc])

    assert len(flagged("max")) == 1 and flagged("max")[0].score == pytest.approx(0.7)
    assert len(flagged("mean")) == 1 and flagged("mean")[0].score == pytest.approx(0.5)
    assert flagged("min") == []


def _cascade_decider(tmp_path, margin):
    """Score = sigmoid(4 * similarity + 3 * pc_max - 4), cut at 0.5 (logit 0)."""
    coef = np.zeros(len(FEATURES))
    coef[FEATURES.index("similarity")] = 4.0
    coef[FEATURES.index("pc_max")] = 3.0
    dec = LearnedDecider(list(FEATURES), np.zeros(len(FEATURES)), np.ones(len(FEATURES)), coef,
                         -4.0, 0.5, {}, (1.0, 0.0), margin)
    path = tmp_path / "decider.json"
    dec.save(path)
    return path


def test_nli_cascade_leaves_out_only_pairs_that_cannot_reach_the_cut(nlp, tmp_path):
    a, b, c = _claims(nlp, "Talks are ongoing at all levels.", "Talks have been suspended.",
                      "The border crossing reopened on Monday.")
    near, far = Pair(a, b, "opposing_sides", 0.9), Pair(a, c, "opposing_sides", 0.1)
    full = [_score(0.9), _score(0.9)]
    # the margin is what the pure NLI features added on fully scored pairs (3 * 0.9) + the allowance
    path = _cascade_decider(tmp_path, None)
    probe = Decider(DecideConfig(method="learned", classifier=str(path)))
    assert not probe.cascade  # a decision model without a margin scores every pair
    assert probe.nli_needed([near, far]).tolist() == [True, True]
    evs, hits = probe.evidence([near, far], full)
    margin = fit_nli_margin(probe.learned, feature_matrix([near, far], full, evs, hits))
    assert margin == pytest.approx(2.7 + NLI_MARGIN_ALLOWANCE)

    path = _cascade_decider(tmp_path, margin)
    dec = Decider(DecideConfig(method="learned", classifier=str(path)))
    assert dec.cascade and LearnedDecider.load(path).nli_margin == pytest.approx(margin)
    # base logits: near 4*0.9-4 = -0.4 (+3.2 reaches 0), far 4*0.1-4 = -3.6 (does not)
    assert dec.nli_needed([near, far]).tolist() == [True, False]
    with_cascade = dec.decide([near, far], [full[0], None])
    assert [f.pair for f in with_cascade] == [f.pair for f in dec.decide([near, far], full)] == [near]
    # the unscored pair keeps its base score: the NLI features count at their means
    probs, _ = dec.probabilities([near, far], [full[0], None])
    assert probs[1] == pytest.approx(1 / (1 + np.exp(3.6)))
    # a lower cut brings the far pair within reach; the switch turns the cascade off
    low = Decider(DecideConfig(method="learned", classifier=str(path), operating_point=0.2))
    assert low.nli_needed([near, far]).tolist() == [True, True]
    off = Decider(DecideConfig(method="learned", classifier=str(path), nli_cascade=False))
    assert not off.cascade and off.nli_needed([near, far]).tolist() == [True, True]


def test_nli_bound_adds_the_interactions_and_rules_a_pair_can_reach(nlp, tmp_path):
    """The bound on what NLI can add: the margin for the pure NLI features, plus exactly what
    an NLI-times-evidence interaction and an NLI rule can add for this pair."""
    a, b, c = _claims(nlp, "The plant employs 1,200 workers.", "Only 950 workers remain at the plant.",
                      "The border crossing reopened on Monday.")
    coef = np.zeros(len(FEATURES))
    coef[FEATURES.index("pc_x_overlap")] = 2.0
    coef[FEATURES.index("rule_numeric")] = 1.5
    mean = np.zeros(len(FEATURES))
    mean[FEATURES.index("rule_numeric")] = 0.2
    dec = LearnedDecider(list(FEATURES), mean, np.ones(len(FEATURES)), coef, -1.0, 0.5, {}, (1.0, 0.0), 0.5)
    path = tmp_path / "decider.json"
    dec.save(path)
    d = Decider(DecideConfig(method="learned", classifier=str(path)))
    figures, other = Pair(a, b, "opposing_sides", 0.9), Pair(a, c, "opposing_sides", 0.9)
    evs, hits = d.evidence([figures, other], [None, None])
    x = feature_matrix([figures, other], [None, None], evs, hits)
    overlap = [ev["lemma_overlap"] for ev in evs]
    assert overlap[0] > 0 and overlap[1] == 0
    possible = {"numeric": np.array([True, False]), "denial": np.array([False, False])}
    bound = d.learned.nli_bound(x, possible)
    # margin + 2 * overlap (pc_max = 1) + the numeric rule firing (1.5 * (1 - 0.2)); the other
    # pair: margin + nothing from the interaction + the rule that cannot fire (1.5 * -0.2)
    assert bound[0] == pytest.approx(0.5 + 2 * overlap[0] + 1.2)
    assert bound[1] == pytest.approx(0.5 - 0.3)
    # the numeric rule can fire only on the pair with figures for the same noun
    assert d.nli_needed([figures, other]).tolist() == [True, False]


def test_unscored_pair_has_nan_nli_features_and_no_nli_rules(nlp):
    a, b = _claims(nlp, "The plant employs 1,200 workers.", "Only 950 workers remain at the plant.")
    f = features(Pair(a, b, "opposing_sides", 0.7), None)
    assert all(np.isnan(f[k]) for k in NLI_FEATURES)
    assert "rule_numeric" in NLI_FEATURES and "rule_negation" not in NLI_FEATURES
    assert f["num_same_unit"] == 1.0 and not np.isnan(f["similarity"])
    with pytest.raises(ValueError, match="every pair"):
        Decider(DecideConfig(method="threshold")).decide([Pair(a, b, "opposing_sides", 0.7)], [None])


class _BatchNoiseNLI:
    """An NLI stand-in whose P(contradiction) moves with the batch, as the int8 export's does:
    alone (batch_size=1) a pair gets its own score; in a batch, 0.04 more per batch-mate."""

    batch_dependent = True

    def __init__(self, own: dict[str, float]):
        self.own, self.calls = own, []

    def predict_both(self, texts, batch_size=None):
        self.calls.append((len(texts), batch_size))
        shift = 0.0 if batch_size == 1 else 0.04 * (len(texts) - 1)

        def probs(a, b):
            pc = min(0.95, self.own[a] + shift)
            return [pc, 0.02, 0.98 - pc]

        return (np.array([probs(a, b) for a, b in texts]), np.array([probs(a, b) for a, b in texts]))


def _pipeline_with(decider_path, nli, embedder=None, **decide):
    """A Pipeline deciding with ``decider_path`` whose models are stand-ins: ``nli``, and
    ``embedder`` (None: one whose outputs do not depend on the batch, with no word vectors)."""
    from pipeline.config import RunConfig
    from pipeline.pipeline import Pipeline

    cfg = RunConfig()
    cfg.decide = DecideConfig(method="learned", classifier=str(decider_path), **decide)
    pipe = Pipeline(cfg)
    pipe._nli = nli
    pipe.topics = (SimpleNamespace(embedder=embedder, embed=embedder.encode) if embedder else
                   SimpleNamespace(embedder=SimpleNamespace(batch_dependent=False), embed=None))
    return pipe


def test_pairs_near_the_cut_are_decided_on_scores_that_do_not_depend_on_their_batch(nlp, tmp_path):
    """A flag must not come and go with the pairs that shared its batch (corpus, --threshold,
    the cascade): with a batch-dependent backend the pairs near the cut are scored again alone."""
    from pipeline.pipeline import BatchResult

    texts = ["Talks are ongoing at all levels.", "Talks have been suspended.",
             "The border crossing reopened on Monday.", "Trade between the two grew last year.",
             "The ambassador was recalled.", "Flights resumed on Friday."]
    cs = _claims(nlp, *texts)
    # sigmoid(4 * 0.9 + 3 * pc - 4) >= 0.5 when pc >= 0.133: alone the first pair is just
    # below the cut (pc 0.12); with three batch-mates it would be above it (0.12 + 0.12)
    own = {texts[0]: 0.12, texts[2]: 0.02, texts[3]: 0.02, texts[4]: 0.02}
    pairs = [Pair(cs[0], cs[1], "opposing_sides", 0.9)] + [
        Pair(cs[i], cs[5], "opposing_sides", 0.1) for i in (2, 3, 4)]
    path = _cascade_decider(tmp_path, None)

    def run(ps, margin):
        pipe = _pipeline_with(path, _BatchNoiseNLI(own), confirm_margin=margin)
        res = pipe.decide(pipe.score(BatchResult(pairs=list(ps))))
        return pipe, res

    pipe, alone = run(pairs[:1], 0.15)
    assert alone.flags == [] and alone.nli_confirmed == 1
    pipe, crowd = run(pairs, 0.15)
    assert crowd.flags == [] and crowd.nli_confirmed == 1  # the far pairs are not rescored
    assert crowd.scores[0] == alone.scores[0]
    assert pipe.nli.calls == [(4, None), (1, 1)]
    # without the confirm pass the batch-mates push the pair over the cut
    _, noisy = run(pairs, 0.0)
    assert [f.pair for f in noisy.flags] == [pairs[0]] and noisy.nli_confirmed == 0
    # a backend whose scores do not depend on the batch is not rescored
    steady = _BatchNoiseNLI(own)
    steady.batch_dependent = False
    pipe = _pipeline_with(path, steady)
    assert pipe.score(BatchResult(pairs=list(pairs))).nli_confirmed == 0
    assert pipe.nli.calls == [(4, None)]


class _BatchNoiseEmbedder:
    """An embedder stand-in whose vectors move with the batch, as the int8 export's do."""

    batch_dependent = True

    def __init__(self):
        self.calls = []

    def encode(self, texts, batch_size=None):
        self.calls.append((len(texts), batch_size))
        out = []
        for t in texts:
            v = np.array([1.0, (len(t) % 7) / 7.0, 0.0])
            if batch_size != 1:
                v[2] = 0.1 * (len(texts) - 1)  # the batch-mates leak into every vector
            out.append(v / np.linalg.norm(v))
        return np.array(out)


def test_near_cut_similarity_and_word_alignment_come_from_texts_embedded_alone(nlp, tmp_path):
    """The embedder half of the confirm pass: a pair near the cut gets the cosine of its two
    claims embedded one per call, and negation alignment compares words embedded one per
    call, so its score does not depend on what else was embedded with it."""
    from pipeline.pipeline import BatchResult

    a, b, c = _claims(nlp, "Talks have not been suspended.", "Talks were halted on Monday.",
                      "The border crossing reopened.")
    near, far = Pair(a, b, "opposing_sides", 0.9), Pair(a, c, "opposing_sides", 0.05)
    steady = _BatchNoiseNLI({a.text: 0.5})
    steady.batch_dependent = False
    emb = _BatchNoiseEmbedder()
    pipe = _pipeline_with(_cascade_decider(tmp_path, None), steady, emb)
    res = pipe.score(BatchResult(pairs=[near, far]))
    want = emb.encode([a.text], batch_size=1)[0] @ emb.encode([b.text], batch_size=1)[0]
    assert res.nli_confirmed == 1 and res.pairs[0].similarity == pytest.approx(want)
    assert res.pairs[1] is far  # the far pair keeps its batched similarity
    # the decider's evidence for every pair embeds its words in one batch; after it, every
    # text and word of the confirm pass goes alone (the two claims first)
    assert emb.calls[0][1] is None and emb.calls[1] == (2, 1)
    assert len(emb.calls) > 2 and all(bs == 1 for _, bs in emb.calls[1:])
    words = pipe.stage("confirm").words_alone
    assert words is not None and words._vec  # the negated word was aligned


def test_figures_for_the_same_noun_an_order_of_magnitude_apart_are_measured(nlp):
    """num_log_ratio: orders of magnitude between the closest figures for the same noun
    (a disputed figure is mostly of the same order; $33bn of aid against $1.3bn frozen is
    about two different amounts)."""
    a, b, c, d = _claims(nlp, "The United States gave Pakistan 33 billion dollars in aid.",
                         "Officials put the amount frozen at 1.3 billion dollars.",
                         "Turnout was 61 percent and 1,200 workers voted.",
                         "Turnout was 47 percent, officials said.")
    far = pair_evidence(Pair(a, b, "opposing_sides", 0.5))
    assert far["num_same_unit"] == 1.0 and far["num_log_ratio"] == pytest.approx(np.log10(33 / 1.3))
    near = pair_evidence(Pair(c, d, "opposing_sides", 0.5))  # the closest pair of percents
    assert near["num_log_ratio"] == pytest.approx(np.log10(61 / 47))
    assert pair_evidence(Pair(a, d, "opposing_sides", 0.5))["num_log_ratio"] == 0.0  # no shared unit
    huge = Claim(doc_id="d", id="9", start=0, end=10, text="Aid reached 900 dollars.", sent_index=9)
    [huge] = add_claim_info([huge], nlp)
    assert pair_evidence(Pair(a, huge, "opposing_sides", 0.5))["num_log_ratio"] == 2.0  # capped


def test_pairs_with_info_parses_each_claim_once_and_leaves_the_pairs_unchanged(nlp):
    texts = []

    class Counting:
        def pipe(self, ts, batch_size=64):
            texts.extend(ts)
            return nlp.pipe(ts, batch_size=batch_size)

    a, b, c = (Claim("d", f"{i}.0", 0, 5, t, i) for i, t in
               enumerate(["Talks are ongoing.", "Talks were suspended.", "No talks took place."]))
    (c_done,) = add_claim_info([c], nlp)
    pairs = [Pair(a, b, "unattributed", 0.5), Pair(a, c_done, "unattributed", 0.4)]
    out = pairs_with_info(pairs, Counting())
    assert sorted(texts) == ["Talks are ongoing.", "Talks were suspended."]  # a once, c had info
    assert all(p.a.info is not None and p.b.info is not None for p in out)
    assert out[0].a is out[1].a and out[1].b is c_done
    assert pairs[0].a.info is None  # the input pairs keep their claims
