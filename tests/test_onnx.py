"""ONNX export: a tiny random BERT exported to int8 and fp32 gives the torch backend's
probabilities through ``NLIModel(..., backend="onnx")``. No trained model, no ../shared."""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path

import numpy as np
import pytest

from conftest import build_tiny_model, write_vocab

# a marker, not a module-level skip: the other tests run without onnx
needs_onnx = pytest.mark.skipif(find_spec("onnx") is None or find_spec("onnxruntime") is None,
                                reason="onnx and onnxruntime are not installed")

PAIRS = [
    ("The minister said talks were ongoing at all levels.",
     "All military cooperation has been suspended."),
    ("Turnout in the election was 61 percent.", "Turnout was well under 50 percent."),
    ("The factory will stay open.", "The plant is not closing."),
    ("A man is playing a guitar on stage.", "A woman is reading a book in a library."),
    ("It rained.", "It did not rain."),
    ("Vaccine doses: 3 million, said the ministry.", "The ministry said 2 million doses."),
]


def _both(folder: Path):
    from pipeline.nli.model import NLIModel

    ref = NLIModel(str(folder), backend="torch", device="cpu", max_length=64).predict(PAIRS)
    got = NLIModel(str(folder), backend="onnx", max_length=64).predict(PAIRS)
    return ref, got


@needs_onnx
def test_export_int8_matches_torch(spelling_model):
    from pipeline.nli.model import ONNX_FILE
    from pipeline.nli.export import export

    path = export(str(spelling_model), quantize=True)
    assert path == spelling_model / ONNX_FILE and path.is_file()
    ref, got = _both(spelling_model)
    assert got.shape == ref.shape == (len(PAIRS), 3)
    np.testing.assert_allclose(got.sum(axis=1), 1.0, atol=1e-5)
    assert np.abs(got - ref).max() < 0.1
    # argmax may only differ on near-ties
    margin = np.sort(ref, axis=1)[:, -1] - np.sort(ref, axis=1)[:, -2]
    flips = (got.argmax(1) != ref.argmax(1)) & (margin > 0.1)
    assert not flips.any(), (ref, got)


@needs_onnx
def test_export_fp32_allclose(spelling_model):
    from pipeline.nli.export import export

    export(str(spelling_model), quantize=False)
    ref, got = _both(spelling_model)
    np.testing.assert_allclose(got, ref, atol=1e-4)
    assert (got.argmax(1) == ref.argmax(1)).all()


@needs_onnx
def test_int8_is_batch_dependent_and_one_pair_at_a_time_depends_on_the_pair_alone(spelling_model):
    """The int8 export quantises activations per batch; batch_size=1 scores each pair alone,
    so its scores are the same whatever else is scored in the call (the pipeline's confirm
    pass relies on this)."""
    from pipeline.nli.model import NLIModel
    from pipeline.nli.export import export

    export(str(spelling_model), quantize=True)
    m = NLIModel(str(spelling_model), backend="onnx", batch_size=8)
    assert m.batch_dependent and m.backend_name == "onnx-int8"
    alone = np.vstack([m.predict([p], batch_size=1) for p in PAIRS])
    together = m.predict(PAIRS, batch_size=1)
    np.testing.assert_array_equal(alone, together)
    ab, ba = m.predict_both(PAIRS[1:] + PAIRS[:1], batch_size=1)
    np.testing.assert_array_equal(ab[-1], alone[0])
    np.testing.assert_array_equal(ba[-1], m.predict([PAIRS[0][::-1]], batch_size=1)[0])
    assert not NLIModel(str(spelling_model), backend="torch", device="cpu").batch_dependent
    export(str(spelling_model), quantize=False)
    assert not NLIModel(str(spelling_model), backend="onnx").batch_dependent


@needs_onnx
def test_onnx_batch_shapes(spelling_model):
    """Dynamic axes: one pair, and a batch of pairs of different lengths."""
    from pipeline.nli.model import NLIModel
    from pipeline.nli.export import export

    export(str(spelling_model), quantize=False)
    m = NLIModel(str(spelling_model), backend="onnx", batch_size=4)
    one = m.predict(PAIRS[:1])
    many = m.predict(PAIRS)
    np.testing.assert_allclose(one[0], many[0], atol=1e-5)


@needs_onnx
def test_export_bad_folder(tmp_path):
    from pipeline.errors import ModelError
    from pipeline.nli.export import export

    with pytest.raises(ModelError, match="no config.json"):
        export(str(tmp_path))


# ------------------------------------------------------------------ exports tied to weights
def _resave_weights(folder: Path, seed: int) -> None:
    """New random weights in the same folder: what a retrained model looks like."""
    import torch
    from transformers import BertForSequenceClassification

    model = BertForSequenceClassification.from_pretrained(folder)
    torch.manual_seed(seed)
    for p in model.parameters():
        torch.nn.init.normal_(p, std=0.5)
    model.save_pretrained(folder)


@needs_onnx
def test_export_metadata_holds_the_weights_hash(tmp_path):
    from pipeline import onnx_cache
    from pipeline.nli.export import export

    folder = build_tiny_model(tmp_path / "m", spelling=True)
    path = export(str(folder))
    meta = onnx_cache.read_meta(path)
    assert meta["weights_sha256"] == onnx_cache.sha256_file(folder / "model.safetensors")
    assert meta["quantization"].startswith("int8") and meta["check"]["n"] == 4
    assert onnx_cache.export_status(path, folder) == onnx_cache.ExportStatus("valid", path, "", meta)


@needs_onnx
def test_missing_export(tmp_path, monkeypatch):
    from pipeline import onnx_cache
    from pipeline.errors import ModelError
    from pipeline.nli.model import ONNX_FILE, NLIModel, cached_onnx_path

    monkeypatch.setenv("CONTRADICT_CACHE", str(tmp_path / "cache"))
    folder = build_tiny_model(tmp_path / "m", spelling=True)
    assert not (folder / ONNX_FILE).exists()
    # no build: auto falls back to torch and says why; onnx is refused with the fix
    m = NLIModel(str(folder), backend="auto", device="cpu", build_onnx=False)
    assert m.backend == "torch" and m.backend_name == "torch-fp32"
    assert "missing" in m.describe()["backend_reason"]
    with pytest.raises(ModelError, match="export-onnx"):
        NLIModel(str(folder), backend="onnx", build_onnx=False)
    # the default: built on first use, in the cache (never in the model folder), then used
    m = NLIModel(str(folder), device="cpu")
    assert m.backend_setting == "auto" and m.backend_name == "onnx-int8"
    assert not (folder / ONNX_FILE).exists() and cached_onnx_path(folder).is_file()
    assert str(tmp_path / "cache" / "nli") in m.backend_reason
    assert m.describe()["onnx"]["weights_sha256"] == onnx_cache.sha256_file(folder / "model.safetensors")
    ref = NLIModel(str(folder), backend="torch", device="cpu").predict(PAIRS)
    assert np.abs(m.predict(PAIRS) - ref).max() < 0.1


@needs_onnx
def test_stale_export_is_refused_or_rebuilt(tmp_path, monkeypatch):
    from pipeline import onnx_cache
    from pipeline.errors import ModelError
    from pipeline.nli.export import export
    from pipeline.nli.model import ONNX_FILE, NLIModel, cached_onnx_path

    monkeypatch.setenv("CONTRADICT_CACHE", str(tmp_path / "cache"))
    folder = build_tiny_model(tmp_path / "m", spelling=True)
    export(str(folder))
    old = onnx_cache.read_meta(folder / ONNX_FILE)["weights_sha256"]
    _resave_weights(folder, seed=7)
    assert onnx_cache.export_status(folder / ONNX_FILE, folder).state == "stale"
    with pytest.raises(ModelError, match=r"stale.*fix: contradict export-onnx"):
        NLIModel(str(folder), backend="onnx", build_onnx=False)
    m = NLIModel(str(folder), backend="auto", device="cpu", build_onnx=False)
    assert m.backend == "torch" and "stale" in m.backend_reason
    # rebuilt on first use, in the cache: the new metadata matches the new weights, and so do
    # the scores; the stale file beside the weights is left as it was
    m = NLIModel(str(folder), backend="auto", device="cpu")
    assert m.backend == "onnx"
    assert onnx_cache.read_meta(folder / ONNX_FILE)["weights_sha256"] == old
    new = onnx_cache.read_meta(cached_onnx_path(folder))["weights_sha256"]
    assert new != old and new == onnx_cache.sha256_file(folder / "model.safetensors")
    ref = NLIModel(str(folder), backend="torch", device="cpu").predict(PAIRS)
    assert np.abs(m.predict(PAIRS) - ref).max() < 0.1


@needs_onnx
def test_the_auto_backend_never_writes_into_the_model_folder(tmp_path, monkeypatch):
    """Issue 29: the export built on first use goes to the cache; a read-only model folder
    (a shared or system-wide install) works, and is left as it was."""
    import os
    import stat

    from pipeline.nli.model import NLIModel, cached_onnx_path

    monkeypatch.setenv("CONTRADICT_CACHE", str(tmp_path / "cache"))
    folder = build_tiny_model(tmp_path / "m", spelling=True)
    before = sorted(p.name for p in folder.iterdir())
    os.chmod(folder, stat.S_IRUSR | stat.S_IXUSR)
    try:
        m = NLIModel(str(folder), device="cpu")
        assert m.backend_name == "onnx-int8"
        assert sorted(p.name for p in folder.iterdir()) == before
        assert cached_onnx_path(folder).is_file() and str(m.onnx_path) == str(cached_onnx_path(folder))
        # found there the next time, not built again
        again = NLIModel(str(folder), device="cpu", build_onnx=False)
        assert again.backend_name == "onnx-int8"
    finally:
        os.chmod(folder, stat.S_IRWXU)


@needs_onnx
def test_export_without_metadata_counts_as_missing(tmp_path):
    from pipeline import onnx_cache
    from pipeline.nli.export import export
    from pipeline.nli.model import ONNX_FILE

    folder = build_tiny_model(tmp_path / "m", spelling=True)
    export(str(folder))
    onnx_cache.meta_path(folder / ONNX_FILE).unlink()
    assert onnx_cache.export_status(folder / ONNX_FILE, folder).state == "missing"


def test_probabilities_is_the_one_place_for_every_backend(spelling_model, monkeypatch):
    """A temperature put into NLIModel.probabilities reaches predict() on torch and onnx."""
    from pipeline.nli import model as nli

    backends = ["torch"] + (["onnx"] if find_spec("onnxruntime") and find_spec("onnx") else [])
    plain = {b: nli.NLIModel(str(spelling_model), backend=b, device="cpu").predict(PAIRS) for b in backends}
    orig = nli.NLIModel.probabilities
    monkeypatch.setattr(nli.NLIModel, "probabilities", lambda self, lg: orig(self, lg / 100.0))
    for b in backends:
        hot = nli.NLIModel(str(spelling_model), backend=b, device="cpu").predict(PAIRS)
        assert np.abs(hot - 1 / 3).max() < 0.05 < np.abs(plain[b] - 1 / 3).max()


def test_backend_setting_is_validated():
    from pipeline.config import load_run_config
    from pipeline.errors import ConfigError

    assert load_run_config().score.backend == "auto" and load_run_config().topics.backend == "auto"
    with pytest.raises(ConfigError, match="auto, torch, onnx"):
        load_run_config(None, ["score.backend=int8"])


# ------------------------------------------------------------------ sentence embedder
def make_tiny_sentence_model(folder: Path, seed: int = 3) -> Path:
    """A random 2-layer BERT (hidden 32) as a sentence-transformers folder: Transformer ->
    mean Pooling -> Normalize, like all-MiniLM-L6-v2."""
    import torch
    from sentence_transformers import SentenceTransformer
    try:
        from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer
    except ImportError:  # sentence-transformers < 6
        from sentence_transformers.models import Normalize, Pooling, Transformer
    from transformers import BertConfig, BertModel, BertTokenizerFast

    hf = Path(folder).with_name(Path(folder).name + "-hf")
    hf.mkdir(parents=True, exist_ok=True)
    vocab = write_vocab(hf / "vocab.txt", spelling=True)
    BertTokenizerFast(vocab_file=str(vocab), do_lower_case=True).save_pretrained(hf)
    torch.manual_seed(seed)
    BertModel(BertConfig(vocab_size=len(vocab.read_text(encoding="utf-8").splitlines()),
                         hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                         intermediate_size=64, max_position_embeddings=128)).save_pretrained(hf)
    t = Transformer(str(hf), max_seq_length=64)
    st = SentenceTransformer(modules=[t, Pooling(32, pooling_mode="mean"), Normalize()], device="cpu")
    st.save(str(folder))
    return Path(folder)


SENTENCES = ["The minister said talks were ongoing.", "It rained.", "The plant is not closing.",
             "Turnout was 61 percent, the ministry said on Monday.", "a"]


@needs_onnx
def test_embedder_onnx_matches_torch_and_tracks_weights(tmp_path):
    from pipeline import onnx_cache
    from pipeline.errors import ModelError
    from pipeline.stages.embedder import Embedder, export_dir

    folder = make_tiny_sentence_model(tmp_path / "st")
    cache = str(tmp_path / "cache")
    ref = Embedder(str(folder), backend="torch")
    assert ref.dim == 32
    with pytest.raises(ModelError, match="missing"):
        Embedder(str(folder), backend="onnx", build_onnx=False, cache=cache)
    e = Embedder(str(folder), cache=cache)  # auto: built on first use, in the cache folder
    assert e.backend == "onnx" and e.dim == 32 and e.backend_name.startswith("onnx-")
    onnx_file = export_dir(folder, cache) / "model.onnx"
    assert onnx_file.is_file() and str(onnx_file).startswith(cache)
    assert e.describe()["onnx"]["check"]["min_cosine"] >= 0.99
    a, b = e.encode(SENTENCES), ref.encode(SENTENCES)
    assert a.shape == b.shape == (len(SENTENCES), 32)
    np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
    assert np.sum(a * b, axis=1).min() >= 0.98
    # one at a time equals batched (padding does not leak into the mean; int8 activation
    # scales are per batch, hence the tolerance)
    np.testing.assert_allclose(e.encode(SENTENCES[:1])[0], a[0], atol=1e-3)
    assert e.encode([]).shape == (0, 32)
    # int8: batch-dependent; batch_size=1 gives each text a vector that depends on it alone
    assert e.batch_dependent == ("int8" in e.backend_name) and not ref.batch_dependent
    alone = np.vstack([e.encode([t], batch_size=1) for t in SENTENCES])
    np.testing.assert_array_equal(e.encode(SENTENCES[::-1], batch_size=1), alone[::-1])
    # new weights: the old export is stale; auto without building stays on torch
    import torch
    from transformers import BertModel

    hf = BertModel.from_pretrained(folder)
    torch.manual_seed(11)
    for p in hf.parameters():
        torch.nn.init.normal_(p, std=0.3)
    hf.save_pretrained(folder)
    meta = onnx_cache.read_meta(onnx_file)
    assert meta["weights_sha256"] != onnx_cache.sha256_file(folder / "model.safetensors")
    t = Embedder(str(folder), cache=cache, build_onnx=False)
    assert t.backend == "torch" and "missing" in t.backend_reason
    e2 = Embedder(str(folder), cache=cache)
    assert e2.backend == "onnx"
    assert np.sum(e2.encode(SENTENCES) * t.encode(SENTENCES), axis=1).min() >= 0.98


@needs_onnx
def test_embedder_batches_keep_to_the_token_budget(tmp_path):
    """Batches of long texts are cut at ``token_budget`` padded tokens (the attention buffers
    of 64 texts of 256 tokens were the run's peak RSS); short texts keep full batches."""
    from pipeline.stages.embedder import Embedder

    folder = make_tiny_sentence_model(tmp_path / "st")
    e = Embedder(str(folder), cache=str(tmp_path / "cache"), batch_size=8, token_budget=64)
    assert e.backend == "onnx"
    shapes = []
    run = e.session.run
    e.session = type("S", (), {"run": lambda self, out, feeds: shapes.append(feeds["input_ids"].shape)
                               or run(out, feeds)})()
    texts = ["a"] * 8 + [" ".join(["the minister said talks"] * 4)] * 6  # 3 and 18 tokens
    got = e.encode(texts)
    assert shapes[0] == (8, 3)  # the short ones: one full batch
    assert all(n * length <= 64 for n, length in shapes[1:]) and sum(n for n, _ in shapes) == 14
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


def test_embedder_other_pooling_stays_on_torch(tmp_path):
    import json

    from pipeline.stages.embedder import Embedder

    folder = make_tiny_sentence_model(tmp_path / "st")
    pool = folder / "1_Pooling" / "config.json"
    cfg = json.loads(pool.read_text())
    if "pooling_mode" in cfg:
        cfg["pooling_mode"] = "cls"
    else:
        cfg["pooling_mode_mean_tokens"], cfg["pooling_mode_cls_token"] = False, True
    pool.write_text(json.dumps(cfg))
    e = Embedder(str(folder), cache=str(tmp_path / "cache"))
    assert e.backend == "torch" and "pooling" in e.backend_reason


@needs_onnx
def test_an_export_renames_a_file_of_its_own_into_the_shared_cache(tmp_path, monkeypatch):
    """Two processes building one export in the cache never rename each other's half-written
    file: every temporary name holds the process id."""
    import os

    from pipeline.nli.export import export

    folder = build_tiny_model(tmp_path / "m", spelling=True)
    real, renamed = os.replace, []

    def replace(src, dst):
        renamed.append(str(src))
        return real(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    export(str(folder), target_dir=tmp_path / "cache")
    parts = [r for r in renamed if r.endswith(".part")]
    assert len(parts) == 2 and all(f".{os.getpid()}.part" in r for r in parts)
