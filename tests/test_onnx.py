"""ONNX export: a tiny random BERT exported to int8 and fp32 gives the torch backend's
probabilities through ``NLIModel(..., backend="onnx")``. No trained model, no ../shared."""

from __future__ import annotations

import string
from importlib.util import find_spec
from pathlib import Path

import numpy as np
import pytest

# a marker, not a module-level skip: test_ray imports make_tiny_model from here without onnx
needs_onnx = pytest.mark.skipif(find_spec("onnx") is None or find_spec("onnxruntime") is None,
                                reason="onnx and onnxruntime are not installed")

ID2LABEL = {0: "entailment", 1: "neutral", 2: "contradiction"}

WORDS = """the a an and or not no is are was were has had have will would said says told
that it its he she they we of to in on at by for with from as this there talks ongoing all
levels military cooperation suspended minister ministry official president government
election turnout percent vote count rigged factory plant closing open jobs workers union
vaccine doses rollout million billion aid years data rain rained did does yes man woman
playing guitar stage reading book library""".split()

PAIRS = [
    ("The minister said talks were ongoing at all levels.",
     "All military cooperation has been suspended."),
    ("Turnout in the election was 61 percent.", "Turnout was well under 50 percent."),
    ("The factory will stay open.", "The plant is not closing."),
    ("A man is playing a guitar on stage.", "A woman is reading a book in a library."),
    ("It rained.", "It did not rain."),
    ("Vaccine doses: 3 million, said the ministry.", "The ministry said 2 million doses."),
]


def write_vocab(path: Path) -> Path:
    """A small WordPiece vocab that can spell any lowercase ASCII text."""
    chars = list(string.ascii_lowercase + string.digits + string.punctuation)
    toks = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + WORDS + chars + ["##" + c for c in chars]
    seen, vocab = set(), []
    for t in toks:
        if t not in seen:
            seen.add(t)
            vocab.append(t)
    path.write_text("\n".join(vocab) + "\n", encoding="utf-8")
    return path


def make_tiny_model(folder: Path, seed: int = 1) -> Path:
    """A random 2-layer BERT NLI classifier (hidden 32) saved in Hugging Face format."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    vocab = write_vocab(folder / "vocab.txt")
    tok = BertTokenizerFast(vocab_file=str(vocab), do_lower_case=True)
    cfg = BertConfig(
        vocab_size=len(vocab.read_text(encoding="utf-8").splitlines()), hidden_size=32,
        num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
        max_position_embeddings=512, num_labels=3, id2label=dict(ID2LABEL),
        initializer_range=0.5,  # large weights: outputs depend on the input, not just [CLS]
        label2id={v: k for k, v in ID2LABEL.items()},
    )
    torch.manual_seed(seed)
    model = BertForSequenceClassification(cfg)
    model.eval()
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    return make_tiny_model(tmp_path_factory.mktemp("tiny-nli"))


def _both(folder: Path):
    from pipeline.nli.model import NLIModel

    ref = NLIModel(str(folder), backend="torch", device="cpu", max_length=64).predict(PAIRS)
    got = NLIModel(str(folder), backend="onnx", max_length=64).predict(PAIRS)
    return ref, got


@needs_onnx
def test_export_int8_matches_torch(tiny_model):
    from pipeline.nli.model import ONNX_FILE
    from pipeline.nli.export import export

    path = export(str(tiny_model), quantize=True)
    assert path == tiny_model / ONNX_FILE and path.is_file()
    ref, got = _both(tiny_model)
    assert got.shape == ref.shape == (len(PAIRS), 3)
    np.testing.assert_allclose(got.sum(axis=1), 1.0, atol=1e-5)
    assert np.abs(got - ref).max() < 0.1
    # argmax may only differ on near-ties
    margin = np.sort(ref, axis=1)[:, -1] - np.sort(ref, axis=1)[:, -2]
    flips = (got.argmax(1) != ref.argmax(1)) & (margin > 0.1)
    assert not flips.any(), (ref, got)


@needs_onnx
def test_export_fp32_allclose(tiny_model):
    from pipeline.nli.export import export

    export(str(tiny_model), quantize=False)
    ref, got = _both(tiny_model)
    np.testing.assert_allclose(got, ref, atol=1e-4)
    assert (got.argmax(1) == ref.argmax(1)).all()


@needs_onnx
def test_onnx_batch_shapes(tiny_model):
    """Dynamic axes: one pair, and a batch of pairs of different lengths."""
    from pipeline.nli.model import NLIModel
    from pipeline.nli.export import export

    export(str(tiny_model), quantize=False)
    m = NLIModel(str(tiny_model), backend="onnx", batch_size=4)
    one = m.predict(PAIRS[:1])
    many = m.predict(PAIRS)
    np.testing.assert_allclose(one[0], many[0], atol=1e-5)


@needs_onnx
def test_export_bad_folder(tmp_path):
    from pipeline.errors import ModelError
    from pipeline.nli.export import export

    with pytest.raises(ModelError, match="no config.json"):
        export(str(tmp_path))
