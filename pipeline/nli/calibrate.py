"""Temperature calibration of an NLI model's probabilities.

One scalar ``T`` divides the logits before the softmax. It is fitted on the dev files after
training (minimum negative log-likelihood) and stored beside the weights as
``calibration.json``; ``NLIModel`` applies it to every prediction, on every backend, so that
a P(contradiction) of 0.8 means about 80% of such dev pairs are contradictions.

Example:
    >>> logits = np.array([[4.0, 0.0, 0.0], [0.0, 4.0, 0.0]] * 50)
    >>> labels = np.array([0, 2] * 50)            # half the confident predictions are wrong
    >>> fit_temperature(logits, labels)["temperature"] > 1
    True
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

CALIBRATION_FILE = "calibration.json"


def _nll(logits: np.ndarray, labels: np.ndarray, t: float) -> float:
    z = logits / t
    z = z - z.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return float(-logp[np.arange(len(labels)), labels].mean())


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> dict:
    """The temperature in [0.05, 20] minimising the NLL of ``labels`` (golden-section search
    on log T; the NLL is unimodal in T). Returns {temperature, nll_before, nll_after, n}."""
    logits = np.asarray(logits, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    lo, hi = np.log(0.05), np.log(20.0)
    g = (np.sqrt(5) - 1) / 2
    a, b = hi - g * (hi - lo), lo + g * (hi - lo)
    fa, fb = _nll(logits, labels, np.exp(a)), _nll(logits, labels, np.exp(b))
    for _ in range(60):
        if fa < fb:
            hi, b, fb = b, a, fa
            a = hi - g * (hi - lo)
            fa = _nll(logits, labels, np.exp(a))
        else:
            lo, a, fa = a, b, fb
            b = lo + g * (hi - lo)
            fb = _nll(logits, labels, np.exp(b))
    t = float(np.exp((lo + hi) / 2))
    return {"temperature": round(t, 4), "nll_before": _nll(logits, labels, 1.0),
            "nll_after": _nll(logits, labels, t), "n": int(len(labels))}


def load_temperature(folder: str | Path) -> float:
    """The stored temperature of a model folder, 1.0 when it has none (a hub model)."""
    path = Path(folder) / CALIBRATION_FILE
    if not path.is_file():
        return 1.0
    t = float(json.loads(path.read_text(encoding="utf-8")).get("temperature", 1.0))
    return t if np.isfinite(t) and t > 0 else 1.0
