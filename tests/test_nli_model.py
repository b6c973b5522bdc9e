"""Model tests on a tiny random BERT: loading, labels by name, batching = one-by-one."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import build_tiny_model
from pipeline.errors import ModelError
from pipeline.nli.model import LABELS, NLIModel, label_indices, length_batches

PAIRS = [
    ("talks are ongoing at all levels", "cooperation has been suspended"),
    ("the factory will stay open", "the factory will close"),
    ("turnout was 61 percent", "turnout was under 50 percent and the vote was rigged"),
    ("a man sleeps", "a man runs outside in the red and blue factory with all the workers"),
    ("doses arrived", "doses arrived"),
]


def test_loads_and_returns_probabilities(tiny_model):
    m = NLIModel(str(tiny_model))
    p = m.predict(PAIRS)
    assert p.shape == (len(PAIRS), 3)
    assert np.allclose(p.sum(axis=1), 1.0, atol=1e-5)
    assert m.predict([]).shape == (0, 3)


def test_labels_looked_up_by_name(tmp_path):
    # same weights, two label orders: the reported columns must follow the names
    import torch
    from transformers import AutoModelForSequenceClassification

    a = build_tiny_model(tmp_path / "a", {0: "entailment", 1: "neutral", 2: "contradiction"})
    b = tmp_path / "b"
    model = AutoModelForSequenceClassification.from_pretrained(a)
    # permute the classifier rows so that index 0 is contradiction
    perm = [2, 0, 1]
    with torch.no_grad():
        model.classifier.weight[:] = model.classifier.weight[perm].clone()
        model.classifier.bias[:] = model.classifier.bias[perm].clone()
    model.config.id2label = {0: "contradiction", 1: "entailment", 2: "neutral"}
    model.config.label2id = {v: k for k, v in model.config.id2label.items()}
    model.save_pretrained(b)
    from transformers import AutoTokenizer

    AutoTokenizer.from_pretrained(a).save_pretrained(b)
    pa = NLIModel(str(a)).predict(PAIRS)
    pb = NLIModel(str(b)).predict(PAIRS)
    assert np.allclose(pa, pb, atol=1e-5)
    assert LABELS[0] == "contradiction"


def test_missing_contradiction_label_is_an_error(tmp_path):
    bad = build_tiny_model(tmp_path / "bad", {0: "positive", 1: "negative", 2: "mixed"})
    with pytest.raises(ModelError, match="contradiction"):
        NLIModel(str(bad))
    with pytest.raises(ModelError):
        label_indices({0: "LABEL_0", 1: "LABEL_1"})


def test_batched_equals_one_by_one(tiny_model):
    # torch: exact up to float error (dynamic int8 scales activations per batch, ~1e-4)
    m = NLIModel(str(tiny_model), backend="torch", batch_size=2, token_budget=40)
    batched = m.predict(PAIRS)
    single = np.vstack([m.predict([p]) for p in PAIRS])
    assert np.allclose(batched, single, atol=1e-5)


def test_predict_both_directions(tiny_model):
    m = NLIModel(str(tiny_model), backend="torch")
    ab, ba = m.predict_both(PAIRS[:2])
    assert np.allclose(ab, m.predict(PAIRS[:2]), atol=1e-5)
    assert np.allclose(ba, m.predict([(h, p) for p, h in PAIRS[:2]]), atol=1e-5)


def test_length_batches_respect_budget():
    lengths = [5, 50, 7, 30, 8, 45, 6]
    batches = length_batches(lengths, batch_size=3, token_budget=60)
    # shortest first; a batch holds at most 3 and, padded to its longest, at most 60 tokens:
    # 8 and 30 fit two (2 * 30), 45 and 50 go alone (2 * 45 > 60)
    assert batches == [[0, 6, 2], [4, 3], [5], [1]]
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    # sorted by length: each batch's lengths do not overlap the next one's
    flat = [lengths[i] for b in batches for i in b]
    assert flat == sorted(flat)


def test_missing_model_path_is_a_clear_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError, match="config.json"):
        NLIModel(str(tmp_path / "empty"))
