"""Model v2 and debiasing: training-data builders, the bias model, calibration, stress sets."""

from __future__ import annotations

import json

import numpy as np
import pytest

from pipeline.config import TrainConfig
from pipeline.errors import ConfigError
from pipeline.eval import stress
from pipeline.eval.pairs import combine_directions, uncalibrated_ece
from pipeline.nli import augment
from pipeline.nli.calibrate import CALIBRATION_FILE, fit_temperature, load_temperature
from pipeline.nli.data import NLIExample
from pipeline.nli.debias import (HypothesisOnlyBias, cue_vocabulary, debiased_loss, has_cue,
                                  out_of_fold_proba)


def _rows():
    out = []
    for i in range(30):
        out.append(NLIExample(f"The council approved budget number {i} on Monday.",
                              f"The council rejected budget {i}.", "contradiction", "news"))
        out.append(NLIExample(f"A dog runs across field {i} at noon.",
                              f"An animal is outside {i}.", "entailment", "snli"))
    return out


def test_unrelated_neutrals_join_two_sources_and_are_neutral():
    rows = _rows()
    got = augment.unrelated_neutrals(rows, 40, premise_share=1.0, seed=1)
    assert len(got) == 40
    premises = {r.premise for r in rows}
    for r in got:
        assert r.label == "neutral"
        # premise + premise from one council and one dog example, never two of one source
        assert r.premise in premises and r.hypothesis in premises
        assert ("council" in r.premise) != ("council" in r.hypothesis)


def test_unrelated_neutrals_need_two_sources():
    rows = [r for r in _rows() if r.source == "news"]
    assert augment.unrelated_neutrals(rows, 5) == []


def test_knn_neutrals_respect_the_similarity_band_and_skip_captions():
    rows = [NLIExample("Prices of oil rose sharply this week in Asia.", "x", "neutral", "mnli"),
            NLIExample("European gas traders fear a cold winter ahead.", "y", "neutral", "mnli"),
            NLIExample("Prices of oil rose sharply this week in Asia!", "z", "neutral", "mnli"),
            NLIExample("A man in a red hat plays the guitar.", "w", "neutral", "snli")]
    vecs = {rows[0].premise: [1.0, 0.0], rows[1].premise: [0.8, 0.6],
            rows[2].premise: [1.0, 0.0], rows[3].premise: [0.8, 0.6]}

    def embed(texts):
        v = np.array([vecs[t] for t in texts], dtype=np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    got = augment.knn_neutrals(rows, 10, embed, min_similarity=0.5, max_similarity=0.9)
    # each oil premise with the gas one (cosine 0.8, inside the band); the two near-identical
    # oil premises (cosine 1.0) are never paired, and the caption source is left out
    gas = rows[1].premise
    assert sorted((r.premise, r.hypothesis, r.label, r.source) for r in got) == [
        (rows[2].premise, gas, "neutral", "aug_knn"), (rows[0].premise, gas, "neutral", "aug_knn")]


def test_reverse_contradictions_swap_only_contradictions():
    got = augment.reverse_contradictions(_rows(), 1.0)
    assert len(got) == 30
    assert all(r.label == "contradiction" and "rejected" in r.premise for r in got)


def test_bias_model_learns_negation_shortcut_and_round_trips(tmp_path):
    hyps = ["the man is not eating", "nobody is here", "the man is eating", "a woman sings",
            "there is no cat", "the cat sleeps", "a boy may be tall", "the girl might win"] * 10
    labels = ["contradiction", "contradiction", "entailment", "entailment",
              "contradiction", "entailment", "neutral", "neutral"] * 10
    b = HypothesisOnlyBias().fit(hyps, labels)
    p = b.predict_proba(["the dog is not barking"])
    assert p.shape == (1, 3) and abs(p.sum() - 1) < 1e-5
    assert p[0].argmax() == 2  # contradiction, from "not" alone
    assert "not" in [w for w, _ in b.top_words("contradiction", 5)]
    b.save(tmp_path / "bias.json")
    again = HypothesisOnlyBias.load(tmp_path / "bias.json")
    assert np.allclose(again.predict_proba(hyps[:4]), b.predict_proba(hyps[:4]), atol=1e-4)
    oof = out_of_fold_proba(hyps, labels, folds=4)
    assert oof.shape == (80, 3)


def test_cue_bias_model_sees_only_negation_and_contrast_words(tmp_path):
    # "may"/"might" predict neutral in this data: the word model learns that, the cue model
    # cannot (they are not cues), so it is left with the negation shortcut alone
    hyps = ["the man is not eating", "nobody is here", "the man is eating", "a woman sings",
            "there is no cat", "the cat sleeps", "a boy may be tall", "the girl might win"] * 10
    labels = ["contradiction", "contradiction", "entailment", "entailment",
              "contradiction", "entailment", "neutral", "neutral"] * 10
    cues = HypothesisOnlyBias(features="cues").fit(hyps, labels)
    words = HypothesisOnlyBias().fit(hyps, labels)
    assert set(cues.vocabulary) <= set(cue_vocabulary()) and "not" in cues.vocabulary
    assert cues.predict_proba(["the dog is not barking"])[0].argmax() == 2
    # a contraction is a cue too: "didn't" must not read like a hypothesis without one
    short = HypothesisOnlyBias(features="cues").fit(hyps + ["the man isn't eating"] * 10,
                                                    labels + ["contradiction"] * 10)
    neg, plain = short.predict_proba(["the dog didn't bark", "the dog barked"])
    assert neg[2] > plain[2] + 0.2
    # without a cue every hypothesis gets the same probabilities (the cue-free prior)
    a, b = cues.predict_proba(["a boy may be tall", "the man is eating"])
    assert np.allclose(a, b)
    assert words.predict_proba(["a boy may be tall"])[0].argmax() == 1
    cues.save(tmp_path / "bias.json")
    again = HypothesisOnlyBias.load(tmp_path / "bias.json")
    assert again.features == "cues"
    assert np.allclose(again.predict_proba(hyps[:4]), cues.predict_proba(hyps[:4]), atol=1e-4)
    oof = out_of_fold_proba(hyps, labels, folds=4, features="cues")
    assert np.allclose(oof[2], oof[3], atol=0.15) and oof[0].argmax() == 2
    with pytest.raises(ConfigError):
        TrainConfig(bias_features="nouns")


def test_poe_loss_is_small_where_the_bias_is_already_right():
    torch = pytest.importorskip("torch")
    logits = torch.tensor([[0.0, 0.0, 2.0]])
    labels = torch.tensor([2])
    confident_bias = torch.tensor([[0.01, 0.01, 0.98]])
    unsure_bias = torch.tensor([[0.34, 0.33, 0.33]])
    plain = debiased_loss(logits, labels, None, "none")
    poe_easy = debiased_loss(logits, labels, confident_bias, "poe")
    poe_hard = debiased_loss(logits, labels, unsure_bias, "poe")
    assert poe_easy < poe_hard
    assert abs(float(poe_hard) - float(plain)) < 0.05
    # reweight: each row's loss times 1 - p_bias(gold), the weights normalised to mean 1
    two = torch.tensor([[0.0, 0.0, 2.0], [2.0, 0.0, 0.0]])
    per = torch.nn.functional.cross_entropy(two, torch.tensor([2, 2]), reduction="none")
    rw = debiased_loss(two, torch.tensor([2, 2]), torch.cat([confident_bias, unsure_bias]), "reweight")
    w = torch.tensor([1 - 0.98, 1 - 0.33])
    assert float(rw) == pytest.approx(float((per * w / w.mean()).mean()), rel=1e-6)
    assert float(rw) > float(per.mean())  # the row the bias gets wrong counts more
    with pytest.raises(ConfigError):
        debiased_loss(logits, labels, unsure_bias, "magic")
    # a stronger product of experts gives the easy (bias-right) example even less loss
    mild_bias = torch.tensor([[0.2, 0.2, 0.6]])
    assert debiased_loss(logits, labels, mild_bias, "poe", strength=2.0) < \
        debiased_loss(logits, labels, mild_bias, "poe")


def test_train_config_checks_the_new_keys():
    with pytest.raises(ConfigError):
        TrainConfig(debias="magic")
    with pytest.raises(ConfigError):
        TrainConfig(knn_min_similarity=0.9, knn_max_similarity=0.5)
    with pytest.raises(ConfigError):
        TrainConfig(negation_balanced=-1)
    with pytest.raises(ConfigError):
        TrainConfig(debias_strength=0)
    assert TrainConfig(file_weights={"x": 0.0}).file_weights == {"x": 0.0}


def test_temperature_fit_softens_overconfident_logits(tmp_path):
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 600)
    logits = rng.normal(0, 1, (600, 3))
    logits[np.arange(600), labels] += 2.0
    logits *= 4  # right direction, far too confident
    fit = fit_temperature(logits, labels)
    assert fit["temperature"] > 2 and fit["nll_after"] < fit["nll_before"]
    (tmp_path / CALIBRATION_FILE).write_text(json.dumps(fit))
    assert load_temperature(tmp_path) == fit["temperature"]
    assert load_temperature(tmp_path / "none") == 1.0


def test_uncalibrated_ece_undoes_the_temperature():
    raw = np.array([[0.9, 0.05, 0.05], [0.2, 0.7, 0.1]])
    t = 2.0
    cal = np.exp(np.log(raw) / t)
    cal /= cal.sum(1, keepdims=True)
    gold = ["contradiction", "contradiction"]
    # raw top confidences 0.9 and 0.7, accuracy 0.5 -> |1-0.9|/2 + |0-0.7|/2
    assert uncalibrated_ece(gold, cal, t) == pytest.approx(0.4, abs=1e-3)


def test_combine_directions():
    ab, ba = np.array([0.9, 0.1]), np.array([0.3, 0.5])
    assert combine_directions(ab, ba, "max").tolist() == [0.9, 0.5]
    assert combine_directions(ab, ba, "min").tolist() == [0.3, 0.1]
    assert combine_directions(ab, ba, "mean").tolist() == pytest.approx([0.6, 0.3])


def test_negation_cues():
    assert has_cue("There is no freeze in relations")
    assert has_cue("They didn't talk") and has_cue("Talks continued, but slowly")
    assert not has_cue("The two sides continue to communicate")
    assert not has_cue("Notably, the note was noted")  # cue words only as whole words


def test_stress_set_and_cross_story_pairs(tmp_path):
    nli = tmp_path / "dev.jsonl"
    nli.write_text("\n".join(json.dumps(r) for r in [
        {"premise": "Talks go on.", "hypothesis": "There is no freeze.", "label": "entailment"},
        {"premise": "Talks go on.", "hypothesis": "Talks stopped.", "label": "contradiction"},
        {"premise": "Talks go on.", "hypothesis": "Talks are held.", "label": "entailment"},
        {"premise": "It is not raining.", "hypothesis": "Fans wait.", "label": "neutral"},
    ]) + "\n")
    arts = tmp_path / "arts.jsonl"
    arts.write_text("\n".join(json.dumps(d) for d in [
        {"id": "a", "claims": [{"id": "c1", "text": "Relations are not frozen"},
                               {"id": "c2", "text": "The two sides keep talking"},
                               {"id": "c3", "text": "Talks collapsed"}],
         "pairs": [{"a": "c1", "b": "c2", "label": "non_contradiction"},
                   {"a": "c2", "b": "c3", "label": "contradiction"}]},
        {"id": "b", "text": "The vaccine was approved on Monday by regulators. "
                            "Shipments start next week across the country."},
    ]) + "\n")
    rows = stress.negation_stress_set([str(nli)], [arts])
    assert sorted(r.hypothesis for r in rows) == ["Fans wait.", "The two sides keep talking",
                                                  "There is no freeze."]
    assert all(r.label != "contradiction" for r in rows)
    stories = stress.story_claims([arts])
    assert len(stories["a"]) == 3 and len(stories["b"]) == 2
    pairs = stress.cross_story_pairs(stories, n=50)
    assert len(pairs) == 6  # 3 x 2 cross-story pairs exist, each once
    for x, y in pairs:
        assert (x in stories["a"]) != (y in stories["a"])


def test_built_rows_get_a_uniform_bias_and_do_not_fit_it(tmp_path):
    from pipeline.nli.train import fit_bias, is_built

    base = [NLIExample("p", h, lab, "mnli") for h, lab in
            [("the man is not eating", "contradiction"), ("a man eats", "entailment"),
             ("a man may eat later", "neutral")] * 20]
    built = [NLIExample("p", "A long unrelated sentence about markets.", "neutral", "aug_unrelated"),
             NLIExample("a man eats", "p", "contradiction", "mnli_rev")]
    rows = base + built
    assert [is_built(r) for r in built] == [True, True] and not is_built(base[0])
    probs, info = fit_bias(rows, base[:6], TrainConfig(debias="poe", bias_folds=3), tmp_path)
    assert info["fitted_on"] == len(base)
    assert np.allclose(probs[-2:], 1 / 3)
    assert probs[0].argmax() == 2  # "not" -> contradiction, out of fold
    assert (tmp_path / "bias_model.json").is_file()


def test_debias_scope_cues_keeps_the_bias_only_on_rows_with_a_negation_or_contrast_word(tmp_path):
    from pipeline.nli.train import fit_bias

    rows = [NLIExample("p", h, lab, "mnli") for h, lab in
            [("the man is not eating", "contradiction"), ("a man eats", "entailment"),
             ("a man may eat later", "neutral"), ("nobody eats", "contradiction")] * 20]
    both = {}
    for scope in ("all", "cues"):
        cfg = TrainConfig(debias="poe", bias_folds=3, debias_scope=scope)
        (tmp_path / scope).mkdir()
        both[scope], info = fit_bias(rows, rows[:8], cfg, tmp_path / scope)
    cue = np.array([has_cue(r.hypothesis) for r in rows])
    assert cue.sum() == 40 and info["debiased_rows"] == 40
    assert np.allclose(both["cues"][cue], both["all"][cue])  # the shortcut rows keep their bias
    assert np.allclose(both["cues"][~cue], 1 / 3)  # the rest train on plain cross entropy
    assert not np.allclose(both["all"][~cue], 1 / 3)
    assert info["train_out_of_fold_accuracy"] > 0.5  # measured before the scope is applied
    with pytest.raises(ConfigError, match="debias_scope"):
        TrainConfig(debias_scope="negation")


def test_negation_balanced_pairs_are_label_balanced_and_disjoint_from_the_stress_half(tmp_path):
    rows = [NLIExample(f"Ann has only visited place{i}.", f"Bob didn't visit place{i}.", lab, "curr")
            for i in range(300) for lab in ("entailment", "neutral", "contradiction")]
    rows += [NLIExample("Ann sings.", "Ann sings loudly.", "entailment", "curr")] * 5  # no cue
    got = augment.negation_balanced(rows, 90, seed=1)
    assert sorted(r.label for r in got) == sorted(["entailment", "neutral", "contradiction"] * 30)
    assert all(has_cue(r.hypothesis) and r.source == "negbal_curr" for r in got)
    assert all(augment.split_half(r.premise, r.hypothesis) == "train" for r in got)
    # the stress set reads the other half of the same file: no pair in both
    path = tmp_path / "curriculum.jsonl"
    path.write_text("".join(json.dumps({"premise": r.premise, "hypothesis": r.hypothesis,
                                        "label": r.label}) + "\n" for r in rows))
    held = stress.curriculum_negation(path, n=10_000)
    assert held and all(r.label != "contradiction" for r in held)
    assert not {(r.premise, r.hypothesis) for r in held} & {(r.premise, r.hypothesis) for r in got}
    # both halves are used: a split that sent everything one way would fail here
    halves = {augment.split_half(r.premise, r.hypothesis) for r in rows}
    assert halves == {"train", "stress"}


def test_stress_counterpart_draws_cue_contradictions_and_reads_the_set_without_a_threshold(tmp_path):
    from pipeline.eval.pairs import stress_report
    from pipeline.types import LABELS

    nli = tmp_path / "dev.jsonl"
    nli.write_text("\n".join(json.dumps(r) for r in [
        {"premise": "Talks go on.", "hypothesis": "There is no freeze.", "label": "entailment"},
        {"premise": "Talks go on.", "hypothesis": "Talks stopped.", "label": "contradiction"},
        {"premise": "Talks go on.", "hypothesis": "There are no talks.", "label": "contradiction"},
        {"premise": "It is not raining.", "hypothesis": "Fans wait.", "label": "neutral"},
    ]) + "\n")
    arts = tmp_path / "arts.jsonl"
    arts.write_text(json.dumps(
        {"id": "a", "claims": [{"id": "c1", "text": "Relations are not frozen"},
                               {"id": "c2", "text": "The two sides keep talking"},
                               {"id": "c3", "text": "Relations never thawed"}],
         "pairs": [{"a": "c1", "b": "c2", "label": "non_contradiction"},
                   {"a": "c1", "b": "c3", "label": "contradiction"}]}) + "\n")
    neg = stress.negation_stress_set([str(nli)], [arts])
    pos = stress.negation_stress_set([str(nli)], [arts], contradictions=True)
    assert sorted(r.hypothesis for r in pos) == ["Relations never thawed", "There are no talks."]
    assert {r.source for r in pos} == {"contra:dev", "contra:labelled"}
    assert all(r.label == "contradiction" for r in pos) and len(neg) == 3

    class Fixed:  # P(contradiction) by hypothesis: one negation pair outranks a contradiction
        p = {"There is no freeze.": 0.7, "Fans wait.": 0.1, "The two sides keep talking": 0.2,
             "Relations never thawed": 0.9, "There are no talks.": 0.6}

        def predict(self, pairs):  # columns in pipeline.types.LABELS order
            c = LABELS.index("contradiction")
            return np.array([[self.p[h] if i == c else (1 - self.p[h]) / 2 for i in range(3)]
                             for _, h in pairs])

    rep = stress_report(Fixed(), neg, 0.5, pos, recall=0.5)
    assert rep["false_contradiction_rate"] == round(1 / 3, 4)  # argmax: "no freeze" only
    assert rep["contradiction_recall"] == 1.0
    assert rep["roc_auc"] == round(5 / 6, 4)  # 5 of the 6 (contradiction, other) pairs in order
    # the threshold recalling half the contradictions lies between 0.6 and 0.9 (the median,
    # 0.75): no stress pair reaches it; at 100% recall (0.6) "no freeze" does
    assert rep["at_recall"]["rate"] == 0.0
    assert stress_report(Fixed(), neg, 0.5, pos, recall=1.0)["at_recall"]["rate"] == round(1 / 3, 4)
    assert "roc_auc" not in stress_report(Fixed(), neg, 0.5)
