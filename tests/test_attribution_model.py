"""The learnt attribution tagger (pipeline/stages/attribution_tagger.py): loading, its absence,
and claims whose speaker only the tagger finds. A tiny CRF trained here on sentences written
for it covers the wiring without ../shared or the shipped model; the shipped model's own test
skips when models/attribution-crf is absent."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest

pycrfsuite = pytest.importorskip("pycrfsuite")

from pipeline.config import SegmentConfig  # noqa: E402
from pipeline.errors import ConfigError  # noqa: E402
from pipeline.eval.attribution import GoldAttribution  # noqa: E402
from pipeline.stages import attribution_tagger as at  # noqa: E402
from pipeline.stages.normalize import normalize  # noqa: E402
from pipeline.stages.segment import Segmenter  # noqa: E402
from test_text_stages import claims_of, find  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
import train_attribution as ta  # noqa: E402

# "<source> fumed over <content>": a cue no rule lists
NAMES = ["Maria Lopez", "The union", "Governor Hale", "The ministry", "Tom Berg", "The council",
         "Ana Ruiz", "The agency"]
CONTENTS = ["the rising cost of bread in every town", "the new fees on small farms this year",
            "the closure of the northern rail line", "the delays at the border crossing",
            "the cuts to the school lunch budget", "the price of heating oil this winter",
            "the state of the harbour roads", "the loss of jobs at the steel plant"]
FILLER = ["The weather stayed dry across the region on Monday.",
          "Trains ran on time for most of the week."]


def _gold_text():
    paras, atts = [], []
    pos = 0
    for name, content in zip(NAMES, CONTENTS):
        sent = f"{name} fumed over {content}."
        para = f"{sent} {FILLER[len(paras) % 2]}"
        s = pos + len(name) + 1
        atts.append(GoldAttribution(content=[(s + len("fumed over "), s + len("fumed over ") + len(content))],
                                    source=[(pos, pos + len(name))], cue=[(s, s + len("fumed over"))],
                                    source_text=name, cue_text="fumed over"))
        paras.append(para)
        pos += len(para) + 2
    return "\n\n".join(paras) + "\n", atts


@pytest.fixture(scope="module")
def tiny_tagger(tmp_path_factory, seg):
    text, atts = _gold_text()

    class Art:  # what ta.sequences reads of a GoldArticle
        attributions = atts

    norm = normalize(text)
    seqs = ta.sequences([Art], seg, None, ([norm], [seg.nlp(norm.text)]))
    path = tmp_path_factory.mktemp("crf") / at.MODEL_FILE
    ta.train_crf(seqs, path, {"c1": 0.0, "c2": 0.01, "iterations": 60, "min_freq": 1})
    return path


def test_gold_labels_follow_the_spans(seg):
    text, atts = _gold_text()
    norm = normalize(text)
    doc = seg.nlp(norm.text)
    labels = ta.token_labels(doc, norm, atts)
    words = [t.text for t in doc]
    i = words.index("fumed")
    assert labels[:2] == ["B-SRC", "I-SRC"]  # Maria Lopez
    assert labels[i:i + 3] == ["B-CUE", "I-CUE", "B-CON"]
    assert labels[words.index("Monday")] == "O"


def test_only_the_tagger_finds_the_speaker(seg, tiny_tagger):
    text = "Markets\n\nDavid Moss fumed over the cost of the new tram tickets.\n"
    rules = claims_of(Segmenter(SegmentConfig(attribution_model="none")), text)
    assert find(rules, "tram tickets").speaker == ""  # no rule knows "fumed over"
    learnt = Segmenter(SegmentConfig(attribution_model=str(tiny_tagger.parent)))
    c = find(claims_of(learnt, text), "tram tickets")
    assert c.speaker == "David Moss"
    assert c.cue == "fumed over"


def test_tagger_leaves_unattributed_sentences_alone(seg, tiny_tagger):
    text = "Markets\n\nThe weather stayed dry across the region on Friday.\n"
    learnt = Segmenter(SegmentConfig(attribution_model=str(tiny_tagger.parent)))
    assert find(claims_of(learnt, text), "weather stayed dry").speaker == ""


def test_add_gate_reads_the_words_of_claim_cue_and_source(seg, tiny_tagger):
    # the verb heading the claim and the Cue, a common-noun Source's head (a name: only its
    # entity type), and whether the Source is the claim's subject
    sent = next(iter(seg.nlp("Critics charge the plan hurts farmers.").sents))
    f = at.lexical_features(list(range(len(sent) - 1)), sent, sent, (0, 1), (1, 2))
    assert f["v=charge"] == f["cv=charge"] == f["sh=critic"] == f["src_subj"] == 1.0
    sent = next(iter(seg.nlp("Officials said Maria Lopez won the race.").sents))
    f = at.lexical_features([3, 4, 5, 6], sent, sent, (2, 4), None)
    assert f["v=win"] == 1.0 and f["src_subj"] == 1.0 and f["se=PERSON"] == 1.0
    assert not [k for k in f if k.startswith(("sh=", "cv="))]
    # the segmenter hands them to the gate
    learnt = Segmenter(SegmentConfig(attribution_model=str(tiny_tagger.parent)))
    learnt.gate_log = []
    learnt.raw_claims(normalize("Markets\n\nDavid Moss fumed over the cost of the new tram tickets.\n"))
    feats = [f for kind, *_, f in learnt.gate_log if kind == "add"]
    assert feats and feats[0]["cv=fume"] == 1.0 and feats[0]["src_subj"] == 1.0


def test_absent_model_means_rules_alone(tmp_path, monkeypatch):
    monkeypatch.setattr(at, "default_model_dir", lambda: tmp_path / "nothing-here")
    assert at.resolve_model_path("auto") is None
    assert at.load_tagger("auto") is None
    assert at.load_tagger("none") is None
    assert Segmenter(SegmentConfig(attribution_model="auto")).tagger is None
    with pytest.raises(ConfigError, match="train-attribution"):
        at.load_tagger(str(tmp_path / "missing"), strict=True)


def test_missing_crfsuite_means_rules_alone(tiny_tagger, monkeypatch):
    monkeypatch.setitem(sys.modules, "pycrfsuite", None)  # import fails
    monkeypatch.setattr(at, "_CACHE", {})
    assert at.load_tagger(str(tiny_tagger)) is None
    with pytest.raises(ConfigError, match="python-crfsuite"):
        at.load_tagger(str(tiny_tagger), strict=True)


def test_gate_reads_its_weights(tiny_tagger, tmp_path):
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / at.MODEL_FILE).write_bytes(tiny_tagger.read_bytes())
    (folder / at.GATE_FILE).write_text('{"add": {"weights": {"con_share": 4.0}, "bias": -2.0}, "cut": 0.5}')
    tg = at.AttributionTagger(folder / at.MODEL_FILE)
    assert tg.accept({"con_share": 1.0}) == pytest.approx(1 / (1 + math.exp(-2.0)))
    assert tg.accept({"con_share": 0.0}) < 0.5
    assert tg.accept({"con_share": 0.3}, "keep") == 0.3  # no keep gate: the Content share


def test_shipped_model_finds_a_speaker_the_rules_miss(seg):
    if at.resolve_model_path("auto") is None:
        pytest.skip("models/attribution-crf is not here")
    text = ("Budget\n\nCritics have pointed out that the budget leaves the pension fund short by "
            "two billion dollars.\n")
    rules = Segmenter(SegmentConfig(attribution_model="none"))
    assert find(claims_of(rules, text), "pension fund").speaker == ""  # "point out": no rule
    # the shipped cut (0.7) is strict; at 0.6 the shipped CRF and add gate give the speaker
    c = find(claims_of(Segmenter(SegmentConfig(attribution_cut=0.6)), text), "pension fund")
    assert c.speaker.lower() == "critics"
    assert "pointed out" in c.cue
