"""The sentence embedder (all-MiniLM-L6-v2 by default), on torch or ONNX Runtime.

``Embedder(path, backend="auto")`` returns L2-normalised sentence embeddings, shape
``(n, dim)`` with ``dim`` read from the model. Backends:

* ``torch``: sentence-transformers' ``encode`` (mean pooling, normalisation);
* ``onnx``: the transformer as an ONNX graph (dynamic int8 on MatMul, the first layer kept in
  fp32 when full int8 does not agree with torch, fp32 when neither does), mean pooling over the attention mask and L2 normalisation in numpy;
* ``auto`` (default): onnx when a valid export is in the cache and onnxruntime imports, else
  torch. A missing or stale export is built on first use (``build_onnx``).

The export lives in a writable cache folder, never in site-packages:
``<cache>/embedder/<model folder name>-<sha256[:16] of its weights>/model.onnx`` with
``model.onnx.json`` beside it (weights sha256, quantisation, the agreement check). At export
time the ONNX embeddings are compared with torch's on ``SAMPLE_SENTENCES``: the lowest cosine
must be at least ``MIN_COSINE`` (0.99), tried in order: int8 per-channel, int8 with the first
layer in fp32, int8 per-tensor, fp32; when none passes, the export fails and ``auto`` stays on torch and logs why.

Only models whose sentence-transformers layout is Transformer -> mean Pooling ->
(Normalize) can take the onnx path; any other layout stays on torch.
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import tempfile
import threading
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from pipeline import onnx_cache
from pipeline.onnx_cache import cache_root
from pipeline.errors import ModelError
from pipeline.threads import apply_torch_threads, ort_session_options, resolve_threads

log = logging.getLogger(__name__)

ONNX_NAME = "model.onnx"
# the attention cost of one batch: rows x padded length x padded length (each head's score
# matrix holds that many floats): 16 rows of 256 tokens. Batches padded to 128 tokens or less
# (64 rows; the token budget keeps rows x length within 8,192) are unchanged; longer ones get
# fewer rows (113 claims of 216 tokens: 22 rows a batch instead of 37, embedding peak RSS
# 1,380 -> 1,247 MB), and a long-context model's texts are cut at sqrt(MAX_CELLS) (1,024)
# tokens, so that a batch of very long claims cannot take gigabytes (issue 29 item 9).
MAX_CELLS = 16 * 256 * 256
MIN_COSINE = 0.99
SAMPLE_SENTENCES = [
    "The minister said talks were ongoing at all levels.",
    "All military and intelligence cooperation has been suspended.",
    "Turnout in the election was 61 percent, the commission said.",
    "Turnout was well under 50 percent.",
    "The factory will stay open, the union was told on Monday.",
    "The plant is closing and 1,200 workers will lose their jobs.",
    "A man is playing a guitar on stage.",
    "Officials denied that any vaccine doses had been wasted.",
    "It rained.",
    "According to the ministry, 3 million doses were delivered by the end of March, "
    "well ahead of the schedule agreed with the manufacturer last year.",
]


def st_layout(folder: Path) -> dict:
    """What the onnx path needs from a sentence-transformers folder: mean pooling, whether it
    normalises, its max_seq_length and embedding size. ``{"ok": False, "why": ...}`` when
    the layout is not Transformer -> mean Pooling -> (Normalize)."""
    folder = Path(folder)
    modules_file = folder / "modules.json"
    if not modules_file.is_file():
        return {"ok": False, "why": f"no modules.json in {folder}"}
    modules = json.loads(modules_file.read_text(encoding="utf-8"))
    kinds = [m.get("type", "").rsplit(".", 1)[-1] for m in modules]
    if kinds[:2] != ["Transformer", "Pooling"] or any(k not in ("Normalize",) for k in kinds[2:]):
        return {"ok": False, "why": f"module layout {kinds} (onnx needs Transformer, Pooling[, Normalize])"}
    pool_dir = folder / modules[1].get("path", "1_Pooling")
    pool = json.loads((pool_dir / "config.json").read_text(encoding="utf-8"))
    if "pooling_mode" in pool:  # sentence-transformers >= 5: "mean" or ["mean"]
        mode = pool["pooling_mode"]
        modes = [mode] if isinstance(mode, str) else list(mode)
        mean = modes == ["mean"]
    else:  # older: one boolean per mode
        modes = [k for k, v in pool.items() if k.startswith("pooling_mode") and v]
        mean = modes == ["pooling_mode_mean_tokens"]
    if not mean:
        return {"ok": False, "why": f"pooling {modes} (onnx path does mean pooling only)"}
    cfg = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    sbert = folder / "sentence_bert_config.json"
    max_len = 0
    if sbert.is_file():
        max_len = int(json.loads(sbert.read_text(encoding="utf-8")).get("max_seq_length") or 0)
    max_len = max_len or min(256, int(cfg.get("max_position_embeddings") or 256))
    dim = int(pool.get("word_embedding_dimension") or pool.get("embedding_dimension")
              or cfg.get("hidden_size"))
    return {"ok": True, "normalize": "Normalize" in kinds, "max_seq_length": max_len, "dim": dim}


def export_dir(model_folder: Path, cache: str = "") -> Path:
    """The export folder for this model's current weights (hash in the name)."""
    w = onnx_cache.weights_file(model_folder)
    tag = onnx_cache.sha256_file(w)[:16] if w else "noweights"
    return cache_root(cache) / "embedder" / f"{Path(model_folder).resolve().name}-{tag}"


def mean_pool_normalize(hidden: np.ndarray, mask: np.ndarray, normalize: bool = True) -> np.ndarray:
    """Mean of the token vectors under the attention mask, then L2 normalisation."""
    m = mask.astype(np.float32)[:, :, None]
    summed = (hidden.astype(np.float32) * m).sum(axis=1)
    counts = np.clip(m.sum(axis=1), 1e-9, None)
    emb = summed / counts
    if normalize:
        emb = emb / np.clip(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12, None)
    return emb.astype(np.float32)


# ------------------------------------------------------------------------------ export
def export_embedder(model_folder: str | Path, cache: str = "", opset: int = 17) -> Path:
    """Export the sentence embedder in ``model_folder`` to ONNX in the cache folder.

    int8 (per-channel, then per-tensor) is kept when its embeddings agree with torch's
    (lowest cosine >= MIN_COSINE on SAMPLE_SENTENCES), else fp32 when that agrees.

    Returns:
        the path of the export (``model.onnx``), with ``model.onnx.json`` beside it.

    Raises:
        ModelError: the folder has no weights or an unsupported layout, the export fails, or
            no variant agrees with torch.
    """
    import torch
    from sentence_transformers import SentenceTransformer
    from transformers import AutoModel, AutoTokenizer

    folder = Path(model_folder).expanduser()
    layout = st_layout(folder)
    if not layout["ok"]:
        raise ModelError(f"cannot export the embedder in {folder}: {layout['why']}")
    wfile = onnx_cache.weights_file(folder)
    if wfile is None:
        raise ModelError(f"no weights file in {folder}", expected=" or ".join(onnx_cache.WEIGHT_FILES))
    digest = onnx_cache.sha256_file(wfile)
    target_dir = export_dir(folder, cache)
    try:
        target_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ModelError(f"the embedder cache folder {target_dir} is not writable: {exc}",
                         fix="set topics.onnx_cache or CONTRADICT_CACHE to a writable folder") from exc

    st = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
    ref = st.encode(SAMPLE_SENTENCES, convert_to_numpy=True, normalize_embeddings=True,
                    show_progress_bar=False)
    tok = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    hf = AutoModel.from_pretrained(str(folder), dtype=torch.float32, local_files_only=True).eval()
    enc = tok(SAMPLE_SENTENCES[:2], padding=True, truncation=True,
              max_length=layout["max_seq_length"], return_tensors="pt")
    names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in enc]

    class Hidden(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = hf

        def forward(self, *args):
            return self.model(**dict(zip(names, args))).last_hidden_state

    tmp = Path(tempfile.mkdtemp(prefix="embedder-export-"))
    try:
        fp32 = tmp / "model.fp32.onnx"
        axes = {n: {0: "batch", 1: "sequence"} for n in names}
        axes["last_hidden_state"] = {0: "batch", 1: "sequence"}
        try:
            with warnings.catch_warnings(), torch.no_grad():
                warnings.simplefilter("ignore")
                torch.onnx.export(Hidden().eval(), tuple(enc[n] for n in names), str(fp32),
                                  input_names=names, output_names=["last_hidden_state"],
                                  dynamic_axes=axes, opset_version=opset,
                                  do_constant_folding=True, dynamo=False)
        except Exception as exc:
            raise ModelError(f"torch.onnx.export failed for the embedder {folder}: "
                             f"{type(exc).__name__}: {exc}") from exc
        import onnx

        first_layer = tuple(n.name for n in onnx.load(str(fp32)).graph.node
                            if n.op_type == "MatMul" and "layer.0/" in n.name)
        variants = [("int8-per-channel", True, ())]
        if first_layer:
            # all-MiniLM-L6-v2: int8 everywhere gives a lowest cosine of 0.988; keeping the
            # first layer in fp32 gives 0.994 with 5 of 6 layers still int8
            variants.append(("int8-per-channel-fp32-layer0", True, first_layer))
        variants += [("int8-per-tensor", False, ()), ("fp32", False, ())]
        tries: list[tuple[str, float]] = []
        chosen: tuple[Path, str, float] | None = None
        for variant, per_channel, exclude in variants:
            path = tmp / f"{variant}.onnx"
            if variant == "fp32":
                onnx.save_model(onnx.load(str(fp32)), str(path))
            else:
                try:
                    onnx_cache.quantize(fp32, path, per_channel=per_channel, exclude=exclude)
                except Exception as exc:  # fp32 is still worth a try
                    log.warning("embedder %s quantisation failed: %s", variant, exc)
                    tries.append((variant, float("nan")))
                    continue
            got = _encode_with(path, tok, SAMPLE_SENTENCES, layout)
            cos = float(np.min(np.sum(got * ref, axis=1)))
            tries.append((variant, round(cos, 5)))
            log.info("embedder export %s: lowest cosine to torch %.5f", variant, cos)
            if cos >= MIN_COSINE:
                chosen = (path, variant, cos)
                break
        if chosen is None:
            raise ModelError("no ONNX export of the embedder agrees with torch",
                             expected=f"lowest cosine >= {MIN_COSINE} on {len(SAMPLE_SENTENCES)} sentences",
                             found=tries, fix="use topics.backend=torch")
        path, variant, cos = chosen
        target = target_dir / ONNX_NAME
        part = target.with_name(target.name + ".part")
        shutil.copyfile(path, part)
        onnx_cache.meta_path(target).unlink(missing_ok=True)
        os.replace(part, target)
        onnx_cache.write_meta(target, {
            "kind": "sentence-embedder", "model_folder": str(folder.resolve()),
            "weights_file": wfile.name, "weights_sha256": digest, "quantization": variant,
            "check": {"sentences": len(SAMPLE_SENTENCES), "min_cosine": round(cos, 5),
                      "tried": tries, "threshold": MIN_COSINE},
            "dim": layout["dim"], "max_seq_length": layout["max_seq_length"], "opset": opset,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        })
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    log.info("wrote %s (%s, lowest cosine %.4f)", target, variant, cos)
    return target


def _encode_with(path: Path, tok, texts: list[str], layout: dict) -> np.ndarray:
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), ort_session_options(0),
                                providers=["CPUExecutionProvider"])
    inputs = {i.name for i in sess.get_inputs()}
    enc = tok(texts, padding=True, truncation=True, max_length=layout["max_seq_length"],
              return_tensors="np")
    hidden = sess.run(None, {k: v.astype(np.int64) for k, v in enc.items() if k in inputs})[0]
    return mean_pool_normalize(hidden, enc["attention_mask"], layout["normalize"])


def cells_batch_size(batch_size: int, longest: int, max_cells: int) -> int:
    """The most rows, up to ``batch_size``, whose attention at ``longest`` tokens stays
    within ``max_cells`` (rows x longest x longest); at least 1."""
    if longest <= 0:
        return batch_size
    return max(1, min(batch_size, max_cells // (longest * longest)))


def cell_batches(batches: list[list[int]], lengths, max_cells: int) -> list[list[int]]:
    """``batches`` cut further so that none holds more than ``max_cells`` attention cells
    (rows x its longest length squared); order kept, a batch within the bound unchanged."""
    out: list[list[int]] = []
    for batch in batches:
        cur: list[int] = []
        longest = 0
        for i in batch:
            top = max(longest, lengths[i])
            if cur and (len(cur) + 1) * top * top > max_cells:
                out.append(cur)
                cur, top = [], lengths[i]
            cur.append(i)
            longest = top
        if cur:
            out.append(cur)
    return out


# ------------------------------------------------------------------------------ model
class Embedder:
    """Sentence embeddings on torch or ONNX Runtime (see the module docstring).

    Example:
        >>> e = Embedder(minilm_path())                 # doctest: +SKIP
        >>> e.encode(["It rained."]).shape, e.backend_name  # doctest: +SKIP
        ((1, 384), 'onnx-int8-per-channel')
    """

    def __init__(self, path: str, *, backend: str = "auto", threads: int = 0,
                 build_onnx: bool = True, cache: str = "", batch_size: int = 64,
                 token_budget: int = 8192, max_cells: int = MAX_CELLS) -> None:
        self.path = str(path)
        self.max_cells = max_cells
        self.backend_setting = backend
        self.threads = resolve_threads(threads)
        self.batch_size = batch_size
        self.token_budget = token_budget
        self.cache = cache
        self.onnx_meta: dict | None = None
        self._lock = threading.Lock()
        folder = Path(self.path)
        self.layout: dict[str, Any] = (st_layout(folder) if folder.is_dir()
                                       else {"ok": False, "why": "not a folder"})
        self.backend, self.backend_reason = self._choose(backend, build_onnx)
        if self.backend == "onnx":
            from transformers import AutoTokenizer

            self.tokenizer = AutoTokenizer.from_pretrained(self.path, local_files_only=True)
            self.session = __import__("onnxruntime").InferenceSession(
                str(self._onnx_path()), ort_session_options(self.threads),
                providers=["CPUExecutionProvider"])
            self._inputs = {i.name for i in self.session.get_inputs()}
            self.dim = int(self.layout["dim"])
        else:
            from sentence_transformers import SentenceTransformer

            apply_torch_threads(self.threads)
            self.model = SentenceTransformer(self.path, device="cpu", local_files_only=True)
            if (self.model.max_seq_length or 0) > math.isqrt(max_cells):
                self.model.max_seq_length = math.isqrt(max_cells)  # see MAX_CELLS
            get_dim = getattr(self.model, "get_embedding_dimension", None) or \
                self.model.get_sentence_embedding_dimension
            dim = get_dim()
            if dim is None:
                raise ModelError(f"the embedder {self.path} reports no embedding dimension",
                                 fix="check the model folder's sentence-transformers config")
            self.dim = int(dim)
        log.info("embedder %s: backend %s (%s; %d threads)", self.path, self.backend_name,
                 self.backend_reason, self.threads)

    def _onnx_path(self) -> Path:
        return export_dir(Path(self.path), self.cache) / ONNX_NAME

    def _choose(self, setting: str, build_onnx: bool) -> tuple[str, str]:
        if setting != "torch" and not self.layout["ok"]:
            if setting == "onnx":
                raise ModelError(f"the onnx backend cannot run the embedder {self.path}: "
                                 f"{self.layout['why']}", fix="set topics.backend=torch")
            return "torch", self.layout["why"]
        folder = Path(self.path)

        def status():
            st = onnx_cache.export_status(self._onnx_path(), folder)
            self.onnx_meta = st.meta
            return st

        return onnx_cache.choose_backend(
            setting, status, lambda: export_embedder(folder, self.cache),
            build_on_use=build_onnx, what=f"embedder {folder}",
            fix=f"set topics.backend=torch, or check that {cache_root(self.cache)} is writable",
            log=log)

    @property
    def backend_name(self) -> str:
        if self.backend == "torch":
            return "torch-fp32"
        return "onnx-" + str((self.onnx_meta or {}).get("quantization", "unknown"))

    def describe(self) -> dict:
        out = {"path": self.path, "backend": self.backend_name,
               "backend_setting": self.backend_setting, "backend_reason": self.backend_reason,
               "threads": self.threads, "dim": self.dim}
        if self.backend == "onnx" and self.onnx_meta:
            out["onnx"] = {"path": str(self._onnx_path()),
                           "weights_sha256": self.onnx_meta.get("weights_sha256"),
                           "check": self.onnx_meta.get("check")}
        return out

    @property
    def batch_dependent(self) -> bool:
        """Whether a text's embedding depends on the texts that share its batch: the int8
        export quantises activations per batch (cosines move by up to 0.05); fp32 does not."""
        return "int8" in self.backend_name

    def encode(self, texts: list[str], batch_size: int | None = None) -> np.ndarray:
        """L2-normalised embeddings, shape (len(texts), dim), float32. ``batch_size``
        overrides the embedder's (1: every text alone, its vector depends on nothing else).

        onnx: the texts sorted by token length, in batches of at most ``batch_size`` texts
        and ``token_budget`` padded tokens (only batches of long texts are cut short: the
        attention buffers grow with the square of the length). Both backends keep a batch
        within ``max_cells`` attention cells (``MAX_CELLS``)."""
        batch_size = batch_size or self.batch_size
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if self.backend == "torch":
            # sentence-transformers pads each batch to its longest text (at most max_seq_length)
            longest = max(len(ids) for ids in self.model.tokenizer(
                list(texts), truncation=True, max_length=self.model.max_seq_length)["input_ids"])
            batch_size = cells_batch_size(batch_size, longest, self.max_cells)
            with self._lock:
                emb = self.model.encode(list(texts), batch_size=batch_size,
                                        convert_to_numpy=True, normalize_embeddings=True,
                                        show_progress_bar=False)
            return np.asarray(emb, dtype=np.float32)
        max_len = min(int(self.layout["max_seq_length"]), math.isqrt(self.max_cells))
        from pipeline.nli.model import length_batches

        lengths = [len(ids) for ids in self.tokenizer(list(texts), truncation=True,
                                                      max_length=max_len)["input_ids"]]
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        with self._lock:
            for batch in cell_batches(length_batches(lengths, batch_size, self.token_budget),
                                      lengths, self.max_cells):
                idx = np.asarray(batch)
                enc = self.tokenizer([texts[j] for j in idx], padding=True, truncation=True,
                                     max_length=max_len, return_tensors="np")
                feeds = {k: v.astype(np.int64) for k, v in enc.items() if k in self._inputs}
                hidden = self.session.run(None, feeds)[0]
                out[idx] = mean_pool_normalize(hidden, enc["attention_mask"],
                                               normalize=True)
        return out
