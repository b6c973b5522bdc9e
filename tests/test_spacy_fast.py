"""The fast attribute ruler and lemmatizer (pipeline/stages/spacy_fast.py) give spaCy's own
annotations token for token: tags, POS, morphology, lemmas, dependencies, heads, sentences and
entities, on the sample articles and four labelled ones, the report rows' claims and sentences written
to be awkward (contractions, figures, odd casing, URLs, emoji, whitespace)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.config import SegmentConfig
from pipeline.stages.nlp import load_spacy
from pipeline.stages.segment import Segmenter
from pipeline.stages.spacy_fast import (FAST_LEMMATIZER, FAST_RULER, FastAttributeRuler,
                                        FastLemmatizer, use_fast_components)

ROOT = Path(__file__).resolve().parent.parent

HAND = [
    "I'm sure they'd've said it wasn't true, but y'all ain't gonna believe what's gotta happen.",
    "Let's go, c'mon! Gimme the numbers: 3.5%, $33bn, 1,200 troops, 14-15 June and 10:30pm.",
    "THE MINISTRY SAID ON MONDAY THAT ALL TALKS HAD BEEN SUSPENDED, an official told Reuters.",
    "tHe PrEsIdEnT sAiD nOtHiN' aBoUt It; it's the US's call, isn't it?",
    "See https://example.com/a?b=1&c=2 or mail press@ministry.gov.pk for the 2nd statement.",
    "The rocket 🚀 launched 😀😀 at 5 a.m. #breaking @NASA — \"nobody saw it\", she said.",
    "There is no doubt. There were 3 of them. It is what it is; do you have it? I do.",
    "He had had enough, did he not? They have been doing it and it has done them no good.",
    "Whether or not that's so, though, since 2014 they've denied it 'til now, coz why not.",
    "   \n\n  Spaces  \t and\n\nbreaks   everywhere .\n \n",
    "U.S. Rep. O'Neill-Smith (D-N.Y.) said Mr. McDonald's iPhone was e-mailed to ISIS/ISIL.",
    "It's got to be them; gotta be. I'd rather you didn't, and you'd better not.",
    "",
    "No",
]


def texts() -> list[str]:
    out = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "data" / "sample").glob("*.txt"))]
    dev = (ROOT / "data" / "labelled" / "dev.jsonl").read_text(encoding="utf-8").splitlines()
    out += [json.loads(line)["text"] for line in dev[:4]]
    for line in (ROOT / "tests" / "data" / "report_rows.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            out += [row["claim_a"], row["claim_b"]]
    return out + HAND


def annotations(doc) -> tuple:
    return ([(t.text, t.tag_, t.pos_, str(t.morph), t.lemma_, t.dep_, t.head.i, t.ent_type_,
              t.ent_iob_, t.is_sent_start) for t in doc],
            [(e.start, e.end, e.label_) for e in doc.ents])


@pytest.fixture(scope="module")
def stock():
    return load_spacy("auto", fast=False)


@pytest.fixture(scope="module")
def fast():
    return load_spacy("auto", fast=True)


def test_the_fast_components_stand_in_spacys_place(stock, fast):
    assert fast.pipe_names == stock.pipe_names
    assert type(fast.get_pipe("attribute_ruler")) is FastAttributeRuler
    assert type(fast.get_pipe("lemmatizer")) is FastLemmatizer
    assert type(stock.get_pipe("attribute_ruler")).__name__ == "AttributeRuler"
    assert type(stock.get_pipe("lemmatizer")).__name__ == "EnglishLemmatizer"
    assert {fast.get_pipe_meta(n).factory for n in ("attribute_ruler", "lemmatizer")} == {
        FAST_RULER, FAST_LEMMATIZER}


def test_the_segment_switch_picks_the_components():
    assert type(Segmenter(SegmentConfig()).nlp.get_pipe("lemmatizer")) is FastLemmatizer
    off = Segmenter(SegmentConfig(fast_components=False)).nlp
    assert type(off.get_pipe("lemmatizer")).__name__ == "EnglishLemmatizer"


def test_same_annotations_as_spacy_token_for_token(stock, fast):
    corpus = texts()
    assert len(corpus) > 30
    expected = [annotations(d) for d in stock.pipe(corpus, batch_size=8)]
    # twice: the first pass fills the lookups, the second reads them
    for _ in range(2):
        got = [annotations(d) for d in fast.pipe(corpus, batch_size=8)]
        for text, want, have in zip(corpus, expected, got):
            assert have == want, text[:80]


def test_same_annotations_in_worker_processes(stock, fast):
    corpus = texts()[:6]
    want = [annotations(d) for d in stock.pipe(corpus)]
    assert [annotations(d) for d in fast.pipe(corpus, n_process=2, batch_size=2)] == want


def _blank(fast: bool, patterns: list[dict]):
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("attribute_ruler").add_patterns(patterns)
    if fast:
        assert use_fast_components(nlp) == ["attribute_ruler"]
    return nlp


RULES = [
    {"patterns": [[{"LOWER": "new"}, {"LOWER": "york", "OP": "?"}]], "attrs": {"TAG": "NNP"}},
    {"patterns": [[{"LOWER": "new"}]], "attrs": {"TAG": "JJ", "LEMMA": "new"}},  # later wins
    {"patterns": [[{"ORTH": "York"}], [{"TEXT": "Jersey"}]], "attrs": {"LEMMA": "place"}},
    {"patterns": [[{"LOWER": "the"}, {"IS_TITLE": True}]], "attrs": {"POS": "PROPN"}, "index": -1},
    {"patterns": [[{"LOWER": {"IN": ["a", "an"]}}, {"LOWER": {"REGEX": "^[aeiou]"}}]],
     "attrs": {"MORPH": "Definite=Ind"}, "index": 0},
    {"patterns": [[{"LOWER": "the"}, {}]], "attrs": {"NORM": "THE"}},  # any next token
    {"patterns": [[{"LENGTH": 1}]], "attrs": {"MORPH": "Short=Yes"}},  # not a key feature
]


def test_same_result_as_spacys_ruler_on_every_kind_of_pattern():
    """Fixed patterns of one and two tokens, operators, an index from the end, empty token
    specs, features outside the lookup, and groups that overwrite each other's attributes."""
    words = ["New York is in the New World, an apple a day; the Jersey shore and new jersey.",
             "A egg, an orange, THE End. new new York York", "the", "a a a an an"]
    stock, fast = _blank(False, RULES), _blank(True, RULES)
    for _ in range(2):
        for text in words:
            a, b = stock(text), fast(text)
            assert [(t.tag_, t.pos_, str(t.morph), t.lemma_, t.norm_) for t in b] == \
                   [(t.tag_, t.pos_, str(t.morph), t.lemma_, t.norm_) for t in a], text


def test_an_index_outside_the_match_is_an_error_as_in_spacy():
    rules = [{"patterns": [[{"LOWER": "x"}]], "attrs": {"TAG": "NN"}, "index": 1}]
    with pytest.raises(ValueError, match="E1001"):
        _blank(False, rules)("a x b")
    with pytest.raises(ValueError, match="E1001"):
        _blank(True, rules)("a x b")
    assert _blank(True, rules)("a b").text == "a b"  # no match, nothing raised
