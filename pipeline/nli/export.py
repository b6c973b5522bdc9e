"""Export an NLI cross-encoder to ONNX (dynamic int8) for ``score.backend=onnx``.

``export(model_dir)`` loads the Hugging Face model in float32, traces it with the
TorchScript-based exporter (``torch.onnx.export(..., dynamo=False)``; robust for BERT, with
dynamic batch and sequence axes), quantises the weights to int8 with ONNX Runtime's
``quantize_dynamic`` and writes ``<model_dir>/model.int8.onnx`` (``onnx_cache.ONNX_FILE``), the file
the onnx backend loads. With ``quantize=False`` the fp32 graph is written under the same
name. The result is checked against torch on a few sample pairs before it is kept, and
``model.int8.onnx.json`` beside it records the sha256 of the weights it was exported from
(``pipeline.onnx_cache``): the ``auto`` backend uses the export only while that hash matches
the weights on disk, so a retrained model never runs with an old graph.

Example:
    >>> from pipeline.nli.export import export
    >>> export("models/nli-minilm-l6")          # doctest: +SKIP
    PosixPath('models/nli-minilm-l6/model.int8.onnx')
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from pipeline import onnx_cache
from pipeline.errors import ModelError
from pipeline.onnx_cache import ONNX_FILE

log = logging.getLogger(__name__)

INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")

# premise/hypothesis pairs for the torch-vs-onnx check
SAMPLE_PAIRS = [
    ("The minister said talks were ongoing at all levels.",
     "All military and intelligence cooperation has been suspended."),
    ("Turnout in the election was 61 percent.", "Turnout was well under 50 percent."),
    ("The factory will stay open.", "The plant is not closing."),
    ("A man is playing a guitar on stage.", "A woman is reading a book in a library."),
]


def _load(model_dir: str):
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    try:
        tok = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
        model = AutoModelForSequenceClassification.from_pretrained(
            model_dir, dtype=torch.float32, local_files_only=True
        )
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot load model {model_dir!r} for export: {exc}",
                         fix="pass a Hugging Face model folder with config.json, weights and tokenizer") from exc
    model.eval()
    model.config.return_dict = True
    return tok, model


def _logits_module(model, names: list[str]):
    """Wrap the model so the traced graph takes positional inputs and has one output."""
    import torch

    class Logits(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, *args):
            return self.model(**dict(zip(names, args))).logits

    return Logits().eval()


def _export_fp32(model, tok, path: Path, opset: int) -> list[str]:
    import torch

    enc = tok([p for p, _ in SAMPLE_PAIRS[:2]], [h for _, h in SAMPLE_PAIRS[:2]],
              padding=True, return_tensors="pt")
    names = [n for n in INPUT_NAMES if n in enc]
    args = tuple(enc[n] for n in names)
    dynamic_axes = {n: {0: "batch", 1: "sequence"} for n in names}
    dynamic_axes["logits"] = {0: "batch"}
    wrapper = _logits_module(model, names)
    with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer warnings about python control flow
        torch.onnx.export(
            wrapper, args, str(path), input_names=names, output_names=["logits"],
            dynamic_axes=dynamic_axes, opset_version=opset, do_constant_folding=True,
            dynamo=False,
        )
    return names


def _verify(path: Path, model, tok, names: list[str], quantize: bool) -> dict:
    import onnxruntime as ort
    import torch

    enc = tok([p for p, _ in SAMPLE_PAIRS], [h for _, h in SAMPLE_PAIRS], padding=True,
              return_tensors="np")
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feeds = {i.name: enc[i.name].astype(np.int64) for i in sess.get_inputs()}
    onnx_logits = sess.run(None, feeds)[0]
    with torch.no_grad():
        ref = model(**{n: torch.from_numpy(enc[n].astype(np.int64)) for n in names}).logits.numpy()
    agree = int((onnx_logits.argmax(1) == ref.argmax(1)).sum())
    diff = float(np.abs(onnx_logits - ref).max())
    log.info("onnx check: argmax agrees on %d/%d pairs, max |logit diff| %.4g", agree,
             len(SAMPLE_PAIRS), diff)
    if not quantize and diff > 1e-3:
        raise ModelError("the exported fp32 graph does not reproduce the torch logits",
                         expected="max |diff| <= 1e-3", found=f"{diff:.4g}")
    if agree < len(SAMPLE_PAIRS):
        # int8 can flip a near-tie; only a clear disagreement is an error
        ref_p = _softmax(ref)
        close = np.sort(ref_p, axis=1)[:, -1] - np.sort(ref_p, axis=1)[:, -2] < 0.1
        bad = (onnx_logits.argmax(1) != ref.argmax(1)) & ~close
        if bad.any():
            raise ModelError("the exported ONNX model disagrees with torch on sample pairs",
                             expected=f"the same labels on {len(SAMPLE_PAIRS)} pairs",
                             found=f"{agree}/{len(SAMPLE_PAIRS)} agree, max |logit diff| {diff:.4g}",
                             fix="export with --no-quantize, or check the model folder")
    return {"agree": agree, "n": len(SAMPLE_PAIRS), "max_abs_logit_diff": diff}


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _version(module: str) -> str:
    try:
        from importlib.metadata import version

        return version(module)
    except Exception:  # pragma: no cover
        return "unknown"


EXPORT_STEPS = ("load", "export", "quantize", "verify", "write")


def export(model_dir: str, quantize: bool = True, opset: int = 17, on_step=None,
           target_dir: str | Path | None = None) -> Path:
    """Export ``model_dir`` to ``<target_dir>/model.int8.onnx`` (default: beside the weights,
    ``<model_dir>/model.int8.onnx``) and return that path.

    Args:
        model_dir: a local Hugging Face model folder (sequence classification).
        target_dir: where to write the export (the auto backend passes the cache).
        quantize: dynamic int8 weights (QInt8); False writes the fp32 graph.
        opset: ONNX opset version.
        on_step: called with (steps done, steps in all, step name) after each of
            ``EXPORT_STEPS`` (for a progress bar).

    Raises:
        ModelError: the folder cannot be loaded, the export or quantisation fails, or the
            exported graph does not reproduce torch's predictions.
    """
    folder = Path(model_dir).expanduser()
    if not (folder / "config.json").is_file():
        raise ModelError(f"{folder} is not a Hugging Face model folder (no config.json)",
                         fix="pass the folder of a trained model, e.g. models/nli-minilm-l6")
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError as exc:
        raise ModelError("export needs onnx and onnxruntime",
                         fix="pip install 'contradict-news[fast]'") from exc
    wfile = onnx_cache.weights_file(folder)
    if wfile is None:
        raise ModelError(f"{folder} has no weights file",
                         expected=" or ".join(onnx_cache.WEIGHT_FILES),
                         fix="pass the folder of a trained model")
    digest = onnx_cache.sha256_file(wfile)
    step = [0]

    def done(name: str) -> None:
        step[0] += 1
        if on_step is not None:
            on_step(step[0], len(EXPORT_STEPS), name)

    tok, model = _load(str(folder))
    done("load")
    target = (Path(target_dir) if target_dir is not None else folder) / ONNX_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="onnx-export-"))
    try:
        fp32 = tmp / "model.fp32.onnx"
        try:
            names = _export_fp32(model, tok, fp32, opset)
            done("export")
        except Exception as exc:
            raise ModelError(f"torch.onnx.export failed for {folder}: {type(exc).__name__}: {exc}",
                             fix="check the torch/onnx versions; the model must be a standard "
                                 "sequence classifier") from exc
        out = tmp / ONNX_FILE
        if quantize:
            # per-channel scales first (more accurate on the shipped model), per-tensor when
            # that fails the label check (it did on a tiny random test model)
            check: dict | None = None
            per_channel = True
            for per_channel in (True, False):
                try:
                    onnx_cache.quantize(fp32, out, per_channel)
                except Exception as exc:
                    raise ModelError(f"int8 quantisation failed: {type(exc).__name__}: {exc}",
                                     fix="export with --no-quantize") from exc
                if per_channel:
                    done("quantize")
                try:
                    check = _verify(out, model, tok, names, quantize)
                    done("verify")
                    break
                except ModelError:
                    if not per_channel:
                        raise
                    log.info("per-channel int8 failed the check; trying per-tensor scales")
        else:
            # one self-contained file (a small model fits under the 2 GB protobuf limit)
            import onnx

            onnx.save_model(onnx.load(str(fp32)), str(out))
            done("quantize")  # (none: fp32)
            check = _verify(out, model, tok, names, quantize)
            done("verify")
        assert check is not None  # the loop above breaks with a check or raises
        # a name of its own: two processes building one export in the shared cache never
        # rename each other's half-written file
        part = target.with_name(f"{target.name}.{os.getpid()}.part")
        shutil.copyfile(out, part)
        # the old metadata goes first: a reader between the two steps sees "missing", never
        # a new graph vouched for by old metadata
        onnx_cache.meta_path(target).unlink(missing_ok=True)
        os.replace(part, target)
        onnx_cache.write_meta(target, {
            "kind": "nli", "weights_file": wfile.name, "weights_sha256": digest,
            "quantization": ("int8-per-channel" if per_channel else "int8-per-tensor")
            if quantize else "fp32",
            "opset": opset, "check": check, "onnxruntime": _version("onnxruntime"),
            "torch": _version("torch"), "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        })
        done("write")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    log.info("wrote %s (%.1f MB, %s, argmax %d/%d)", target, target.stat().st_size / 1e6,
             "int8" if quantize else "fp32", check["agree"], check["n"])
    return target
