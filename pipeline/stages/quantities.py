"""Figures in claim text: value, unit and the noun they count ("$1.3bn of aid" -> 1.3e9 usd
aid), and whether two claims give the same quantity two incompatible values. Read by the
same-event evidence (evidence.py) and the numeric rule (decide.py)."""

from __future__ import annotations

import re
from dataclasses import dataclass

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
              "been", "be", "as", "but", "after", "before", "this", "last", "each",
              "under", "up", "out", "including", "a.m", "p.m", "its", "their", "his", "her",
              "could", "can", "may", "might", "should", "did", "do", "not", "so", "when"}
_TIME_NOUNS = {"year", "years", "month", "months", "day", "days", "week", "weeks", "hour",
               "hours", "minute", "minutes", "am", "pm", "a.m", "p.m"}
# month names and their abbreviations, lower case
MONTHS = ("january february march april may june july august september october november "
          "december jan feb mar apr jun jul aug sep sept oct nov dec").split()


@dataclass(frozen=True)
class Quantity:
    """A figure in a claim: its value (scaled: "$33bn" is 33e9), its unit (``usd``,
    ``percent`` or the counted noun) and the text it was read from."""
    value: float
    unit: str  # "usd", "percent", or a counted noun ("workers")
    text: str


def _head_noun(words: str) -> str:
    """The counted noun after a figure: the first plural among the next words, else the
    first word ("310 unfilled nursing posts" -> "posts", "950 workers remain" -> "workers")."""
    out: list[str] = []
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
        if any(mo in before.split() for mo in MONTHS):
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
    in_b = {q.unit for q in qb}
    # units in the order the first text gives them: a set's order changes with the hash seed
    for unit in dict.fromkeys(q.unit for q in qa if q.unit in in_b):
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
