"""ONNX exports tied to the weights they were exported from.

Every export (the NLI model's ``model.int8.onnx``, the sentence embedder's graph) has a
metadata file beside it, ``<file>.json``, holding the sha256 of the weights file it was
exported from. ``export_status`` compares that hash with the weights on disk: an export is
*valid* only when the hashes match, *stale* when the weights changed since (a retrained
model), *missing* when there is no export or no metadata (an export made before metadata
existed counts as missing: nothing ties it to the weights).

Also here: ``choose_backend``, the one ``auto`` rule for both models (onnx when the export
is valid and onnxruntime imports, torch otherwise), ``ONNX_FILE``, the NLI export's file name,
and ``quantize``, the int8 step both exports share.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
BACKENDS = ("auto", "torch", "onnx")
ONNX_FILE = "model.int8.onnx"  # the NLI model's export, beside its weights or in the cache

log = logging.getLogger(__name__)

_HASHES: dict[tuple, str] = {}
_LOCK = threading.Lock()


def cache_root(setting: str = "") -> Path:
    """The cache folder: ``setting``, else ``$CONTRADICT_CACHE``, else
    ``$XDG_CACHE_HOME/contradict`` (default ``~/.cache/contradict``)."""
    if setting:
        return Path(setting).expanduser()
    env = os.environ.get("CONTRADICT_CACHE", "").strip()
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "contradict"


def weights_file(folder: Path) -> Path | None:
    """The weights file of a Hugging Face model folder (safetensors first), or None."""
    for name in WEIGHT_FILES:
        p = Path(folder) / name
        if p.is_file():
            return p
    return None


def sha256_file(path: Path) -> str:
    """sha256 of a file, cached per process by (path, size, mtime)."""
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    with _LOCK:
        if key in _HASHES:
            return _HASHES[key]
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    digest = h.hexdigest()
    with _LOCK:
        _HASHES[key] = digest
    return digest


def meta_path(onnx_path: Path) -> Path:
    """The metadata file beside an export: ``<file>.json``."""
    return onnx_path.with_name(onnx_path.name + ".json")


def read_meta(onnx_path: Path) -> dict | None:
    """An export's metadata as a dict, or None when it is absent or unreadable."""
    p = meta_path(onnx_path)
    if not p.is_file():
        return None
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_meta(onnx_path: Path, meta: dict) -> Path:
    """Write ``<onnx>.json`` atomically (the export is only valid once this exists)."""
    p = meta_path(onnx_path)
    part = p.with_name(f"{p.name}.{os.getpid()}.part")  # one per process (a shared cache)
    part.write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(part, p)
    return p


@dataclass
class ExportStatus:
    """What ``export_status`` found: the state, the export's path, why, and its metadata."""

    state: str  # valid | stale | missing | no-weights
    path: Path
    detail: str = ""
    meta: dict | None = None

    @property
    def valid(self) -> bool:
        """Whether the export matches the weights (state ``valid``)."""
        return self.state == "valid"


def export_status(onnx_path: Path, model_folder: Path) -> ExportStatus:
    """Is ``onnx_path`` a valid export of the weights in ``model_folder``?"""
    onnx_path = Path(onnx_path)
    w = weights_file(Path(model_folder))
    if w is None:
        return ExportStatus("no-weights", onnx_path,
                            f"no {' or '.join(WEIGHT_FILES)} in {model_folder}")
    if not onnx_path.is_file():
        return ExportStatus("missing", onnx_path, f"no {onnx_path.name} in {onnx_path.parent}")
    meta = read_meta(onnx_path)
    if meta is None or not meta.get("weights_sha256"):
        return ExportStatus("missing", onnx_path,
                            f"{onnx_path} has no metadata ({meta_path(onnx_path).name}) tying it "
                            "to the weights")
    digest = sha256_file(w)
    if meta["weights_sha256"] != digest:
        return ExportStatus("stale", onnx_path,
                            f"{onnx_path} was exported from weights sha256 "
                            f"{meta['weights_sha256'][:12]}, {w.name} now has {digest[:12]}",
                            meta)
    return ExportStatus("valid", onnx_path, "", meta)


def onnxruntime_available() -> bool:
    """Whether onnxruntime can be imported (without importing it)."""
    return find_spec("onnxruntime") is not None


def export_tools_available() -> bool:
    """Whether both onnx and onnxruntime, needed to build an export, can be imported."""
    return find_spec("onnx") is not None and find_spec("onnxruntime") is not None


def choose_backend(setting: str, status, build, *, build_on_use: bool, what: str, fix: str,
                   log) -> tuple[str, str]:
    """The one ``auto`` rule, for the NLI model and the embedder.

    Args:
        setting: ``auto``, ``torch`` or ``onnx``.
        status: a callable returning the current ``ExportStatus``.
        build: a callable that (re)builds the export, raising on failure.
        build_on_use: build a missing or stale export now (else: auto -> torch, onnx -> error).
        what: the model, for messages ("NLI model models/nli-minilm-l6").
        fix: the command that builds the export by hand.

    Returns:
        (backend, reason): ``onnx`` when the export is valid (or was just built and checked)
        and onnxruntime imports, ``torch`` otherwise; the reason says why, for the log.

    Raises:
        ModelError: ``setting`` is ``onnx`` and no valid export can be had.
    """
    from pipeline.errors import ModelError

    if setting == "torch":
        return "torch", "backend set to torch"
    if setting not in BACKENDS:
        raise ModelError("backend must be auto, torch or onnx", found=setting)
    if not onnxruntime_available():
        if setting == "onnx":
            raise ModelError(f"the onnx backend for the {what} needs onnxruntime",
                             fix="pip install 'onnxruntime>=1.18', or set the backend to torch")
        return "torch", "onnxruntime is not installed"
    st = status()
    if st.valid:
        return "onnx", f"valid export {st.path}"
    if st.state == "no-weights":
        if setting == "onnx":
            raise ModelError(f"cannot use the onnx backend for the {what}: {st.detail}",
                             fix="pass a local model folder with its weights")
        return "torch", st.detail
    if not build_on_use:
        if setting == "onnx":
            raise ModelError(f"the ONNX export of the {what} is {st.state}: {st.detail}",
                             expected="an export whose metadata matches the weights' sha256",
                             fix=fix)
        return "torch", f"export {st.state} ({st.detail}); run `{fix}` for the onnx backend"
    if not export_tools_available():
        if setting == "onnx":
            raise ModelError(f"the ONNX export of the {what} is {st.state} and cannot be built "
                             "here: onnx is not installed", fix="pip install 'onnx>=1.16'")
        return "torch", f"export {st.state} and onnx is not installed to build it"
    log.warning("%s: ONNX export %s (%s); building it now", what, st.state, st.detail)
    try:
        build()
    except Exception as exc:  # an export that fails its check must not stop an auto run
        if setting == "onnx":
            raise
        log.warning("%s: ONNX export failed (%s: %s); using torch", what, type(exc).__name__, exc)
        return "torch", f"export failed: {type(exc).__name__}: {exc}"
    st = status()
    if st.valid:
        return "onnx", f"export built on first use: {st.path}"
    if setting == "onnx":
        raise ModelError(f"the ONNX export of the {what} is still {st.state} after building it",
                         found=st.detail, fix=fix)
    return "torch", f"export still {st.state} after building: {st.detail}"


def quantize(src: Path, dst: Path, per_channel: bool = True, exclude: tuple[str, ...] = ()) -> None:
    """Dynamic int8 quantisation of the MatMul weights of the graph ``src`` into ``dst``.

    The NLI export and the embedder export both use it. ``exclude`` names nodes kept in fp32;
    ``per_channel`` picks per-channel (else per-tensor) scales.
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # the quantiser logs every tensor through the root logger at INFO; keep that quiet
    root = logging.getLogger()
    level = root.level
    root.setLevel(max(level, logging.WARNING))
    try:
        try:
            from onnxruntime.quantization.shape_inference import quant_pre_process

            pre = src.with_name("model.pre.onnx")
            quant_pre_process(str(src), str(pre), skip_symbolic_shape=True)
            src = pre
        except Exception as exc:  # optional step: quantise the raw graph instead
            log.warning("quant_pre_process skipped (%s); quantising the raw graph", exc)
        # MatMul only: quantising the embedding tables too flipped a clear label of the shipped
        # model on the check pairs (max logit change 0.91)
        quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8, per_channel=per_channel,
                         op_types_to_quantize=["MatMul"], nodes_to_exclude=list(exclude))
    finally:
        root.setLevel(level)
