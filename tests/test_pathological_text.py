"""Issue 29 item 9: pathological text (thousands of quote marks glued, digit runs,
100,000-character words) is bounded per parse, and offsets still index the original text.

The bounds are checked by what spaCy and the embedder are given (pieces, tokens, cells), not
by timing; ``scripts/bench_long.py --pathological`` measures the time and memory."""

from __future__ import annotations

import re

import numpy as np
import pytest

from conftest import rule_breaks
from pipeline.stages import mentions, segment
from pipeline.stages.attribute import attribute
from pipeline.stages.bounds import (MAX_RUN, WINDOW_TOKENS, BoundedTokenizer, estimated_tokens,
                                    long_runs, run_cuts)
from pipeline.stages.embedder import MAX_CELLS, Embedder, cell_batches, cells_batch_size
from pipeline.stages.normalize import normalize
from pipeline.stages.nlp import load_spacy
from pipeline.stages.segment import Segmenter
from pipeline.stages.windows import LongText, text_windows

PROSE = "The minister said on Tuesday that 40 trucks of aid had crossed the border."
DENIAL = "Officials at the crossing denied that any trucks had been turned back."


def _word(n: int) -> str:
    return ("abcdefghij" * (n // 10 + 1))[:n]


@pytest.fixture(scope="module")
def nlp():
    return load_spacy()


class _Recording:
    """A tokenizer standing in for spaCy's that records the texts it is given."""

    def __init__(self, inner):
        self.inner, self.vocab, self.seen = inner, inner.vocab, []

    def __call__(self, text):
        self.seen.append(text)
        return self.inner(text)


def _longest_run(texts) -> int:
    return max((len(m.group()) for t in texts for m in re.finditer(r"\S+", t)), default=0)


def test_the_shared_parser_tokenises_no_run_longer_than_max_run(nlp):
    assert isinstance(nlp.tokenizer, BoundedTokenizer)
    for run in (_word(100 * MAX_RUN), "7" * (98 * MAX_RUN), '"' * (5 * MAX_RUN + 3)):
        text = f"{PROSE} {run} {DENIAL}"
        doc = nlp.make_doc(text)
        assert doc.text == text  # the Doc's text is the original, character for character
        assert all(text[t.idx:t.idx + len(t.text)] == t.text for t in doc)
        assert max(len(t.text) for t in doc) <= MAX_RUN


def test_the_guard_hands_spacy_pieces_of_at_most_max_run_characters_of_a_run(nlp):
    rec = _Recording(nlp.tokenizer.inner)
    guard = BoundedTokenizer(rec)
    run = '"' * (7 * MAX_RUN + 1)
    text = f"{PROSE}\n\n{run}\n\n{DENIAL}"
    assert guard(text).text == text
    assert "".join(rec.seen) == text and len(rec.seen) == 8  # ceil(7 * MAX_RUN + 1, MAX_RUN)
    assert _longest_run(rec.seen) <= MAX_RUN
    assert run_cuts(text) == [len(PROSE) + 2 + k * MAX_RUN for k in range(1, 8)]
    assert long_runs(text) == [(len(PROSE) + 2, len(PROSE) + 2 + len(run))]


def test_text_without_a_long_run_is_tokenised_as_before(nlp):
    inner = nlp.tokenizer.inner
    # a 226-character run (a real FNC-1 body holds one) stays whole: under MAX_RUN
    for text in (PROSE + " " + DENIAL, f"{PROSE} {'x' * MAX_RUN} {DENIAL}",
                 "var a=" + "b" * 220 + ";"):
        assert run_cuts(text) == []
        assert [t.text for t in nlp.make_doc(text)] == [t.text for t in inner(text)]


def test_claims_around_a_long_run_keep_exact_offsets_and_are_those_of_the_prose():
    seg = Segmenter()
    raw = f"{PROSE}\n\n{'9' * (20 * MAX_RUN)} {_word(40 * MAX_RUN)}\n\n{DENIAL}\n"
    norm = normalize(raw)
    claims = attribute("d", norm, seg.raw_claims(norm))
    assert all(rule_breaks(raw, c) is None for c in claims)
    texts = [raw[c.start:c.end] for c in claims]
    assert any("40 trucks of aid had crossed" in t for t in texts)
    assert any("any trucks had been turned back" in t for t in texts)
    alone = normalize(f"{PROSE}\n\n{DENIAL}\n")
    assert [c.text for c in claims] == [c.text for c in attribute("d", alone, seg.raw_claims(alone))]


def test_windows_hold_at_most_max_tokens(nlp):
    text = "Talks went on.\n\n" + '"' * 2500 + " and then " + "!?" * 700 + "\n\nEnd of story.\n"
    wins = text_windows(text, 100_000, 300)
    assert wins[0][0] == 0 and wins[-1][1] == len(text)
    assert all(e1 == s2 for (_, e1), (s2, _) in zip(wins, wins[1:]))
    assert len(wins) >= estimated_tokens(text) // 300
    assert all(estimated_tokens(text, s, e) <= 300 for s, e in wins)
    # what spaCy makes of each window is as bounded (less its whitespace tokens)
    assert all(sum(not t.is_space for t in nlp.make_doc(text[s:e])) <= 300 for s, e in wins)
    # prose is cut by characters as before: the token bound does not bite
    prose = "\n\n".join([PROSE] * 400)
    assert text_windows(prose, 5000, WINDOW_TOKENS) == text_windows(prose, 5000)


def test_a_text_of_more_than_window_tokens_is_parsed_in_windows():
    seg = Segmenter()
    quotes = '"' * (WINDOW_TOKENS + 1)  # far below segment.window_chars
    assert len(quotes) < seg.cfg.window_chars
    parsed = seg.parse_many([quotes, PROSE])
    assert isinstance(parsed[0], LongText) and not isinstance(parsed[1], LongText)


def test_parsed_windows_are_bounded_in_tokens(monkeypatch):
    seg = Segmenter()
    monkeypatch.setattr(segment, "WINDOW_TOKENS", 200)
    seen: list[int] = []
    pipe = seg.nlp.pipe

    def recording_pipe(texts, **kw):
        for doc in pipe(texts, **kw):
            seen.append(sum(not t.is_space for t in doc))
            yield doc

    monkeypatch.setattr(seg.nlp, "pipe", recording_pipe)
    raw = f"{PROSE}\n\n{'“' * (3 * MAX_RUN)}\n\n{DENIAL}\n"
    norm = normalize(raw)
    assert seg._long(norm.text)
    claims = attribute("d", norm, seg.raw_claims(norm, LongText(norm.text)))
    assert len(seen) >= 3 * MAX_RUN // 200 and max(seen) <= 200
    assert all(rule_breaks(raw, c) is None for c in claims)
    assert any("40 trucks of aid" in c.text for c in claims)


def test_a_quote_run_does_not_send_the_dash_signature_search_to_its_end(monkeypatch):
    calls: list[tuple[int, int]] = []
    real = mentions._DASH_NAME

    class Recording:
        def match(self, text, pos=0, endpos=None):
            calls.append((pos, len(text) if endpos is None else endpos))
            return real.match(text, pos, len(text) if endpos is None else endpos)

    monkeypatch.setattr(mentions, "_DASH_NAME", Recording())
    seg = Segmenter()
    raw = ("Residents spoke at the meeting.\n\n“The mayor has ignored our district for years.” ― Lena Ortiz"
           "\n\n" + '"' * (4 * MAX_RUN) + "\n")
    norm = normalize(raw)
    claims = attribute("d", norm, seg.raw_claims(norm))
    assert calls and all(e - s <= MAX_RUN for s, e in calls)
    assert next(c for c in claims if "ignored our district" in c.text).speaker == "Lena Ortiz"


# ------------------------------------------------------------------------------ embedder
class _Tok:
    """Whitespace 'tokenizer' with the Hugging Face call signature the embedder uses."""

    def __call__(self, texts, truncation=True, max_length=0, padding=False, return_tensors=None):
        ids = [list(range(1, len(t.split()) + 1))[:max_length] for t in texts]
        if not padding:
            return {"input_ids": ids}
        width = max(len(i) for i in ids)
        return {"input_ids": np.array([i + [0] * (width - len(i)) for i in ids]),
                "attention_mask": np.array([[1] * len(i) + [0] * (width - len(i)) for i in ids])}


class _Session:
    def __init__(self):
        self.shapes: list[tuple[int, int]] = []

    def run(self, _, feeds):
        rows, width = feeds["input_ids"].shape
        self.shapes.append((rows, width))
        return [np.ones((rows, width, 4), dtype=np.float32)]


def _fake_embedder(max_seq_length: int, token_budget: int = 8192) -> Embedder:
    import threading

    emb = Embedder.__new__(Embedder)
    emb.backend, emb.layout, emb.dim = "onnx", {"max_seq_length": max_seq_length}, 4
    emb.tokenizer, emb.session, emb._inputs = _Tok(), _Session(), {"input_ids", "attention_mask"}
    emb._lock, emb.batch_size, emb.token_budget, emb.max_cells = threading.Lock(), 64, token_budget, MAX_CELLS
    return emb


def test_a_batch_of_very_long_claims_stays_within_max_cells():
    emb = _fake_embedder(max_seq_length=8192, token_budget=1 << 20)
    texts = [" ".join(["w"] * n) for n in (5000, 9000, 3000, 40, 2500, 8000, 12, 7000)]
    out = emb.encode(texts)
    assert out.shape == (len(texts), 4) and np.allclose(np.linalg.norm(out, axis=1), 1.0)
    assert emb.session.shapes and all(r * w * w <= MAX_CELLS for r, w in emb.session.shapes)
    assert sum(r for r, _ in emb.session.shapes) == len(texts)


def test_batches_of_claims_up_to_128_tokens_are_unchanged_by_the_cell_bound():
    from pipeline.nli.model import length_batches

    # the shipped MiniLM (256 tokens): batches padded to 128 tokens or less are as before
    emb = _fake_embedder(max_seq_length=256)
    emb.encode([" ".join(["w"] * n) for n in range(1, 129, 3)])
    lengths = list(range(1, 129, 3))
    assert [r for r, _ in emb.session.shapes] == [len(b) for b in length_batches(lengths, 64, 8192)]
    # longer ones are cut to the bound: 37 rows of 216 tokens fitted the token budget alone
    emb = _fake_embedder(max_seq_length=256)
    emb.encode([" ".join(["w"] * 216)] * 113)
    assert length_batches([216] * 113, 64, 8192)[0] == list(range(37))
    assert max(r for r, _ in emb.session.shapes) == MAX_CELLS // (216 * 216)
    assert all(r * w * w <= MAX_CELLS for r, w in emb.session.shapes)
    assert cells_batch_size(64, 128, MAX_CELLS) == 64  # torch: 64 rows of 128 tokens as before
    assert cells_batch_size(64, 256, MAX_CELLS) == 16 and cells_batch_size(64, 4096, MAX_CELLS) == 1
    batches = cell_batches([[0, 1, 2, 3]], [100, 200, 300, 600], 2 * 300 * 300)
    assert batches == [[0, 1], [2], [3]]
