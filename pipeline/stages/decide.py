"""Decide: which scored pairs are flagged, with what score and why.

Two methods, chosen by ``decide.method``:

* ``threshold``: flag when P(contradiction), the larger of the two directions, reaches
  ``decide.threshold``;
* ``learned``: a logistic-regression decision stage over pair features (``features()``),
  trained by ``contradict train-decider`` on annotated articles and stored as JSON beside
  the model (no pickles).

Both add checks the NLI model is weak at: two claims that state different figures for the
same quantity (``numeric``), and a speaker denying the very proposition another asserts
(``denial``). Every flag carries its reasons.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.config import DecideConfig
from pipeline.errors import ConfigError
from pipeline.types import Flag, Pair, Score

# ----------------------------------------------------------------------------- numbers
_SCALE = {"thousand": 1e3, "k": 1e3, "million": 1e6, "mn": 1e6, "m": 1e6, "billion": 1e9,
          "bn": 1e9, "b": 1e9, "trillion": 1e12, "tn": 1e12, "crore": 1e7, "lakh": 1e5}
_WORDNUM = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
            "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15,
            "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "hundred": 100,
            "dozen": 12, "half": 0.5}
_CURRENCY = {"$": "usd", "us$": "usd", "£": "gbp", "€": "eur", "¥": "jpy", "rs": "inr",
             "dollars": "usd", "dollar": "usd", "euros": "eur", "pounds": "gbp", "rupees": "inr"}
_NUM_RE = re.compile(
    r"(?P<cur>US\$|\$|£|€|¥|Rs\.?\s?)?"
    r"(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    r"(?:\s?(?P<scale>thousand|million|billion|trillion|bn|mn|tn|crore|lakh|[kmb])\b)?"
    r"(?:\s?(?P<pct>%|per\s?cent|percent|percentage points?))?"
    r"(?:\s+(?P<noun>[A-Za-z][A-Za-z-]+(?:\s+[A-Za-z][A-Za-z-]+){0,2}))?",
    re.IGNORECASE,
)
_WORD_RE = re.compile(
    r"\b(?P<num>" + "|".join(_WORDNUM) + r")\s+(?P<scale>thousand|million|billion)?\s*"
    r"(?P<noun>[A-Za-z][A-Za-z-]+)", re.IGNORECASE)
_NOUN_SKIP = {"of", "and", "to", "in", "on", "a", "the", "over", "per", "from", "by", "for",
              "at", "with", "than", "more", "less", "or", "were", "was", "are", "is", "had",
              "have", "has", "will", "would", "across", "since", "into", "that", "who", "which",
              "had", "been", "be", "as", "but", "after", "before", "this", "last", "each",
              "under", "up", "out", "including", "a.m", "p.m", "its", "their", "his", "her",
              "could", "can", "may", "might", "should", "did", "do", "not", "so", "when"}
_TIME_NOUNS = {"year", "years", "month", "months", "day", "days", "week", "weeks", "hour",
               "hours", "minute", "minutes", "am", "pm", "a.m", "p.m"}
_MONTHS = ("january february march april may june july august september october november "
           "december jan feb mar apr jun jul aug sep sept oct nov dec").split()


@dataclass(frozen=True)
class Quantity:
    value: float
    unit: str  # "usd", "percent", or a counted noun ("workers")
    text: str


def _head_noun(words: str) -> str:
    """The counted noun after a figure: the first plural among the next words, else the
    first word ("310 unfilled nursing posts" -> "posts", "950 workers remain" -> "workers")."""
    out = []
    for w in words.lower().split():
        if w in _NOUN_SKIP or (w in _CURRENCY and out):
            break
        if w in _CURRENCY:
            return w
        out.append(w)
    for w in out:
        if (w.endswith("s") and not w.endswith("ss")) or w in ("people", "children"):
            return w
    return out[0] if out else ""


def _singular(w: str) -> str:
    if w in ("people", "persons"):
        return "person"
    if w == "children":
        return "child"
    w = w.lower()
    if w.endswith("ies") and len(w) > 4:
        return w[:-3] + "y"
    if w.endswith("s") and not w.endswith("ss") and len(w) > 3:
        return w[:-1]
    return w


def quantities(text: str) -> list[Quantity]:
    """Figures in a text with their unit: currency, percent or the noun they count.

    Years, dates and clock times are left out.

    Example:
        >>> [(q.value, q.unit) for q in quantities("Aid of $33bn over 15 years to 1,200 workers")]
        [(33000000000.0, 'usd'), (1200.0, 'worker')]
    """
    out: list[Quantity] = []
    for m in _NUM_RE.finditer(text):
        raw = m.group("num").replace(",", "")
        try:
            value = float(raw)
        except ValueError:
            continue
        before = text[max(0, m.start() - 12):m.start()].lower()
        cur = (m.group("cur") or "").strip().lower().rstrip(".")
        scale = (m.group("scale") or "").lower()
        pct = m.group("pct")
        noun = _head_noun(m.group("noun") or "")
        if scale:
            value *= _SCALE.get(scale, 1.0)
        if pct:
            unit = "percent"
        elif cur:
            unit = _CURRENCY.get(cur, cur)
        elif noun in _CURRENCY:
            unit = _CURRENCY[noun]
        elif noun and noun not in _NOUN_SKIP:
            unit = _singular(noun)
        else:
            unit = ""
        if not unit:
            continue
        if unit in {_singular(t) for t in _TIME_NOUNS} or noun in _TIME_NOUNS:
            continue  # durations and times: too often framing, not the disputed figure
        if not cur and not pct and not scale and 1900 <= value <= 2100 and raw.isdigit():
            continue  # a year
        if any(mo in before.split() for mo in _MONTHS):
            continue  # a date
        out.append(Quantity(value, unit, m.group(0)))
    for m in _WORD_RE.finditer(text):
        noun = m.group("noun").lower()
        if noun in _NOUN_SKIP or noun in _TIME_NOUNS:
            continue
        value = _WORDNUM[m.group("num").lower()] * _SCALE.get((m.group("scale") or "").lower(), 1.0)
        out.append(Quantity(float(value), _singular(noun), m.group(0)))
    return out


def numeric_mismatch(a: str, b: str, tolerance: float = 0.02) -> tuple[bool, str]:
    """True when both texts give a figure for the same unit and no figure of that unit
    agrees (within ``tolerance``, relative)."""
    qa, qb = quantities(a), quantities(b)
    for unit in {q.unit for q in qa} & {q.unit for q in qb}:
        va = [q for q in qa if q.unit == unit]
        vb = [q for q in qb if q.unit == unit]
        agree = any(
            abs(x.value - y.value) <= tolerance * max(abs(x.value), abs(y.value), 1e-9)
            for x in va for y in vb
        )
        if not agree:
            return True, f"{va[0].text.strip()} vs {vb[0].text.strip()}"
    return False, ""


# ----------------------------------------------------------------------------- cues
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
_ANT = {}
for _x, _y in _ANTONYMS:
    _ANT.setdefault(_x, set()).add(_y)
    _ANT.setdefault(_y, set()).add(_x)
_FUTURE = re.compile(r"\b(will|would|shall|going to|plans? to|expects? to|next)\b", re.I)
_PAST = re.compile(r"\b(was|were|had|did|\w+ed)\b", re.I)
_TIME_SHIFT = re.compile(r"\b(later|now|no longer|previously|earlier|initially|revised|"
                         r"updated|since|subsequently|anymore|any more|until)\b", re.I)
_DATE = re.compile(r"\b(" + "|".join(_MONTHS) + r")\b|\b(19|20)\d{2}\b|\b(mon|tues|wednes|"
                   r"thurs|fri|satur|sun)day\b", re.I)


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z']+", text.lower()))


def antonym_hit(a: str, b: str) -> bool:
    wa, wb = _words(a), _words(b)
    return any(_ANT.get(w, set()) & wb for w in wa)


def negation_count(text: str) -> int:
    return len(_NEG.findall(text))


# ----------------------------------------------------------------------------- features
FEATURES = [
    "pc_ab", "pc_ba", "pe_ab", "pe_ba", "pn_ab", "pn_ba", "pc_max", "pc_min", "pe_max",
    "similarity", "rel_same_speaker", "rel_same_side", "rel_opposing_sides",
    "rel_cross_document", "rel_unattributed", "stance_mismatch", "negation_mismatch",
    "antonym", "numeric_mismatch", "tense_mismatch", "date_cue", "time_shift_cue",
    "same_topic",
]


def features(pair: Pair, score: Score) -> dict[str, float]:
    """The learned stage's inputs for one pair (all numeric)."""
    a, b = pair.a, pair.b
    ta, tb = a.text, b.text
    pc, pe, pn = score.p_contradiction, score.p_entailment, score.p_neutral
    num, _ = numeric_mismatch(ta, tb)
    f = {
        "pc_ab": pc[0], "pc_ba": pc[1], "pe_ab": pe[0], "pe_ba": pe[1], "pn_ab": pn[0],
        "pn_ba": pn[1], "pc_max": max(pc), "pc_min": min(pc), "pe_max": max(pe),
        "similarity": pair.similarity,
        "stance_mismatch": float(a.stance != b.stance),
        "negation_mismatch": float((negation_count(ta) % 2) != (negation_count(tb) % 2)),
        "antonym": float(antonym_hit(ta, tb)),
        "numeric_mismatch": float(num),
        "tense_mismatch": float(bool(_FUTURE.search(ta)) != bool(_FUTURE.search(tb))),
        "date_cue": float(bool(_DATE.search(ta)) or bool(_DATE.search(tb))),
        "time_shift_cue": float(bool(_TIME_SHIFT.search(ta)) or bool(_TIME_SHIFT.search(tb))),
        "same_topic": float(bool(a.topic) and a.topic == b.topic),
    }
    for rel in ("same_speaker", "same_side", "opposing_sides", "cross_document", "unattributed"):
        f[f"rel_{rel}"] = float(pair.relation == rel)
    return f


def feature_matrix(pairs: list[Pair], scores: list[Score]) -> np.ndarray:
    return np.array([[features(p, s)[k] for k in FEATURES] for p, s in zip(pairs, scores)],
                    dtype=np.float64).reshape(len(pairs), len(FEATURES))


# ----------------------------------------------------------------------------- learned stage
DECIDER_FILE = "decider.json"


@dataclass
class LearnedDecider:
    """Standardised logistic regression stored as JSON."""

    features: list[str]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    threshold: float
    metrics: dict

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        z = ((x - self.mean) / self.scale) @ self.coef + self.intercept
        return 1.0 / (1.0 + np.exp(-z))

    def save(self, path: Path) -> None:
        path.write_text(json.dumps({
            "kind": "logistic_regression", "features": self.features,
            "mean": self.mean.tolist(), "scale": self.scale.tolist(), "coef": self.coef.tolist(),
            "intercept": self.intercept, "threshold": self.threshold, "metrics": self.metrics,
        }, indent=2), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> "LearnedDecider":
        if not path.is_file():
            raise ConfigError(
                f"decide.method is 'learned' but {path} does not exist",
                fix="train it with `contradict train-decider`, or use decide.method=threshold",
            )
        d = json.loads(path.read_text(encoding="utf-8"))
        if d.get("features") != FEATURES:
            raise ConfigError(f"{path} was trained on other features", expected=FEATURES,
                              found=d.get("features"), fix="retrain it with train-decider")
        return cls(d["features"], np.array(d["mean"]), np.array(d["scale"]),
                   np.array(d["coef"]), float(d["intercept"]), float(d["threshold"]),
                   d.get("metrics", {}))


class Decider:
    """Turns scored pairs into flags (see the module docstring)."""

    def __init__(self, cfg: DecideConfig | None = None, model_dir: str | None = None):
        self.cfg = cfg or DecideConfig()
        self.learned: LearnedDecider | None = None
        if self.cfg.method == "learned":
            path = Path(self.cfg.classifier) if self.cfg.classifier else Path(model_dir or ".") / DECIDER_FILE
            self.learned = LearnedDecider.load(path)
        elif self.cfg.method != "threshold":
            raise ConfigError("decide.method must be threshold or learned", found=self.cfg.method)

    def decide(self, pairs: list[Pair], scores: list[Score]) -> list[Flag]:
        flags = []
        probs = None
        if self.learned is not None and pairs:
            probs = self.learned.predict_proba(feature_matrix(pairs, scores))
        for i, (pair, sc) in enumerate(zip(pairs, scores)):
            k = int(np.argmax(sc.p_contradiction))
            pc, pe, pn = sc.p_contradiction[k], sc.p_entailment[k], sc.p_neutral[k]
            reasons: list[str] = []
            details: dict = {}
            if probs is not None:
                score = float(probs[i])
                if score >= self.learned.threshold:
                    reasons.append("learned")
            else:
                score = float(pc)
                if score >= self.cfg.threshold:
                    reasons.append("nli")
            if self.cfg.numeric and pair.similarity >= self.cfg.numeric_min_similarity:
                hit, why = numeric_mismatch(pair.a.text, pair.b.text)
                if hit and max(sc.p_entailment) < 0.9:
                    reasons.append("numeric")
                    details["numeric"] = why
                    score = max(score, pair.similarity)
            if (pair.a.stance != pair.b.stance and pair.similarity >= 0.8
                    and max(sc.p_entailment) < 0.5):
                reasons.append("denial")
                score = max(score, pair.similarity)
            if reasons:
                flags.append(Flag(pair=pair, score=min(1.0, score), p_contradiction=float(pc),
                                  p_entailment=float(pe), p_neutral=float(pn),
                                  reason="+".join(reasons), topic=pair.a.topic or pair.b.topic,
                                  details=details))
        return flags


def nli_text(claim) -> str:
    """The text the NLI model sees: a denial is stated as the negation it asserts."""
    if claim.stance == "denies":
        body = claim.text[0].lower() + claim.text[1:] if claim.text else claim.text
        return f"It is not true that {body.rstrip('.')}."
    return claim.text
