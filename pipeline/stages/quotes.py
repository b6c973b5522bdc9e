"""Quote regions: the quoted stretches of a normalised text, paragraph by paragraph (a
quote running on over paragraphs continues its region), a character -> region lookup,
and the punctuation trimmed from the edges of a span (``EDGE``). Read off the text alone."""

from __future__ import annotations

import re


QUOTE_CHARS = "\"“”"


# quote marks: straight and curly double quotes, and two apostrophes ('') used for both ends
# in some newspapers' copy (''This isn't tax reform,'' said ...)
_QUOTE_MARK = re.compile(r"''|[\"“”]")


def quote_regions(text: str) -> list[tuple[int, int, bool]]:
    """(start, end, continues_previous) of quoted stretches, paragraph by paragraph.

    A quote still open at the end of a paragraph closes there; when the next paragraph
    opens with a quote mark, that region continues the previous one (news convention for
    quotes running over paragraphs).
    """
    regions: list[tuple[int, int, bool]] = []
    pos = 0
    carry_open = False
    for para in re.split(r"(\n\n)", text):
        if para == "\n\n":
            pos += 2
            continue
        open_at = -1
        continues = False
        for m in _QUOTE_MARK.finditer(para):
            ch = '"' if m.group() == "''" else m.group()
            i = pos + m.start()
            # a closing mark that opens a paragraph can only open a quote (”Fear. I am ...”)
            if open_at < 0 and (ch != "”" or m.start() == 0):
                open_at = i + len(m.group())
                continues = carry_open and m.start() == 0
            elif open_at >= 0 and ch != "“":
                regions.append((open_at, i, continues))
                open_at = -1
        carry_open = open_at >= 0
        if carry_open:
            regions.append((open_at, pos + len(para), continues))
        pos += len(para)
    return regions


def quote_paragraph_after(text: str, regions, i: int) -> bool:
    """Quote region ``i`` opens a paragraph made of quotes alone (its quote regions and the
    marks and spaces around them), and quote region ``i - 1`` lies in the paragraph before."""
    qs = regions[i][0]
    ps = text.rfind("\n", 0, qs) + 1
    if text[ps:qs].strip(" \t\"“”'‘"):
        return False
    pe = text.find("\n", qs)
    pe = len(text) if pe < 0 else pe
    rest, pos = [], ps
    for s, e, _ in regions[i:]:
        if s >= pe:
            break
        rest.append(text[pos:s])
        pos = e
    rest.append(text[pos:pe])
    if any(piece.strip(" \t\"“”'‘’.,!?…") for piece in rest):
        return False
    j = ps
    while j > 0 and text[j - 1] in "\n \t":
        j -= 1
    return regions[i - 1][1] > text.rfind("\n", 0, j)


def region_lookup(regions, n):
    """For each character offset of a text of length ``n`` (and one past its end), the
    index of the quote region holding it, or -1."""
    lookup = [-1] * (n + 1)
    for r, (s, e, _) in enumerate(regions):
        for i in range(s, min(e, n)):
            lookup[i] = r
    return lookup
EDGE = set(QUOTE_CHARS) | {",", ";", ":", "-", "–", "—", "(", ")", "'", "’", "‘"}
