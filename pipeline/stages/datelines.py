"""Datelines, headlines and subheadings: the publisher's lines of an article, not
statements in it ("ISLAMABAD (Reuters) - ", a leading headline paragraph, a short
paragraph without final punctuation between paragraphs). Read off the text alone."""

from __future__ import annotations

import re


def headline_end(text: str) -> int:
    """End of a leading headline paragraph (no final punctuation, at most 20 words), or 0."""
    first = text.split("\n\n", 1)[0]
    if "\n\n" not in text or not first or len(first.split()) > 25:
        return 0
    if not re.search(r"[.!?\"”]\s*$", first) and len(first.split()) <= 20:
        return len(first)
    # a title-cased first line is a headline even with a final full stop ("Clinton Plan for
    # Taxes Is Expansive but Complex.")
    long_words = [w for w in re.findall(r"[^\W\d_][\w’'-]*", first) if len(w) >= 4]
    if len(long_words) >= 3 and sum(w[0].isupper() for w in long_words) >= 0.8 * len(long_words):
        return len(first)
    return 0


# "ISLAMABAD (Reuters) - ", "WASHINGTON, March 3 (AP) — "
DATELINE = re.compile(r"^[A-Z][A-Z.' ]{2,40}(?:,[^-–—()]{0,30})?(?:\s*\([^)]{1,40}\))?\s*[-–—:]+\s*")
# what is left of a dateline when spaCy cut "ISLAMABAD," off as a sentence of its own:
# "Jan 10 (Wire) - Pakistan has ..." (a month and day and/or an agency, then a dash), or
# "MIREN (" with it: "Wire) - Karavia has ..."
DATELINE_TAIL = re.compile(
    r"^(?:(?:[A-Z][a-z]{2,8}\.?\s+\d{1,2}(?:,\s*\d{4})?\s*)(?:\([^)]{1,40}\)\s*)?|\([^)]{1,40}\)\s*"
    r"|[A-Z][\w.&' ]{0,30}\)\s*)"
    r"[-–—]+\s+")


def dateline_spans(text: str) -> list[tuple[int, int]]:
    """Spans of datelines ("ISLAMABAD (Wire) - ") at the start of paragraphs."""
    out = []
    for m in re.finditer(r"(?:^|\n\n)", text):
        d = DATELINE.match(text[m.end():m.end() + 120])
        if d:
            out.append((m.end(), m.end() + d.end()))
    return out


def is_subheading(text: str, start: int, end: int) -> bool:
    """A short paragraph of its own without final punctuation (a subheading between
    paragraphs, often title case): not a claim."""
    end = start + len(text[start:end].rstrip())
    start = end - len(text[start:end].lstrip())
    ps = text.rfind("\n\n", 0, start)
    ps = 0 if ps < 0 else ps + 2
    pe = text.find("\n\n", end)
    pe = len(text) if pe < 0 else pe
    para = text[ps:pe].strip()
    if not para or text[ps:start].strip() or text[end:pe].strip():
        return False  # the sentence is not the whole paragraph
    words = para.split()
    return len(words) <= 12 and not re.search(r"[.!?;:,\"”’')]$", para) and not para.startswith(("\"", "“"))
