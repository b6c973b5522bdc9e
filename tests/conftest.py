"""Shared fixtures: a tiny random BERT NLI model built in a temp folder, the shipped model."""

from __future__ import annotations

import csv
import os
import re
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


def build_tiny_model(folder: Path, id2label: dict[int, str] | None = None) -> Path:
    """A random 2-layer BERT sequence classifier with a small WordPiece vocab."""
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    id2label = id2label or {0: "entailment", 1: "neutral", 2: "contradiction"}
    folder.mkdir(parents=True, exist_ok=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", ",", "$", "'", '"'] + sorted(set(WORDS))
    vocab += [str(i) for i in range(10)]
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    tok = BertTokenizerFast(vocab_file=str(folder / "vocab.txt"), do_lower_case=True)
    cfg = BertConfig(
        vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=128, num_labels=len(id2label),
        id2label=id2label, label2id={v: k for k, v in id2label.items()},
    )
    import torch

    torch.manual_seed(0)
    model = BertForSequenceClassification(cfg)
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def write_corpus(path: Path, sentences: list[str], n: int = 6) -> Path:
    """A JSONL corpus of ``n`` documents, each three of ``sentences`` in turn (run-layer tests)."""
    import json

    with path.open("w", encoding="utf-8") as fh:
        for i in range(n):
            text = " ".join(sentences[(i + k) % len(sentences)] for k in range(3))
            fh.write(json.dumps({"id": f"doc{i:02d}", "text": text}) + "\n")
    return path


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
    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "model")


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
