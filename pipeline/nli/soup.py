"""Average the weights of NLI models fine-tuned from one starting point (a uniform "model soup",
Wortsman et al. 2022).

Runs of one recipe that differ only in their seed end in the same basin of the loss; the mean of
their weights is one model, as fast as each, that is usually at least as accurate as the best of
them and steadier on what none was tuned for. ``average_models`` checks that the runs share an
architecture, label map and tokenizer, averages every floating-point tensor in fp32 (and stores it
in the first run's dtype), refits the calibration temperature on the dev sample that
``contradict train`` uses (the soup's logits are not any run's), and records its ingredients in
``soup.json``. The first run's bias model, training config and summary come along, the summary
gaining the soup's dev figures.

Example:
    >>> average_models(["runs/a", "runs/b"], "models/x", dev_rows=rows)   # doctest: +SKIP
    {'ingredients': [...], 'dev': {'soup': {'n': 3000, 'eval_accuracy': 0.614, ...}, ...}, 'calibration': {...}}
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from collections.abc import Sequence

import numpy as np

from pipeline.errors import ModelError
from pipeline.nli.calibrate import CALIBRATION_FILE, fit_temperature
from pipeline.nli.data import NLIExample
from pipeline.onnx_cache import sha256_file

WEIGHTS = "model.safetensors"
SOUP_FILE = "soup.json"
# copied from the first ingredient when present (weights and calibration are written anew)
CARRIED = ("config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
           "vocab.txt", "bias_model.json", "train_config.json")


def _seed(folder: Path) -> int | None:
    path = folder / "train_config.json"
    return json.loads(path.read_text(encoding="utf-8")).get("seed") if path.is_file() else None


def _check_compatible(folders: list[Path]) -> None:
    """The same architecture, label map and tokenizer in every folder, or a ModelError."""
    def key(folder: Path) -> tuple:
        cfg = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        tok = folder / "tokenizer.json"
        return (cfg.get("model_type"), cfg.get("hidden_size"), cfg.get("num_hidden_layers"),
                json.dumps(cfg.get("id2label"), sort_keys=True),
                sha256_file(tok) if tok.is_file() else None)
    first = key(folders[0])
    for folder in folders[1:]:
        if key(folder) != first:
            raise ModelError(
                f"{folder} does not match {folders[0]} (architecture, label map or tokenizer)",
                fix="average only runs of one recipe fine-tuned from the same base model")


def average_state(states: Sequence[dict]) -> dict:
    """The element-wise mean of ``states`` (name -> tensor), floats averaged in fp32 and returned
    in the first state's dtype; integer tensors (position ids) must be equal and are kept."""
    import torch

    names = set(states[0])
    for s in states[1:]:
        if set(s) != names:
            raise ModelError("the runs' weights name different tensors",
                             fix="average only runs of one architecture")
    out = {}
    for name, first in states[0].items():
        if any(s[name].shape != first.shape for s in states[1:]):
            raise ModelError(f"tensor {name} differs in shape between the runs",
                             fix="average only runs of one architecture")
        if first.is_floating_point():
            mean = torch.stack([s[name].to(torch.float32) for s in states]).mean(dim=0)
            out[name] = mean.to(first.dtype).contiguous()
        else:
            if any(not torch.equal(s[name], first) for s in states[1:]):
                raise ModelError(f"integer tensor {name} differs between the runs",
                                 fix="average only runs of one architecture")
            out[name] = first.clone()
    return out


def dev_figures(folder: Path, rows: list[NLIExample]) -> tuple[dict, dict]:
    """Accuracy of the model in ``folder`` on ``rows`` and a temperature refitted on them."""
    from pipeline.nli.model import NLIModel
    from pipeline.nli.train import ID2LABEL, LABEL2ID, compute_accuracy
    from pipeline.types import LABELS

    model = NLIModel(str(folder), backend="torch", build_onnx=False)
    model.temperature = 1.0  # the log-probabilities are the logits up to a per-row constant
    probs = model.predict([(r.premise, r.hypothesis) for r in rows])
    # in the training label order, as `contradict train` reports and calibrates
    logits = np.log(np.clip(probs[:, [LABELS.index(ID2LABEL[i]) for i in range(3)]], 1e-12, 1.0))
    y = np.array([LABEL2ID[r.label] for r in rows])
    dev = {f"eval_{k}": round(v, 4) for k, v in compute_accuracy((logits, y)).items()}
    return {"n": len(rows), **dev}, fit_temperature(logits, y)


def average_models(folders: Sequence[str | Path], output: str | Path, *,
                   dev_rows: list[NLIExample] | None = None, overwrite: bool = False) -> dict:
    """Write the uniform average of the models in ``folders`` to ``output``; see the module."""
    from safetensors.torch import load_file, save_file

    runs = [Path(f) for f in folders]
    out = Path(output)
    if len(runs) < 2:
        raise ModelError("a soup needs at least two runs", fix="name two or more run folders")
    for f in runs:
        if not (f / WEIGHTS).is_file():
            raise ModelError(f"{f} has no {WEIGHTS}", fix="name folders written by `contradict train`")
    if out.resolve() in {f.resolve() for f in runs}:
        raise ModelError(f"the output {out} is one of the runs", fix="write the soup to a new folder")
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise ModelError(f"{out} is not empty", fix="pass --overwrite or another --output")
    _check_compatible(runs)
    state = average_state([load_file(str(f / WEIGHTS)) for f in runs])
    out.mkdir(parents=True, exist_ok=True)
    for name in CARRIED:
        if (runs[0] / name).is_file():
            shutil.copyfile(runs[0] / name, out / name)
    if (out / "train_config.json").is_file():  # the recipe, written where the soup is
        cfg = json.loads((out / "train_config.json").read_text(encoding="utf-8"))
        (out / "train_config.json").write_text(json.dumps({**cfg, "output_dir": str(out)}, indent=2),
                                               encoding="utf-8")
    save_file(state, str(out / WEIGHTS), metadata={"format": "pt"})
    info: dict = {"method": "uniform weight average (model soup)",
                  "ingredients": [{"path": str(f), "sha256": sha256_file(f / WEIGHTS), "seed": _seed(f)}
                                  for f in runs]}
    first_summary = runs[0] / "train_summary.json"
    summary = json.loads(first_summary.read_text(encoding="utf-8")) if first_summary.is_file() else {}
    calibration = None
    if dev_rows:
        dev, calibration = dev_figures(out, dev_rows)
        info["dev"] = {"soup": dev, **{str(f): dev_figures(f, dev_rows)[0] for f in runs}}
        info["calibration"] = calibration
        (out / CALIBRATION_FILE).write_text(json.dumps(calibration, indent=2), encoding="utf-8")
    summary = {**summary, "soup": info, "calibration": calibration, "best_checkpoint": None,
               "dev_metrics": info["dev"]["soup"] if dev_rows else {}}
    (out / "train_summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    (out / SOUP_FILE).write_text(json.dumps(info, indent=2), encoding="utf-8")
    return info
