"""Normalise: unwrap hard-wrapped lines, drop page furniture, keep a map back to raw offsets.

``normalize(text)`` returns a ``Normalized`` whose ``text`` has one paragraph per block
(paragraphs separated by a blank line, lines inside a paragraph joined by one space) and
whose ``raw_span(start, end)`` maps a span of the normalised text back to the raw text, so
that ``raw[raw_start:raw_end]`` covers exactly the same words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipeline.config import NormalizeConfig

# Lines that are page furniture on their own. READ MORE / RELATED also take the teaser
# headline on the line that follows them.
_FURNITURE = re.compile(
    r"""^\s*(?:
        [|•·*_=~\-–—]+                                  # lone separators: |, ---, ***
      | (?:INSIDE\ STORY|WATCH|LISTEN|ALSO\ READ|READ\ ALSO|SEE\ ALSO|FACTBOX|EXPLAINER)\s*[:|\-–—].*
      | advertisement | sponsored(?:\ content)? | scroll\ to\ continue.*
      | (?:share|follow\ us|sign\ up|subscribe)\b.{0,60}
      | click\ here.{0,80}
    )\s*$""",
    re.IGNORECASE | re.VERBOSE,
)
_TEASER_LEAD = re.compile(r"^\s*(?:READ\s+MORE|RELATED(?:\s+STORIES)?|MORE\s+ON\s+THIS)\s*:?\s*(.*)$",
                          re.IGNORECASE)
_TERMINAL = re.compile(r"""[.!?:;"'”’)\]]\s*$""")


@dataclass(frozen=True)
class Normalized:
    """A text after normalisation: the raw text, the normalised text, for each normalised
    character its raw offset, and the raw spans of the furniture lines dropped."""
    raw: str
    text: str
    offsets: tuple[int, ...]  # offsets[i] = raw index of text[i]
    dropped: tuple[tuple[int, int], ...] = ()  # raw spans of furniture lines

    def raw_span(self, start: int, end: int) -> tuple[int, int]:
        """Map a normalised span [start, end) to the raw span covering the same characters."""
        if end <= start:
            pos = self.offsets[start] if start < len(self.offsets) else len(self.raw)
            return pos, pos
        return self.offsets[start], self.offsets[end - 1] + 1


def _lines(raw: str) -> list[tuple[int, int]]:
    """(start, end) of each line's content, without its line break."""
    out = []
    pos = 0
    for m in re.finditer(r"\r\n|\n|\r", raw):
        out.append((pos, m.start()))
        pos = m.end()
    out.append((pos, len(raw)))
    return out


def _is_furniture(line: str) -> bool:
    return bool(_FURNITURE.match(line))


def normalize(raw: str, cfg: NormalizeConfig | None = None) -> Normalized:
    """Unwrap and clean ``raw``; see the module docstring.

    Example:
        >>> n = normalize("Talks are\\nongoing.\\n\\n|\\n\\nNew para.")
        >>> n.text
        'Talks are ongoing.\\n\\nNew para.'
        >>> s, e = n.raw_span(0, 18); n.raw[s:e]
        'Talks are\\nongoing.'
    """
    cfg = cfg or NormalizeConfig()
    spans = _lines(raw)
    kept: list[tuple[int, int] | None] = []  # None marks a paragraph break
    dropped: list[tuple[int, int]] = []
    skip_teaser = False
    for s, e in spans:
        line = raw[s:e]
        stripped = line.strip()
        if not stripped:
            kept.append(None)
            continue
        if cfg.drop_furniture:
            if skip_teaser:
                skip_teaser = False
                dropped.append((s, e))
                kept.append(None)
                continue
            m = _TEASER_LEAD.match(stripped)
            if m:
                dropped.append((s, e))
                kept.append(None)
                skip_teaser = not m.group(1)  # the headline is on the next line
                continue
            if _is_furniture(stripped):
                dropped.append((s, e))
                kept.append(None)
                continue
        # trim the line's own leading/trailing whitespace
        ls = s + (len(line) - len(line.lstrip()))
        le = s + len(line.rstrip())
        kept.append((ls, le))

    # A wrap width estimate: lines that reach near it were broken by a wrapper, not by the
    # author. Only used when unwrapping.
    lengths = sorted(e - s for sp in kept if sp for s, e in [sp])
    width = lengths[int(0.9 * (len(lengths) - 1))] if lengths else 0

    chars: list[str] = []
    offsets: list[int] = []

    def emit(segment_start: int, segment_end: int) -> None:
        chars.extend(raw[segment_start:segment_end])
        offsets.extend(range(segment_start, segment_end))

    prev: tuple[int, int] | None = None
    prev_starts_block = False  # prev is the first line of a paragraph
    pending_break = False
    for idx, sp in enumerate(kept):
        if sp is None:
            if prev is not None:
                pending_break = True
            continue
        nxt = kept[idx + 1] if idx + 1 < len(kept) else None
        if prev is not None:
            prev_len = prev[1] - prev[0]
            joined = (
                cfg.unwrap
                and not pending_break
                and (prev_len >= 0.6 * width or not _TERMINAL.search(raw[prev[0]:prev[1]]))
                and not _looks_like_heading(raw[prev[0]:prev[1]], width)
                and not (prev_starts_block and _looks_like_subheading(
                    raw[prev[0]:prev[1]], raw[sp[0]:sp[1]], width))
                # a finished sentence, then a subheading line above the next paragraph
                and not (_TERMINAL.search(raw[prev[0]:prev[1]]) and nxt is not None
                         and _looks_like_subheading(raw[sp[0]:sp[1]], raw[nxt[0]:nxt[1]], width))
            )
            if joined:
                chars.append(" ")
                offsets.append(prev[1])  # the line break it replaces
            else:
                chars.extend("\n\n")
                offsets.extend([prev[1], prev[1]])
        prev_starts_block = prev is None or pending_break or not joined
        emit(*sp)
        prev = sp
        pending_break = False
    return Normalized(raw=raw, text="".join(chars), offsets=tuple(offsets), dropped=tuple(dropped))


def _looks_like_subheading(line: str, nxt: str, width: int) -> bool:
    """A short line of its own (at most 10 words, well under the wrap width) without final
    punctuation, followed by a line that starts a sentence: a subheading in sentence case
    ("Talks stall over aid"), not a wrapped line."""
    s = line.strip()
    if not s or _TERMINAL.search(s) or s.endswith(",") or len(s.split()) > 10:
        return False
    if width and len(s) >= 0.6 * width:
        return False
    n = nxt.lstrip()
    return bool(n) and (n[0].isupper() or n[0] in "\"“‘'")


def _looks_like_heading(line: str, width: int) -> bool:
    """A short line without final punctuation and mostly capitalised words is a heading."""
    s = line.strip()
    if not s or _TERMINAL.search(s) or (width and len(s) >= 0.6 * width):
        return False
    words = [w for w in re.findall(r"[A-Za-z][\w'’-]*", s)]
    if not words:
        return True
    caps = sum(1 for w in words if w[0].isupper())
    return caps / len(words) >= 0.6
