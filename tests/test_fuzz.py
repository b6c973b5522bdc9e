"""Issue 11: property-based tests of the text stages, and a slow corpus of 2,000 generated
and mutated documents through a whole run.

normalize -> segment -> attribute on generated text (any printable unicode, quotes of every
kind, odd whitespace and line breaks, very long tokens, no full stops): no exception, every
claim's span inside the text and not blank. The slow test checks documents in = processed +
skipped on a JSONL corpus with broken lines mixed in.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from pipeline.stages.attribute import attribute
from pipeline.stages.normalize import normalize
from pipeline.stages.segment import Segmenter

REPO = Path(__file__).resolve().parent.parent
QUOTES = "\"'“”‘’«»„‟‹›「」"
SPACES = [" ", "  ", "\t", "\n", "\n\n", "\r\n", "\r", "\u00a0", "\u2028", "\u3000", "\u200b", "\x0c"]
WORDS = ("the minister said that talks are ongoing and officials denied the claim but "
         "Pakistan US company he she they it according to 1,200 61% $33bn").split()

_SEG = None


def seg() -> Segmenter:
    global _SEG
    if _SEG is None:
        _SEG = Segmenter()
    return _SEG


# printable text: no surrogates (not valid in a file), no unassigned code points
printable = st.text(st.characters(blacklist_categories=("Cs", "Co", "Cn")), max_size=300)
word = st.one_of(st.sampled_from(WORDS), st.text(st.characters(blacklist_categories=("Cs", "Cn")),
                                                  min_size=1, max_size=12))
piece = st.one_of(
    word,
    st.sampled_from(QUOTES),
    st.sampled_from(SPACES),
    st.sampled_from([".", ",", "?!", ";", ":", "—", "(", ")", "...", "…"]),
    st.integers(200, 6000).map(lambda n: "x" * n),  # a very long token
    st.builds(lambda q, w: f"{q}{w}{q}", st.sampled_from(QUOTES), word),
)
news_like = st.lists(piece, max_size=120).map(lambda ps: " ".join(ps))


def check_claims(text: str) -> None:
    norm = normalize(text)
    assert len(norm.offsets) == len(norm.text)
    claims = attribute("fuzz", norm, seg().raw_claims(norm))
    assert len({c.id for c in claims}) == len(claims)
    for c in claims:
        assert 0 <= c.start < c.end <= len(text), (c.start, c.end, len(text))
        assert text[c.start:c.end].strip(), repr(text[c.start:c.end])
        assert c.text.strip()


@given(st.one_of(news_like, printable, news_like.map(lambda t: t.replace(".", ""))))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_text_stages_never_crash_and_offsets_stay_inside(text):
    check_claims(text)


@given(st.lists(st.sampled_from(["Talks are ongoing, the minister said.", "“It is over,” he said.",
                                 "According to officials the plant will close.",
                                 "The company denied that 1,200 jobs would go."]),
                min_size=1, max_size=6),
       st.lists(st.tuples(st.integers(0, 10_000), st.sampled_from(QUOTES + "\n\r\t\x00\u202e\x1b")),
                max_size=8))
@settings(max_examples=40, deadline=None)
def test_mutated_sentences_keep_exact_offsets(sentences, mutations):
    text = "\n\n".join(sentences)
    for pos, ch in mutations:
        i = pos % (len(text) + 1)
        text = text[:i] + ch + text[i:]
    check_claims(text)


# ---------------------------------------------------------------- 2,000 documents, slow
def mutate(text: str, rng: random.Random) -> str:
    ops = rng.randint(0, 6)
    for _ in range(ops):
        i = rng.randrange(len(text) + 1)
        kind = rng.random()
        if kind < 0.2:
            text = text[:i] + rng.choice(QUOTES) + text[i:]
        elif kind < 0.35:
            text = text[:i] + rng.choice(SPACES) + text[i:]
        elif kind < 0.45:
            text = text[:i] + "w" * rng.randint(100, 3000) + text[i:]
        elif kind < 0.55:
            text = text.replace(".", "")
        elif kind < 0.65:
            text = text[:i] + "".join(chr(rng.randint(0x20, 0x2FFF)) for _ in range(rng.randint(1, 40))) + text[i:]
        elif kind < 0.75:
            text = text[:i] + "\x1b[31m\u202e" + text[i:]
        elif kind < 0.85:
            j = rng.randrange(len(text) + 1)
            text = text[:min(i, j)] + text[max(i, j):]  # a cut
        else:
            text = text[:i] + text[i:] * 2  # a repeat
    return text


def corpus_lines(n: int, seed: int = 11) -> list[str]:
    rng = random.Random(seed)
    sources = [p.read_text(encoding="utf-8") for p in sorted((REPO / "data" / "sample").glob("*.txt"))]
    paras = [p for s in sources for p in s.split("\n\n") if p.strip()]
    lines = []
    for i in range(n):
        r = rng.random()
        if r < 0.04:
            lines.append("{not json " + str(i))
        elif r < 0.06:
            lines.append(json.dumps({"text": "no id here"}))
        elif r < 0.08:
            lines.append(json.dumps({"id": f"d{i}", "text": "   "}))
        elif r < 0.09:
            lines.append(json.dumps([1, 2, 3]))
        elif r < 0.10:
            lines.append(json.dumps({"id": f"d{i}", "text": "nul \x00 inside"}))
        elif r < 0.11:
            lines.append(f'{{"id": "s{i}", "text": "lone \\ud800 surrogate"}}')
        elif r < 0.12:
            lines.append(json.dumps({"id": "d0", "text": "a duplicate id, said the minister."}))
        else:
            text = "\n\n".join(rng.sample(paras, rng.randint(1, 6)))
            if rng.random() < 0.02:
                text = "".join(rng.choice(WORDS) + " " for _ in range(rng.randint(2_000, 20_000)))
            lines.append(json.dumps({"id": f"d{i}", "text": mutate(text, rng)}, ensure_ascii=rng.random() < 0.5))
    return lines


@pytest.mark.slow
def test_two_thousand_mutated_documents_are_all_accounted_for(tmp_path, tiny_model):
    from pipeline.config import load_run_config
    from pipeline.run import run

    lines = corpus_lines(2000)
    src = tmp_path / "fuzz.jsonl"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    cfg = load_run_config(None, [f"score.model={json.dumps(str(tiny_model))}", "batch_docs=64"])
    summary = run([str(src)], tmp_path / "flagged.csv", cfg)
    man = json.loads(Path(summary.manifest).read_text(encoding="utf-8"))
    assert man["documents_processed"] + len(man["skipped"]) == len(lines)
    assert man["documents_processed"] > 1500
    assert (tmp_path / "flagged.csv").is_file()
