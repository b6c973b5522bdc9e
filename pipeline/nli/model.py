"""NLI cross-encoder: load a model by name or path, score premise/hypothesis pairs.

Labels are always looked up by name in ``config.id2label``; a model without a
``contradiction`` label is refused. Pairs are sorted by length and packed into batches
under a token budget, so batched results equal one-by-one results (up to float error)
while padding stays small. Backends: ``torch`` (fp32), ``onnx`` (ONNX Runtime on the
dynamic-int8 export ``model.int8.onnx`` written by ``contradict export-onnx`` and ``make
install``) and ``auto`` (the default): onnx when the export beside the model is valid for
its weights (sha256 in ``model.int8.onnx.json``) and onnxruntime imports, torch otherwise.
A missing or stale export is built on first use (``build_onnx=True``); ``backend_name``
and ``describe()`` say what was chosen and why.

Logits become probabilities in one place, ``NLIModel.probabilities``, for every backend.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Sequence
from typing import Any

import numpy as np

from pipeline import onnx_cache
from pipeline.errors import ModelError
from pipeline.onnx_cache import ONNX_FILE  # re-exported: callers name it from here too
from pipeline.types import LABELS  # column order of every probability array
from pipeline.threads import apply_torch_threads, ort_session_options, resolve_threads

log = logging.getLogger(__name__)



def label_indices(id2label: dict) -> dict[str, int]:
    """Map our label names to the model's output indices, by name.

    Raises ModelError if ``contradiction`` is missing; ``entailment``/``neutral`` missing is
    tolerated for 2-way models (their probability is then reported as 0).
    """
    found: dict[str, int] = {}
    for idx, name in (id2label or {}).items():
        key = str(name).strip().lower()
        for lab in LABELS:
            if key == lab or key.startswith(lab[:7]):
                found.setdefault(lab, int(idx))
    if "contradiction" not in found:
        raise ModelError(
            "the model has no 'contradiction' label in config.id2label",
            expected="id2label naming contradiction, entailment, neutral",
            found=dict(id2label or {}),
            fix="use an NLI model, or set id2label in its config.json",
        )
    return found


def _looks_like_a_path(name: str) -> bool:
    """A hub id is ``name`` or ``org/name``; anything else (absolute, ``./``, ``../``, ``~``,
    two or more slashes, a backslash) names a folder."""
    return (name.startswith(("/", "./", "../", "~")) or name in (".", "..")
            or name.count("/") > 1 or "\\" in name)


def resolve_model_path(name_or_path: str) -> str:
    """``name_or_path`` as a model folder (must hold config.json) or, when it does not look
    like a path, as a hub id; a missing folder is a ``ModelError`` naming the fix."""
    p = Path(name_or_path).expanduser()
    if p.exists():
        if not (p / "config.json").is_file():
            raise ModelError(f"{p} is not a Hugging Face model folder (no config.json)")
        return str(p)
    if _looks_like_a_path(name_or_path):
        raise ModelError(f"model folder not found: {p}",
                         fix="pass an existing model folder (with config.json), or a hub id "
                             "such as org/name")
    return name_or_path  # a hub id: loaded with local_files_only unless HF_HUB_OFFLINE=0


def check_model(name_or_path: str, backend: str = "torch") -> dict[str, int]:
    """Check a model before any work: its config loads and names a ``contradiction`` label,
    and for the onnx backend the exported file is there. Cheap: no weights are loaded.

    Returns the label indices (as ``label_indices``).

    Raises:
        ModelError: the folder or hub id cannot be loaded, has no contradiction label, or
            lacks ``model.int8.onnx`` for the onnx backend.
    """
    from transformers import AutoConfig

    path = resolve_model_path(name_or_path)
    local_only = os.environ.get("HF_HUB_OFFLINE", "1") != "0" and not Path(path).exists()
    try:
        config = AutoConfig.from_pretrained(path, local_files_only=local_only, trust_remote_code=False)
    except (OSError, ValueError) as exc:
        raise ModelError(
            f"cannot load model {name_or_path!r}: {exc}",
            fix="pass a local model folder, or set HF_HUB_OFFLINE=0 with network access",
        ) from exc
    found = label_indices(config.id2label)
    if backend == "onnx" and not any(p.is_file() for p in onnx_paths(Path(path))):
        raise ModelError(f"no {ONNX_FILE} in {path}", fix=f"run `contradict export-onnx {path}` first")
    return found


def cached_onnx_path(folder: Path) -> Path:
    """Where the auto/onnx backends build a missing or stale export of ``folder``'s weights:
    the cache (``$CONTRADICT_CACHE``, default ``~/.cache/contradict``), ``nli/<folder
    name>-<weights sha256[:16]>/model.int8.onnx``, never the model folder itself (it may be
    read-only, shared, or a checkout that should not change)."""
    w = onnx_cache.weights_file(Path(folder))
    tag = onnx_cache.sha256_file(w)[:16] if w else "noweights"
    return onnx_cache.cache_root() / "nli" / f"{Path(folder).resolve().name}-{tag}" / ONNX_FILE


def onnx_paths(folder: Path) -> list[Path]:
    """Where an export of ``folder`` may lie, in the order they are tried: beside the weights
    (``contradict export-onnx``, ``make install``), then the cache (built on first use)."""
    return [Path(folder) / ONNX_FILE, cached_onnx_path(folder)]


def export_status(folder: Path) -> onnx_cache.ExportStatus:
    """The status of the first valid export of ``folder`` (see ``onnx_paths``); without one,
    that of the export beside the weights when there is a file there, else the cache's."""
    beside, cached = onnx_paths(folder)
    st = onnx_cache.export_status(beside, folder)
    if st.valid or st.state == "no-weights":
        return st
    st2 = onnx_cache.export_status(cached, folder)
    return st2 if st2.valid or not beside.is_file() else st


def default_device(device: str = "auto") -> str:
    """``device``, or for ``auto`` ``cuda`` when torch sees a GPU, else ``cpu``."""
    if device != "auto":
        return device
    try:
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    except Exception:  # pragma: no cover
        return "cpu"


@dataclass
class _Batch:
    idx: list[int]
    premises: list[str]
    hypotheses: list[str]


def length_batches(
    lengths: Sequence[int], batch_size: int, token_budget: int
) -> list[list[int]]:
    """Indices sorted by length, cut into batches of at most ``batch_size`` pairs and at most
    ``token_budget`` padded tokens (longest pair times batch length)."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    batches: list[list[int]] = []
    cur: list[int] = []
    for i in order:
        longest = max(lengths[i], max((lengths[j] for j in cur), default=0))
        if cur and (len(cur) + 1 > batch_size or longest * (len(cur) + 1) > token_budget):
            batches.append(cur)
            cur = []
        cur.append(i)
    if cur:
        batches.append(cur)
    return batches


class NLIModel:
    """A sequence-pair classifier returning P(contradiction), P(entailment), P(neutral).

    Example:
        >>> m = NLIModel("models/nli-minilm-l6")          # doctest: +SKIP
        >>> m.predict([("It rained.", "It did not rain.")])  # doctest: +SKIP
        array([[0.97, 0.01, 0.02]], dtype=float32)
    """

    def __init__(
        self,
        name_or_path: str,
        *,
        backend: str = "auto",
        device: str = "auto",
        max_length: int = 256,
        batch_size: int = 32,
        token_budget: int = 8192,
        local_files_only: bool | None = None,
        threads: int = 0,
        build_onnx: bool = True,
    ) -> None:
        from transformers import AutoConfig, AutoTokenizer

        self.name_or_path = resolve_model_path(name_or_path)
        if local_files_only is None:
            local_files_only = os.environ.get("HF_HUB_OFFLINE", "1") != "0" and not Path(
                self.name_or_path
            ).exists()
        kw: dict[str, Any] = dict(local_files_only=bool(local_files_only), trust_remote_code=False)
        try:
            self.config = AutoConfig.from_pretrained(self.name_or_path, **kw)
            self.tokenizer = AutoTokenizer.from_pretrained(self.name_or_path, **kw)
        except OSError as exc:
            raise ModelError(
                f"cannot load model {name_or_path!r}: {exc}",
                fix="pass a local model folder, or set HF_HUB_OFFLINE=0 with network access",
            ) from exc
        self.label_index = label_indices(self.config.id2label)
        from pipeline.nli.calibrate import load_temperature

        # calibration.json beside the weights (written by `contradict train`); 1.0 without it
        self.temperature = load_temperature(self.name_or_path) if Path(self.name_or_path).exists() else 1.0
        self.backend_setting = backend
        # never more tokens than the model has positions for (a small model would crash)
        limits = [max_length, getattr(self.config, "max_position_embeddings", None),
                  getattr(self.tokenizer, "model_max_length", None)]
        self.max_length = min(int(v) for v in limits if isinstance(v, (int, float)) and 8 <= v < 1e6)
        self.batch_size = batch_size
        self.token_budget = token_budget
        self.device = default_device(device)
        self.threads = resolve_threads(threads)
        self._lock = threading.Lock()
        self.onnx_meta: dict | None = None
        self.onnx_path: Path = Path(self.name_or_path) / ONNX_FILE
        self.backend, self.backend_reason = self._choose_backend(backend, build_onnx)
        if self.backend == "torch":
            import torch
            from transformers import AutoModelForSequenceClassification

            if self.device == "cpu":
                apply_torch_threads(self.threads)
            self.model = AutoModelForSequenceClassification.from_pretrained(
                self.name_or_path, dtype=torch.float32, **kw
            )
            self.model.to(self.device).eval()
        else:
            self.session = _onnx_session(self.onnx_path, self.threads)
            self._onnx_inputs = {i.name for i in self.session.get_inputs()}
        log.info("NLI model %s: backend %s (%s; setting %s, %d threads)", self.name_or_path,
                 self.backend_name, self.backend_reason, backend, self.threads)

    def _choose_backend(self, setting: str, build_onnx: bool) -> tuple[str, str]:
        folder = Path(self.name_or_path)
        if setting == "auto" and self.device not in ("cpu",):
            return "torch", f"device {self.device} (the int8 export is for CPU)"
        if not folder.is_dir():
            if setting == "onnx":
                raise ModelError("the onnx backend needs a local model folder",
                                 found=self.name_or_path, fix="pass a model folder, or use torch")
            return "torch", "not a local folder" if setting != "torch" else "backend set to torch"

        def status():
            st = export_status(folder)
            self.onnx_meta, self.onnx_path = st.meta, st.path
            return st

        def build():
            from pipeline.nli.export import export

            export(str(folder), quantize=True, target_dir=cached_onnx_path(folder).parent)

        return onnx_cache.choose_backend(
            setting, status, build, build_on_use=build_onnx,
            what=f"NLI model {folder}", fix=f"contradict export-onnx {folder}", log=log)

    @property
    def backend_name(self) -> str:
        """``torch-fp32``, ``onnx-int8`` or ``onnx-fp32``: what actually scores."""
        if self.backend == "torch":
            return "torch-fp32"
        q = str((self.onnx_meta or {}).get("quantization", "int8"))
        return "onnx-fp32" if q == "fp32" else "onnx-int8"

    def describe(self) -> dict:
        """What scores, for the manifest."""
        out = {"name_or_path": self.name_or_path, "backend": self.backend_name,
               "backend_setting": self.backend_setting, "backend_reason": self.backend_reason,
               "threads": self.threads, "device": self.device}
        if self.backend == "onnx" and self.onnx_meta:
            out["onnx"] = {k: self.onnx_meta.get(k) for k in
                           ("weights_sha256", "quantization", "check") if k in self.onnx_meta}
        return out

    # -- pure prediction -------------------------------------------------------------
    def _token_lengths(self, pairs: Sequence[tuple[str, str]]) -> list[int]:
        enc = self.tokenizer(
            [p for p, _ in pairs], [h for _, h in pairs], truncation=True,
            max_length=self.max_length, add_special_tokens=True,
        )
        return [len(ids) for ids in enc["input_ids"]]

    def _logits(self, premises: list[str], hypotheses: list[str]) -> np.ndarray:
        if self.backend == "torch":
            import torch

            enc = self.tokenizer(
                premises, hypotheses, truncation=True, max_length=self.max_length,
                padding=True, return_tensors="pt",
            ).to(self.device)
            with torch.inference_mode():
                return self.model(**enc).logits.float().cpu().numpy()
        enc = self.tokenizer(
            premises, hypotheses, truncation=True, max_length=self.max_length,
            padding=True, return_tensors="np",
        )
        feeds = {k: v.astype(np.int64) for k, v in enc.items() if k in self._onnx_inputs}
        return self.session.run(None, feeds)[0].astype(np.float32)

    @property
    def batch_dependent(self) -> bool:
        """Whether a pair's scores depend on the pairs that share its batch: the int8 export
        quantises activations per batch (dynamic quantisation: one scale for the whole input
        tensor, padding included), so its probabilities move with the batch-mates (by up to
        0.2 on news claim pairs); the fp32 backends move by about 1e-6."""
        return self.backend_name == "onnx-int8"

    def predict(self, pairs: Sequence[tuple[str, str]], on_batch=None,
                batch_size: int | None = None) -> np.ndarray:
        """Probabilities, shape (n, 3), columns in LABELS order (contradiction, entailment,
        neutral). Empty input gives an empty (0, 3) array. ``on_batch``, when given, is
        called with the number of pairs of each model batch once it is scored.
        ``batch_size`` overrides the model's (1: every pair alone, so that its scores depend
        on nothing but the pair, whatever the backend)."""
        if not pairs:
            return np.zeros((0, 3), dtype=np.float32)
        lengths = self._token_lengths(pairs)
        out = np.zeros((len(pairs), 3), dtype=np.float32)
        with self._lock:
            for idx in length_batches(lengths, batch_size or self.batch_size, self.token_budget):
                logits = self._logits([pairs[i][0] for i in idx], [pairs[i][1] for i in idx])
                out[idx] = self.probabilities(logits)
                if on_batch is not None:
                    on_batch(len(idx))
        return out

    def probabilities(self, logits: np.ndarray) -> np.ndarray:
        """The one place where logits (model's label order, any backend) become
        probabilities in LABELS order, after the calibration temperature."""
        probs = _softmax(np.asarray(logits, dtype=np.float32) / self.temperature)
        out = np.zeros((len(probs), len(LABELS)), dtype=np.float32)
        for col, lab in enumerate(LABELS):
            j = self.label_index.get(lab)
            if j is not None:
                out[:, col] = probs[:, j]
        return out

    def predict_both(self, pairs: Sequence[tuple[str, str]],
                     batch_size: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Scores for (a, b) and (b, a), in one batched call (``batch_size``: as in predict)."""
        n = len(pairs)
        both = self.predict(list(pairs) + [(b, a) for a, b in pairs], batch_size=batch_size)
        return both[:n], both[n:]


def _softmax(x: np.ndarray) -> np.ndarray:
    x = x - x.max(axis=1, keepdims=True)
    e = np.exp(x)
    return e / e.sum(axis=1, keepdims=True)


def _onnx_session(path: Path, threads: int = 0):
    try:
        import onnxruntime as ort
    except ImportError as exc:  # pragma: no cover
        raise ModelError("the onnx backend needs onnxruntime", fix="pip install onnxruntime") from exc
    path = Path(path)
    if not path.is_file():
        raise ModelError(
            f"no {path.name} in {path.parent}",
            fix=f"run `contradict export-onnx {path.parent}` first",
        )
    return ort.InferenceSession(str(path), ort_session_options(threads),
                                providers=["CPUExecutionProvider"])


_CACHE: dict[tuple, NLIModel] = {}
_CACHE_LOCK = threading.Lock()


def get_model(name_or_path: str, **kw) -> NLIModel:
    """One model per process: repeated calls with the same arguments share it."""
    key = (str(name_or_path), tuple(sorted(kw.items())))
    with _CACHE_LOCK:
        if key not in _CACHE:
            _CACHE[key] = NLIModel(name_or_path, **kw)
        return _CACHE[key]


def loaded_models() -> list[tuple[str, NLIModel]]:
    """``(name asked for, model)`` for each model ``get_model`` loaded in this process, oldest first."""
    with _CACHE_LOCK:
        return [(k[0], m) for k, m in _CACHE.items()]
