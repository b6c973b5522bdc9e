"""A claim's text is its span of the article (README, "Claims"): ``text[start:end]`` with
line breaks and runs of spaces made one space, in the article's own case; where an
attribution interrupts the claim ("P1, the coastguard said, P2") the attribution is left out
and the kept pieces are joined by one space. So the claim's words are the span's words, in
order, less the attribution's, starting and ending with the span's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hypothesis import HealthCheck, given, settings, strategies as st

from conftest import WORD, rule_breaks
from pipeline.stages.attribute import attribute
from pipeline.stages.normalize import normalize
from test_fuzz import QUOTES, news_like, seg as fuzz_seg
from test_text_stages import claims_of, find

REPO = Path(__file__).resolve().parent.parent


def test_case_glue_and_denied_span(seg):
    cs = claims_of(seg, "The minister said the talks were ongoing.")
    assert find(cs, "talks were ongoing").text == "the talks were ongoing"
    raw = ("An oil spill released about 2,000 barrels of crude into the sea, the national "
           "coastguard said on Saturday, ten times the estimate given by the operator.")
    c = find(cs := claims_of(seg, raw), "ten times")
    assert "seaten" not in c.text and "sea ten times the estimate" in c.text
    assert "coastguard" not in c.text and rule_breaks(raw, c) is None
    raw = "The opposition said turnout was under 50 percent, a claim the commission denied."
    cs = claims_of(seg, raw)
    denied = [c for c in cs if c.stance == "denies"]
    assert denied and all(raw[c.start:c.end] == c.text == "turnout was under 50 percent"
                          for c in denied)
    assert all(rule_breaks(raw, c) is None for c in cs)


def test_a_piece_of_punctuation_between_attributions_is_not_kept(seg):
    raw = ("The researchers reported that Apple holds $8.6 billion offshore, and the report says "
           "the company ''reported it would owe $3 billion.''")
    for c in claims_of(seg, raw):
        assert WORD.search(c.text), c.text
        assert rule_breaks(raw, c) is None


@pytest.mark.parametrize("name", ["dev.jsonl", "test.jsonl"])
def test_every_labelled_claim_keeps_the_span_rule(seg, name):
    broken = []
    for line in (REPO / "data" / "labelled" / name).open(encoding="utf-8"):
        doc = json.loads(line)
        norm = normalize(doc["text"])
        for c in attribute(doc["id"], norm, seg.raw_claims(norm)):
            if (why := rule_breaks(doc["text"], c)) is not None:
                broken.append(why)
    assert broken == []


SENTENCES = ["Talks are ongoing, the minister said.", "“It is over,” he said.",
             "According to officials the plant will close.",
             "The company denied that 1,200 jobs would go.",
             "The spill, the coastguard said on Saturday, was ten times the estimate.",
             "The union claimed that 400 jobs would go, a claim the company denied."]


@given(st.one_of(
    news_like,
    st.tuples(st.lists(st.sampled_from(SENTENCES), min_size=1, max_size=6),
              st.lists(st.tuples(st.integers(0, 10_000), st.sampled_from(QUOTES + "\n\r\t\x00\u202e\x1b")),
                       max_size=8)).map(lambda t: _mutated(*t))))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_generated_text_keeps_the_span_rule(raw):
    norm = normalize(raw)
    for c in attribute("d", norm, fuzz_seg().raw_claims(norm)):
        assert rule_breaks(raw, c) is None, rule_breaks(raw, c)


def _mutated(sentences: list[str], mutations: list[tuple[int, str]]) -> str:
    text = "\n\n".join(sentences)
    for pos, ch in mutations:
        i = pos % (len(text) + 1)
        text = text[:i] + ch + text[i:]
    return text
