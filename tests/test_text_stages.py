"""Unit tests: normalisation offsets, every attribution pattern, speaker merging, relations.

Sentences are written for the tests; spaCy's small English model parses them.
"""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.stages.attribute import attribute
from pipeline.config import PairConfig
from pipeline.stages.normalize import normalize
from pipeline.stages.pairing import knn_pairs, relation
from pipeline.stages.quotes import quote_regions
from pipeline.stages.segment import Segmenter
from pipeline.types import Claim


def claims_of(seg, raw: str):
    norm = normalize(raw)
    return attribute("doc", norm, seg.raw_claims(norm))


def find(claims, needle: str) -> Claim:
    hits = [c for c in claims if needle.lower() in c.text.lower()]
    assert hits, f"no claim contains {needle!r}: {[c.text for c in claims]}"
    return hits[0]


# ---------------------------------------------------------------- normalisation
WRAPPED = """Aid row deepens

ISLAMABAD (Wire) - Pakistan has suspended all military and intelligence
cooperation with the United States, Defence Minister Khurram Dastgir said
on Wednesday.

|

READ MORE
Floods hit the north as rivers rise

INSIDE STORY: What next for the alliance?

"Talks between the two sides are ongoing at all levels," said a senior
US official.
"""


def test_unwrap_drops_furniture_and_keeps_offsets():
    n = normalize(WRAPPED)
    assert "READ MORE" not in n.text and "Floods hit" not in n.text
    assert "INSIDE STORY" not in n.text and "\n|\n" not in n.text
    assert "intelligence cooperation" in n.text  # the wrap became a space
    i = n.text.index("Pakistan has")
    j = n.text.index("Wednesday.") + len("Wednesday.")
    s, e = n.raw_span(i, j)
    assert WRAPPED[s:e].startswith("Pakistan has suspended all military and intelligence\ncooperation")
    assert WRAPPED[s:e].endswith("on Wednesday.")
    # every normalised character maps to the same character in the raw text, or a break
    for k, ch in enumerate(n.text):
        raw_ch = WRAPPED[n.offsets[k]]
        assert raw_ch == ch or (ch in " \n" and raw_ch in "\r\n")


def test_claim_offsets_round_trip_through_unwrapping(seg):
    claims = claims_of(seg, WRAPPED)
    assert [c.text for c in claims] == [
        "Pakistan has suspended all military and intelligence cooperation with the United States",
        "Talks between the two sides are ongoing at all levels"]
    for c in claims:  # the claim is its span with the line breaks made spaces (README, "Claims")
        assert " ".join(WRAPPED[c.start:c.end].split()) == c.text
    c = find(claims, "suspended all military")
    assert "\n" in WRAPPED[c.start:c.end]  # the span crosses the original line break


def test_headline_is_not_a_claim(seg):
    claims = claims_of(seg, WRAPPED)
    assert not any("Aid row deepens" in c.text for c in claims)


# ---------------------------------------------------------------- attribution patterns
def test_reported_speech_claimed_that(seg):
    cs = claims_of(seg, "Opposition leader Grace Achieng claimed that the count was rigged in three districts.")
    c = find(cs, "count was rigged")
    assert c.text.startswith("the count was rigged")
    assert c.speaker == "Grace Achieng" and c.cue == "claimed" and c.stance == "asserts"


def test_claim_the_department_denied(seg):
    cs = claims_of(seg, "Dastgir said Washington had cut aid by $300m, a claim the US State Department denied.")
    asserted = find(cs, "cut aid")
    denials = [c for c in cs if c.stance == "denies"]
    assert asserted.stance == "asserts" and asserted.speaker == "Dastgir"
    assert len(denials) == 1
    d = denials[0]
    assert d.speaker == "US State Department" and d.side == "US" and d.cue == "denied"
    assert "cut aid" in d.text  # it denies the claim it refers to


def test_quote_then_attribution(seg):
    cs = claims_of(seg, '"Talks between the two sides are ongoing at all levels," said a senior US official.')
    c = find(cs, "ongoing at all levels")
    assert c.speaker == "a senior US official" and c.side == "US" and c.is_quote


def test_quote_running_on_keeps_speaker(seg):
    raw = ('Health Minister Amina Osei said on Monday that supplies were adequate. "We have delivered '
           'two million doses. Every region has received its share. No hospital has run out," she said.')
    cs = claims_of(seg, raw)
    for needle in ("two million doses", "every region", "no hospital"):
        assert find(cs, needle).speaker == "Amina Osei", needle


def test_quote_running_over_paragraphs(seg):
    raw = ('"The plant will stay open," said Acme chief executive Tom Reyes. "Nobody will lose a job.\n\n'
           '"We are investing, not cutting."\n')
    cs = claims_of(seg, raw)
    assert find(cs, "investing").speaker == "Tom Reyes"


def test_according_to(seg):
    cs = claims_of(seg, "According to the US embassy, communication channels remain open.")
    c = find(cs, "channels remain open")
    assert c.speaker == "US embassy" and c.side == "US" and c.cue == "according to"
    assert "According" not in c.text


def test_pronoun_resolves_to_last_named_speaker(seg):
    raw = ("Union leader Maria Lopez said 400 jobs would go. Company spokesman David Chen "
           "said the plant would stay open. He said no decision had been taken.")
    cs = claims_of(seg, raw)
    assert find(cs, "no decision").speaker == "David Chen"
    raw2 = "Pakistani officials said the figure was misleading. They said most of it was reimbursements."
    assert find(claims_of(seg, raw2), "reimbursements").speaker == "Pakistani officials"


def test_compound_but_splits_with_own_speakers(seg):
    cs = claims_of(seg, "Dastgir said the decision was final, but officials in Washington said "
                        "no notification had been received.")
    a = find(cs, "decision was final")
    b = find(cs, "no notification")
    assert a.speaker == "Dastgir" and b.speaker == "officials in Washington"
    assert a.text != b.text and "but" not in a.text.split()


def test_despite_clause_splits(seg):
    cs = claims_of(seg, "Despite reports that the alliance was collapsing, cooperation continues.")
    assert [(c.text, c.speaker) for c in cs] == [("the alliance was collapsing", ""),
                                                 ("cooperation continues", "")]


def test_negated_reporting_verb_is_not_a_claim(seg):
    cs = claims_of(seg, "He would not say whether the supply routes had been closed.")
    assert not cs


def test_quote_regions_continue_across_paragraphs():
    text = '"First part.\n\n"Second part," she said.'
    regs = quote_regions(text)
    assert len(regs) == 2 and regs[1][2] is True


# ---------------------------------------------------------------- speakers
def test_speaker_merging_title_surname_and_role(seg):
    raw = ("Pakistani Defence Minister Khurram Dastgir said cooperation was suspended. "
           "Dastgir said the decision was final. The defence minister later said it would be reviewed.")
    cs = claims_of(seg, raw)
    ids = {c.speaker_id for c in cs}
    assert len(ids) == 1
    assert {c.speaker for c in cs} == {"Khurram Dastgir"}
    assert {c.side for c in cs} == {"Pakistan"}


def test_speaker_merging_appositive_role(seg):
    raw = ("Muhammad Faisal, the ministry's spokesperson, said channels remained open. "
           "A senior US official said talks were ongoing. "
           "The foreign ministry spokesperson said no decision had been taken.")
    cs = claims_of(seg, raw)
    assert find(cs, "channels remained").speaker_id == find(cs, "no decision").speaker_id
    assert find(cs, "no decision").speaker == "Muhammad Faisal"
    assert find(cs, "talks were ongoing").speaker_id != find(cs, "no decision").speaker_id


def test_sides_from_demonyms_and_organisations(seg):
    raw = ("The US embassy said talks were ongoing. Pakistani officials said the aid figure was wrong. "
           "Acme Motors chief executive Tom Reyes said the plant would stay open.")
    cs = claims_of(seg, raw)
    assert find(cs, "talks were ongoing").side == "US"
    assert find(cs, "aid figure").side == "Pakistan"
    assert find(cs, "plant would stay open").side == "Acme Motors"


# ---------------------------------------------------------------- pairs
def _claim(i, sent, speaker="", side="", doc="d"):
    return Claim(doc_id=doc, id=f"{sent}.{i}", start=0, end=1, text=f"claim {i}", sent_index=sent,
                 speaker=speaker, speaker_id=speaker and f"s-{speaker}", side=side)


def test_relations():
    a = _claim(0, 0, "Dastgir", "Pakistan")
    assert relation(a, _claim(1, 1, "Dastgir", "Pakistan")) == "same_speaker"
    assert relation(a, _claim(1, 1, "Faisal", "Pakistan")) == "same_side"
    assert relation(a, _claim(1, 1, "US official", "US")) == "opposing_sides"
    assert relation(a, _claim(1, 1)) == "unattributed"
    assert relation(a, _claim(1, 1, "X", "US", doc="other")) == "cross_document"
    # two speakers whose sides are unknown are not the same side
    assert relation(_claim(0, 0, "A"), _claim(1, 1, "B")) == "opposing_sides"


def test_knn_pairs_never_within_a_sentence_and_bounded():
    rng = np.random.default_rng(0)
    claims = [_claim(i, i // 2) for i in range(40)]
    emb = rng.random(size=(40, 16)).astype(np.float32)  # positive: all similarities > 0
    emb[1] = emb[0]  # identical claims in one sentence must still not pair
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    pairs = knn_pairs(claims, emb, PairConfig(k=3, min_similarity=0.0))
    # each claim with its 3 most similar claims of other sentences, each pair once
    sims = emb @ emb.T
    want = set()
    for i in range(40):
        others = [j for j in range(40) if j // 2 != i // 2]
        for j in sorted(others, key=lambda j: -sims[i, j])[:3]:
            want.add((min(i, j), max(i, j)))
    assert {(int(p.a.id.split(".")[1]), int(p.b.id.split(".")[1])) for p in pairs} == want
    assert all(p.a.sent_index != p.b.sent_index for p in pairs)
    assert len(pairs) <= 3 * len(claims)
    keys = {(p.a.id, p.b.id) for p in pairs}
    assert len(keys) == len(pairs)
    assert not any((b, a) in keys for a, b in keys)


def test_knn_pairs_respects_min_similarity():
    claims = [_claim(i, i) for i in range(3)]
    emb = np.eye(3, dtype=np.float32)  # orthogonal: similarity 0
    assert knn_pairs(claims, emb, PairConfig(k=2, min_similarity=0.5)) == []


def test_overlong_claim_is_split_not_truncated(seg):
    from pipeline.stages.attribution_rules import RawClaim

    text = "Officials said " + " ".join(f"word{i}" for i in range(250)) + "."
    start = len("Officials said ")
    rc = RawClaim(start=start, end=len(text) - 1, text=text[start:-1], sent_index=0)
    pieces = seg._split_long(rc, text)
    assert len(pieces) == 3 and all(len(p.text.split()) <= 90 for p in pieces)
    assert " ".join(p.text for p in pieces) == rc.text  # nothing dropped
    for p in pieces:
        assert text[p.start:p.end] == p.text


# ---------------------------------------------------------------- wire copy (issue 10)
def test_quoted_post_belongs_to_its_author_not_the_last_speaker(seg):
    raw = ('Mayor Ellen Park said on Monday: "The bridge is safe and will stay open." '
           'Engineer Rosa Diaz posted on X: "Cracks have appeared in the main span."')
    cs = claims_of(seg, raw)
    assert find(cs, "bridge is safe").speaker == "Ellen Park"
    assert find(cs, "cracks have appeared").speaker == "Rosa Diaz"


def test_quoted_post_in_its_own_paragraph_after_a_colon(seg):
    raw = ('Mayor Ellen Park said the bridge was safe.\n\n'
           'Engineer Rosa Diaz wrote on Twitter on Tuesday:\n\n'
           '"Cracks have appeared in the main span."\n')
    cs = claims_of(seg, raw)
    assert find(cs, "cracks have appeared").speaker == "Rosa Diaz"


@pytest.mark.parametrize("sentence", [
    "Union leader Tom Baker tweeted that hospitals had run out of vaccine.",
    "Union leader Tom Baker wrote on Twitter that hospitals had run out of vaccine.",
    "Union leader Tom Baker said in a post on X that hospitals had run out of vaccine.",
    "Union leader Tom Baker said on X, formerly Twitter, that hospitals had run out of vaccine.",
])
def test_post_attributions_name_the_author_and_keep_the_claim_clean(seg, sentence):
    raw = "Health Minister Amina Osei said supplies were adequate. " + sentence
    c = find(claims_of(seg, raw), "hospitals had run out")
    assert c.speaker == "Tom Baker"
    assert c.text.startswith("hospitals had run out"), c.text


def test_subheadings_are_not_claims_nor_glued_to_the_next_sentence(seg):
    raw = ("Port strike enters second week\n\n"
           "Dock workers said the strike would continue until pay was raised.\n\n"
           "Talks Stall Over Pay\n\n"
           "The port authority said no talks were planned.\n")
    cs = claims_of(seg, raw)
    assert not any("Stall" in c.text for c in cs)
    assert find(cs, "no talks were planned").text == "no talks were planned"
    # one paragraph per line, a sentence-case subheading directly above its paragraph
    raw2 = ("Dock workers said the strike would continue until pay was raised.\n"
            "Talks stall over pay\n"
            "The port authority said no talks were planned.\n")
    n = normalize(raw2)
    assert "Talks stall over pay\n\nThe port authority" in n.text
    cs2 = claims_of(seg, raw2)
    assert not any("stall over pay" in c.text.lower() for c in cs2)
    assert find(cs2, "no talks were planned").speaker == "port authority"


def test_side_from_the_speakers_organisation_and_dateline_only_for_officials(seg):
    raw = ("ISLAMABAD (Wire) - Pakistan's foreign ministry said talks were ongoing. "
           "The ministry's spokesman said aid had resumed. "
           "A US official said aid had stopped.")
    cs = claims_of(seg, raw)
    assert find(cs, "talks were ongoing").side == "Pakistan"
    assert find(cs, "talks were ongoing").speaker == "Pakistan's foreign ministry"
    assert find(cs, "aid had resumed").side == "Pakistan"
    assert find(cs, "aid had stopped").side == "US"  # qualified: not the dateline's country
    assert not any("ISLAMABAD" in c.text for c in cs)
    raw2 = "ISLAMABAD (Wire) - Officials said the aid had stopped. Engineer Rosa Diaz said cracks had appeared."
    cs2 = claims_of(seg, raw2)
    assert find(cs2, "aid had stopped").side == "Pakistan"
    assert find(cs2, "cracks had appeared").side == ""  # a named person, not an official


def test_possessive_organisation_gives_the_side_without_a_dateline(seg):
    raw = ("The Indian foreign ministry said the border was calm. "
           "The ministry's spokesman said no troops had moved.")
    assert find(claims_of(seg, raw), "no troops").side == "India"


def test_analysts_opinions_are_marked(seg):
    raw = ("Acme chief executive Tom Reyes said profits would rise. "
           "Analysts at Harbour Securities said the loss was narrower than expected. "
           "Economist Jane Roe said growth would slow.")
    cs = claims_of(seg, raw)
    assert find(cs, "profits would rise").role == ""
    assert find(cs, "loss was narrower").role == "analyst"
    assert find(cs, "growth would slow").role == "analyst"


def _raw_claims(text):
    from pipeline.config import NormalizeConfig, SegmentConfig
    from pipeline.stages.normalize import normalize

    norm = normalize(text, NormalizeConfig())
    return norm, Segmenter(SegmentConfig()).raw_claims(norm)


@pytest.mark.parametrize("text, start", [
    # spaCy cut "ISLAMABAD," off as a sentence of its own, leaving "Jan 10 (Wire) - Pakistan ..."
    ("Pakistan suspends cooperation, minister says\n\n"
     "ISLAMABAD, Jan 10 (Wire) - Pakistan has suspended all military and intelligence "
     "cooperation with the United States, Defence Minister Khurram Dastgir said on Wednesday.\n",
     "Pakistan has suspended"),
    # spaCy cut "BELLO (" off as a sentence of its own, leaving "Wire) - Ostra has ..."
    ("Ostra recalls envoy over detained crew\n\n"
     "BELLO (Wire) - Ostra has recalled its envoy from Kamm in protest at the detention "
     "of two Ostran fishermen.\n",
     "Ostra has recalled"),
], ids=["month-and-agency-left", "agency-bracket-left"])
def test_dateline_cut_off_by_the_parser_stays_out_of_the_claim(text, start):
    norm, claims = _raw_claims(text)
    c = [c for c in claims if start.split()[-1] in c.text][0]
    assert c.text.startswith(start), c.text
    assert norm.text[c.start:c.end].startswith(start)


def test_the_first_word_after_a_subheading_stays_with_its_sentence(seg):
    # after the subheading the parser cut "Turnout | was 47 percent, the election office
    # said", and the claim lost its subject ("Was 47 percent")
    raw = ("Mayor wins second term\n\n"
           "The mayor said the result was a mandate.\n\n"
           "Low Turnout\n\n"
           "Turnout was 47 percent, the election office said.\n")
    cs = claims_of(seg, raw)
    c = find(cs, "47 percent")
    assert c.text == "Turnout was 47 percent", c.text
    assert c.speaker == "election office"
    assert not any("Low Turnout" in x.text for x in cs)


def test_a_dateline_parsed_as_the_subject_hands_the_speaker_to_the_name_after_it():
    text = ("Regions report vaccine shortfall\n\n"
            "KASSARA, May 14 (Wire) - Health Minister Farida Nasser said on Thursday that 2 million "
            "doses had been delivered to the country's regions.\n")
    _, claims = _raw_claims(text)
    c = [c for c in claims if "doses" in c.text][0]
    assert c.mention is not None and c.mention.text == "Health Minister Farida Nasser"


def test_second_that_clause_and_statement_saying_keep_their_speaker(seg):
    # "said that P, and that Q": Q is said by the same person
    cs = claims_of(seg, "A Tessaly official, speaking on condition of anonymity, said that the "
                        "meetings had been paused, not cancelled, and that officials expected to "
                        "return to the table within weeks.")
    assert find(cs, "return to the table").speaker == find(cs, "meetings had been paused").speaker
    assert find(cs, "meetings had been paused").speaker == "A Tessaly official"
    # "X issued a statement saying P, and that Q": both are X's
    cs = claims_of(seg, "On Friday, the Harbour Authority issued a statement saying the crane had "
                        "been inspected in March, and that the operator \"may have ignored\" a warning.")
    assert find(cs, "crane had been inspected").speaker == "Harbour Authority"
    assert find(cs, "ignored").speaker == "Harbour Authority"
    # "P, X said, and Q": the parenthetical attribution covers both conjuncts
    cs = claims_of(seg, "Most patients had no side effects, Dr Mira Holm said, and all of them "
                        "recovered within days.")
    assert find(cs, "recovered within days").speaker == "Mira Holm"


def test_conjoined_reporting_verb_takes_the_first_verbs_subject(seg):
    cs = claims_of(seg, "The pharmacists' association welcomed the plan but said it expected "
                        "shortages to last until June.")
    assert find(cs, "shortages to last").speaker.lower().endswith("association")
    # the first statement survives as the subject's own
    cs = claims_of(seg, "Late on Saturday, Meridian Energy revised its estimate to 1,200 barrels "
                        "and said it had deployed more clean-up vessels.")
    assert find(cs, "revised its estimate").speaker == "Meridian Energy"
    assert find(cs, "clean-up vessels").speaker == "Meridian Energy"


def test_person_named_before_an_organisation_in_the_apposition_is_the_speaker(seg):
    cs = claims_of(seg, '"Our water meets every national standard," said Rachel Obi, chief '
                        'executive of Hallam Water.')
    assert find(cs, "national standard").speaker == "Rachel Obi"


def test_a_misparsed_dateline_subject_does_not_speak(seg):
    raw = ("Merger stalls\n\nCHICAGO, Feb 10 (Wire) - Fenwick Brands said on Tuesday that its "
           "takeover of Orbis Foods had cleared all regulatory hurdles.")
    assert find(claims_of(seg, raw), "cleared all regulatory hurdles").speaker == "Fenwick Brands"


def test_a_report_without_content_still_introduces_its_speaker_for_a_pronoun(seg):
    raw = ("The mayor of Dunmore, Alan Reid, said the company had promised him the mill would stay "
           "open. Plant director Sara Lind confirmed that. \"The mill is not closing,\" she said.")
    assert find(claims_of(seg, raw), "mill is not closing").speaker == "Sara Lind"


def test_a_description_takes_the_name_the_article_gives_it_later(seg):
    raw = ("The cost of the games would be about 5.9 billion dollars, the state auditor said on "
           "Tuesday. The bid committee said the games would cost 3.2 billion dollars. State "
           "auditor Miriam Katz said the committee's estimate left out security.")
    cs = claims_of(seg, raw)
    assert find(cs, "5.9 billion").speaker == "Miriam Katz"
    raw = ("A civil society coalition said on Wednesday that 800,000 voters had been removed from "
           "the register. The electoral board denied it. The coalition, Citizens for a Clean "
           "Vote, said it had compared the two registers.")
    cs = claims_of(seg, raw)
    assert find(cs, "800,000 voters").speaker == find(cs, "compared the two registers").speaker
    # two named candidates: the description stays as it is
    raw = ("The minister said the plan was final. Finance minister Ana Ruiz said taxes would rise. "
           "Health minister Li Wei said hospitals would get more money.")
    assert find(claims_of(seg, raw), "plan was final").speaker.lower() == "the minister"


def test_a_lone_surname_with_an_age_is_a_person_and_she_refers_to_her(seg):
    raw = ("The board banned sprinter Adaeze Okafor for four years on Tuesday. Okafor, 27, the "
           "reigning national champion, said she would appeal. \"I have been clean for my whole "
           "career,\" she said.")
    cs = claims_of(seg, raw)
    assert "Okafor" in find(cs, "clean for my whole career").speaker


def test_a_denial_too_short_to_be_a_claim_still_sets_the_pronoun(seg):
    raw = ("Foreign Minister Oskar Brandt said Morava had dropped its demand. Dana Kell denied it. "
           "\"Our demand stands,\" she said.")
    assert find(claims_of(seg, raw), "demand stands").speaker == "Dana Kell"


def test_a_surname_cut_off_from_its_verb_after_a_subheading_still_speaks(seg):
    raw = ("Prisoner swap agreed\n\nMORAVA, March 2 (Wire) - Morava and Tessaly agreed on Monday to "
           "exchange prisoners, Tessalian Foreign Minister Oskar Brandt said.\n\nBoth Sides Claim "
           "Credit\n\nBrandt said Morava had dropped its demand for the release of the convicted "
           "commander Ivo Rask.")
    assert find(claims_of(seg, raw), "dropped its demand").speaker == "Oskar Brandt"


def test_her_office_and_to_say_and_the_named_apposition(seg):
    raw = ("Governor Ilse Marten said schools would reopen on Thursday. In the afternoon her office "
           "said schools would stay closed until Monday.")
    assert "Ilse Marten" in find(claims_of(seg, raw), "stay closed until Monday").speaker
    raw = ("Norvik Water Services said the pipes were sound. Late on Wednesday the utility updated its "
           "website to say water was safe for most customers.")
    assert find(claims_of(seg, raw), "water was safe").speaker == "Norvik Water Services"
    raw = ("Mayor Claire Dunmore said she had returned nothing. Dunmore's campaign manager, Leo "
           "Park, said on Wednesday that the campaign had returned all contributions.")
    assert find(claims_of(seg, raw), "returned all contributions").speaker == "Leo Park"


def test_a_body_stating_something_in_its_own_name_is_the_speaker(seg):
    raw = ("A magnitude 6.1 earthquake struck Marl province on Wednesday. The national seismology "
           "institute measured the quake at magnitude 6.1. In its written judgment, the court "
           "upheld the general legality of the procedure.")
    cs = claims_of(seg, raw)
    assert "seismology institute" in find(cs, "measured the quake").speaker
    assert find(cs, "upheld the general legality").speaker.lower().endswith("court")
    # a person doing something is not a statement
    assert find(claims_of(seg, "Ruiz scored 19 goals in 24 matches this season."), "19 goals").speaker == ""


def test_a_relative_clause_report_belongs_to_its_own_subject_not_to_the_noun_it_hangs_on(seg):
    cs = claims_of(seg, 'LONDON, May 2 (Wire) - An investigator, Paul Grady, said the fire had started '
                        'in at least two separate places, which he said was "consistent with deliberate '
                        'ignition".\n')
    c = find(cs, "deliberate ignition")
    assert c.speaker == "Paul Grady" and c.cue == "said"
    # a relative pronoun as the subject still hands the claim to the noun it stands for
    cs = claims_of(seg, "The dispute involves the union, which said the plant would close in May.\n")
    assert find(cs, "plant would close").speaker.lower().endswith("union")


def test_an_organisation_named_across_a_wrapped_line_stops_at_the_verb_after_it(seg):
    cs = claims_of(seg, "Children wait 14 months for treatment, the dentists' association said on "
                        "Wednesday, calling on the health ministry\nto fund more clinics.\n\n"
                        "The ministry said it would fund two new clinics next year.\n")
    assert find(cs, "two new clinics").speaker == "health ministry"


def test_its_spokesman_takes_the_side_of_the_body_its_refers_to(seg):
    # the subject of the sentence, not the country it acted on, and never the dateline's place
    cs = claims_of(seg, "KABUL, March 3 (Wire) - Pakistan has recalled its ambassador to Afghanistan for "
                        "consultations, its foreign ministry said on Tuesday.\n")
    c = find(cs, "recalled its ambassador")
    assert c.speaker == "Pakistan's foreign ministry" and c.side == "Pakistan"
    # across a sentence: the organisation that spoke, not the place it spoke of
    cs = claims_of(seg, "BravaGas said on its website that deliveries to Osterland had continued "
                        "through February. Its chief executive, Viktor Orlan, told a newspaper that "
                        "volumes had risen by 10 percent.\n")
    c = find(cs, "volumes had risen")
    assert c.speaker == "Viktor Orlan" and c.side == "BravaGas"


def test_a_possessor_names_the_side_of_a_role_but_not_inside_an_organisations_name(seg):
    cs = claims_of(seg, "Castellan's president, Giorgio Bassi, said the transfer fee had been paid in full.\n\n"
                        "The Dock Workers' Union said the strike would go ahead on Monday.\n")
    assert find(cs, "transfer fee").side == "Castellan"
    union = find(cs, "strike would go ahead")
    assert "Union" in union.speaker and union.side in ("", union.speaker)


def test_a_nationality_in_a_union_or_company_name_is_not_its_side(seg):
    cs = claims_of(seg, "The British Union of Aviation Pilots said 600 jobs would go. "
                        "Pakistan's ruling party said the vote was fair.\n")
    union = find(cs, "600 jobs")
    assert union.side != "UK" and "Union" in union.speaker
    assert find(cs, "vote was fair").side == "Pakistan"


def test_an_organisation_only_told_or_cited_is_not_what_the_company_or_club_refers_to(seg):
    """Wire copy names the outlet a statement was made to ("told the BBC", "in an interview
    with CNN", "according to Reuters") and the agency in the dateline; "the club said" or "the
    company said" later is not that outlet."""
    cs = claims_of(seg, "BELLO (Wire) - Falk told the BBC on Sunday that he would not resign.\n\n"
                        "The club said no decision had been made on a successor.\n\n"
                        "The plant will close in May, according to Reuters. The company said the "
                        "plant would stay open.\n")
    assert "BBC" not in find(cs, "no decision had been made").speaker
    assert "Reuters" not in find(cs, "would stay open").speaker
    assert "Wire" not in find(cs, "would stay open").speaker
    # the organisation that acts is still what "the company" refers to
    cs = claims_of(seg, "Ostra Motors told investors in an interview with CNN that prices would "
                        "rise. The company said sales fell 4 percent.\n")
    assert find(cs, "sales fell").speaker == "Ostra Motors"


def test_a_portfolio_in_a_title_is_not_what_the_company_refers_to(seg):
    """"Defence minister X": the NER's "Defence" qualifies an office; a later "the company" or
    "the bank" with no organisation named is its own speaker, not "Defence"."""
    cs = claims_of(seg, "Row\n\nDefence minister Khawaja Dastgir claimed that Pakistan had suspended all "
                        "cooperation.\n\nThe company said it had paid all its taxes.\n\n"
                        "The bank said its profits rose.\n")
    assert find(cs, "paid all its taxes").speaker.lower() == "company"
    assert find(cs, "profits rose").speaker.lower() == "bank"
    assert find(cs, "suspended all cooperation").speaker == "Khawaja Dastgir"
