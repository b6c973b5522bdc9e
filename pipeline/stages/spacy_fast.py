"""Exact, faster stand-ins for spaCy's ``attribute_ruler`` and rule ``lemmatizer``.

What the stages read from a parse (see ``nlp.SPACY_EXCLUDE``) needs every component of
en_core_web_sm, so none can go; but two of them spend most of their time in Python per
token: the attribute ruler builds a ``Span`` and calls ``set_token_attrs`` for every match
(about 1.5 per token: a tag map on TAG plus exceptions on TAG/LOWER/DEP), and the lemmatizer
builds a ``Token`` and a ``MorphAnalysis`` for every token to look up its own cache. Both
answers depend only on a few features of the token, so here they are computed once per
distinct features and looked up:

- ``FastAttributeRuler``: each pattern group whose patterns are all one token without an
  operator, on features ``Doc.to_array`` gives (TAG, LOWER, DEP, IS_SPACE, ...), is decided by
  the stock ruler's own ``Matcher`` on that one token the first time its feature values are
  seen, then looked up by those values; every other group (two-token patterns such as "gon
  na", operators, extension attributes) is matched on the whole doc by a ``Matcher`` holding
  only those groups. The groups that match a token are applied in the stock order (by group,
  later groups win) with the stock ``set_token_attrs``, so every token ends with the same
  attributes.
- ``FastLemmatizer``: the lemma is cached per (ORTH, POS, MORPH), the key of the stock
  ``rule_lemmatize`` cache (its answer reads nothing else); a miss asks the stock
  ``lemmatize``; tokens that already have a lemma keep it unless ``overwrite``, as in stock.

``use_fast_components(nlp)`` swaps them in place of the stock components, under the stock
names (``segment.fast_components``, on by default; tests/test_spacy_fast.py checks that the
tags, POS, morphology, lemmas, dependencies, heads and entities are the same token for
token).
"""

from __future__ import annotations

from typing import Any

FAST_RULER = "contradict_fast_attribute_ruler"
FAST_LEMMATIZER = "contradict_fast_lemmatizer"

# Matcher pattern keys whose value for a token Doc.to_array gives (the key of the lookup);
# a group testing anything else (or with "OP", extensions, several tokens) is matched on
# the whole doc
_KEY_ATTRS = {"ORTH": "ORTH", "TEXT": "ORTH", "LOWER": "LOWER", "NORM": "NORM", "TAG": "TAG",
              "POS": "POS", "DEP": "DEP", "LEMMA": "LEMMA", "MORPH": "MORPH",
              "IS_SPACE": "IS_SPACE", "IS_ALPHA": "IS_ALPHA", "IS_DIGIT": "IS_DIGIT",
              "IS_PUNCT": "IS_PUNCT", "LIKE_NUM": "LIKE_NUM", "IS_LOWER": "IS_LOWER",
              "IS_UPPER": "IS_UPPER", "IS_TITLE": "IS_TITLE"}
# distinct feature values seen before the lookups start over (a bound on memory)
CACHE_LIMIT = 200_000


def _token_features(spec: Any) -> set[str] | None:
    """The features one token of a pattern tests when all are on _KEY_ATTRS (no operator, no
    extension), else None."""
    if not isinstance(spec, dict) or not spec or any(key not in _KEY_ATTRS for key in spec):
        return None
    return {_KEY_ATTRS[key] for key in spec}


class _Fixed:
    """One pattern of fixed length whose tokens are each decided by the lookup."""
    __slots__ = ("attr_id", "specs", "index")

    def __init__(self, attr_id: int, specs: tuple[int, ...], index: int):
        self.attr_id, self.specs, self.index = attr_id, specs, index


class FastAttributeRuler:
    """The stock ``AttributeRuler``'s result, its patterns decided per token features."""

    def __init__(self, ruler: Any):
        import json

        from spacy.matcher import Matcher

        self.ruler = ruler
        self.vocab = ruler.vocab
        self.attrs = ruler.attrs
        self.indices = ruler.indices
        # every distinct token spec of a fixed pattern, as a one-token pattern of its own
        self.specs = Matcher(self.vocab, validate=False)
        self.fallback = Matcher(self.vocab, validate=False)  # the rest, on the whole doc
        spec_ids: dict[str, int] = {}
        self._single: dict[int, set[int]] = {}  # spec -> groups of one-token patterns on it
        self._starts: dict[int, list[_Fixed]] = {}  # first spec -> longer patterns
        features: set[str] = set()
        for attr_id, group in enumerate(ruler.patterns):
            index = group["index"]
            for pattern in group["patterns"]:
                found = [_token_features(spec) for spec in pattern]
                if not pattern or any(f is None for f in found):
                    self.fallback.add(self.vocab.strings.add(str(attr_id)), [pattern])
                    continue
                ids = []
                for spec in pattern:
                    text = json.dumps(spec, sort_keys=True)
                    if text not in spec_ids:
                        spec_ids[text] = len(spec_ids)
                        self.specs.add(self.vocab.strings.add(f"spec{spec_ids[text]}"), [[spec]])
                    ids.append(spec_ids[text])
                for f in found:
                    features |= f or set()
                if len(ids) == 1 and index in (0, -1):
                    self._single.setdefault(ids[0], set()).add(attr_id)
                else:  # an index outside the match raises E1001, as in stock
                    self._starts.setdefault(ids[0], []).append(_Fixed(attr_id, tuple(ids), index))
        self.features = sorted(features) or ["ORTH"]
        # feature values -> (specs the token meets, its one-token groups, patterns from it)
        self._tokens: dict[tuple, tuple[frozenset[int], tuple[int, ...], tuple[_Fixed, ...]]] = {}
        self._merged: dict[tuple[int, ...], dict] = {}  # groups -> their attrs, in order

    def _decide(self, doc, i: int):
        strings = self.vocab.strings
        matches = self.specs(doc[i:i + 1], allow_missing=True, as_spans=False)
        met = frozenset(int(strings[m_id][4:]) for m_id, _, _ in matches)
        groups = tuple(sorted({g for s in met for g in self._single.get(s, ())}))
        starts = tuple(p for s in sorted(met) for p in self._starts.get(s, ()))
        return met, groups, starts

    def _merge(self, groups: tuple[int, ...]) -> dict:
        merged = self._merged.get(groups)
        if merged is None:
            merged = {}
            for g in groups:  # later groups win, as in the stock sorted matches
                merged.update(self.attrs[g])
            self._merged[groups] = merged
        return merged

    def _target(self, doc, attr_id: int, start: int, end: int) -> int:
        from spacy.errors import Errors

        index = self.indices[attr_id]
        i = start + index if index >= 0 else end + index
        if not start <= i < end:
            raise ValueError(Errors.E1001.format(patterns=self.ruler.matcher.get(str(attr_id)),
                                                 span=[t.text for t in doc[start:end]],
                                                 index=index))
        return i

    def __call__(self, doc):
        """Set the attributes the stock ruler would on every token of ``doc``."""
        from spacy.tokens._retokenize import set_token_attrs

        n = len(doc)
        if not n:
            return doc
        values = doc.to_array(self.features).reshape(n, -1).tolist()
        cache = self._tokens
        if len(cache) > CACHE_LIMIT:
            cache.clear()
        tokens = []
        for i, row in enumerate(values):  # all decided before any attribute is set, as in stock
            key = tuple(row)
            entry = cache.get(key)
            if entry is None:
                entry = cache[key] = self._decide(doc, i)
            tokens.append(entry)
        extra: dict[int, set[int]] = {}
        for start, (_, _, starts) in enumerate(tokens):
            for p in starts:
                end = start + len(p.specs)
                if end <= n and all(s in tokens[start + k][0] for k, s in enumerate(p.specs)):
                    extra.setdefault(self._target(doc, p.attr_id, start, end), set()).add(p.attr_id)
        if len(self.fallback):
            strings = self.vocab.strings
            for m_id, start, end in self.fallback(doc, allow_missing=True, as_spans=False):
                attr_id = int(strings[m_id])
                extra.setdefault(self._target(doc, attr_id, start, end), set()).add(attr_id)
        for i, (_, groups, _) in enumerate(tokens):
            if i in extra:
                groups = tuple(sorted(extra[i].union(groups)))
            if groups:
                set_token_attrs(doc[i], self._merge(groups))
        return doc


class FastLemmatizer:
    """The stock rule (or lookup) ``Lemmatizer``'s lemmas, cached per (ORTH, POS, MORPH)."""

    def __init__(self, lemmatizer: Any):
        self.lemmatizer = lemmatizer
        self.vocab = lemmatizer.vocab
        self.overwrite = bool(lemmatizer.overwrite)
        self._lemmas: dict[tuple[int, int, int], int] = {}
        self._own: Any = None  # the stock lemmatizer on set-valued lemma_index tables

    def _own_lemmatizer(self):
        """A shallow copy of the stock lemmatizer whose ``lemma_index`` lists are frozensets:
        ``rule_lemmatize`` only asks ``form in index`` of them (and whether one is empty),
        which a list answers by a scan of up to 57,528 nouns, a set at once."""
        if self._own is None:
            import copy

            from spacy.lookups import Lookups

            stock = self.lemmatizer
            own = copy.copy(stock)
            lookups = Lookups()
            for name in stock.lookups.tables:
                table = stock.lookups.get_table(name)
                lookups.add_table(name, {k: (frozenset(v) if name == "lemma_index"
                                             and isinstance(v, list) else v)
                                         for k, v in table.items()})
            own.lookups = lookups
            own.cache = {}
            own.lemmatize = getattr(own, f"{own.mode}_lemmatize")
            self._own = own
        return self._own

    def __call__(self, doc):
        """Set the lemma the stock lemmatizer would on every token of ``doc``."""
        from spacy.attrs import LEMMA, MORPH, ORTH, POS
        from spacy.errors import Errors

        stock = self.lemmatizer
        if not stock._validated:
            stock._validate_tables(Errors.E1004)
        if not len(doc):
            return doc
        own = self._own_lemmatizer()
        lemmatize = own.lemmatize
        rows = doc.to_array([ORTH, POS, MORPH, LEMMA])
        cache = self._lemmas
        if len(cache) > CACHE_LIMIT:
            cache.clear()
            own.cache.clear()
        strings = self.vocab.strings
        lemmas = rows[:, 3].copy()
        for i, (orth, pos, morph, lemma) in enumerate(rows.tolist()):
            if lemma and not self.overwrite:
                continue
            key = (orth, pos, morph)
            found = cache.get(key)
            if found is None:
                found = cache[key] = strings.add(lemmatize(doc[i])[0])
            lemmas[i] = found
        doc.from_array([LEMMA], lemmas)
        return doc


def _make_ruler(nlp, name: str, source: str):
    return FastAttributeRuler(nlp.get_pipe(source))


def _make_lemmatizer(nlp, name: str, source: str):
    return FastLemmatizer(nlp.get_pipe(source))


def register() -> None:
    """Register the two factories with spaCy (once)."""
    from spacy.language import Language

    if not Language.has_factory(FAST_RULER):
        Language.factory(FAST_RULER, default_config={"source": "attribute_ruler"},
                         func=_make_ruler)
    if not Language.has_factory(FAST_LEMMATIZER):
        Language.factory(FAST_LEMMATIZER, default_config={"source": "lemmatizer"},
                         func=_make_lemmatizer)


def _fits(name: str, component: Any) -> str | None:
    """The fast factory for a stock component, or None when it is not one it reproduces."""
    from spacy.pipeline import AttributeRuler, Lemmatizer

    if name == "attribute_ruler" and type(component) is AttributeRuler:
        return FAST_RULER
    if (name == "lemmatizer" and isinstance(component, Lemmatizer)
            and getattr(component, "mode", None) in ("rule", "lookup")):
        return FAST_LEMMATIZER
    return None


def use_fast_components(nlp) -> list[str]:
    """Put the fast components in place of ``nlp``'s stock attribute_ruler and lemmatizer,
    under the same names and at the same place; returns the names replaced."""
    register()
    replaced = []
    for name in ("attribute_ruler", "lemmatizer"):
        if name not in nlp.pipe_names:
            continue
        factory = _fits(name, nlp.get_pipe(name))
        if factory is None:
            continue
        stock = f"{name}_stock"
        nlp.rename_pipe(name, stock)
        nlp.add_pipe(factory, name=name, after=stock, config={"source": stock})
        nlp.remove_pipe(stock)
        replaced.append(name)
    return replaced
