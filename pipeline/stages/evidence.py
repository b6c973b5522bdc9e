"""Evidence: do two claims speak of the same event, and how do they differ?

Two claims contradict only when they speak of the same thing. This module computes, from the
claims themselves, the evidence the decision stage (decide.py) and the candidate gate use:

* per claim (``claim_info``, one spaCy pass over the claim texts, batched): named entities,
  content lemmas, the subject, the predicates, what is negated, time expressions, hedging;
* per pair (``pair_evidence``): shared entities, lemma overlap, subject and predicate match,
  figures for the same counted noun (agreeing or not), same or different days, whether a
  negated predicate of one claim is what the other claim speaks of (``neg_aligned``) or
  something else (``neg_unaligned``: "there is no freeze" against "the sides continue to
  communicate" negates *freeze*, which the other claim does not mention).

``gate()`` keeps a candidate pair for the NLI model only when some same-event evidence is
there (thresholds in ``PairConfig``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import replace

import numpy as np

from pipeline.config import PairConfig
from pipeline.stages.quantities import quantities
from pipeline.types import Claim, ClaimInfo, Pair

# spaCy entity labels that are numbers or times: handled by quantities() / times, not ents
_NUMERIC_ENTS = {"DATE", "TIME", "CARDINAL", "ORDINAL", "PERCENT", "MONEY", "QUANTITY"}
_CONTENT_POS = {"NOUN", "PROPN", "VERB", "ADJ"}
_LIGHT = {"be", "have", "do", "say", "make", "get", "go", "take", "give", "come", "tell",
          "include", "also", "there", "other", "more", "many", "much", "such", "own", "-PRON-"}
_NEG_WORDS = {"not", "n't", "never", "no", "neither", "nor", "without", "nothing", "none",
              "nobody", "nowhere", "cannot"}
_NEG_PRONOUNS = {"nothing", "none", "nobody", "no one"}
_HEDGES = re.compile(r"\b(could|might|may|likely|unlikely|probably|possibly|perhaps|expects?|"
                     r"expected|believes?|thinks?|appears?|seems?|suggests?|predicts?|forecasts?|"
                     r"estimates?|would)\b", re.I)
# the words journalists and the parties they quote use to mark a dispute: a denial, a
# rejection, a retraction, or calling the other account false. Generic wording of news copy,
# never a story's own words.
_DISPUTE = re.compile(
    r"\b(den(?:y|ies|ied|ying|ials?)|reject(?:s|ed|ing|ion)?|dismiss(?:es|ed|ing)?|"
    r"disput(?:e|es|ed|ing)|refut(?:e|es|ed|ing)|rebut(?:s|ted|ting)?|debunk(?:s|ed|ing)?|"
    r"contradict(?:s|ed|ing)?|retract(?:s|ed|ing|ion)?|recant(?:s|ed|ing)?|"
    r"false(?:ly|hoods?)?|untrue|baseless|unfounded|unsubstantiated|groundless|bogus|"
    r"fabricat(?:e|ed|ion)|hoax(?:es)?|rubbish(?:ed)?|nonsense|misleading|inaccurate|"
    r"disagree(?:s|d)?|dispel(?:s|led)?|apologi[sz](?:e|es|ed)|misspoke|poor choice of words|"
    r"ridiculous|unverified|erroneous|incorrect|phony|phoney|made[- ]up|never happened|"
    r"not accurate|no credible|misinformation|disinformation|"
    r"not true|no truth|no evidence|no basis|no plans? to|no such thing|at odds with|"
    r"contrary to|shot down|shoots down|walked back|set the record straight|hogwash|"
    # calling an account fake or a lie, or none of it true ("this is totally fake", "is
    # nothing but a lie", "none of this is true")
    r"(?:is|was|are|were|'s|’s)\s+(?:\w+\s+){0,3}(?:fake|lies?)(?![ \t]+[a-z])|"
    r"none of (?:this|it|that|these|those|them) (?:is|was|are|were) true)\b", re.I)
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_RELATIVE_DAYS = ("yesterday", "today", "tomorrow", "tonight", "last week", "next week",
                  "last month", "next month", "last year", "next year", "earlier this week",
                  "this week", "this month", "this year")
_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
           "september", "october", "november", "december")
_TIME_RE = re.compile(
    r"\b(?:" + "|".join(_WEEKDAYS) + r")\b"
    r"|\b(?:" + "|".join(_RELATIVE_DAYS) + r")\b"
    r"|\b(?:" + "|".join(_MONTHS) + r")(?:\s+\d{1,2})?\b(?!\s*%)"
    r"|\b\d{1,2}\s+(?:" + "|".join(_MONTHS) + r")\b"
    r"|\b(?:19|20)\d{2}\b", re.I)


def _norm_ent(text: str) -> str:
    t = re.sub(r"^(the|a|an)\s+", "", text.strip().lower())
    t = re.sub(r"['’]s$", "", t)
    return re.sub(r"\s+", " ", t)


def _times(text: str) -> frozenset:
    out = set()
    for m in _TIME_RE.finditer(text):
        t = re.sub(r"\s+", " ", m.group(0).lower())
        if t == "may" and not re.search(r"\bmay\s+\d", text, re.I):
            continue  # the modal verb
        out.add(t)
    return frozenset(out)


def _lemma(tok) -> str:
    return tok.lemma_.lower().strip()


def _predicates(root) -> set[str]:
    """The claim's predicate lemmas: the main verb, a copula's complement, xcomp and
    conjoined verbs ("continue to communicate" -> continue, communicate)."""
    out: set[str] = set()
    stack = [root]
    seen = set()
    while stack:
        v = stack.pop()
        if v.i in seen:
            continue
        seen.add(v.i)
        lem = _lemma(v)
        if lem not in _LIGHT and v.pos_ in _CONTENT_POS:
            out.add(lem)
        for c in v.children:
            if c.dep_ in ("xcomp", "ccomp", "acomp", "attr", "oprd", "dobj") or (
                    c.dep_ == "conj" and c.pos_ in ("VERB", "AUX", "ADJ")):
                if c.dep_ in ("attr", "dobj") and lem not in _LIGHT:
                    continue  # a real verb's object is not a predicate ("cut jobs": cut)
                stack.append(c)
        if lem in _LIGHT and v.pos_ in ("VERB", "AUX"):
            # "there is no freeze", "have no plans": the noun carries the predicate
            for c in v.children:
                if c.dep_ in ("attr", "dobj", "acomp") and _lemma(c) not in _LIGHT:
                    out.add(_lemma(c))
    return out


def _negated(doc) -> set[str]:
    """Lemmas of what the claim negates."""
    out: set[str] = set()
    for t in doc:
        low = t.lower_
        if t.dep_ == "neg" or (low in ("never", "no") and t.dep_ == "advmod"):
            h = t.head
            if _lemma(h) in _LIGHT and h.pos_ in ("VERB", "AUX"):
                comp = [c for c in h.children if c.dep_ in ("acomp", "attr", "xcomp", "dobj", "oprd")]
                out.update(_lemma(c) for c in comp)
                if not comp:
                    out.add(_lemma(h))
            else:
                out.add(_lemma(h))
                out.update(_lemma(c) for c in h.children if c.dep_ == "xcomp")
        elif low in ("no", "neither") and t.dep_ == "det":
            n = t.head
            out.add(_lemma(n))
            if n.dep_ in ("nsubj", "nsubjpass") and _lemma(n.head) not in _LIGHT:
                out.add(_lemma(n.head))  # "no decision has been taken": take
        elif low == "without" and t.dep_ == "prep":
            out.update(_lemma(c) for c in t.children if c.dep_ in ("pobj", "pcomp"))
        elif low in _NEG_PRONOUNS and t.dep_ in ("nsubj", "nsubjpass", "dobj", "attr"):
            if _lemma(t.head) not in _LIGHT:
                out.add(_lemma(t.head))
        elif low in ("rather", "instead") and t.i + 1 < len(doc) and doc[t.i + 1].lower_ in ("than", "of"):
            out.update(_lemma(c) for c in doc[t.i + 1].children if c.dep_ in ("pobj", "pcomp"))
    return {w for w in out if w and w not in _NEG_WORDS}


# what a dispute answers: an account ("denied the allegations", "dismissed the report as ...")
_ACCOUNT_NOUNS = frozenset(
    "claim allegation report rumor rumour story accusation charge suggestion assertion speculation "
    "account hoax theory statement notion idea premise characterization characterisation contention "
    "assessment finding conclusion version narrative description depiction portrayal reporting "
    "article interpretation reading analysis estimate figure number suspicion "
    "wrongdoing involvement responsibility role knowledge existence link connection "
    "criticism critic complaint concern fear worry talk word remark comment "
    "insinuation implication possibility likelihood prospect".split())
# "deny", "dismiss" and "reject" also refuse or remove something: "denied bail", "dismissed
# 849 cases", "rejected the proposal", "deny the Muslims their rights", "dismiss him"
_REFUSAL_VERBS = frozenset(("deny", "dismiss", "reject"))


def _refusal(t) -> bool:
    """A deny / dismiss / reject token that refuses or removes a thing rather than disputing
    an account: its object is a noun that names no account (and, for dismiss and reject, no
    "as ..." verdict follows: "dismissed it as a courtesy meeting" disputes), or it takes
    two objects ("deny the Muslims their rights")."""
    if t.lemma_.lower() not in _REFUSAL_VERBS or t.pos_ not in ("VERB", "AUX"):
        return False
    kids = list(t.children)
    if any(c.dep_ in ("ccomp", "xcomp", "pcomp") for c in kids):
        return False  # "denied that P", "denied having ..."
    if any(c.dep_ == "prep" and c.lower_ == "as" for c in kids):
        return False
    objs = [c for c in kids if c.dep_ in ("dobj", "dative")]
    if t.dep_ in ("acl", "relcl") and not objs:
        return False
    if len(objs) >= 2:
        return True
    if len(objs) != 1:
        return False
    o = objs[0]
    if o.pos_ == "PRON":
        # "dismiss him", "deny them entry"; "denied it", "dismissed this" answer an account
        return o.lower_ in ("him", "her", "me", "us", "you")
    if any(c.lower_ in ("such", "these", "those", "this", "that") for c in o.children):
        return False  # "denied any such plans", "rejected these plans": an account said before
    return o.pos_ in ("NOUN", "PROPN", "NUM") and _lemma(o) not in _ACCOUNT_NOUNS


def dispute_wording(doc) -> bool:
    """The words of a dispute (``_DISPUTE``) in a parsed claim (a Doc or a Span), leaving out
    deny / dismiss / reject in a refusal (``_refusal``)."""
    text = doc.text
    base = doc[0].idx if len(doc) else 0
    refused = {t.idx - base for t in doc if _refusal(t)}
    return any(m.start() not in refused for m in _DISPUTE.finditer(text))


def info_from_doc(doc, ents: list[tuple[str, str]] | None = None) -> ClaimInfo:
    """ClaimInfo from a spaCy parse of the claim: its own Doc, or the claim's Span of the
    article's parse (then the roots are the tokens whose head lies outside the span, and
    ``ents`` gives its (text, label) entities: ``Span.ents`` scans the whole Doc)."""
    if ents is None:
        ents = [(e.text, e.label_) for e in doc.ents]
    names = frozenset(_norm_ent(text) for text, label in ents if label not in _NUMERIC_ENTS)
    lemmas = frozenset(_lemma(t) for t in doc if t.pos_ in _CONTENT_POS and not t.is_stop
                       and _lemma(t) not in _LIGHT and len(t.text) > 1 and t.is_alpha)
    lo, hi = getattr(doc, "start", 0), getattr(doc, "end", len(doc))
    roots = [t for t in doc if t.dep_ == "ROOT" or not lo <= t.head.i < hi]
    preds: set[str] = set()
    subj: set[str] = set()
    for r in roots:
        preds |= _predicates(r)
        for c in r.children:
            if c.dep_ in ("nsubj", "nsubjpass") and c.pos_ != "PRON":
                subj.add(_lemma(c))
                subj.update(_lemma(x) for x in c.children if x.dep_ in ("compound", "amod")
                            and x.pos_ in ("NOUN", "PROPN", "ADJ"))
    return ClaimInfo(ents=names, lemmas=lemmas, subj=frozenset(subj), preds=frozenset(preds),
                     neg_heads=frozenset(_negated(doc)), times=_times(doc.text),
                     hedged=bool(_HEDGES.search(doc.text)), dispute=dispute_wording(doc))


def add_claim_info(claims: list[Claim], nlp, batch_size: int = 64) -> list[Claim]:
    """The claims with ``info``: those that lack it are copied with it (one batched spaCy
    pass), the others returned as they are; ``claims`` is left unchanged."""
    todo = [i for i, c in enumerate(claims) if c.info is None]
    out = list(claims)
    if not todo:
        return out
    for i, doc in zip(todo, nlp.pipe([claims[i].text for i in todo], batch_size=batch_size)):
        out[i] = replace(claims[i], info=info_from_doc(doc))
    return out


def pairs_with_info(pairs: list[Pair], nlp) -> list[Pair]:
    """The pairs with every claim's ``info`` (``add_claim_info`` on the claims lacking it,
    each parsed once however many pairs hold it); ``pairs`` is left unchanged."""
    lacking = {id(c): c for p in pairs for c in (p.a, p.b) if c.info is None}
    if not lacking:
        return list(pairs)
    filled = dict(zip(lacking, add_claim_info(list(lacking.values()), nlp)))
    return [replace(p, a=filled.get(id(p.a), p.a), b=filled.get(id(p.b), p.b)) for p in pairs]


# ----------------------------------------------------------------------------- word alignment
class WordSimilarity:
    """Cosine similarity of single words (lemmas) from a sentence embedder, cached.

    ``embed`` maps a list of strings to unit-norm vectors (Topics.embed); without one, only
    identical lemmas align."""

    def __init__(self, embed: Callable[[list[str]], np.ndarray] | None = None):
        self.embed = embed
        self._vec: dict[str, np.ndarray] = {}

    def prepare(self, words: Iterable[str]) -> None:
        if self.embed is None:
            return
        new = sorted({w for w in words if w and w not in self._vec})
        if new:
            for w, v in zip(new, self.embed(new)):
                self._vec[w] = np.asarray(v, dtype=np.float32)

    def best(self, word: str, others: Iterable[str]) -> float:
        """The highest similarity of ``word`` to any of ``others`` (1.0 when identical)."""
        best = 0.0
        vw = self._vec.get(word)
        for o in others:
            if o == word:
                return 1.0
            vo = self._vec.get(o)
            if vw is not None and vo is not None:
                best = max(best, float(vw @ vo))
        return best


# ----------------------------------------------------------------------------- pair evidence
EVIDENCE = [
    "ent_shared", "ent_jaccard", "lemma_jaccard", "lemma_overlap", "subj_match", "pred_match",
    "num_same_unit", "num_agree", "num_log_ratio", "time_same", "time_diff", "neg_one_side",
    "neg_aligned", "neg_unaligned", "hedged", "opinion", "dispute", "dispute_x_sim", "dispute_target",
    "both_dispute", "hypothetical",
]


# a dispute whose object is an account named only by a noun or pronoun ("denied the
# allegations", "these claims are false", "dismissed it"): its target is said elsewhere
_ANAPHORIC_TARGET = re.compile(
    r"\b(?:the|these|those|this|that|such|his|her|their|its|the latest|similar)\s+(?:[\w'’-]+\s+){0,3}"
    r"(?:claims?|allegations?|reports?|rumou?rs?|stor(?:y|ies)|accusations?|charges?|"
    r"suggestions?|assertions?|speculation|accounts?|hoax(?:es)?|theor(?:y|ies))\b"
    r"|\b(?:no|any)\s+such\s+\w+|\b(?:denied|dismissed|rejected|disputed|refuted|rubbished)\s+(?:it|this|them|that(?=\s*(?:[.,;:!?\"\u201d]|$)))\b"
    # "It's fake", "Again, this is totally fake", "But that was false", "none of this is true"
    r"|^\s*(?:(?:\w+,|but|and|so|yet)\s+)?(?:that|this|it|which)(?:['’]s|\s+is|\s+was|\s+are|\s+were)\b"
    r"|\bnone of (?:this|it|that|these|those|them)\b|\beverything (?:i|he|she|they) said\b",
    re.I)
# a speaker taking back their own words: the one dispute that joins two claims of one speaker
_RETRACTION = re.compile(r"\b(retract\w*|recant\w*|apologi[sz]\w*|misspoke|walked back|take back|"
                         r"poor choice of words|withdr[ae]w\w*)\b", re.I)


# a dispute this short ("Smith disagrees", "Totally fake!") cannot hold what it disputes
ANAPHORIC_MAX_WORDS = 4


def anaphoric_dispute(c: Claim) -> bool:
    """A dispute claim that names what it disputes only by a noun or a pronoun, or too
    briefly to say it (``ANAPHORIC_MAX_WORDS`` words or fewer)."""
    return disputes(c) and (bool(_ANAPHORIC_TARGET.search(c.text))
                            or len(_WORD.findall(c.text)) <= ANAPHORIC_MAX_WORDS)


def agreement(pair: Pair, score, *, entailment: float = 0.5, similarity: float = 0.9) -> bool:
    """The two claims say the same thing: both dispute (two denials of one account), they
    entail each other both ways, or they are near copies with the same polarity that the
    NLI model reads as entailment rather than contradiction (``score``: a ``Score`` or None)."""
    if reported_dispute(pair):
        return False  # the article says they disagree, however alike their words
    if disputes(pair.a) and disputes(pair.b):
        return True
    if repeats(pair.a, pair.b):
        return True
    if score is None:
        return False
    if min(score.p_entailment) >= entailment:
        return True
    same_polarity = bool(_info(pair.a).neg_heads) == bool(_info(pair.b).neg_heads)
    return (pair.similarity >= similarity and same_polarity
            and max(score.p_entailment) >= max(score.p_contradiction))


# an account the article presents as reported rather than established: its source is a report,
# a rumour or a post ("Multiple unconfirmed reports", "sources"), or its words say so
# ("allegedly", "reportedly"); what "the report" or "these claims" most often refers to
_REPORT_SOURCE = re.compile(r"\b(reports?|sources?|rumou?rs?|claims?|allegations?|media|websites?|"
                            r"sites?|posts?|tweets?|stor(?:y|ies)|accounts?|speculation|"
                            r"tabloids?|blogs?)\b", re.I)
_REPORTED_WORDING = re.compile(r"\b(reportedly|allegedly|purportedly|supposedly|rumou?red|"
                               r"(?:was|were|is|are|been) (?:reported|said|rumou?red|claimed) to)\b",
                               re.I)


def hedged(c: Claim) -> bool:
    """The claim's words hedge it ("I think", "could", "probably"): an opinion or a forecast."""
    return _info(c).hedged


def reported(c: Claim) -> bool:
    """The article presents the claim as reported, not established: its source is a report,
    a rumour, a post or "sources", or its wording hedges it ("allegedly", "reportedly")."""
    return bool(_REPORT_SOURCE.search(c.speaker) or _REPORT_SOURCE.search(c.mention)
                or _REPORTED_WORDING.search(c.text))


_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
# a repeat shorter than this many words (a slogan, "No comment") is left to the models
REPEAT_MIN_WORDS = 6


def _word_seq(text: str) -> tuple[str, ...]:
    return tuple(w.lower().replace("’", "'") for w in _WORD.findall(text))


def repeats(a: Claim, b: Claim) -> bool:
    """One claim repeats the other: the same words in the same order (case and punctuation
    aside), or the shorter one's words, ``REPEAT_MIN_WORDS`` or more, found whole inside the
    longer one's, with the same stance and the same dispute wording. A quote that outlets
    repeat, or a headline its body restates, cannot contradict itself; "It is not true that
    P" against P differs in stance or wording and is not a repeat."""
    if a.stance != b.stance or disputes(a) != disputes(b):
        return False
    wa, wb = _word_seq(a.text), _word_seq(b.text)
    if wa == wb:
        return bool(wa)
    short, long_ = (wa, wb) if len(wa) <= len(wb) else (wb, wa)
    if len(short) < REPEAT_MIN_WORDS:
        return False
    extra = set(long_) - set(short)
    if any(w in _NEG_WORDS or w.endswith("n't") for w in extra):
        return False  # the longer one negates what the shorter says ("... did not ...")
    n = len(short)
    return any(long_[i:i + n] == short for i in range(len(long_) - n + 1))


def retracts(c: Claim) -> bool:
    """The claim takes back its speaker's own words ("I want to make a full retraction")."""
    return bool(_RETRACTION.search(c.text))


def disputes(c: Claim) -> bool:
    """The claim reports or voices a dispute: a denial (stance) or dispute wording."""
    return c.stance == "denies" or _info(c).dispute


def retracts_only(c: Claim) -> bool:
    """The claim disputes only by taking back its speaker's own words ("I apologize to
    ...", "I want to make a full retraction"): no denial, and no dispute wording left once
    the retraction's is taken out. Such a claim disputes nothing another speaker said."""
    if c.stance == "denies" or not retracts(c):
        return False
    return not _DISPUTE.search(_RETRACTION.sub(" ", c.text))


def reported_dispute(pair: Pair) -> bool:
    """The article itself ties the two claims as a dispute in one sentence ("X claimed P, a
    claim Y denied": ``Claim.target``): the surest contradiction a text states."""
    a, b = pair.a, pair.b
    return a.doc_id == b.doc_id and ((bool(a.target) and a.target == b.id)
                                     or (bool(b.target) and b.target == a.id))


def dispute_between(pair: Pair) -> bool:
    """One claim disputes and the other does not, and they are not one speaker's: the
    pair a reported dispute joins (the disputed account against its denial). A retraction
    joins its own speaker's claims only (``retracts_only``)."""
    if disputes(pair.a) == disputes(pair.b):
        return False
    d = pair.a if disputes(pair.a) else pair.b
    if one_speaker(pair.a, pair.b):
        return retracts(d)
    return not retracts_only(d)  # an apology takes back its own speaker's words only


def one_speaker(a: Claim, b: Claim) -> bool:
    """The two claims are one speaker's: the same speaker id within a document (ids are
    per document: "s1" of one article is not "s1" of another), the same name across
    documents."""
    if a.doc_id == b.doc_id:
        return bool(a.speaker_id) and a.speaker_id == b.speaker_id
    return bool(a.speaker) and a.speaker.strip().lower() == b.speaker.strip().lower()


def _jaccard(a: frozenset, b: frozenset) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def _info(c: Claim) -> ClaimInfo:
    return c.info if c.info is not None else ClaimInfo()


def negation_alignment(a: ClaimInfo, b: ClaimInfo, words: WordSimilarity | None = None) -> float:
    """How well what ``a`` negates matches what ``b`` speaks of (and ``b`` does not
    negate): 1.0 for the same lemma, the embedding similarity otherwise, 0.0 with nothing
    negated."""
    heads = a.neg_heads - b.neg_heads
    if not heads:
        return 0.0
    target = (b.preds | b.lemmas) - b.neg_heads
    words = words or WordSimilarity()
    return max(words.best(h, target) for h in heads)


def pair_evidence(pair: Pair, words: WordSimilarity | None = None, *,
                  align_similarity: float = 0.6) -> dict[str, float]:
    """Same-event evidence for one pair; every value is a float (see EVIDENCE)."""
    a, b = _info(pair.a), _info(pair.b)
    qa, qb = quantities(pair.a.text), quantities(pair.b.text)
    same_unit = [(x, y) for x in qa for y in qb if x.unit == y.unit]
    agree = any(abs(x.value - y.value) <= 0.02 * max(abs(x.value), abs(y.value), 1e-9)
                for x, y in same_unit)
    # how far apart the closest figures for the same noun are, in orders of magnitude (capped
    # at 2): a disputed figure is mostly of the same order ("61 percent" against "47 percent"),
    # figures an order apart are mostly of different things ("$33bn of aid over 15 years"
    # against "$1.3bn frozen this month")
    ratios = [abs(math.log10(x.value / y.value)) for x, y in same_unit if x.value > 0 and y.value > 0]
    neg_a, neg_b = bool(a.neg_heads), bool(b.neg_heads)
    one_side = neg_a != neg_b
    align = 0.0
    if neg_a and not neg_b:
        align = negation_alignment(a, b, words)
    elif neg_b and not neg_a:
        align = negation_alignment(b, a, words)
    elif neg_a and neg_b:
        align = max(negation_alignment(a, b, words), negation_alignment(b, a, words))
    aligned = align >= align_similarity
    return {
        "ent_shared": float(min(3, len(a.ents & b.ents))),
        "ent_jaccard": _jaccard(a.ents, b.ents),
        "lemma_jaccard": _jaccard(a.lemmas, b.lemmas),
        "lemma_overlap": len(a.lemmas & b.lemmas) / max(1, min(len(a.lemmas), len(b.lemmas))),
        "subj_match": float(bool(a.subj & (b.subj | b.lemmas) or b.subj & (a.subj | a.lemmas))),
        "pred_match": float(bool(a.preds & b.preds)),
        "num_same_unit": float(bool(same_unit)),
        "num_agree": float(agree),
        "num_log_ratio": min(2.0, min(ratios)) if ratios else 0.0,
        "time_same": float(bool(a.times & b.times)),
        "time_diff": float(bool(a.times) and bool(b.times) and not (a.times & b.times)),
        "neg_one_side": float(one_side),
        "neg_aligned": float((neg_a or neg_b) and aligned),
        "neg_unaligned": float((neg_a or neg_b) and not aligned),
        "hedged": float(a.hedged or b.hedged),
        "opinion": float(pair.a.role == "analyst" or pair.b.role == "analyst"),
        "dispute": float(dispute_between(pair)),
        "dispute_x_sim": float(dispute_between(pair)) * pair.similarity,
        "both_dispute": float(disputes(pair.a) and disputes(pair.b)),
        "hypothetical": float(pair.a.modality == "hypothetical" or pair.b.modality == "hypothetical"),
        # the disputing claim's nearest claim of another speaker scores 1, the second 0.5, ...
        "dispute_target": 1.0 / pair.dispute_rank if pair.dispute_rank else 0.0,
    }


def prepare_words(pairs: list[Pair], words: WordSimilarity) -> None:
    """Embed, in one batch, the words negation alignment will compare."""
    need: set[str] = set()
    for p in pairs:
        a, b = _info(p.a), _info(p.b)
        if a.neg_heads or b.neg_heads:
            need |= a.neg_heads | b.neg_heads | a.preds | b.preds | a.lemmas | b.lemmas
    words.prepare(need)


# ----------------------------------------------------------------------------- candidate gate
def gate_keeps(pair: Pair, cfg: PairConfig) -> bool:
    """True when a candidate pair shows enough same-event evidence to be worth scoring:
    a high embedding similarity, a shared named entity, figures for the same counted noun,
    a shared subject or predicate, or ``gate_min_shared`` shared content lemmas."""
    if pair.similarity >= cfg.gate_keep_similarity:
        return True
    if pair.a.info is None or pair.b.info is None:
        return True  # nothing to judge by
    ev = pair_evidence(pair)
    return (ev["dispute"] >= 1 or ev["ent_shared"] >= 1 or ev["num_same_unit"] >= 1 or ev["subj_match"] >= 1
            or ev["pred_match"] >= 1
            or len(pair.a.info.lemmas & pair.b.info.lemmas) >= cfg.gate_min_shared)


def gate(pairs: list[Pair], cfg: PairConfig) -> list[Pair]:
    """The candidate pairs ``gate_keeps`` (all of them when ``pair.gate`` is off)."""
    if not cfg.gate:
        return list(pairs)
    return [p for p in pairs if gate_keeps(p, cfg)]
