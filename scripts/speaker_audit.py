"""Speakers that cannot speak, counted on a claims CSV (``contradict claims ... -o claims.csv``).

    python scripts/speaker_audit.py out/claims.csv [--list]

Each claim with a speaker is checked on the speaker string and the mention as written, with
no parse, so the count does not depend on the rules it checks (issue 24):

* ``quantity``: a number, a percentage or a share ("26%", "Two in three", "A majority of ...");
* ``date``: a day, a month or another word of time;
* ``pronoun``: an indefinite, negative, relative or object pronoun ("anyone", "others", "who");
* ``fragment``: a name cut out of a longer mention whose head is someone or something else
  ("Sanders" of "Some Sanders supporters", "Manchester" of "One man in Manchester",
  "Kim Jong Un's" of "The source with knowledge of Kim Jong Un's health");
* ``thing``: a lower-case speaker whose last word names no person, body, medium or document
  (``pipeline.stages.agents.agent_noun``: "information", "the plan", "banana peel").

``--list`` prints every flagged speaker with its mention and kind; the summary counts flagged
claims by kind over the claims with a speaker. A heuristic: read the list before quoting it.
"""
from __future__ import annotations

import csv
import re
import sys
from collections import Counter

from pipeline.stages.agents import agent_noun

NUMBER_WORDS = set("""one two three four five six seven eight nine ten eleven twelve twenty thirty
forty fifty sixty seventy eighty ninety hundred thousand million half third quarter majority
minority percent number plurality""".split())
TIME_WORDS = set("""monday tuesday wednesday thursday friday saturday sunday january february march
april june july august september october november december today yesterday tomorrow""".split())
PRONOUNS = set("""anyone anybody everyone everybody someone somebody nobody none no one others
other some many several few most all both each either neither another who whom which that this
these those what him her them me us""".split())


_CUT = re.compile(r"\s(?:of|for|with|in|at|from|who|that|familiar|following|near|on|by|to)\s|,|\s+-")
_SPEAK_FOR = {"campaign", "team", "office", "spokesman", "spokeswoman", "spokesperson", "camp",
              "administration", "lawyer", "lawyers", "attorney", "attorneys", "aides", "aide"}
_NAME_END = {"of", "and", "in", "at", "from", "on", "for", "who", "with", "to", "said", "says",
             "is", "was", "has", "had", "told", "wrote"}


_NUM = "|".join(sorted(NUMBER_WORDS))
_IN_RATIO = re.compile(rf"\b(?:\d+|{_NUM}) in (?:\d+|{_NUM})\b")  # "two in three"


def _head(text: str) -> str:
    """The last word of a phrase before its first preposition, relative clause or comma."""
    words = re.findall(r"[\w%'’-]+", _CUT.split(f"{text} ", maxsplit=1)[0].lower())
    return words[-1] if words else ""


def kind(speaker: str, mention: str) -> str:
    """The kind of defect of one speaker given its mention, or ""."""
    s = speaker.strip()
    low = s.lower()
    words = re.findall(r"[\w%'’-]+", low)
    if not words:
        return ""
    head = _head(s)
    if (re.fullmatch(r"[\d.,%]+", head) or head in NUMBER_WORDS or head.endswith("%")
            or _IN_RATIO.search(low)):
        name = re.search(r"[A-Z]\w*\s+[A-Z]\w*$", s) is not None  # "Page Six", a name
        if not (head in ("one", "some", "several", "many") and " of " in f" {low} ") and not name:
            return "quantity"
    if all(w in TIME_WORDS for w in words):
        return "date"
    if (low in PRONOUNS and not s.isupper()) or words[0] in ("no", "what", "which") and len(words) > 1 \
            and s[:1].islower():
        return "pronoun"
    m = mention.strip()
    if s.endswith(("'s", "’s")):
        return "fragment"
    if s[:1].isupper() and s in m and m != s:
        at = m.index(s)
        after = m[at + len(s):].strip()
        before = m[:at].strip().lower()
        nxt = re.match(r"['’]s\s+([\w-]+)|([\w-]+)", after)
        word = (nxt.group(1) or nxt.group(2)) if nxt else ""
        # a lower-case word after the name is the head it qualifies ("Sanders supporters",
        # "Twitter user", "Trump's inner circle"), unless it states or speaks for the name
        if word and word[:1].islower() and word.lower() not in _NAME_END and word.lower() not in _SPEAK_FOR \
                and not agent_noun(word) or word and word[:1].islower() and word.lower() in (
                    "supporter", "supporters", "adviser", "advisers", "confidant", "allies", "ally",
                    "friends", "friend", "user", "users", "customers", "killer", "watchers", "voters"):
            return "fragment"
        # "One man in Manchester", "A Kurdish politician from Turkey": a place locating the head
        if not after and re.search(r"\s(?:in|near|from)$", before):
            return "fragment"
    if s[:1].islower() or low.startswith(("the ", "a ", "an ")):
        phrase = re.findall(r"[\w-]+", _CUT.split(f"{low} ", maxsplit=1)[0])
        if head and not any(agent_noun(w) or agent_noun(w.rstrip("s")) for w in phrase) \
                and not (" of " in f" {low} " and phrase[-1] in ("one", "some", "several", "many", "most")):
            return "thing"
    return ""


def main(path: str, show: bool = False) -> None:
    rows = [r for r in csv.DictReader(open(path, encoding="utf-8")) if r["speaker"]]
    kinds: Counter[str] = Counter()
    seen: Counter[tuple[str, str, str]] = Counter()
    for r in rows:
        k = kind(r["speaker"], r.get("mention", ""))
        if k:
            kinds[k] += 1
            seen[(k, r["speaker"], r.get("mention", "")[:60])] += 1
    if show:
        for (k, s, m), n in sorted(seen.items()):
            print(f"{k:<9} {n:>3}  {s!r}  <- {m!r}")
    total = sum(kinds.values())
    print(f"{len(rows)} claims with a speaker, {total} flagged ({total / max(1, len(rows)):.1%}): "
          + ", ".join(f"{k} {v}" for k, v in kinds.most_common()))


if __name__ == "__main__":
    main(sys.argv[1], "--list" in sys.argv[2:])
