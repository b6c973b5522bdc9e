"""Reported disputes, agreement and claim modality, on sentences written for them: the
evidence the flags on real news rest on (issue 25) and the claims it needs (issue 24)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from pipeline.config import DecideConfig, PairConfig
from pipeline.stages.decide import Decider
from pipeline.stages.evidence import (add_claim_info, agreement, anaphoric_dispute, dispute_between, disputes,
                                       pair_evidence, repeats, reported, retracts_only)
from pipeline.stages.pairing import knn_pairs
from pipeline.stages.nlp import load_spacy
from pipeline.types import Claim, Pair, Score
from test_text_stages import claims_of, find


@pytest.fixture(scope="module")
def nlp():
    return load_spacy("auto")


def _claims(nlp, *texts, speakers=None):
    speakers = speakers or [""] * len(texts)
    cs = [Claim(doc_id="d", id=f"{i}.0", start=10 * i, end=10 * i + 5, text=t, sent_index=i,
                speaker=speakers[i], speaker_id=speakers[i]) for i, t in enumerate(texts)]
    return add_claim_info(cs, nlp)


def _score(pc, pe):
    return Score((pc, pc), (pe, pe), (1 - pc - pe, 1 - pc - pe))


def test_a_denial_of_any_such_thing_is_anaphoric(nlp):
    """"Officials deny any such thing has happened", "denied any such plans": what is denied
    is named only by "such"; the claim is paired with the accounts it answers."""
    a, b, c = _claims(nlp, "any such thing has happened", "The embassy denied any such plans.",
                      "Such plans would cost the city dearly.")
    a = replace(a, stance="denies")
    assert anaphoric_dispute(a) and anaphoric_dispute(b) and not anaphoric_dispute(c)


def test_a_dispute_across_documents_is_not_taken_for_one_speaker(nlp):
    """Speaker ids are per document: the first speaker of two articles is "s1" in both, yet
    a denial in one answers a different speaker's account in the other."""
    a, b = _claims(nlp, "Ten fighters were caught crossing the border.",
                   "Officials said the claims were completely false.")
    a = replace(a, doc_id="one", speaker="Duncan Hunter", speaker_id="s1")
    b = replace(b, doc_id="two", speaker="Homeland Security", speaker_id="s1")
    assert dispute_between(Pair(a, b, "cross_document", 0.6))
    b = replace(b, speaker="duncan hunter ")
    assert not dispute_between(Pair(a, b, "cross_document", 0.6))  # one speaker, no retraction


def _dispute_ranks(cs, emb, **pair_cfg):
    """The dispute rank of every pair ``knn_pairs`` forms with a rank, by its two claim ids
    (``emb`` rows are normalised first)."""
    emb = np.asarray(emb, dtype=float)
    emb = emb / np.linalg.norm(emb, axis=1, keepdims=True)
    pairs = knn_pairs(cs, emb, PairConfig(**pair_cfg))
    return {frozenset((p.a.id, p.b.id)): p.dispute_rank for p in pairs if p.dispute_rank}, pairs


def test_dispute_wording_marks_a_claim(nlp):
    a, b, c = _claims(nlp, "These claims are completely false.", "The airline has no plans to cut jobs.",
                      "The airline will add two aircraft this summer.")
    assert disputes(a) and disputes(b) and not disputes(c)
    assert anaphoric_dispute(a) and not anaphoric_dispute(b)


def test_an_anaphoric_denial_is_paired_with_the_articles_central_accounts(nlp):
    """'These claims are false' says nothing of what it disputes: it is paired with the other
    speakers' accounts nearest the article's mean claim, ranked, whatever its own similarity."""
    texts = ["These claims are absolutely false.",
             "The golfer was suspended for a month for doping.",
             "He heard the golfer was on a month's suspension for doping.",
             "The weather on the course was mild on Sunday."]
    cs = _claims(nlp, *texts, speakers=["agent", "olsen", "olsen", ""])
    ranked, pairs = _dispute_ranks(cs, [[0.2, 0.1, 0.97], [0.9, 0.4, 0.1], [0.85, 0.5, 0.1],
                                        [0.1, 0.95, 0.1]], k=1, dispute_k=1, min_similarity=0.5)
    # k=1 alone would never pair the denial (its nearest neighbour is below min_similarity)
    assert ranked and all("0.0" in key for key in ranked)
    targets = {i for k in ranked for i in k} - {"0.0"}
    assert targets <= {"1.0", "2.0"} and len(targets) == 2  # dispute_k * 2 for an anaphoric denial
    ev = pair_evidence(next(p for p in pairs if p.dispute_rank == 1))
    assert ev["dispute"] == 1.0 and ev["dispute_target"] == 1.0


def test_two_denials_agree_and_are_not_flagged(nlp):
    a, b, c = _claims(nlp, "There is no truth to these claims.", "We categorically deny these allegations.",
                      "The golfer was suspended for a month.", speakers=["tour", "tour", "olsen"])
    assert agreement(Pair(a, b, "same_speaker", 0.7), _score(0.8, 0.1))
    assert not agreement(Pair(a, c, "opposing_sides", 0.3), _score(0.8, 0.1))
    dec = Decider(DecideConfig(method="threshold", threshold=0.5))
    flags = dec.decide([Pair(a, b, "same_speaker", 0.7), Pair(a, c, "opposing_sides", 0.3)],
                       [_score(0.8, 0.1), _score(0.8, 0.1)])
    assert [f.pair.b.id for f in flags] == [c.id]


def test_restatement_entailed_both_ways_is_agreement_an_antonym_is_not(nlp):
    a, b = _claims(nlp, "It is hard to confirm these reports.", "It is difficult to confirm these reports.")
    assert agreement(Pair(a, b, "same_speaker", 0.93), _score(0.35, 0.45))  # near copy, entailment wins
    assert not agreement(Pair(a, b, "same_speaker", 0.93), _score(0.45, 0.35))
    assert agreement(Pair(a, b, "same_speaker", 0.5), _score(0.3, 0.6))  # entailed both ways
    c, d = _claims(nlp, "Talks are ongoing at all levels.", "Talks have been suspended.")
    assert not agreement(Pair(c, d, "opposing_sides", 0.93), _score(0.8, 0.1))


@pytest.mark.parametrize("a,b,same", [
    # a quote that another outlet repeats, in other case and punctuation
    ("Because I don't want to date anymore, she told the magazine.",
     "because I don't want to date anymore -- she told the magazine", True),
    # a headline its body restates inside a longer sentence
    ("Police found the missing hikers alive on Sunday",
     "Rescuers said police found the missing hikers alive on Sunday near the lake.", True),
    ("Police found the missing hikers alive on Sunday",
     "Police never found the missing hikers alive on Sunday", False),
    ("Police found the missing hikers alive on Sunday",
     "Police didn't find the missing hikers alive on Sunday", False),
    ("The strike ends today.", "The strike ends today.", True),
    ("The strike ends today.", "The strike ends today at noon, the union said.", False),  # under 6 words
])
def test_a_repeated_claim_is_agreement_whatever_the_scores(nlp, a, b, same):
    """The same quote twice (two outlets, a headline and its body) cannot contradict itself,
    however high the NLI model puts P(contradiction); a negated repeat is not one."""
    ca, cb = _claims(nlp, a, b)
    assert repeats(ca, cb) is same
    assert agreement(Pair(ca, cb, "cross_document", 0.99), _score(0.9, 0.05)) is same


def test_a_denial_of_the_same_words_is_not_a_repeat(nlp):
    a, b = _claims(nlp, "Ten fighters were caught crossing the border.",
                   "Ten fighters were caught crossing the border.")
    b = replace(b, stance="denies")
    assert not repeats(a, b)


def test_modality_of_claims(seg):
    cs = claims_of(seg, "Deal watch\n\nOfficials said the president could announce he is leaving the deal. "
                        "The treasury plans to raise the rate next month. Will the talks resume? "
                        "The ministry said the talks had resumed on Monday.\n")
    by = {c.text: c.modality for c in cs}
    assert any(m == "hypothetical" and "could announce" in t for t, m in by.items())
    assert any(m == "hypothetical" and "plans to raise" in t for t, m in by.items())
    assert any(m == "question" for t, m in by.items() if "talks resume" in t.lower())
    assert any(m == "asserted" and "had resumed" in t for t, m in by.items())


def test_a_question_is_never_paired(seg, nlp):
    cs = claims_of(seg, "Deal watch\n\nWill the talks resume on Monday? The talks resumed on Monday. "
                        "The talks did not resume on Monday.\n")
    cs = add_claim_info(cs, nlp)
    emb = np.ones((len(cs), 3)) / np.sqrt(3)
    pairs = knn_pairs(cs, emb, PairConfig())
    # the question is left out: the one pair is the two answers
    assert [(p.a.text, p.b.text) for p in pairs] == [("The talks resumed on Monday",
                                                      "The talks did not resume on Monday")]


def test_fragments_are_not_claims(seg):
    cs = claims_of(seg, "Border row\n\nEgypt rejected the proposal on Sunday. Johnson acknowledged. "
                        "The talks will continue next week, a spokesman said.\n")
    assert not any(c.text.lower() in ("the proposal", "johnson acknowledged") for c in cs)
    assert any("talks will continue" in c.text.lower() for c in cs)


def test_a_reported_noun_phrase_keeps_its_sentence(seg):
    """'The council has dismissed the allegation': the denied noun phrase alone is a fragment;
    the sentence is the claim, its subject the speaker, its wording a dispute."""
    cs = claims_of(seg, "Budget row\n\nThe mayor said the budget had been cut in secret. The council has "
                        "dismissed the allegation. The army announced a ceasefire on Friday.\n")
    dismissed = find(cs, "dismissed the allegation")
    assert dismissed.speaker.lower().endswith("council") and dismissed.stance == "asserts"
    assert disputes(dismissed) and anaphoric_dispute(dismissed)
    assert find(cs, "announced a ceasefire").speaker.lower().endswith("army")


def test_a_retraction_pairs_two_claims_of_one_speaker(nlp):
    a, b, c = _claims(nlp, "The golfer was suspended for a month.", "I want to make a full retraction of it.",
                      "I do not know the golfer.", speakers=["olsen", "olsen", "olsen"])
    assert pair_evidence(Pair(a, b, "same_speaker", 0.2))["dispute"] == 1.0
    assert pair_evidence(Pair(a, c, "same_speaker", 0.2))["dispute"] == 0.0


@pytest.mark.parametrize("text,says", [
    ("The friend of the suspect was denied bail on Friday.", False),
    ("The district attorney's office has dismissed 849 marijuana cases since July.", False),
    ("Egypt rejected the proposal.", False),
    ("The board voted to dismiss him in 2007.", False),
    ("Officials refused to deny the families their benefits.", False),
    ("The court rejected his appeal.", False),
    ("Pakistan vehemently denied the allegations.", True),
    ("The ministry dismissed it as a brief courtesy meeting.", True),
    ("He denied any wrongdoing.", True),
    ("She denied having met him.", True),
    ("The company denied that it had paid the fine.", True),
    ("He rejected the idea that the talks had failed.", True),
])
def test_deny_dismiss_reject_in_a_refusal_mark_no_dispute(nlp, text, says):
    """"denied bail", "dismissed 849 cases", "rejected the proposal": the verbs refuse or
    remove a thing and dispute no account; with an account, a clause or an "as" verdict
    for object they do."""
    (c,) = _claims(nlp, text)
    assert disputes(c) is says


def test_an_apology_disputes_only_its_own_speakers_words(nlp):
    """"I apologize to Tiger and the Tour" takes back its speaker's words: it is no dispute
    with another speaker ("Woods is not serving a suspension", his agent said), and is never
    paired as one; a retraction that also calls the account false still is."""
    own, other, sorry, both = _claims(
        nlp, "He is on a month's suspension.", "Woods is not serving a suspension.",
        "I apologize to Tiger, Nike and the PGA Tour.", "I retract it all: the claims were false.",
        speakers=["olsen", "agent", "olsen", "olsen"])
    assert retracts_only(sorry) and not retracts_only(both) and not retracts_only(other)
    assert dispute_between(Pair(own, sorry, "same_speaker", 0.3))
    assert not dispute_between(Pair(other, sorry, "opposing_sides", 0.3))
    assert dispute_between(Pair(other, both, "opposing_sides", 0.3))
    ranked, _ = _dispute_ranks([own, other, sorry], [[0.9, 0.4, 0.1], [0.85, 0.5, 0.1], [0.5, 0.8, 0.3]],
                               k=1, dispute_k=2, min_similarity=0.0)
    assert frozenset(("0.0", "2.0")) in ranked and frozenset(("1.0", "2.0")) not in ranked


def test_an_anaphoric_denial_passes_over_an_opinion_just_before_it(nlp):
    """"These claims are false" answers an account, not the accuser's forecast or opinion
    just before it ("I think he is gonna be remembered ..."): the asserted account before
    that is its first target."""
    texts = ["The golfer was suspended for a month for doping.",
             "I think he could end up more infamous than anyone.",
             "These claims are completely false."]
    cs = _claims(nlp, *texts, speakers=["olsen", "olsen", "agent"])
    ranked, _ = _dispute_ranks(cs, [[0.2, 0.9, 0.1], [0.1, 0.2, 0.9], [0.9, 0.2, 0.1]],
                               k=1, dispute_k=1, min_similarity=0.5)
    assert ranked[frozenset(("0.0", "2.0"))] == 1
    assert ranked.get(frozenset(("1.0", "2.0")), 9) > 1


TIED = [
    ("Defence minister Khawaja Dastgir claimed that Pakistan had suspended all military "
     "cooperation with the United States, a claim the US State Department denied.",
     "pakistan had suspended all military cooperation with the united states", "dastgir", "state department"),
    ("Rep. Duncan Hunter said on Tuesday that at least 10 militants were caught crossing the "
     "border, a claim the department said was false.",
     "at least 10 militants were caught crossing the border", "hunter", "department"),
    ("The mayor said the bridge would reopen in March, a claim rejected by the transport ministry.",
     "the bridge would reopen in march", "mayor", "ministry"),
    ("The company said it had paid all its taxes, which the tax office denied.",
     "it had paid all its taxes", "company", "tax office"),
    ("The union said 4,000 workers joined the strike, a figure the employers disputed.",
     "4,000 workers joined the strike", "union", "employers"),
]


@pytest.mark.parametrize("sentence,content,asserter,denier", TIED)
def test_a_dispute_stated_in_one_sentence_ties_two_claims(seg, sentence, content, asserter, denier):
    """"X claimed P, a claim Y denied" (and its kin: "... Y said was false", "... rejected by
    Y", "..., which Y denied", "a figure Y disputed"): P by X, and P denied by Y, the denial's
    ``target`` the claim it disputes; the denying clause is in neither claim."""
    cs = claims_of(seg, "Row\n\n" + sentence + "\n")
    on_p = [c for c in cs if c.text.lower() == content]
    assert len(on_p) == 2, [(c.text, c.speaker, c.stance) for c in cs]
    said, denied = sorted(on_p, key=lambda c: c.stance)  # "asserts" < "denies"
    assert said.stance == "asserts" and asserter in said.speaker.lower()
    assert denied.stance == "denies" and denier in denied.speaker.lower()
    assert denied.target == said.id and not said.target
    assert (denied.start, denied.end) == (said.start, said.end)
    # its own clause is kept beside its span: the words the protocol gives a denial
    lo, hi = denied.clause
    text = "Row\n\n" + sentence + "\n"
    assert text[lo:hi].split()[-1].rstrip(".") in sentence.split(",")[-1] and text[lo - 2:lo] == ", "
    assert said.clause is None


def test_a_tied_dispute_is_paired_and_flagged_whatever_the_scores(seg, nlp):
    """The two claims of one sentence are never paired by similarity; a tie always is, and the
    decision flags it with reason "dispute" at ``decide.dispute_score`` even when the NLI
    model sees no contradiction; with ``dispute_score`` 0 it is left to the scores."""
    cs = claims_of(seg, "Row\n\n" + TIED[0][0] + " The talks will resume next week.\n")
    cs = add_claim_info(cs, nlp)
    emb = np.eye(len(cs))  # nothing is near anything
    pairs = knn_pairs(cs, emb, PairConfig(k=1, min_similarity=0.5))
    tied = [p for p in pairs if p.a.target == p.b.id or p.b.target == p.a.id]
    assert len(tied) == 1 and tied[0].dispute_rank == 1
    low = _score(0.05, 0.3)
    flags = Decider(DecideConfig(method="threshold")).decide(tied, [low])
    assert len(flags) == 1 and "dispute" in flags[0].reason.split("+") and flags[0].score == pytest.approx(0.9)
    assert not Decider(DecideConfig(method="threshold", dispute_score=0.0)).decide(tied, [low])
    # the article says they disagree: never "agreement", however alike their words
    assert not agreement(tied[0], _score(0.05, 0.9))


def test_an_anaphoric_denial_targets_first_the_account_just_before_it(nlp):
    """"The ministry denied the allegations" most often answers the account told just before
    it: that claim is its first target (rank 1), though another is more central."""
    texts = ["The golfer was suspended for a month for doping.",
             "The golfer was banned for doping, his coach said.",
             "The club had paid the players late, the union said.",
             "The club denied the allegations."]
    cs = _claims(nlp, *texts, speakers=["olsen", "coach", "union", "club"])
    ranked, _ = _dispute_ranks(cs, [[0.9, 0.4, 0.1], [0.88, 0.45, 0.1], [0.1, 0.9, 0.4],
                                    [0.2, 0.1, 0.97]], k=1, dispute_k=1, min_similarity=0.5)
    assert ranked[frozenset(("2.0", "3.0"))] == 1
    # then the most central account, one of the two on the golfer
    assert sorted(r for k, r in ranked.items() if "3.0" in k) == [1, 2]
    assert {k for k, r in ranked.items() if r == 2} <= {frozenset(("0.0", "3.0")), frozenset(("1.0", "3.0"))}


def test_an_anaphoric_denial_targets_first_an_account_given_as_reported(nlp):
    """"This new report is a total hoax" answers the account the article gave as reported
    ("allegedly", by "sources"), though another claim stands between them; a question before
    it ("Could the report be true?") is never a target, and a question disputes nothing."""
    texts = ["The actor was allegedly found dead in his apartment.",
             "Multiple reports said the actor died on Friday.",
             "Fans gathered outside the theatre on Sunday.",
             "Could the report be true or is it another hoax?",
             "This new report is a total hoax."]
    cs = _claims(nlp, *texts, speakers=["", "Multiple reports", "", "", "rep"])
    cs[1] = replace(cs[1], mention="Multiple reports")
    cs[3] = replace(cs[3], modality="question")
    ranked, _ = _dispute_ranks(cs, [[0.9, 0.4, 0.1], [0.88, 0.45, 0.1], [0.1, 0.9, 0.4],
                                    [0.3, 0.3, 0.9], [0.2, 0.1, 0.97]],
                               k=1, dispute_k=2, min_similarity=0.5)
    assert reported(cs[0]) and reported(cs[1]) and not reported(cs[2])
    # the nearest reported account first, then the other, then the claim just before
    assert ranked[frozenset(("1.0", "4.0"))] == 1 and ranked[frozenset(("0.0", "4.0"))] == 2
    assert ranked[frozenset(("2.0", "4.0"))] == 3
    assert not any("3.0" in k for k in ranked)


@pytest.mark.parametrize("text,says", [
    ("Again, this is totally fake.", True), ("The story is nothing but a lie.", True),
    ("Fortunately, none of this is true.", True), ("The whole thing was hogwash.", True),
    ("Fake social media accounts share his work.", False), ("The problem is fake accounts.", False),
    ("Police used a lie detector.", False),
])
def test_calling_an_account_fake_or_a_lie_is_dispute_wording(nlp, text, says):
    (c,) = _claims(nlp, text)
    assert disputes(c) is says


def test_anaphoric_disputes_after_a_discourse_word_or_with_a_longer_name(nlp):
    """"Again, this is totally fake", "Fortunately, none of this is true", "the December 2014
    report was confirmed as a hoax", "Smith disagrees": each names what it disputes only by
    a pronoun, a noun with modifiers or not at all, so it is paired with the accounts it
    answers; a dispute that states its own proposition is not anaphoric."""
    cs = _claims(nlp, "Again, this is TOTALLY FAKE.", "Fortunately, none of this is true.",
                 "However the December 2014 report has now been confirmed as a complete hoax.",
                 "Franson Reneus disagrees.",
                 "The ministry denied that troops had crossed the border on Monday.")
    assert all(disputes(c) for c in cs)
    assert [anaphoric_dispute(c) for c in cs] == [True, True, True, True, False]


def test_calling_an_account_ridiculous_made_up_or_inaccurate_marks_a_dispute(nlp):
    cs = _claims(nlp, "They are unsourced, unverified and completely ridiculous.",
                 "The whole story was made up.", "The report is not accurate.",
                 "There is no credible intelligence to suggest an attack.",
                 "The report was accurate in every detail.")
    assert [disputes(c) for c in cs] == [True, True, True, True, False]
