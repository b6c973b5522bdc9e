"""Attribution patterns of real news copy that the written articles lacked, each on sentences
written for it (spaCy's small English model parses them), and the brat reader and scorer of
``contradict eval attribution``."""

from __future__ import annotations

import pytest

from pipeline.eval.attribution import GoldAttribution, evaluate, gold_of, load_gold_dir, parse_ann
from pipeline.stages.quotes import quote_regions
from pipeline.types import Claim
from test_text_stages import claims_of, find


def test_two_apostrophes_are_quote_marks():
    text = "''The plan is dead,'' said Ana Reyes. ''We start again.''"
    regions = quote_regions(text)
    assert [text[s:e] for s, e, _ in regions] == ["The plan is dead,", "We start again."]


def test_double_apostrophe_quote_runs_on_with_its_speaker(seg):
    cs = claims_of(seg, "Budget talks resume\n\n''This isn't reform,'' said Douglas Marsh, an economist "
                        "at the institute. ''It is a step backwards for every taxpayer.''\n")
    assert find(cs, "step backwards").speaker == "Douglas Marsh"


def test_quote_signed_with_a_dash(seg):
    cs = claims_of(seg, "Voters speak\n\nSeveral readers wrote to us this week.\n\n"
                        "“The mayor has ignored our district for years.” ― Lena Ortiz\n\n"
                        "“The new bridge has changed my commute completely.” ― Omar Haddad\n")
    assert find(cs, "ignored our district").speaker == "Lena Ortiz"
    assert find(cs, "changed my commute").speaker == "Omar Haddad"


def test_transcript_labels_name_the_speaker(seg):
    cs = claims_of(seg, "Interview\n\nA partial transcript follows.\n\n"
                        "MORGAN: The committee has not received the documents yet.\n\n"
                        "HALE: We delivered every page of them on Monday.\n")
    assert find(cs, "not received the documents").speaker.lower() == "morgan"
    assert find(cs, "delivered every page").speaker.lower() == "hale"


def test_a_label_that_is_not_a_name_is_no_speaker(seg):
    cs = claims_of(seg, "Storm news\n\nUPDATE: The bridge reopened to traffic on Tuesday morning.\n")
    assert find(cs, "bridge reopened").speaker == ""


def test_colon_after_continued_introduces_a_paragraph(seg):
    cs = claims_of(seg, "Polls tighten\n\n“The race is close,” said analyst Pat Caddel.\n\n"
                        "Caddel continued:\n\n“The health issue is now a partisan issue for most voters.”\n")
    assert find(cs, "partisan issue").speaker == "Pat Caddel"


def test_speech_act_subject_speaks(seg):
    cs = claims_of(seg, "Russia hacking\n\nRepresentative Adam Schell called on the administration "
                        "to name Russia as the source of the attacks.\n")
    assert find(cs, "name Russia").speaker == "Adam Schell"


def test_literal_verbs_give_no_speaker(seg):
    cs = claims_of(seg, "History\n\nIn 2000, militants attacked a navy destroyer in the port of Aden.\n")
    assert find(cs, "destroyer").speaker == ""


def test_title_cased_headline_with_full_stop_is_not_a_claim(seg):
    cs = claims_of(seg, "Clinton Plan for Taxes Is Expansive but Complex.\n\n"
                        "The plan adds four new brackets, the campaign said.\n")
    assert not any("Expansive" in c.text for c in cs)
    assert [(c.text, c.speaker) for c in cs] == [("The plan adds four new brackets", "campaign")]


# ---------------------------------------------------------------- brat gold and scoring
TEXT = "Talks are over, Ana Reyes said. Rain fell all day."


def _gold(tmp_path):
    (tmp_path / "text").mkdir()
    (tmp_path / "attributions").mkdir()
    (tmp_path / "text" / "wire_a.txt").write_text(TEXT, encoding="utf-8")
    (tmp_path / "attributions" / "wire_a_x1.ann").write_text(
        "T1\tSource 16 25\tAna Reyes\nT2\tCue 26 30\tsaid\nT3\tContent 0 14\tTalks are over\n"
        "T4\tAttribution 26 30\tsaid\nE1\tAttribution:T4 Content:T3 Cue:T2 Source:T1\n", encoding="utf-8")
    return tmp_path


def test_brat_reader_and_scores(tmp_path):
    arts = load_gold_dir(_gold(tmp_path))
    assert len(arts) == 1 and arts[0].publisher == "wire"
    (att,) = arts[0].attributions
    assert att.source_text == "Ana Reyes" and att.cue_text == "said" and att.content == [(0, 14)]
    right = Claim("wire_a", "0.0", 0, 14, "Talks are over", 0, speaker="Ana Reyes", cue="said")
    wrong = Claim("wire_a", "0.0", 0, 14, "Talks are over", 0, speaker="", cue="")
    narration = Claim("wire_a", "1.0", 32, 50, "Rain fell all day", 1, speaker="Bo Lund", cue="said")
    good = evaluate(arts, {"wire_a": [right]})
    assert good["content_recall"] == 1.0 and good["speaker_accuracy_loose"] == 1.0
    assert good["speaker_accuracy_exact"] == 1.0 and good["cue_accuracy"] == 1.0
    bad = evaluate(arts, {"wire_a": [wrong, narration]})
    assert bad["speaker_accuracy_loose"] == 0.0 and bad["error_kinds"] == {"none_given": 1}
    assert bad["spurious_speakers"] == 1.0


def test_innermost_content_wins():
    outer = GoldAttribution(content=[(0, 100)], source_text="the paper")
    inner = GoldAttribution(content=[(40, 80)], source_text="Ana Reyes")
    c = Claim("d", "1", 45, 75, "x", 0)
    assert gold_of(c, [outer, inner]) is inner


def test_malformed_brat_line_names_file_and_line(tmp_path):
    p = tmp_path / "x.ann"
    p.write_text("T1\tSource 1 x\tab\n", encoding="utf-8")
    with pytest.raises(Exception, match=r"x.ann:1"):
        parse_ann(p, "abcdef")


def test_conditional_quote_is_a_claim_and_keeps_its_speaker(seg):
    # "If P, Q" is a statement, not an open question like "(asked) whether P"; and the quote
    # after it in the paragraph goes on with the same speaker
    cs = claims_of(seg, "Bridge plan\n\n\"If the council votes this week, the bridge will be finished by "
                        "May,\" Priya Nair said. \"The contractors are ready to start.\"\n")
    assert find(cs, "bridge will be finished").speaker == "Priya Nair"
    assert find(cs, "contractors are ready").speaker == "Priya Nair"


def test_quote_verbs_without_a_clause_attribute_their_quote(seg):
    # ask, continue: verbs of speaking that the rules only took before a colon
    cs = claims_of(seg, "School budget\n\n\"Can the state afford another delay?\" Marta Kowalski asked. "
                        "\"The schools have waited long enough.\"\n\n"
                        "\"Nobody in this district has lost a teacher,\" Kowalski continued.\n")
    assert find(cs, "schools have waited").speaker == "Marta Kowalski"
    assert find(cs, "lost a teacher").speaker == "Marta Kowalski"
    assert not [c for c in cs if c.text == "Marta Kowalski asked"]  # no claim of its own


def test_quote_paragraph_goes_on_with_the_previous_speaker(seg):
    cs = claims_of(seg, "Recount\n\nThe board met on Monday. \"The count was careless from the start,\" "
                        "Alma Ruiz, a county clerk, told the board.\n\n"
                        "\"We counted every ballot twice. The totals never matched, and nobody could "
                        "explain the gap.\"\n\nThe county has not answered her letter.\n")
    assert find(cs, "counted every ballot").speaker == "Alma Ruiz"
    assert find(cs, "explain the gap").speaker == "Alma Ruiz"
    assert not find(cs, "has not answered").speaker


def test_a_poll_states_what_it_shows_or_holds(seg):
    cs = claims_of(seg, "Mayoral race\n\nThe latest state poll gave the mayor a six-point lead over her rival.\n\n"
                        "In the same survey, most voters named housing as their top worry.\n\n"
                        "The mayor has not held a rally since May.\n")
    assert "poll" in find(cs, "six-point lead").speaker.lower()
    c = find(cs, "named housing")
    assert "survey" in c.speaker.lower() and c.cue == "in"
    assert not c.text.lower().startswith("in the same survey")
    assert not find(cs, "held a rally").speaker


def test_attitude_verbs_report_what_their_subject_holds(seg):
    cs = claims_of(seg, "Budget vote\n\nCouncil member Rosa Diaz fears that the budget will close two "
                        "libraries.\n\nThe treasurer thinks the shortfall is smaller than reported.\n")
    c = find(cs, "close two libraries")
    assert c.speaker == "Rosa Diaz" and not c.text.lower().startswith("council member")
    assert "treasurer" in find(cs, "shortfall is smaller").speaker.lower()


def test_participle_report_gives_its_clause_to_the_subject(seg):
    cs = claims_of(seg, "Bridge\n\nMayor Ellen Cho said the bridge would reopen in June, adding that "
                        "the repairs would cost less than planned.\n\n"
                        "Senator Paul Grant spoke at the rally, arguing that the tax cut would help "
                        "small farms.\n")
    assert find(cs, "reopen in June").speaker == "Ellen Cho"
    c = find(cs, "cost less than planned")
    assert c.speaker == "Ellen Cho" and c.cue == "adding" and "reopen" not in c.text
    c = find(cs, "help small farms")
    assert c.speaker == "Paul Grant" and "rally" not in c.text
    assert not find(cs, "spoke at the rally").speaker


def test_second_statement_added_in_the_same_sentence(seg):
    cs = claims_of(seg, "Zoning\n\nCommissioner Laura Bell said the plan was unfair and added that she "
                        "would fight it in court.\n\n"
                        "The mayor said the bridge would reopen, but engineers said it needed more repairs.\n")
    c = find(cs, "plan was unfair")
    assert c.speaker == "Laura Bell" and "fight" not in c.text
    c = find(cs, "fight it in court")
    assert c.speaker == "Laura Bell" and c.cue == "added"
    assert "mayor" in find(cs, "bridge would reopen").speaker.lower()
    assert find(cs, "needed more repairs").speaker == "engineers"


def test_quoted_transcript_turn_runs_on_over_paragraphs(seg):
    cs = claims_of(seg, "Interview\n\nA partial transcript follows.\n\n"
                        "\"MORGAN: Will the committee publish the report this week?\n\n"
                        "\"HALE: We delivered every page of the report on Monday.\n\n"
                        "\"The committee has had the documents for a month now.\n\n"
                        "\"(CROSSTALK.)\n\n"
                        "\"Follow Dana Reed on Twitter for more.\n")
    assert find(cs, "delivered every page").speaker.lower() == "hale"
    assert find(cs, "for a month now").speaker.lower() == "hale"
    assert all(not c.speaker for c in cs if "Follow" in c.text)


def test_dash_signatures_in_one_paragraph_each_sign_their_quote(seg):
    cs = claims_of(seg, "Voters speak\n\nSeveral readers wrote to us this week.\n\n"
                        "”The mayor has ignored our district for years.” ― Lena Ortiz “The new bridge "
                        "has changed my commute completely.” ― Omar Haddad “Our schools need more "
                        "teachers this fall.” ― Ada Lin.\n\nThe editors chose three letters.\n")
    assert find(cs, "ignored our district").speaker == "Lena Ortiz"
    c = find(cs, "changed my commute")
    assert c.speaker == "Omar Haddad" and not c.text.startswith("―")
    assert find(cs, "more teachers").speaker == "Ada Lin"
    assert not any(c.text.startswith(("―", "Lena", "Omar")) for c in cs)
    assert not find(cs, "chose three letters").speaker


def test_generic_you_and_people_are_no_speaker(seg):
    cs = claims_of(seg, "Tolls\n\nYou might think that the tolls pay for the road.\n\n"
                        "People say the new road is too narrow.\n")
    assert find(cs, "tolls pay for the road").speaker == ""
    assert find(cs, "too narrow").speaker == ""


def test_parenthetical_attribution_the_parse_missed(seg):
    # the parser takes the quoted words for the sentence's root and leaves "said" without a
    # subject; the word order still says who speaks
    cs = claims_of(seg, "Bridge\n\nActs of repair, the engineer Ruth Mavis said, are acts of care, whether it "
                        "was patching a road in the 1960s or painting a wall with the words ''Slow down,'' "
                        "as one driver, stuck in traffic on the bridge, said before he left.\n")
    c = find(cs, "acts of care")
    assert c.speaker == "Ruth Mavis" and "Mavis" not in c.text


def test_object_with_a_that_clause_is_reported_whole(seg):
    # "found no evidence that P" does not report P: the object with its clause is the content
    cs = claims_of(seg, "Inquiry\n\nThe ethics panel found no evidence that the mayor had lied about the "
                        "contract.\n\nThe mayor added a warning that the bridge could close again.\n")
    c = find(cs, "mayor had lied")
    assert c.text.startswith("no evidence that") and "panel" in c.speaker.lower()
    c = find(cs, "could close again")
    assert c.text.startswith("a warning that") and c.cue == "added"


def test_a_demonstrative_taken_for_a_subject_is_no_speaker():
    # '"That makes me smart" -- and ... asserting, "..."': the parser can make "That" the
    # subject of the reporting verb; no one is called "That"
    from pipeline.stages.attribute import Attributor
    from pipeline.stages.mentions import Mention

    att = Attributor()
    for word in ("That", "this", "Which"):
        assert att.resolve(Mention(text=word, start=0, end=len(word), head_lemma=word.lower(),
                                   head_text=word.lower())) is None
    assert att.resolve(Mention(text="Ana Reyes", start=0, end=9, ents=[("Ana Reyes", "PERSON")],
                               tokens=[("Ana", "Ana", "PROPN", "compound"), ("Reyes", "Reyes", "PROPN", "nsubj")],
                               head_lemma="reyes", head_text="reyes")).name == "Ana Reyes"


def test_relative_clause_infinitive_is_not_a_claim_of_its_own(seg):
    # "who have pledged to block all new roads": the infinitive says nothing without its
    # subject; the relative clause's reporter still gets a that-clause
    cs = claims_of(seg, "Roads\n\nThe council is a body of serial critics who have pledged to block all new "
                        "roads in the county.\n\nThe new rules were drafted by Tom Ruiz, who said the fees "
                        "would fall.\n")
    assert not any(c.text.lower().startswith("to block") for c in cs)
    assert not find(cs, "block all new roads").speaker
    assert find(cs, "fees would fall").speaker == "Tom Ruiz"


def test_participle_inside_what_was_said_is_its_clause_subjects(seg):
    cs = claims_of(seg, "Senate\n\nSenator Dave Perry said he didn't believe those attacks hurt the party, "
                        "arguing that it was the divisions in the party that were a bigger hurdle.\n\n"
                        "The mayor said the council voted against the plan, saying it was too costly.\n")
    c = find(cs, "bigger hurdle")
    assert c.speaker == "Dave Perry" and c.cue == "arguing" and "attacks" not in c.text
    assert "arguing" not in find(cs, "attacks hurt the party").text
    c = find(cs, "too costly")
    assert "council" in c.speaker.lower() and "voted" not in c.text


def test_by_saying_reports_for_the_verbs_subject(seg):
    cs = claims_of(seg, "Radio\n\nDr. Alma Dean appeared on the radio on Tuesday and began by saying she would "
                        "never diagnose a patient on air.\n\nThe senator ended the hearing after saying the "
                        "bank had misled its customers.\n")
    c = find(cs, "never diagnose")
    assert c.speaker == "Alma Dean" and c.cue == "saying" and "radio" not in c.text
    c = find(cs, "misled its customers")
    assert "senator" in c.speaker.lower() and "hearing" not in c.text


def test_an_infinitive_report_keeps_its_subject(seg):
    """"X claims to have served in the army": the claim is not the fragment "to have served
    ..." but the whole report, its subject the speaker; so is an order ("told Y to leave")."""
    cs = claims_of(seg, "Volunteer\n\nGill Rosenberg claims to have served for two years in the "
                        "Israeli military.\n\nAn official was reported to have denied any such "
                        "plans.\n\nThe mayor told the protesters to leave the square by noon.\n")
    served = find(cs, "have served")
    assert served.text.startswith("Gill Rosenberg claims to have served")
    assert served.speaker == "Gill Rosenberg"
    assert find(cs, "any such plans").text.startswith("An official was reported to have denied")
    assert not any(c.text.startswith("to ") for c in cs)


# ---------------------------------------------------------------- speakers that cannot speak
# (issue 24: a reader of real news saw "26%", "Anyone", a town, a date, an abstract noun and a
# name taken out of a longer description given as the speaker of a claim)


def test_a_share_of_respondents_is_no_speaker(seg):
    cs = claims_of(seg, "Poll on the budget\n\nThe survey asked 900 adults about the budget.\n\n"
                        "Thirty percent said the economy was their main worry. Two in three said "
                        "taxes were too high.\n")
    assert find(cs, "main worry").speaker == ""
    assert find(cs, "too high").speaker == ""
    assert find(cs, "main worry").mention == "Thirty percent"  # still shown as written


def test_indefinite_and_negative_subjects_are_no_speaker(seg):
    cs = claims_of(seg, "Bridge row\n\nOthers argued that the bridge was unsafe for lorries.\n\n"
                        "No government official has said that the border will close.\n")
    assert find(cs, "unsafe").speaker == ""
    assert find(cs, "border will close").speaker == ""


def test_a_place_that_locates_the_speaker_is_not_the_speaker(seg):
    cs = claims_of(seg, "Plant closes\n\nOne man in Bristol, who declined to give his name, said the "
                        "plant should never have closed.\n")
    assert find(cs, "never have closed").speaker not in ("Bristol", "UK", "")
    assert "man" in find(cs, "never have closed").speaker


def test_a_name_inside_a_description_is_another_person(seg):
    cs = claims_of(seg, "Count disputed\n\nSupporters of Maria Kessler said the count had been rigged.\n\n"
                        "A top Kessler adviser said the campaign would go to court.\n\n"
                        "Several Twitter users said the video was fake.\n")
    assert find(cs, "rigged").speaker == "Supporters of Maria Kessler"
    assert find(cs, "go to court").speaker == "A top Kessler adviser"
    assert find(cs, "video was fake").speaker == "Several Twitter users"


def test_a_name_in_apposition_is_still_the_speaker(seg):
    cs = claims_of(seg, "Plant closes\n\nThe local member of parliament, Angela Fisher, said the closure "
                        "was a mistake.\n\nOne of the workers said the plant had been profitable.\n")
    assert find(cs, "closure was a mistake").speaker == "Angela Fisher"
    assert find(cs, "been profitable").speaker != ""


def test_an_expletive_it_is_no_speaker(seg):
    cs = claims_of(seg, "Waste row\n\nThe agency said on Monday that it would inspect the site.\n\n"
                        "It is claimed that the factory dumped waste in the river for years.\n")
    assert find(cs, "inspect the site").speaker == "agency"
    assert find(cs, "dumped waste").speaker == ""


def test_a_subject_of_said_speaks_whatever_the_noun(seg):
    cs = claims_of(seg, "Oil spill\n\nThe spill released about 2,000 barrels of crude, the national "
                        "coastguard said on Saturday.\n")
    assert find(cs, "2,000 barrels").speaker == "national coastguard"


def test_a_woman_described_is_the_she_that_follows(seg):
    cs = claims_of(seg, "Votes\n\nThe mayor said turnout had risen.\n\nA 90-year-old woman from the "
                        "town told the station that she had voted in every election. She said the new "
                        "rules were unfair.\n")
    assert "woman" in find(cs, "rules were unfair").speaker


def test_not_agent_reads_the_head_word(seg):
    from pipeline.stages.agents import not_agent

    doc = seg.nlp("Anyone can see that 26% backed the ceasefire on Wednesday, and the spokesman "
                  "said so.")
    by = {t.text: not_agent(t) for t in doc}
    assert by["Anyone"] == "pronoun" and by["%"] == "quantity" and by["ceasefire"] == "common noun"
    assert by["Wednesday"] == "date" and by["spokesman"] == ""
