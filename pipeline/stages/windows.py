"""Windows of a long text: a text over ``segment.window_chars`` characters (or
``bounds.WINDOW_TOKENS`` tokens) is parsed and segmented window by window
(``Segmenter.raw_claims``); ``text_windows`` cuts it at paragraph breaks."""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipeline.stages.bounds import token_limit
from pipeline.stages.quotes import QUOTE_CHARS


@dataclass(frozen=True)
class LongText:
    """A text over ``segment.window_chars``: ``Segmenter.raw_claims`` parses it in windows."""

    text: str


_SENT_END = re.compile(r"""[.!?…][\"'”’)\]]*\s+""")
_QUOTE_START = tuple(QUOTE_CHARS) + ("‘", "'")


def text_windows(text: str, max_chars: int, max_tokens: int = 0) -> list[tuple[int, int]]:
    """Consecutive [start, end) windows of at most ``max_chars`` characters (and, when
    ``max_tokens`` is set, at most that many ``bounds.estimated_tokens``) covering ``text``.

    Each window ends at the last paragraph break ("\\n\\n") that fits, preferring one that
    is not followed by a quote mark (a quote running on over paragraphs stays in one window);
    a paragraph longer than a window is cut after its last sentence end that fits, else at
    whitespace, else (one giant token) at ``max_chars``.

    Example:
        >>> text_windows("aaaa\\n\\nbbbb\\n\\ncccc", 8)
        [(0, 6), (6, 12), (12, 16)]
    """
    if max_chars < 1:
        raise ValueError("max_chars must be positive")
    out: list[tuple[int, int]] = []
    pos, n = 0, len(text)
    while True:
        limit = min(pos + max_chars, n)
        if max_tokens:
            limit = token_limit(text, pos, limit, max_tokens)
        if limit >= n:
            break
        cut = _paragraph_cut(text, pos, limit)
        if cut <= pos:
            last = None
            for last in _SENT_END.finditer(text, pos, limit):  # noqa: B007 (the last match is read after)
                pass
            cut = last.end() if last is not None and last.end() > pos else -1
        if cut <= pos:
            ws = max(text.rfind(" ", pos, limit), text.rfind("\n", pos, limit),
                     text.rfind("\t", pos, limit))
            cut = ws + 1 if ws >= pos else limit
        out.append((pos, cut))
        pos = cut
    if pos < n or not out:
        out.append((pos, n))
    return out


def _paragraph_cut(text: str, pos: int, limit: int) -> int:
    """The end of the last paragraph break in [pos, limit), preferably one not followed by
    a quote mark, or -1."""
    first = -1
    end = limit
    for _ in range(50):
        i = text.rfind("\n\n", pos, end)
        if i < 0:
            break
        cut = i + 2
        if cut > limit:
            end = i + 1
            continue
        if first < 0:
            first = cut
        if not text.startswith(_QUOTE_START, cut):
            return cut
        if cut - pos < (limit - pos) // 2:
            break
        end = i + 1
    return first
