"""Shared fixtures and helpers: the tiny random BERT NLI models (one builder), the shipped
model, the sample run, a corpus writer and the claim-span rule."""

from __future__ import annotations

import csv
import os
import re
import string
import unicodedata
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parent.parent
SHIPPED_MODEL = REPO / "models" / "nli-minilm-l6"
SAMPLE = REPO / "data" / "sample"


def assert_same_flags(got: Path, want: Path, tol: float = 1e-5) -> None:
    """Two flag CSVs hold the same rows in the same order: every text field equal, every
    number within ``tol``. Two runs that batch the same documents differently agree only to
    float rounding (the embedder pads each batch to its longest claim), which can move a
    similarity in its sixth decimal."""
    def rows(path: Path) -> list[dict]:
        with path.open(encoding="utf-8", newline="") as fh:
            return list(csv.DictReader(fh))

    a, b = rows(got), rows(want)
    assert len(a) == len(b), f"{got}: {len(a)} rows, {want}: {len(b)}"
    for i, (ra, rb) in enumerate(zip(a, b)):
        assert ra.keys() == rb.keys()
        for k in ra:
            if ra[k] == rb[k]:
                continue
            try:
                close = abs(float(ra[k]) - float(rb[k])) <= tol
            except ValueError:
                close = False
            assert close, f"row {i + 1}, {k}: {ra[k]!r} != {rb[k]!r}"


WORDS = """the a an is are was were not no never it they he she we said talks ongoing suspended
cooperation all levels military intelligence government minister official spokesperson
denied claim aid million billion dollars jobs factory open closed will close cut workers
turnout percent vote election free fair rigged doses delivered arrived hospitals running out
of and but with to in on that has have had been there man woman dog cat sleeps runs plays
outside inside red blue big small happy sad""".split()


WORD = re.compile(r"\w+")


def _visible(s: str) -> str:
    # what normalisation drops (control and format characters: NUL, ESC, bidi, zero-width)
    return "".join(ch for ch in s if unicodedata.category(ch) not in ("Cc", "Cf") or ch in "\n\t")


def rule_breaks(text: str, claim) -> str | None:
    """Why ``claim`` (anything with ``start``, ``end`` and ``text``) breaks the span rule on
    ``text`` (README, "Claims"), or None: the claim is ``text[start:end]`` with runs of white
    space made one space, or, where an attribution was left out, the span's words in order
    less the attribution's, starting and ending with the span's."""
    span = " ".join(text[claim.start:claim.end].split())
    if claim.text == span:
        return None
    sw, cw = WORD.findall(_visible(span)), WORD.findall(_visible(claim.text))
    if not cw:
        return f"no word: {claim.text!r}"
    it = iter(sw)
    if not all(w in it for w in cw):
        return f"{claim.text!r} is not the words of {span!r} in order"
    if sw[0] != cw[0] or sw[-1] != cw[-1]:
        return f"{claim.text!r} does not start and end as its span {span!r}"
    return None


# the ONNX and Ray tests' vocabulary: their words, then every lowercase ASCII character alone
# and as a word piece, so that any text tokenises without [UNK]
SPELLING_WORDS = """the a an and or not no is are was were has had have will would said says told
that it its he she they we of to in on at by for with from as this there talks ongoing all
levels military cooperation suspended minister ministry official president government
election turnout percent vote count rigged factory plant closing open jobs workers union
vaccine doses rollout million billion aid years data rain rained did does yes man woman
playing guitar stage reading book library""".split()


def write_vocab(path: Path, spelling: bool = False) -> Path:
    """A WordPiece vocab file: the special tokens, then ``WORDS`` and the digits and a few
    punctuation marks, or (``spelling``) ``SPELLING_WORDS`` and every lowercase ASCII
    character, whole and as ``##`` piece, which can spell any lowercase ASCII text."""
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    if spelling:
        chars = list(string.ascii_lowercase + string.digits + string.punctuation)
        vocab = list(dict.fromkeys(specials + SPELLING_WORDS + chars + ["##" + c for c in chars]))
    else:
        vocab = (specials + [".", ",", "$", "'", '"'] + sorted(set(WORDS))
                 + [str(i) for i in range(10)])
    path.write_text("\n".join(vocab) + "\n", encoding="utf-8")
    return path


def build_tiny_model(folder: Path, id2label: dict[int, str] | None = None, *, spelling: bool = False,
                     seed: int | None = None) -> Path:
    """A random 2-layer BERT sequence classifier (hidden 32) saved in Hugging Face format in
    ``folder``: the one tiny NLI model of the tests.

    Default: the ``WORDS`` vocab, 128 positions, the default initialisation, seed 0 (the
    ``tiny_model`` fixture). ``spelling=True`` (the ``spelling_model`` fixture; the ONNX and
    Ray tests): a vocab that spells any lowercase text, 512 positions and large initial
    weights (initializer_range 0.5) so that its outputs depend on the input and not just on
    [CLS], seed 1."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    id2label = id2label or {0: "entailment", 1: "neutral", 2: "contradiction"}
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    vocab = write_vocab(folder / "vocab.txt", spelling)
    tok = BertTokenizerFast(vocab_file=str(vocab), do_lower_case=True)
    extra = {"initializer_range": 0.5} if spelling else {}
    cfg = BertConfig(
        vocab_size=len(vocab.read_text(encoding="utf-8").splitlines()), hidden_size=32,
        num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
        max_position_embeddings=512 if spelling else 128, num_labels=len(id2label),
        id2label=id2label, label2id={v: k for k, v in id2label.items()}, **extra,
    )
    torch.manual_seed((1 if spelling else 0) if seed is None else seed)
    model = BertForSequenceClassification(cfg)
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


# the run-layer tests' news sentences; each test takes the ones it needs (NEWS[:5], ...)
NEWS = [
    "Defence Minister Khurram Dastgir said all cooperation with the United States was suspended.",
    '"Talks between the two sides are ongoing at all levels," said a senior US official.',
    "The US embassy said it had received no notification of any suspension.",
    "Union leader Maria Lopez said 400 jobs would be cut at the plant.",
    "Company spokesman David Chen said the plant would stay open and no jobs would be cut.",
    "The electoral commission said turnout was 61 percent.",
    "The opposition claimed that turnout was under 50 percent, a claim the commission denied.",
]


def write_corpus(path: Path, sentences: list[str], n: int = 6, per_doc: int = 3,
                 tail: str = "") -> Path:
    """A JSONL corpus of ``n`` documents ``doc00``, ``doc01``, ..., document ``i`` the
    ``per_doc`` sentences from ``sentences[i]`` on (wrapping round), then ``tail`` as written
    (run-layer tests: a broken last line, say)."""
    import json

    with path.open("w", encoding="utf-8") as fh:
        for i in range(n):
            text = " ".join(sentences[(i + k) % len(sentences)] for k in range(per_doc))
            fh.write(json.dumps({"id": f"doc{i:02d}", "text": text}) + "\n")
        fh.write(tail)
    return path


def wait_for_lines(proc, path: Path, n: int, timeout: float, poll: float = 0.1,
                   what: str = "killed") -> None:
    """Wait until ``path`` (a run's progress.jsonl) holds ``n`` lines, for at most ``timeout``
    seconds; fail the test if ``proc`` (the run's process) ends first. On timeout it returns
    and the caller's own checks fail."""
    import time

    deadline = time.time() + timeout
    while time.time() < deadline:
        if path.exists() and path.read_text().count("\n") >= n:
            return
        if proc.poll() is not None:
            pytest.fail(f"the run ended before it could be {what}")
        time.sleep(poll)


def csv_rows(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="session")
def seg():
    """One spaCy segmenter for the segmentation and attribution tests."""
    from pipeline.stages.segment import Segmenter

    return Segmenter()


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """The session's tiny random NLI model (``build_tiny_model``); a test that changes it
    copies it first."""
    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "model")


@pytest.fixture(scope="session")
def spelling_model(tmp_path_factory) -> Path:
    """The tiny model whose vocab spells any text and whose outputs vary with the input
    (``build_tiny_model(spelling=True)``): the ONNX tests compare backends on it."""
    return build_tiny_model(tmp_path_factory.mktemp("tiny-nli"), spelling=True)


@pytest.fixture(scope="session")
def shipped_model() -> Path:
    if not (SHIPPED_MODEL / "config.json").is_file():
        pytest.skip("the shipped model is not in models/")
    return SHIPPED_MODEL


@pytest.fixture(scope="session")
def sample_run(tmp_path_factory, shipped_model):
    """The CLI once on data/sample with the shipped model, every output format: (csv path, output).

    Shared by the end-to-end tests and the browser test so the pipeline runs once per session."""
    from typer.testing import CliRunner

    from pipeline.cli import app

    out = tmp_path_factory.mktemp("run") / "flagged.csv"
    result = CliRunner().invoke(app, ["run", str(SAMPLE), "-o", str(out), "--config",
                                      str(REPO / "configs" / "run.yaml"), "--model", str(shipped_model),
                                      "--backend", "torch",  # the golden is the torch fp32 output
                                      "--set", "topics.backend=torch",
                                      # a reader's lower cut than the default operating point, so
                                      # that the report and the golden hold a few dozen rows
                                      "--threshold", "0.1",
                                      "--format", "csv,jsonl,parquet,html", "--top", "3"])
    assert result.exit_code == 0, result.output + repr(result.exception)
    return out, result.output
