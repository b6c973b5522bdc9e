"""Decide: which scored pairs are flagged, with what score and why.

One calibrated score: with a learned decision model (``decider.json`` beside the NLI model,
trained by ``contradict train-decider`` on annotated articles; JSON, no pickles) the ``score``
of a pair is P(contradiction) from one logistic regression over the pair's features
(``features()``): both NLI directions, same-event evidence (stages/evidence.py), relation,
stance, and the hits of the decision rules. A pair is flagged when the score reaches the
operating point stored with the model (chosen on dev for precision >= 0.6).

``decide.method``: ``auto`` (default) uses the learned model when the file exists, else falls
back, with a log line, to a plain threshold on P(contradiction) with the two directions
combined by ``decide.directions`` (max | mean | min); ``learned`` requires the file;
``threshold`` never uses it.

Rules (``Rule`` objects in ``RULES``, constants in ``DecideConfig``): ``numeric`` (different
figures for the same counted noun), ``denial`` (one speaker denies what another asserts),
``negation`` (one claim negates what the other says), ``antonym``. They are features of the
learned model; on the threshold path numeric and denial hits also flag on their own. Every
flag carries its reasons.

The NLI cascade (``decide.nli_cascade``, on by default with a learned model that stores an
``nli_margin``): the NLI model is the slow part of a run, and most candidate pairs cannot
reach the operating point whatever it says, because the rest of their evidence (similarity,
relation, same-event evidence) is far below it. ``Decider.nli_needed`` computes each pair's
score with the NLI features at their training means (``base_logit``) and a bound on what the
NLI features can add to it (``LearnedDecider.nli_bound``): ``nli_margin`` for the features read
from the NLI output alone (the largest part of a score they made on the training articles,
plus a safety allowance; ``train-decider`` measures it), plus, computed exactly for the pair,
the most that the NLI-times-evidence interactions and the rules that read the NLI score can
add. Only pairs whose base logit plus that bound reaches the cut are sent to the NLI model.
The others keep the base score (``Score`` is None for them) and
are never flagged. ``eval docs`` and ``train-decider`` score every pair and report what the
cascade would change (``cascade_check``).
"""

from __future__ import annotations

import heapq
import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.config import DecideConfig
from pipeline.errors import ConfigError
from pipeline.stages.evidence import (EVIDENCE, WordSimilarity, agreement, pair_evidence,
                                      pairs_with_info, prepare_words, reported_dispute)
from pipeline.stages.quantities import MONTHS, numeric_mismatch
from pipeline.types import Flag, Pair, Score

log = logging.getLogger(__name__)

_NEG = re.compile(r"\b(not|no|never|none|nothing|neither|nor|without|n't|cannot|denied|"
                  r"deny|denies|refused|false|untrue)\b|n't\b", re.IGNORECASE)
_ANTONYMS = [
    ("open", "closed"), ("open", "close"), ("increase", "decrease"), ("rise", "fall"),
    ("rose", "fell"), ("up", "down"), ("win", "lose"), ("won", "lost"), ("accept", "reject"),
    ("accepted", "rejected"), ("approve", "reject"), ("approved", "rejected"),
    ("continue", "suspend"), ("continues", "suspended"), ("ongoing", "suspended"),
    ("ongoing", "halted"), ("resume", "suspend"), ("start", "stop"), ("started", "stopped"),
    ("guilty", "innocent"), ("legal", "illegal"), ("safe", "unsafe"), ("safe", "dangerous"),
    ("true", "false"), ("present", "absent"), ("alive", "dead"), ("more", "fewer"),
    ("more", "less"), ("higher", "lower"), ("gain", "loss"), ("profit", "loss"),
    ("hire", "fire"), ("hiring", "layoffs"), ("expand", "shrink"), ("stay", "leave"),
    ("remain", "leave"), ("cut", "raise"), ("before", "after"), ("agree", "disagree"),
    ("support", "oppose"), ("supports", "opposes"), ("fair", "rigged"), ("free", "rigged"),
    ("shortage", "surplus"), ("enough", "shortage"), ("keep", "close"), ("full", "empty"),
    ("all", "none"), ("always", "never"), ("confirmed", "denied"), ("success", "failure"),
]
_ANT: dict[str, set[str]] = {}
for _x, _y in _ANTONYMS:
    _ANT.setdefault(_x, set()).add(_y)
    _ANT.setdefault(_y, set()).add(_x)
_FUTURE = re.compile(r"\b(will|would|shall|going to|plans? to|expects? to|next)\b", re.I)
_PAST = re.compile(r"\b(was|were|had|did|\w+ed)\b", re.I)
_TIME_SHIFT = re.compile(r"\b(later|now|no longer|previously|earlier|initially|revised|"
                         r"updated|since|subsequently|anymore|any more|until)\b", re.I)
_DATE = re.compile(r"\b(" + "|".join(MONTHS) + r")\b|\b(19|20)\d{2}\b|\b(mon|tues|wednes|"
                   r"thurs|fri|satur|sun)day\b", re.I)


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z']+", text.lower()))


def antonym_hit(a: str, b: str) -> bool:
    wa, wb = _words(a), _words(b)
    return any(_ANT.get(w, set()) & wb for w in wa)


def negation_count(text: str) -> int:
    return len(_NEG.findall(text))


# ----------------------------------------------------------------------------- rules
@dataclass(frozen=True)
class RuleHit:
    name: str
    detail: str = ""


class Rule:
    """A check the NLI model is weak at. ``applies`` returns a RuleHit when the rule fires.

    A hit is a feature of the learned decision model (``rule_<name>``); on the plain
    threshold path a rule with ``flags_on_fallback`` flags the pair by itself. A rule that
    ``uses_nli`` reads the NLI score and does not apply to a pair the cascade left unscored
    (``score`` None)."""

    name: str = ""
    flags_on_fallback: bool = False
    uses_nli: bool = False

    def __init__(self, cfg: DecideConfig):
        self.cfg = cfg

    def applies(self, pair: Pair, score: Score | None, evidence: dict[str, float]) -> RuleHit | None:
        raise NotImplementedError


class NumericRule(Rule):
    """Two similar claims give different figures for the same counted noun."""

    name = "numeric"
    flags_on_fallback = True
    uses_nli = True

    def applies(self, pair, score, evidence):
        if score is None or not self.cfg.numeric or pair.similarity < self.cfg.numeric_min_similarity:
            return None
        if max(score.p_entailment) >= self.cfg.numeric_max_entailment:
            return None
        hit, why = numeric_mismatch(pair.a.text, pair.b.text, self.cfg.numeric_tolerance)
        return RuleHit(self.name, why) if hit else None


class DenialRule(Rule):
    """One speaker denies what is asserted in a very similar claim."""

    name = "denial"
    flags_on_fallback = True
    uses_nli = True

    def applies(self, pair, score, evidence):
        if score is None or {pair.a.stance, pair.b.stance} != {"asserts", "denies"}:
            return None
        if pair.similarity < self.cfg.denial_min_similarity:
            return None
        if max(score.p_entailment) >= self.cfg.denial_max_entailment:
            return None
        return RuleHit(self.name)


class NegationRule(Rule):
    """Exactly one claim negates, and what it negates is what the other claim speaks of
    ("cooperation is not suspended" / "cooperation is suspended"), not something else
    ("there is no freeze" / "the sides continue to communicate")."""

    name = "negation"

    def applies(self, pair, score, evidence):
        if evidence.get("neg_one_side") and evidence.get("neg_aligned"):
            return RuleHit(self.name)
        return None


class AntonymRule(Rule):
    """The claims use a pair of antonyms (open/closed, rose/fell)."""

    name = "antonym"

    def applies(self, pair, score, evidence):
        return RuleHit(self.name) if antonym_hit(pair.a.text, pair.b.text) else None


RULES: dict[str, type[Rule]] = {r.name: r for r in (NumericRule, DenialRule, NegationRule, AntonymRule)}


def build_rules(cfg: DecideConfig) -> list[Rule]:
    unknown = [n for n in cfg.rules if n not in RULES]
    if unknown:
        raise ConfigError(f"unknown decision rule(s): {', '.join(unknown)}",
                          expected=", ".join(RULES), fix="fix decide.rules")
    return [RULES[n](cfg) for n in cfg.rules]


# ----------------------------------------------------------------------------- features
RULE_FEATURES = [f"rule_{n}" for n in RULES]
# NLI evidence times same-event evidence: feature -> the evidence it multiplies pc_max by
NLI_INTERACTIONS = {"pc_x_overlap": "lemma_overlap", "pc_x_neg_unaligned": "neg_unaligned",
                    "pc_x_opinion": "opinion"}
# read from the NLI output alone (the two directions and how they agree)
PURE_NLI_FEATURES = ["pc_ab", "pc_ba", "pe_ab", "pe_ba", "pc_max", "pc_min", "pc_gap", "pe_max",
                     "logit_pc_max", "logit_pc_min"]
NLI_FEATURES = [*PURE_NLI_FEATURES, *NLI_INTERACTIONS,
                *(f"rule_{n}" for n, r in RULES.items() if r.uses_nli)]
FEATURES = [
    # the two NLI directions and how they agree; entailment is counter-evidence
    "pc_ab", "pc_ba", "pe_ab", "pe_ba", "pc_max", "pc_min", "pc_gap", "pe_max", "logit_pc_max",
    "logit_pc_min",
    # how related the claims are, and who says them
    "similarity", "same_topic", "rel_same_speaker", "rel_same_side", "rel_opposing_sides",
    "rel_cross_document", "rel_unattributed", "stance_denial",
    # same-event evidence (stages/evidence.py)
    *EVIDENCE,
    # older cues
    "negation_mismatch", "tense_mismatch", "time_shift_cue",
    # interactions a linear model cannot form itself
    "pc_x_overlap", "pc_x_neg_unaligned", "pc_x_opinion",
    *RULE_FEATURES,
]


def _logit(p: float) -> float:
    p = min(max(p, 1e-4), 1 - 1e-4)
    return float(np.log(p / (1 - p)))


def features(pair: Pair, score: Score | None, evidence: dict[str, float] | None = None,
             hits: list[RuleHit] | None = None) -> dict[str, float]:
    """The learned stage's inputs for one pair (all numeric).

    ``evidence`` defaults to ``pair_evidence(pair)`` (lemma alignment only) and ``hits`` to
    the default rules' hits. ``score`` None (a pair the NLI cascade did not score): the
    ``NLI_FEATURES`` are NaN, which ``LearnedDecider`` reads as their training means."""
    a, b = pair.a, pair.b
    ta, tb = a.text, b.text
    nan = float("nan")
    pc, pe = (score.p_contradiction, score.p_entailment) if score is not None else ((nan, nan), (nan, nan))
    if evidence is None:
        evidence = pair_evidence(pair)
    if hits is None:
        cfg = DecideConfig()
        hits = [h for r in build_rules(cfg) if (h := r.applies(pair, score, evidence))]
    fired = {h.name for h in hits}
    f = {
        "pc_ab": pc[0], "pc_ba": pc[1], "pe_ab": pe[0], "pe_ba": pe[1], "pc_max": max(pc),
        "pc_min": min(pc), "pc_gap": abs(pc[0] - pc[1]), "pe_max": max(pe),
        "logit_pc_max": _logit(max(pc)), "logit_pc_min": _logit(min(pc)),
        "similarity": pair.similarity,
        "same_topic": float(bool(a.topic) and a.topic == b.topic),
        "stance_denial": float({a.stance, b.stance} == {"asserts", "denies"}),
        "negation_mismatch": float((negation_count(ta) % 2) != (negation_count(tb) % 2)),
        "tense_mismatch": float(bool(_FUTURE.search(ta)) != bool(_FUTURE.search(tb))),
        "time_shift_cue": float(bool(_TIME_SHIFT.search(ta)) or bool(_TIME_SHIFT.search(tb))),
    }
    for rel in ("same_speaker", "same_side", "opposing_sides", "cross_document", "unattributed"):
        f[f"rel_{rel}"] = float(pair.relation == rel)
    f.update({k: float(evidence[k]) for k in EVIDENCE})
    for name, ev_name in NLI_INTERACTIONS.items():
        f[name] = f["pc_max"] * evidence[ev_name]
    for name in RULES:
        f[f"rule_{name}"] = float(name in fired)
    if score is None:
        f.update({k: nan for k in NLI_FEATURES})
    return f


def feature_matrix(pairs: list[Pair], scores: Sequence[Score | None], evidence: list[dict] | None = None,
                   hits: list[list[RuleHit]] | None = None) -> np.ndarray:
    rows = []
    for i, (p, s) in enumerate(zip(pairs, scores)):
        f = features(p, s, evidence[i] if evidence else None, hits[i] if hits else None)
        rows.append([f[k] for k in FEATURES])
    return np.array(rows, dtype=np.float64).reshape(len(pairs), len(FEATURES))


def combine_directions(pc: tuple[float, float], how: str) -> float:
    """P(contradiction) of a pair from its two directions: max | mean | min."""
    if how == "max":
        return float(max(pc))
    if how == "min":
        return float(min(pc))
    return float((pc[0] + pc[1]) / 2)


# ----------------------------------------------------------------------------- learned stage
DECIDER_FILE = "decider.json"


@dataclass
class LearnedDecider:
    """Standardised logistic regression with Platt calibration, stored as JSON (no pickles).

    P(contradiction) = sigmoid(cal_a * z + cal_b), z the regression's logit; ``threshold``
    is the operating point chosen on dev (see ``metrics``). A NaN feature counts as its
    training mean (a standardised 0). ``nli_margin`` (None in files from before the NLI
    cascade): the allowance, in units of z, for what the pure NLI features
    (``PURE_NLI_FEATURES``) can add to a score; ``nli_bound`` adds what the NLI interactions
    and rules can add to it, pair by pair.
    """

    features: list[str]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    threshold: float
    metrics: dict
    calibration: tuple[float, float] = (1.0, 0.0)
    nli_margin: float | None = None

    def logit(self, x: np.ndarray) -> np.ndarray:
        """The regression's logit z (before calibration)."""
        return np.nan_to_num((x - self.mean) / self.scale, nan=0.0) @ self.coef + self.intercept

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        return self.calibrate(self.logit(x))

    def calibrate(self, z: np.ndarray) -> np.ndarray:
        a, b = self.calibration
        return 1.0 / (1.0 + np.exp(-(a * z + b)))

    def cut_logit(self, threshold: float) -> float:
        """The logit z at which the calibrated score equals ``threshold``."""
        a, b = self.calibration
        t = min(max(threshold, 1e-9), 1 - 1e-9)
        return float((np.log(t / (1 - t)) - b) / a) if a > 0 else float("-inf")

    def nli_part(self, x: np.ndarray) -> np.ndarray:
        """What the NLI features add to each row's logit (full minus ``base_logit``)."""
        return self.logit(x) - self.base_logit(x)

    def _term(self, name: str, x: np.ndarray | float) -> np.ndarray:
        """What feature ``name`` at value(s) ``x`` adds to the logit, against its mean."""
        i = self.features.index(name)
        return (np.asarray(x, dtype=np.float64) - self.mean[i]) / self.scale[i] * self.coef[i]

    def pure_nli_part(self, x: np.ndarray) -> np.ndarray:
        """What the pure NLI features add to each row's logit."""
        out = np.zeros(len(x))
        for c in (self.features.index(f) for f in PURE_NLI_FEATURES):
            out = out + self._term(self.features[c], x[:, c])
        return out

    def nli_bound(self, x: np.ndarray, rules_possible: dict[str, np.ndarray]) -> np.ndarray:
        """An upper bound, per row of unscored features ``x``, on what the NLI features can
        add to its logit: ``nli_margin`` for the pure ones, plus, exactly, the most each
        interaction can add (pc_max is in [0, 1] and its factor is known before NLI) and each
        NLI rule (0 or 1; 0 where ``rules_possible[name]`` says it cannot fire)."""
        bound = np.full(len(x), float(self.nli_margin or 0.0))
        for name, ev_name in NLI_INTERACTIONS.items():
            e = np.nan_to_num(x[:, self.features.index(ev_name)], nan=0.0)
            bound += np.maximum(self._term(name, 0.0), self._term(name, e))
        for name, r in RULES.items():
            if r.uses_nli:
                off = self._term(f"rule_{name}", 0.0)
                on = max(float(off), float(self._term(f"rule_{name}", 1.0)))
                bound += np.where(rules_possible.get(name, np.ones(len(x), bool)), on, off)
        return bound

    def base_logit(self, x: np.ndarray) -> np.ndarray:
        """The logit with the NLI features at their training means."""
        x = np.array(x, dtype=np.float64, copy=True)
        x[:, [self.features.index(f) for f in NLI_FEATURES]] = np.nan
        return self.logit(x)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({
            "kind": "logistic_regression", "features": self.features,
            "mean": self.mean.tolist(), "scale": self.scale.tolist(), "coef": self.coef.tolist(),
            "intercept": self.intercept, "calibration": list(self.calibration),
            "threshold": self.threshold, "nli_margin": self.nli_margin, "metrics": self.metrics,
        }, indent=2), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> LearnedDecider:
        if not path.is_file():
            raise ConfigError(
                f"decide.method is 'learned' but {path} does not exist",
                fix="train it with `contradict train-decider`, or use decide.method=auto|threshold",
            )
        d = json.loads(path.read_text(encoding="utf-8"))
        if d.get("features") != FEATURES:
            raise ConfigError(f"{path} was trained on other features", expected=FEATURES,
                              found=d.get("features"), fix="retrain it with train-decider")
        cal = d.get("calibration") or [1.0, 0.0]
        margin = d.get("nli_margin")
        return cls(d["features"], np.array(d["mean"]), np.array(d["scale"]),
                   np.array(d["coef"]), float(d["intercept"]), float(d["threshold"]),
                   d.get("metrics", {}), (float(cal[0]), float(cal[1])),
                   float(margin) if margin is not None else None)


# Added to the largest pure NLI part seen on the training articles, for articles unlike them.
# Shipped decider, onnx int8 model, data/labelled/dev (1,201 pairs): the largest pure NLI part
# is 1.34 (the whole NLI part, interactions and rules included, 2.41). Pairs sent to the NLI
# model, with the interactions and rules bounded pair by pair (test: 8% at +0, 11% at +0.25,
# 15% at +0.5; a single margin for the whole NLI part needed 23%, 32%, 44%); no default-point
# flag lost on dev or test at any of them.
NLI_MARGIN_ALLOWANCE = 0.5


def fit_nli_margin(decider: LearnedDecider, x: np.ndarray) -> float:
    """The cascade's ``nli_margin`` for ``decider`` from fully scored pairs ``x`` (rows of
    ``feature_matrix``): the largest part of a logit their pure NLI features made, plus
    ``NLI_MARGIN_ALLOWANCE``."""
    part = decider.pure_nli_part(x) if len(x) else np.zeros(1)
    return round(float(max(np.max(part), 0.0)) + NLI_MARGIN_ALLOWANCE, 4)


# the NLI score under which every rule that reads it can fire (they fire below an entailment cap)
FAVOURABLE = Score((1.0, 1.0), (0.0, 0.0), (0.0, 0.0))


def decider_path(cfg: DecideConfig, model_dir: str | None) -> Path:
    return Path(cfg.classifier) if cfg.classifier else Path(model_dir or ".") / DECIDER_FILE


class Decider:
    """Turns scored pairs into flags (see the module docstring).

    ``embed`` (a sentence embedder's ``encode`` returning unit vectors, e.g. Topics.embed)
    lets negation alignment compare words by meaning; without it only equal lemmas align.
    """

    def __init__(self, cfg: DecideConfig | None = None, model_dir: str | None = None,
                 embed=None):
        self.cfg = cfg or DecideConfig()
        self.rules = build_rules(self.cfg)
        self.words = WordSimilarity(embed)
        self.learned: LearnedDecider | None = None
        self.method = "threshold"
        path = decider_path(self.cfg, model_dir)
        if self.cfg.method == "learned":
            self.learned = LearnedDecider.load(path)
            self.method = "learned"
        elif self.cfg.method == "auto":
            if path.is_file():
                try:
                    self.learned = LearnedDecider.load(path)
                    self.method = "learned"
                except ConfigError:
                    log.warning("decision: %s was trained on other features (retrain it with "
                                "`contradict train-decider`); falling back to a threshold of %.3f on "
                                "P(contradiction) (%s of the two directions)", path,
                                self.cfg.threshold, self.cfg.directions)
            else:
                log.warning("decision: no learned decision model at %s (train one with `contradict "
                            "train-decider`); falling back to a threshold of %.3f on P(contradiction) "
                            "(%s of the two directions)", path, self.cfg.threshold, self.cfg.directions)
        if self.learned is not None and self.cfg.operating_point >= 0:
            # the reader's own cut on the calibrated score, instead of the one chosen on dev
            self.learned.threshold = float(self.cfg.operating_point)
        if self.learned is not None:
            log.info("decision: learned model %s, operating point %.3f", path, self.learned.threshold)

    @property
    def threshold(self) -> float:
        return self.learned.threshold if self.learned is not None else self.cfg.threshold

    def pair_evidence(self, pairs: list[Pair], words: WordSimilarity | None = None) -> list[dict]:
        """Same-event evidence for every pair (stages/evidence.py); needs no NLI score.
        ``words``: the word similarities to align negations with (default: the decider's)."""
        if any(c.info is None for p in pairs for c in (p.a, p.b)):
            # claims without info (built outside the pipeline): copies with it
            from pipeline.stages.nlp import load_spacy

            pairs = pairs_with_info(pairs, load_spacy("auto"))
        words = words or self.words
        prepare_words(pairs, words)
        return [pair_evidence(p, words, align_similarity=self.cfg.negation_align_similarity)
                for p in pairs]

    def evidence(self, pairs: list[Pair], scores: Sequence[Score | None],
                 evs: list[dict] | None = None) -> tuple[list[dict], list[list[RuleHit]]]:
        """Same-event evidence (``evs`` when already computed) and rule hits for every pair."""
        if evs is None:
            evs = self.pair_evidence(pairs)
        hits = [[h for r in self.rules if (h := r.applies(p, s, ev))]
                for p, s, ev in zip(pairs, scores, evs)]
        return evs, hits

    @property
    def cascade(self) -> bool:
        """Whether ``nli_needed`` may leave pairs unscored (see the module docstring)."""
        return (self.cfg.nli_cascade and self.learned is not None
                and self.learned.nli_margin is not None)

    def nli_needed(self, pairs: list[Pair], evs: list[dict] | None = None) -> np.ndarray:
        """Which pairs the NLI model must score: all of them without the cascade; with it,
        those whose base logit plus the bound on what NLI can add (``LearnedDecider.nli_bound``)
        reaches the operating point."""
        learned = self.learned
        if not self.cascade or learned is None or not pairs:
            return np.ones(len(pairs), dtype=bool)
        evs, hits = self.evidence(pairs, [None] * len(pairs), evs)
        x = feature_matrix(pairs, [None] * len(pairs), evs, hits)
        # an NLI rule can fire only where it fires with the score most favourable to it
        possible = {r.name: np.array([bool(r.applies(p, FAVOURABLE, ev)) for p, ev in zip(pairs, evs)])
                    for r in self.rules if r.uses_nli}
        bound = learned.nli_bound(x, possible)
        reported = np.array([self.flags_dispute(p) for p in pairs], dtype=bool)
        return (learned.logit(x) + bound >= learned.cut_logit(self.threshold)) | reported

    def flags_dispute(self, pair: Pair) -> bool:
        """The pair is a dispute the article states in one sentence and ``dispute_score`` is
        on: flagged whatever the models say (so the cascade must score it)."""
        return self.cfg.dispute_score > 0 and reported_dispute(pair)

    def probabilities(self, pairs: list[Pair], scores: Sequence[Score | None],
                      evs: list[dict] | None = None) -> tuple[np.ndarray, list[list[RuleHit]]]:
        """The score of every pair (learned: calibrated P(contradiction); else the combined
        NLI probability) and the rules that fired. A pair without an NLI score (None: the
        cascade left it out) gets its base score on the learned path."""
        evs, hits = self.evidence(pairs, scores, evs)
        if self.learned is not None and pairs:
            probs = self.learned.predict_proba(feature_matrix(pairs, scores, evs, hits))
        elif any(s is None for s in scores):
            raise ValueError("the plain-threshold decision needs an NLI score for every pair")
        else:
            probs = np.array([combine_directions(s.p_contradiction, self.cfg.directions)
                              for s in scores if s is not None])  # none is None here
        return probs * self.agreement_weights(pairs, scores), hits

    def agreement_weights(self, pairs: list[Pair], scores: Sequence[Score | None]) -> np.ndarray:
        """``decide.agreement_factor`` for the pairs whose claims agree (``evidence.agreement``),
        1 for the others: agreement is never flagged, however high P(contradiction) is."""
        cfg = self.cfg
        return np.array([cfg.agreement_factor if agreement(
            p, s, entailment=cfg.agree_entailment,
            similarity=cfg.agree_similarity) else 1.0 for p, s in zip(pairs, scores)], dtype=float)

    def near_cut(self, pairs: list[Pair], scores: Sequence[Score | None], evs: list[dict] | None,
                 margin: float) -> np.ndarray:
        """Indices of the scored pairs whose score is at least the cut minus ``margin`` (the
        pairs the cascade left unscored are below the cut and are not looked at)."""
        idx = np.array([i for i, s in enumerate(scores) if s is not None], dtype=int)
        if not len(idx):
            return idx
        probs, _ = self.probabilities([pairs[i] for i in idx], [scores[i] for i in idx],
                                      None if evs is None else [evs[i] for i in idx])
        return idx[probs >= self.threshold - margin]

    def decide(self, pairs: list[Pair], scores: Sequence[Score | None],
               evs: list[dict] | None = None) -> list[Flag]:
        """The flagged pairs: those whose score reaches the cut (``threshold``)."""
        return self.decide_ranked(pairs, scores, evs)[0]

    def decide_ranked(self, pairs: list[Pair], scores: Sequence[Score | None],
                      evs: list[dict] | None = None,
                      below: int = 0) -> tuple[list[Flag], list[Flag]]:
        """The flagged pairs, and the ``below`` best-scored pairs under the cut (reason
        ``below_cut``, highest score first; ties in pair order) from the same pass: what a run
        that flags nothing shows its reader instead of nothing."""
        if not pairs:
            return [], []
        probs, hits = self.probabilities(pairs, scores, evs)
        flags: list[Flag] = []
        under: list[tuple[float, int, Flag]] = []
        for i, (pair, sc, prob, hs) in enumerate(zip(pairs, scores, probs, hits)):
            if sc is None:  # left out by the cascade: its base score is below the cut
                continue
            k = int(np.argmax(sc.p_contradiction))
            pc, pe, pn = sc.p_contradiction[k], sc.p_entailment[k], sc.p_neutral[k]
            score = float(prob)
            details = {h.name: h.detail for h in hs if h.detail}
            reasons: list[str] = []
            if self.learned is not None:
                if score >= self.learned.threshold:
                    reasons = ["learned"] + [h.name for h in hs]
            else:
                if score >= self.cfg.threshold:
                    reasons.append("nli")
                if self.cfg.fallback_rules_flag:
                    for h in hs:
                        rule = next(r for r in self.rules if r.name == h.name)
                        if rule.flags_on_fallback:
                            reasons.append(h.name)
                            score = max(score, pair.similarity)
            if self.flags_dispute(pair):
                # the article states the dispute: flagged, and above what the models give
                reasons.append("dispute")
                score = max(score, self.cfg.dispute_score)
            if not reasons and below <= 0:
                continue
            flag = Flag(pair=pair, score=min(1.0, score), p_contradiction=float(pc),
                        p_entailment=float(pe), p_neutral=float(pn),
                        reason="+".join(reasons) or "below_cut",
                        topic=pair.a.topic or pair.b.topic, details=details)
            if reasons:
                flags.append(flag)
            else:
                under.append((-flag.score, i, flag))
        return flags, [f for _, _, f in heapq.nsmallest(below, under, key=lambda t: t[:2])]
