"""Bounds on what one spaCy parse costs, whatever the text (issue 29 item 9).

Pathological text makes spaCy's tokenizer quadratic in the length of one run of characters
without whitespace: it strips prefixes and suffixes one at a time, copying the rest of the
run each time, so a run of 100,000 quote marks takes minutes. ``BoundedTokenizer`` wraps the
model's tokenizer: a run of more than ``MAX_RUN`` characters without whitespace is tokenised
in pieces of at most ``MAX_RUN`` characters, joined without whitespace, so the Doc's text is
the original text character for character and every token offset (hence every claim's
start and end) still indexes it. Text without such a run is tokenised exactly as before.

``MAX_RUN`` is 500, not less: a real FNC-1 body holds a 226-character JavaScript run, and at
200 that body's claims changed; at 500 the claims of all 1,673 FNC-1 bodies are identical
with and without the guard.

``WINDOW_TOKENS`` bounds the tokens of one parsed window (``windows.text_windows``), next to
the character windows (``segment.window_chars``): 100,000 characters of quote marks are
100,000 tokens, five times those of a window of prose. ``estimated_tokens`` counts what the
tokenizer would at least make of a text (each word, each punctuation mark) without
tokenising it.
"""

from __future__ import annotations

import re

MAX_RUN = 500
WINDOW_TOKENS = 30_000

_LONG_RUN = re.compile(rf"\S{{{MAX_RUN + 1},}}")
_TOKEN = re.compile(r"\w+|[^\w\s]")


def long_runs(text: str, max_run: int = MAX_RUN) -> list[tuple[int, int]]:
    """[start, end) of the runs of more than ``max_run`` characters without whitespace."""
    pattern = _LONG_RUN if max_run == MAX_RUN else re.compile(rf"\S{{{max_run + 1},}}")
    return [m.span() for m in pattern.finditer(text)]


def run_cuts(text: str, max_run: int = MAX_RUN) -> list[int]:
    """Where the guard cuts ``text`` for tokenising: every ``max_run`` characters inside each
    long run (``long_runs``), so no piece holds more than ``max_run`` characters of a run."""
    cuts: list[int] = []
    for s, e in long_runs(text, max_run):
        cuts.extend(range(s + max_run, e, max_run))
    return cuts


def estimated_tokens(text: str, start: int = 0, end: int | None = None) -> int:
    """Words and punctuation marks in ``text[start:end]``: about what spaCy makes of it."""
    return sum(1 for _ in _TOKEN.finditer(text, start, len(text) if end is None else end))


def token_limit(text: str, start: int, end: int, max_tokens: int) -> int:
    """The start of the ``max_tokens + 1``-th estimated token of ``text[start:end]``, or
    ``end`` when it holds no more than ``max_tokens``: the window [start, result) holds at
    most ``max_tokens``."""
    for k, m in enumerate(_TOKEN.finditer(text, start, end)):
        if k == max_tokens:
            return m.start()
    return end


class BoundedTokenizer:
    """A spaCy tokenizer that tokenises runs of more than ``max_run`` characters without
    whitespace in pieces (see the module docstring); the Doc's text is the input's.

    Example:
        >>> tok = BoundedTokenizer(nlp.tokenizer)    # doctest: +SKIP
        >>> doc = tok('"' * 1200)                     # doctest: +SKIP
        >>> doc.text == '"' * 1200                    # doctest: +SKIP
        True
    """

    def __init__(self, inner, max_run: int = MAX_RUN) -> None:
        self.inner = inner
        self.max_run = max_run
        self.vocab = inner.vocab

    def __call__(self, text: str):
        """The Doc of ``text``, its long runs tokenised in pieces."""
        cuts = run_cuts(text, self.max_run)
        if not cuts:
            return self.inner(text)
        from spacy.tokens import Doc

        bounds = [0, *cuts, len(text)]
        docs = [self.inner(text[a:b]) for a, b in zip(bounds, bounds[1:])]
        doc = Doc.from_docs(docs, ensure_whitespace=False)
        assert doc.text == text  # offsets into the original text
        return doc

    def pipe(self, texts, batch_size: int = 1000):
        """Tokenise a stream of texts (spaCy's ``Tokenizer.pipe``)."""
        for text in texts:
            yield self(text)

    def __getattr__(self, name: str):
        # everything else (explain, rules, to_disk, ...) is the wrapped tokenizer's
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)
