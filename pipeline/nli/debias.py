"""The hypothesis-only bias model and the debiased training objectives.

Crowd workers wrote contradictions by adding "no", "not", "never" to a premise, so a model
can learn the word instead of the meaning. A classifier that sees only the hypothesis
measures that shortcut (``HypothesisOnlyBias``: bag of words and bigrams, logistic
regression) and, during training, tells the NLI model which examples it could get right for
the wrong reason:

* ``poe`` (product of experts; Clark et al. 2019, He et al. 2019): the loss is the cross
  entropy of ``log_softmax(logits) + log p_bias``; the main model gets little gradient where
  the bias model is already right and must learn the rest;
* ``reweight`` (Utama et al. 2020): each example's loss is weighted by
  ``1 - p_bias(gold label)``.

What the bias model sees is ``train.bias_features``: ``words`` (every word and bigram of the
hypothesis: the shortcut measured, whatever it is) or ``cues`` (only the negation and
contrast words of ``NEGATION_CUES`` / ``CONTRAST_CUES``: the one known artifact, so the
product of experts discounts that and leaves the model's other lexical evidence alone, the
hand-crafted bias model of He et al. 2019).

Which rows the bias discounts is ``train.debias_scope``: ``all`` (every row read from a
file) or ``cues`` (only rows whose hypothesis has a negation or contrast word, ``has_cue``;
the rest train on plain cross entropy): the full bias model's knowledge, spent only where
the known shortcut lives.

The bias probabilities used in training are *out-of-fold* (k-fold cross-fitting), so the
bias model never scores examples it was fitted on. The model is stored as JSON (vocabulary,
coefficients): no pickles.

Example:
    >>> b = HypothesisOnlyBias().fit(["no dog", "a dog", "no cat", "a cat"] * 5,
    ...                             ["contradiction", "entailment"] * 10)
    >>> b.predict_proba(["no bird"])[0].argmax() == LABELS.index("contradiction")
    True
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from collections.abc import Sequence

import numpy as np

from pipeline.config import BIAS_FEATURES, DEBIAS_METHODS
from pipeline.errors import ConfigError

# Column order of every probability array here (the training label ids).
LABELS = ("entailment", "neutral", "contradiction")
BIAS_FILE = "bias_model.json"
_TOKEN = r"(?u)\b\w+\b|n't"
# the cue model must see the "n't" of "didn't": split it from its verb ("did", "n't"); the
# word model keeps _TOKEN ("didn", "t"), which its stored vocabularies were built with
_CUE_TOKEN = r"(?u)\w+(?=n't\b)|n't|\b\w+\b"


class HypothesisOnlyBias:
    """Bag-of-words (uni+bigram) logistic regression on the hypothesis alone; with
    ``features="cues"`` its vocabulary is only the negation and contrast words."""

    def __init__(self, max_features: int = 20000, C: float = 1.0, features: str = "words") -> None:
        if features not in BIAS_FEATURES:
            raise ConfigError("train.bias_features must be one of " + ", ".join(BIAS_FEATURES),
                              found=features)
        self.max_features = max_features
        self.C = C
        self.features = features
        self.vocabulary: dict[str, int] = {}
        self.coef: np.ndarray | None = None  # (3, V)
        self.intercept: np.ndarray | None = None  # (3,)

    # -- fitting ---------------------------------------------------------------------
    def _vectorizer(self):
        from sklearn.feature_extraction.text import CountVectorizer

        if self.features == "cues":
            return CountVectorizer(vocabulary=cue_vocabulary(), token_pattern=_CUE_TOKEN,
                                   binary=True, lowercase=True)
        return CountVectorizer(ngram_range=(1, 2), min_df=2, max_features=self.max_features,
                               token_pattern=_TOKEN, binary=True, lowercase=True)

    def fit(self, hypotheses: Sequence[str], labels: Sequence[str]) -> HypothesisOnlyBias:
        """Fit the bias classifier on ``hypotheses`` alone and their ``labels``; returns self."""
        from sklearn.linear_model import LogisticRegression

        vec = self._vectorizer()
        X = vec.fit_transform(list(hypotheses))
        y = np.array([LABELS.index(lab) for lab in labels])
        clf = LogisticRegression(C=self.C, max_iter=300)
        clf.fit(X, y)
        coef = np.zeros((3, X.shape[1]), dtype=np.float32)
        inter = np.full(3, -30.0, dtype=np.float32)  # a label never seen gets ~0 probability
        binary = len(clf.classes_) == 2
        for row, cls in enumerate(clf.classes_):
            if binary:  # one weight vector w: softmax over (-w/2, w/2) = sigmoid(w)
                sign = 0.5 if row == 1 else -0.5
                coef[cls], inter[cls] = sign * clf.coef_[0], sign * clf.intercept_[0]
            else:
                coef[cls], inter[cls] = clf.coef_[row], clf.intercept_[row]
        self.vocabulary = {k: int(v) for k, v in vec.vocabulary_.items()}
        self.coef, self.intercept = coef, inter
        return self

    # -- prediction ------------------------------------------------------------------
    def _transform(self, texts: Sequence[str]):
        from sklearn.feature_extraction.text import CountVectorizer

        vec = CountVectorizer(ngram_range=(1, 2), binary=True, lowercase=True,
                              token_pattern=_CUE_TOKEN if self.features == "cues" else _TOKEN,
                              vocabulary=self.vocabulary)
        return vec.transform(list(texts))

    def predict_proba(self, hypotheses: Sequence[str]) -> np.ndarray:
        """(n, 3) probabilities in ``LABELS`` order (entailment, neutral, contradiction)."""
        if self.coef is None:
            raise ConfigError("the bias model is not fitted", fix="call fit() or load() first")
        if not len(hypotheses):
            return np.zeros((0, 3), dtype=np.float32)
        z = np.asarray(self._transform(hypotheses) @ self.coef.T) + self.intercept
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)

    def top_words(self, label: str, k: int = 15) -> list[tuple[str, float]]:
        """The ``k`` features that push hardest towards ``label`` (against the mean of the
        other labels)."""
        if self.coef is None:
            raise ConfigError("the bias model is not fitted", fix="call fit() or load() first")
        c = LABELS.index(label)
        others = [i for i in range(3) if i != c]
        margin = self.coef[c] - self.coef[others].mean(axis=0)
        inv = {v: k_ for k_, v in self.vocabulary.items()}
        best = np.argsort(-margin)[:k]
        return [(inv[int(i)], round(float(margin[i]), 3)) for i in best]

    # -- storage ---------------------------------------------------------------------
    def save(self, path: Path) -> None:
        """Write the fitted model as JSON to ``path``; an unfitted model is a ``ConfigError``."""
        if self.coef is None or self.intercept is None:
            raise ConfigError("the bias model is not fitted", fix="call fit() before save()")
        payload = {"labels": list(LABELS), "features": self.features, "vocabulary": self.vocabulary,
                   "coef": np.round(self.coef, 5).tolist(),
                   "intercept": np.round(self.intercept, 5).tolist()}
        Path(path).write_text(json.dumps(payload), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> HypothesisOnlyBias:
        """A bias model read from the JSON ``save`` wrote."""
        obj = json.loads(Path(path).read_text(encoding="utf-8"))
        b = cls(features=obj.get("features", "words"))
        b.vocabulary = {k: int(v) for k, v in obj["vocabulary"].items()}
        b.coef = np.asarray(obj["coef"], dtype=np.float32)
        b.intercept = np.asarray(obj["intercept"], dtype=np.float32)
        return b


def out_of_fold_proba(
    hypotheses: Sequence[str], labels: Sequence[str], folds: int = 5, seed: int = 13,
    features: str = "words",
) -> np.ndarray:
    """Bias probabilities for every training example from a model fitted on the other folds."""
    n = len(hypotheses)
    rng = np.random.default_rng(seed)
    fold = rng.integers(0, folds, size=n)
    out = np.zeros((n, 3), dtype=np.float32)
    hyp = np.asarray(list(hypotheses), dtype=object)
    lab = np.asarray(list(labels), dtype=object)
    for f in range(folds):
        test = fold == f
        model = HypothesisOnlyBias(features=features).fit(hyp[~test].tolist(), lab[~test].tolist())
        out[test] = model.predict_proba(hyp[test].tolist())
    return out


def bias_report(model: HypothesisOnlyBias, hypotheses: Sequence[str], labels: Sequence[str],
                k: int = 12) -> dict:
    """Accuracy of the hypothesis-only model overall and per gold label, and its most
    predictive words per label."""
    probs = model.predict_proba(hypotheses)
    pred = probs.argmax(1)
    gold = np.array([LABELS.index(lab) for lab in labels])
    per = {lab: float((pred[gold == i] == i).mean()) if (gold == i).any() else None
           for i, lab in enumerate(LABELS)}
    return {"n": int(len(gold)), "accuracy": float((pred == gold).mean()) if len(gold) else None,
            "majority_baseline": float(np.bincount(gold, minlength=3).max() / max(len(gold), 1)),
            "recall_per_label": per,
            "top_words": {lab: model.top_words(lab, k) for lab in LABELS}}


def debiased_loss(logits, labels, bias_probs, method: str, label_smoothing: float = 0.0,
                  strength: float = 1.0):
    """The training loss for ``method`` (torch tensors; ``bias_probs`` (n, 3) in LABELS order).

    ``none`` is plain cross entropy; ``poe`` adds the bias log-probabilities, times
    ``strength``, to the logits before the cross entropy (strength > 1 trusts a weak bias
    model more); ``reweight`` scales each example's loss by ``(1 - p_bias(gold)) **
    strength`` (normalised to mean 1 over the batch).
    """
    import torch
    import torch.nn.functional as F

    if method == "none":
        return F.cross_entropy(logits, labels, label_smoothing=label_smoothing)
    if method == "poe":
        joint = F.log_softmax(logits, dim=-1) + strength * torch.log(bias_probs.clamp_min(1e-6))
        return F.cross_entropy(joint, labels, label_smoothing=label_smoothing)
    if method == "reweight":
        per = F.cross_entropy(logits, labels, reduction="none", label_smoothing=label_smoothing)
        w = (1.0 - bias_probs.gather(1, labels[:, None]).squeeze(1)) ** strength
        w = w / w.mean().clamp_min(1e-6)
        return (per * w).mean()
    raise ConfigError("train.debias must be one of " + ", ".join(DEBIAS_METHODS), found=method)


NEGATION_CUES = ("no", "not", "never", "nobody", "nothing", "none", "neither", "nor", "n't",
                 "without", "cannot", "nowhere", "refused", "denied", "fails", "failed")
CONTRAST_CUES = ("but", "however", "although", "though", "despite", "yet", "while",
                 "instead", "rather", "whereas", "nevertheless")
_CUE_RE = re.compile(
    r"(?i)(n't\b|\b(?:" + "|".join(c for c in NEGATION_CUES + CONTRAST_CUES if c != "n't")
    + r")\b)")


def cue_vocabulary() -> list[str]:
    """The bias model's vocabulary for ``features="cues"``: every negation and contrast word."""
    return sorted(set(NEGATION_CUES + CONTRAST_CUES))


def has_cue(text: str) -> bool:
    """True when ``text`` holds a negation or contrast word."""
    return bool(_CUE_RE.search(text))
