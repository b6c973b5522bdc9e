"""Issue 29 item 9: pathological and long text is bounded per parse and per batch.

The bounds are checked by what the embedder is given (rows, padded lengths, cells), not by
timing; ``scripts/bench_long.py`` measures the time and memory."""

from __future__ import annotations

import numpy as np

from pipeline.stages.embedder import MAX_CELLS, Embedder, cell_batches, cells_batch_size


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


def test_the_shipped_embedders_batches_are_unchanged_by_the_cell_bound():
    # MiniLM's 256 tokens: the token budget (8,192) already keeps a batch within MAX_CELLS
    emb = _fake_embedder(max_seq_length=256)
    texts = [" ".join(["w"] * n) for n in range(1, 300, 3)]
    emb.encode(texts)
    from pipeline.nli.model import length_batches

    lengths = [min(256, n) for n in range(1, 300, 3)]
    assert [r for r, _ in emb.session.shapes] == [len(b) for b in length_batches(lengths, 64, 8192)]
    assert cells_batch_size(64, 256, MAX_CELLS) == 64  # torch: 64 rows of 256 tokens as before
    assert cells_batch_size(64, 1024, MAX_CELLS) == 4 and cells_batch_size(64, 4096, MAX_CELLS) == 1
    batches = cell_batches([[0, 1, 2, 3]], [100, 200, 300, 600], 2 * 300 * 300)
    assert batches == [[0, 1], [2], [3]]
