"""The attribution-sentence rules: one sentence of the parse -> its raw claims, each with
its speaker mention, cue and stance, and the quotes it attributes (``sentence_claims``).

Reported speech, denials and the claims they tie to, quotes with their attribution before
or after, "according to X", figures and statements of bodies and documents, speech acts,
compound sentences split where each part is a statement on its own; then the trimming of a
claim's edges and its modality (``claim_modality``). The word lists are here too;
``REPORT_LEMMAS`` is the set the learnt attribution tagger was trained with."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pipeline.stages.datelines import DATELINE, DATELINE_TAIL
from pipeline.stages.evidence import info_from_doc
from pipeline.stages.mentions import (PRONOUNS, SOURCE_NOUNS, Mention, doc_text, entity_index, mention_of,
                                      speaker_mention)
from pipeline.stages.quotes import EDGE, QUOTE_CHARS
from pipeline.types import ClaimInfo


REPORT_VERBS = {
    "say", "claim", "insist", "deny", "tell", "announce", "state", "add", "warn", "argue",
    "confirm", "allege", "suggest", "report", "acknowledge", "admit", "reiterate", "stress",
    "maintain", "note", "explain", "declare", "assert", "contend", "reject", "dispute",
    "dismiss", "concede", "predict", "estimate", "counter", "respond", "reply", "write",
    "tweet", "promise", "pledge", "vow", "assure", "emphasise", "emphasize", "believe",
    "accuse", "rebut", "retort", "testify", "disclose", "reveal", "indicate", "agree",
    "caution", "signal", "contradict", "rule", "accept", "recognise", "recognize", "forecast",
    "project", "post", "retweet", "clarify", "conclude", "find",
}
# "the bank put its losses at 95,000 crowns": a figure stated by the subject
FIGURE_VERBS = {"put", "estimate", "revise", "raise", "lower", "place", "peg", "give", "cut",
                "set", "report", "record"}
FIGURE_NOUNS = {"figure", "number", "toll", "cost", "loss", "losses", "count", "total",
                "estimate", "coverage", "value", "price", "bill", "forecast", "turnout",
                "tally", "amount", "rate", "share", "size"}
# verbs that introduce what follows a colon ("Caddell continued:", "She asked:")
COLON_VERBS = {"continue", "ask", "recall", "shout", "exclaim", "quip", "joke", "remark",
               "observe", "elaborate", "begin", "go", "conclude", "answer", "put", "write",
               "echo", "protest", "retaliate", "wonder", "muse", "chime", "scoff", "gush", "yell",
               "scream", "chant", "recount", "read", "plead", "demand", "offer", "sum", "laugh",
               "sigh", "interject", "interrupt", "fire", "shoot"}
# verbs of a speech act whose subject is the speaker of the claim that reports it ("Schiff
# called on the administration to ...", "Cruz called Trump a liar", "X accused Y of ...")
SPEECH_ACT_VERBS = {"call", "urge", "demand", "accuse", "criticize", "criticise", "slam", "blast",
                    "praise", "mock", "condemn", "blame", "brand", "dub", "applaud", "lament",
                    "complain", "boast", "brag", "threaten", "propose", "recommend", "plead",
                    "insist", "chide", "scold", "rebuke", "hail",
                    "dismiss", "reject", "deride", "ridicule", "lambaste", "denounce", "decry"}
DENY_VERBS = {"deny", "reject", "dispute", "dismiss", "rebut", "refute", "contradict"}
CLAIM_NOUNS = {"claim", "allegation", "accusation", "report", "suggestion", "assertion",
               "charge", "statement", "account", "figure", "rumour", "rumor", "version",
               "characterization", "characterisation", "contention"}
# what a report calls a claim it rejects (", a claim the ministry said was false")
FALSITY = {"false", "untrue", "wrong", "baseless", "unfounded", "inaccurate", "incorrect",
           "groundless", "bogus", "fabricated", "misleading", "nonsense", "lie", "fake"}
SPLIT_CC = {"but", "yet", "while", "whereas"}
SPLIT_MARK = {"although", "though", "while", "whereas"}
REPORT_LEMMAS = frozenset(REPORT_VERBS)  # the CRF's ``rv`` feature: the set it was trained with
# verbs of belief, expectation and fear that report what their subject holds when they take a
# clause ("Clinton thinks that P", "Officials fear P"): PolNeAR annotates them as attributions
ATTITUDE_VERBS = {"think", "hope", "fear", "expect", "worry", "doubt", "feel", "suspect", "reckon",
                  "predict", "hold", "fret", "figure"}


@dataclass
class RawClaim:
    """A claim before speaker resolution (normalised offsets)."""

    start: int
    end: int
    text: str
    sent_index: int
    mention: Mention | None = None
    cue: str = ""
    stance: str = "asserts"
    is_quote: bool = False
    region: int = -1  # quote region index, -1 outside quotes
    modality: str = "asserted"  # asserted | hedged | hypothetical | question (see claim_modality)
    fragment: bool = False  # no predicate of its own (see _fragment): not kept as a claim
    info: ClaimInfo | None = None  # from the article's parse, when the claim is a span of it
    # speakers introduced since the previous claim by reports without content ("Horn
    # confirmed that."): attribution sees them first, so a following "she" is Horn
    prior_mentions: list[Mention] = field(default_factory=list)
    # a denial the sentence ties to the claim of the same span just before it ("P, a claim Y
    # denied"): attribution records that claim as its ``target``
    tied: bool = False
    # where the tying clause lies (", a claim Y denied" without its comma), for a tied denial
    clause: tuple[int, int] | None = None


# ------------------------------------------------------------------ sentence level
def sentence_claims(sent, si: int, in_region, split_compound: bool = True):
    """(claim or None, the quotes it attributes) for each clause of a sentence: the whole
    sentence, or with ``split_compound`` (``segment.split_compound``) each top-level clause
    that is a statement of its own (``_units``). An attributed quote is (region, mention,
    cue); a region of None introduces the speaker alone, a ("next", offset) region the quote
    after a colon."""
    results = []
    units = _units(sent) if split_compound else [(sent.root, set(t.i for t in sent))]
    for root, toks in units:
        results.extend(_unit_claims(sent, si, root, toks, in_region))
    return results

def _unit_claims(sent, si, root, toks: set[int], in_region):
    doc = sent.doc
    rv = _reporting_verb(root, toks, in_region)
    attr_regions = []
    if rv is not None:
        if any(c.dep_ == "neg" for c in rv.children):
            return []  # "he would not say whether ...": nothing is asserted
        subj = _speaker_subject(rv)
        mention = speaker_mention(subj)
        cue = rv.text.lower()
        stance = "denies" if rv.lemma_.lower() in DENY_VERBS else "asserts"
        content = _content_tokens(rv, toks, subj)
        if _object_statement(rv, toks, content, in_region):
            # "The Dera has dismissed the castration allegation", "The army announced a
            # ceasefire": what is reported is a noun phrase, so the sentence itself is
            # the claim, the subject its speaker (its dispute wording marks a denial)
            content, stance = set(toks), "asserts"
        # quotes in this unit that the verb attributes
        regs = {in_region[t.idx] for t in (doc[i] for i in toks) if in_region[t.idx] >= 0}
        for reg in regs:
            attr_regions.append((reg, mention, cue))
        if not content:
            qtoks = {i for i in toks if in_region[doc[i].idx] >= 0}
            content = qtoks
        if not content:
            if _ends_with_colon(doc, toks):
                last = doc[max(i for i in toks if not doc[i].is_space)]
                attr_regions.append((("next", last.idx + len(last.text)), mention, cue))
            attr_regions.append((None, mention, cue))  # the speaker is still introduced
            return [(None, attr_regions)]
        made = _finish(doc, si, content, mention, cue, stance, in_region)
        if not made:
            # nothing kept of the content ("Can we?", he asked): the quotes the verb
            # attributes still have their speaker, who is still introduced
            return [(None, attr_regions + [(None, mention, cue)])]
        return [(c, attr_regions) for c in made]
    surface = _surface_attribution(doc, toks, in_region)
    if surface is not None:
        # the parser missed the attribution ("Acts of protest, Mr. Obama said, are ...",
        # '"...," Tulsa police Chief Chuck Jordan said Monday.'): read it off the surface
        verb, np_ids, content = surface
        mention = mention_of(doc, doc[max(np_ids)], np_ids)
        cue = verb.text.lower()
        regs = {in_region[doc[i].idx] for i in content if in_region[doc[i].idx] >= 0}
        attr_regions = [(reg, mention, cue) for reg in regs]
        made = _finish(doc, si, content, mention, cue, "asserts", in_region)
        if not made:
            return [(None, attr_regions + [(None, mention, cue)])]
        return [(c, attr_regions) for c in made]
    after = _quote_just_before(sent, root, toks, in_region)
    if after is not None:
        # '"Can we win Illinois?" Mr. Manafort asked.': the question mark cut the sentence
        # off its attribution; the quote just before is the subject's
        mention = speaker_mention(after)
        return [(None, [(in_region[_before_quote_mark(sent).idx], mention, root.text.lower()),
                        (None, mention, root.text.lower())])]
    fig = _figure_statement(root, toks)
    if fig is not None:
        # the subject stays in the claim: "have put the amount at 1.3bn" says nothing alone
        subj = next(c for c in root.children if c.dep_ == "nsubj")
        return [(c, []) for c in _finish(doc, si, toks, speaker_mention(subj), root.text.lower(),
                                              "asserts", in_region)]
    src = _institutional_statement(root, toks, in_region)
    if src is not None:
        # "The seismology institute measured the quake at magnitude 6.1": the body states it
        return [(c, []) for c in _finish(doc, si, toks, speaker_mention(src), root.text.lower(),
                                              "asserts", in_region)]
    cont = _continued_attribution(root, in_region)
    if cont is not None:
        subj, verb = cont
        stance = "denies" if verb.lemma_.lower() in DENY_VERBS else "asserts"
        return [(c, []) for c in _finish(doc, si, toks, speaker_mention(subj), verb.text.lower(),
                                              stance, in_region)]
    src = _document_statement(root, toks, in_region)
    if src is not None:
        return [(c, []) for c in _finish(doc, si, toks, speaker_mention(src), root.text.lower(),
                                              "asserts", in_region)]
    acc = _according_to(toks, doc)
    acc_cue = "according to"
    if acc is None and (acc := _in_source(root, toks, in_region)) is not None:
        acc_cue = "in"
    if acc is not None:
        phrase, pobj = acc
        mention = speaker_mention(pobj)
        content = toks - phrase
        return [(c, []) for c in _finish(doc, si, content, mention, acc_cue,
                                              "asserts", in_region)]
    act = _speech_act_subject(root, toks, in_region)
    if act is not None:
        return [(c, []) for c in _finish(doc, si, toks, speaker_mention(act), root.text.lower(),
                                              "asserts", in_region)]
    return [(c, []) for c in _finish(doc, si, toks, None, "", "asserts", in_region)]

def _finish(doc, si, content: set[int], mention, cue, stance, in_region):
    """Denial noun phrases, relative-clause reports and compound splits inside a
    content, then trimming."""
    claims: list[RawClaim] = []
    content = set(content)
    # the denial tied to the content first: ", a claim the ministry said was false" must
    # not be read as a relative-clause report of its own
    denial = _denial_np(doc, content)
    if denial is not None:
        content -= denial[0]
    for i in sorted(content):
        v = doc[i]
        if (v.dep_ == "relcl" and v.lemma_.lower() in REPORT_VERBS and i in content
                and not any(c.dep_ == "neg" for c in v.children)):
            # a clause of its own ("who said the figure was wrong"); not an infinitive ("a
            # birther who has pledged to ban all Muslims": no statement without its subject)
            comp = [c for c in v.children if c.dep_ == "ccomp"]
            if not comp:
                continue
            inner_ids = set().union(*(_subtree_ids(c) for c in comp)) & content
            rel_ids = _subtree_ids(v) & content
            content -= rel_ids
            vstance = "denies" if v.lemma_.lower() in DENY_VERBS else "asserts"
            # "the figure, which officials said was wrong": the verb's own subject speaks;
            # "a spokesman, who said ...": the relative pronoun stands for the head noun
            subj = [c for c in v.children if c.dep_ in ("nsubj", "nsubjpass")
                    and c.lower_ not in RELATIVE_PRONOUNS]
            speaker = subj[0] if subj else v.head
            rc = _make_claim(doc, si, inner_ids, speaker_mention(speaker), v.text.lower(), vstance, in_region)
            if rc is not None:
                claims.append(rc)
    for i in sorted(content):
        v = doc[i]
        if (i in content and v.dep_ == "conj" and v.lemma_.lower() == "add" and v.head.i in content
                and not _has_subject(v) and in_region[v.idx] < 0):
            # "Clinton said the plan was unfair and added that she would fight it": the
            # parser hangs "added" inside what she said; it is a second statement of hers
            comp = [c for c in v.children if c.dep_ == "ccomp"]
            if not comp:
                continue
            added = _subtree_ids(v) & content
            cc = [c.i for c in v.head.children if c.dep_ == "cc" and c.i < v.i and c.i > v.head.i]
            content -= added | set(cc[-1:])
            rc = _make_claim(doc, si, _subtree_ids(comp[0]) & added, mention, v.text.lower(),
                             stance, in_region)
            if rc is not None:
                claims.append(rc)
    for i in sorted(content):
        v = doc[i]
        if i in content and v.head.i in content and _participial_report(v) and in_region[v.idx] < 0:
            # "Perdue said he didn't believe it, arguing that P": the participle hangs inside
            # what was said; P is the statement of the clause's subject ("he")
            comp = [c for c in v.children if c.dep_ == "ccomp"]
            part = _subtree_ids(v) & content
            first = min(part)
            content -= part | ({first - 1} if doc[first - 1].text in (",", "—", "–", ";") else set())
            subj = _speaker_subject(v)
            rc = _make_claim(doc, si, _subtree_ids(comp[0]) & part,
                             speaker_mention(subj) if subj is not None else mention, v.text.lower(),
                             "denies" if v.lemma_.lower() in DENY_VERBS else "asserts", in_region)
            if rc is not None:
                claims.append(rc)
    for i in sorted(content):
        v = doc[i]
        prep = v.head
        if (i in content and v.dep_ == "pcomp" and v.tag_ == "VBG" and v.lemma_.lower() in REPORT_VERBS
                and prep.lower_ in ("by", "after", "before", "in") and prep.i in content
                and prep.head.pos_ in ("VERB", "AUX") and in_region[v.idx] < 0
                and not any(c.dep_ == "neg" for c in v.children)):
            # "Dean began by saying he would never ...", "after saying P": P is the
            # statement of the subject of the verb the phrase hangs on
            comp = [c for c in v.children if c.dep_ == "ccomp"]
            subj = _speaker_subject(prep.head)
            if not comp or subj is None:
                continue
            said = _subtree_ids(comp[0]) & content
            content -= _subtree_ids(prep)
            rc = _make_claim(doc, si, said, speaker_mention(subj), v.text.lower(),
                             "denies" if v.lemma_.lower() in DENY_VERBS else "asserts", in_region)
            if rc is not None:
                claims.append(rc)
    inner: list[RawClaim] = []
    for part in _split_content(doc, content):
        rc = _make_claim(doc, si, part, mention, cue, stance, in_region)
        if rc is not None:
            inner.append(rc)
    claims.extend(inner)
    if denial is not None and inner:
        np_toks, verb, subj = denial
        referred = inner[-1]
        words = sorted(i for i in np_toks if not doc[i].is_punct)
        clause = (doc[words[0]].idx, doc[words[-1]].idx + len(doc[words[-1]].text)) if words else None
        # the denied proposition's own span (the reporting clause "a claim Y denied" is
        # its cue): a second claim on it, by the one who denies it
        claims.append(RawClaim(
            start=referred.start, end=referred.end, text=referred.text, sent_index=si,
            mention=speaker_mention(subj), cue=verb.text.lower(), stance="denies", tied=True, clause=clause,
        ))
    return claims


def _subtree_ids(tok) -> set[int]:
    return {t.i for t in tok.subtree}


def _units(sent) -> list[tuple[object, set[int]]]:
    """Top-level clauses of a sentence: the root and conjoined/contrastive clauses that have
    a subject of their own ("X, but Y"; "although X, Y")."""
    root = sent.root
    all_ids = {t.i for t in sent}
    units = []
    split_off: list[object] = []
    for child in root.children:
        if child.dep_ == "conj" and child.pos_ in ("VERB", "AUX") and (_has_subject(child) or (
                # "X revised its estimate and said P": P is a second statement of X's
                child.lemma_.lower() in REPORT_VERBS
                and any(c.dep_ == "ccomp" for c in child.children))):
            cc = [c for c in root.children if c.dep_ == "cc" and c.i < child.i]
            if cc:
                split_off.append(child)
        elif child.dep_ == "advcl" and any(
            m.dep_ == "mark" and m.lower_ in SPLIT_MARK for m in child.children
        ) and _has_subject(child):
            split_off.append(child)
        elif _participial_report(child):
            # "Smith said P, adding that Q", "Clinton spoke out, arguing that P": the
            # participle reports a second statement of the clause's subject
            split_off.append(child)
    rest = set(all_ids)
    for c in split_off:
        ids = _subtree_ids(c)
        rest -= ids
        units.append((c, ids))
    # drop the coordinating words that joined the parts
    rest -= {t.i for t in root.children if t.dep_ == "cc" and t.lower_ in SPLIT_CC | {"and"}
             and split_off}
    units.insert(0, (root, rest))
    return units


def _participial_report(tok) -> bool:
    """A participle of a reporting (or attitude) verb after a comma, without a subject of its
    own, that takes a clause: ", saying P", ", adding that Q", ", arguing that P"."""
    if tok.dep_ != "advcl" or tok.tag_ != "VBG" or _has_subject(tok) or tok.i <= tok.head.i:
        return False
    lemma = tok.lemma_.lower()
    if lemma not in REPORT_VERBS and lemma not in ATTITUDE_VERBS:
        return False
    doc = tok.doc
    first = min(t.i for t in tok.subtree)
    if first == 0 or doc[first - 1].text not in (",", "—", "–", ";"):
        return False
    return any(c.dep_ == "ccomp" for c in tok.children)


def _has_subject(tok) -> bool:
    return any(c.dep_ in ("nsubj", "nsubjpass", "expl") for c in tok.children)


def _reporting_verb(root, toks: set[int], in_region):
    """The unit's reporting verb (outside quotes, with a subject), if any."""
    cands = [root] + [c for c in root.children if c.dep_ in ("parataxis", "advcl", "conj")
                      and c.i in toks]
    # "X issued a statement saying P": the participle reports for the verb's subject
    cands += [a for o in [root] + cands[1:] for c in o.children
              if c.dep_ == "dobj" and c.lemma_.lower() in SOURCE_NOUNS
              for a in c.children if a.dep_ == "acl"]
    # "X updated its website to say P"
    cands += [c for c in root.children if c.dep_ == "xcomp" and c.i in toks]
    for v in cands:
        if (
            (v.lemma_.lower() in REPORT_VERBS or _attitude(v)
             or v.lemma_.lower() in COLON_VERBS and (_ends_with_colon(v.doc, toks)
                                                     or _attributes_quote(v, toks, in_region)))
            and v.i in toks
            and in_region[v.idx] < 0
            and (_has_own_subject(v) or (v is root or v.dep_ in ("acl", "xcomp"))
                 and _speaker_subject(v) is not None)
        ):
            if v is not root or any(c.dep_ in ("ccomp", "xcomp", "dobj", "parataxis")
                                    for c in v.children) or any(
                in_region[v.doc[i].idx] >= 0 for i in toks
            ) or v.lemma_.lower() in DENY_VERBS or _ends_with_colon(v.doc, toks) or _that_clause(
                v, toks, _speaker_subject(v)
            ):
                return v
    # "Talks are ongoing, he said": the reporting verb hangs off the root as parataxis/ccomp
    for t in root.children:
        if (t.dep_ in ("parataxis", "ccomp") and (t.lemma_.lower() in REPORT_VERBS
                                                   or t.dep_ == "parataxis" and t.lemma_.lower() in ATTITUDE_VERBS)
                and t.i in toks and in_region[t.idx] < 0
                and any(c.dep_ == "nsubj" for c in t.children)
                and not any(c.dep_ == "ccomp" for c in t.children)):
            return t
    return None


def _attitude(v) -> bool:
    """A verb of belief or fear that takes a clause ("they fear the talks will fail")."""
    return v.lemma_.lower() in ATTITUDE_VERBS and any(c.dep_ == "ccomp" for c in v.children)


_NP_POS = {"PROPN", "NOUN", "DET", "ADJ", "ADP", "NUM", "PART", "CCONJ", "PUNCT", "PRON", "ADV"}
_AFTER_VERB_POS = {"PROPN", "NOUN", "DET", "ADJ", "ADP", "NUM", "PART", "PUNCT", "ADV", "SPACE"}


def _speaker_phrase(doc, ids: list[int]) -> bool:
    """Tokens that can be a speaker's noun phrase: no verb, a noun or a name (or a personal
    pronoun alone), at most 30 tokens, not starting with punctuation or a preposition."""
    if not ids or len(ids) > 30 or doc[ids[0]].pos_ in ("PUNCT", "ADP", "CCONJ"):
        return False
    toks = [doc[i] for i in ids]
    if len(toks) == 1 and toks[0].lower_ in PRONOUNS:
        return True
    # a capitalised word is part of a name whatever the tagger made of it ("Tulsa" as a verb)
    return all((t.pos_ in _NP_POS or t.text[:1].isupper()) and (t.pos_ != "PRON" or t.dep_ == "poss")
               for t in toks) and any(t.pos_ in ("PROPN", "NOUN") for t in toks) and (
        toks[-1].pos_ in ("PROPN", "NOUN"))


def _surface_attribution(doc, toks: set[int], in_region):
    """An attribution the parse did not give its subject, read off the word order, or None:
    "P1, NAME said, P2" (a parenthetical between commas) or '"Q," NAME said [Monday].' (after
    a closing quote mark, at the end of the sentence). Returns (the verb, the speaker's
    tokens, the content's tokens)."""
    ids = sorted(i for i in toks if not doc[i].is_space)
    pos = {i: k for k, i in enumerate(ids)}
    for i in ids:
        v = doc[i]
        if v.lemma_.lower() not in REPORT_VERBS or v.pos_ != "VERB" or in_region[v.idx] >= 0:
            continue
        k = pos[i]
        # after a closing quote: '"...," NAME said [Monday].'
        q = next((j for j in range(k - 1, -1, -1)
                  if doc[ids[j]].text in QUOTE_CHARS + "'’" or doc[ids[j]].text == "''"), None)
        if q is not None and q >= 1 and doc[ids[q - 1]].text in (",", "?", "!") and in_region[doc[ids[q - 1]].idx] >= 0:
            np_ids = ids[q + 1:k]
            while np_ids and doc[np_ids[-1]].text == ",":
                np_ids = np_ids[:-1]
            rest = ids[k + 1:]
            if _speaker_phrase(doc, np_ids) and all(
                    doc[j].pos_ in _AFTER_VERB_POS or in_region[doc[j].idx] >= 0 for j in rest):
                return v, np_ids, set(ids[:q - 1])
        # a parenthetical: "P1, NAME said, P2"
        c1 = next((j for j in range(k - 1, -1, -1) if doc[ids[j]].text == ","), None)
        c2 = next((j for j in range(k + 1, len(ids)) if doc[ids[j]].text == ","), None)
        if c1 is None or c2 is None or c1 == 0 or c2 > k + 3:
            continue
        np_ids = ids[c1 + 1:k]
        if not _speaker_phrase(doc, np_ids) or not all(doc[j].pos_ in _AFTER_VERB_POS for j in ids[k + 1:c2]):
            continue
        content = set(ids[:c1]) | set(ids[c2 + 1:])
        if any(doc[j].pos_ in ("VERB", "AUX") for j in content):
            return v, np_ids, content
    return None


def _attributes_quote(v, toks: set[int], in_region) -> bool:
    """'"Can we win?" Mr. Manafort asked', '"...," Clinton continued': a verb of speaking
    that takes no clause elsewhere (ask, continue, recall) attributes the quote of its unit
    when it stands outside it with a subject of its own and nothing but the quote as object."""
    doc = v.doc
    if not _has_own_subject(v) or not any(in_region[doc[i].idx] >= 0 for i in toks):
        return False
    comp = [c for c in v.children if c.dep_ in ("ccomp", "parataxis", "dobj", "xcomp")]
    return all(in_region[c.idx] >= 0 for c in comp) and not any(
        c.dep_ in ("dative", "dobj") and in_region[c.idx] < 0 for c in v.children)


def _before_quote_mark(sent):
    """The last token before the closing quote mark that ends just before ``sent`` in its
    paragraph (the "?" of '"Can we?" he asked.'), or None."""
    doc = sent.doc
    j = sent.start - 1
    if j < 1 or doc[j].text not in QUOTE_CHARS + "'’" and doc[j].text != "''" or "\n" in doc[j].text_with_ws:
        return None
    return doc[j - 1]


def _quote_just_before(sent, root, toks: set[int], in_region):
    """The subject of a sentence that is only an attribution ("Marta Kowalski asked.", "she
    continued on Monday") right after a quote of its paragraph, or None."""
    lemma = root.lemma_.lower()
    if root.i != sent.root.i or lemma not in REPORT_VERBS and lemma not in COLON_VERBS:
        return None
    if in_region[root.idx] >= 0 or any(c.dep_ in ("ccomp", "xcomp", "dobj", "parataxis", "conj")
                                       for c in root.children):
        return None
    before = _before_quote_mark(sent)
    if before is None or in_region[before.idx] < 0:
        return None
    subj = next((c for c in root.children if c.dep_ == "nsubj" and c.i < root.i), None)
    return subj


def _object_statement(rv, toks: set[int], content: set[int], in_region) -> bool:
    """The reporting verb's object is a noun phrase, not a clause ("announced a ceasefire",
    "denied the allegations"), and no quote is in the unit: the content alone would be a
    fragment. A pronoun object ("denied it") is left to the rules (it hands its speaker on)."""
    doc = rv.doc
    if any(in_region[doc[i].idx] >= 0 for i in toks):
        return False
    obj = next((c for c in rv.children if c.dep_ == "dobj" and c.i in toks), None)
    if obj is None or obj.pos_ == "PRON" or any(c.dep_ in ("ccomp", "xcomp") for c in rv.children):
        return False
    return not content or not any(doc[i].pos_ in ("VERB", "AUX") for i in content)


def _speech_act_subject(root, toks: set[int], in_region):
    """The subject of a speech act the unit reports ("Schiff called on the administration to
    act"), outside quotes, or None."""
    if root.lemma_.lower() not in SPEECH_ACT_VERBS or in_region[root.idx] >= 0:
        return None
    subj = next((c for c in root.children if c.dep_ == "nsubj" and c.i in toks), None)
    if subj is None or subj.lower_ in ("it", "there", "this", "that", "which", "who"):
        return None
    return subj


def _has_own_subject(v) -> bool:
    return any(c.dep_ in ("nsubj", "nsubjpass") for c in v.children)


def _speaker_subject(v):
    """Who speaks through the reporting verb ``v``: its subject; for "X welcomed it but said
    P" (a conjoined verb without one) the first verb's subject; for "X issued a statement
    saying P" the subject of the verb whose object the statement is."""
    subjects = [c for c in v.children if c.dep_ in ("nsubj", "nsubjpass")]
    if subjects:
        # two subjects is a misparse, often of a dateline ("CHICAGO, Feb 10 (Wire) - Fenwick
        # Brands said"): the one nearest before the verb speaks
        before = [c for c in subjects if c.i < v.i]
        return before[-1] if before else subjects[0]
    if v.dep_ == "conj" and v.head.pos_ in ("VERB", "AUX"):
        return next((c for c in v.head.children if c.dep_ == "nsubj"), None)
    if _participial_report(v):
        # "Smith said P, adding that Q": the subject of the clause the participle hangs on
        return _speaker_subject(v.head) if v.head.pos_ in ("VERB", "AUX") else None
    if v.dep_ == "ROOT" and v.is_sent_start and v.i > 0:
        # the parser cut "Brandt | said ..." into two sentences (a paragraph after a
        # subheading): a lone proper noun just before the verb is its subject
        prev = v.doc[v.i - 1]
        if prev.pos_ == "PROPN" and prev.is_sent_start and prev.text[:1].isupper():
            return prev
    if v.dep_ == "xcomp" and any(c.dep_ == "aux" and c.lower_ == "to" for c in v.children):
        # "the utility updated its website to say P"
        return next((c for c in v.head.children if c.dep_ == "nsubj"), None)
    if v.dep_ == "acl" and v.head.lemma_.lower() in SOURCE_NOUNS and v.head.dep_ == "dobj":
        return next((c for c in v.head.head.children if c.dep_ == "nsubj"), None)
    return None


def _continued_attribution(root, in_region):
    """The (subject, reporting verb) a conjoined clause continues, or None:

    * "X said that P, and that Q" / "X issued a statement saying P, and that Q": Q, marked
      by "that", is a second thing X said;
    * "P, X said, and Q": the parenthetical attribution covers both conjuncts."""
    if root.dep_ != "conj":
        return None
    head = root.head
    marked = any(c.dep_ == "mark" and c.lower_ == "that" for c in root.children)
    verbs = [head] + [a for c in head.children if c.dep_ == "dobj"
                      and c.lemma_.lower() in SOURCE_NOUNS for a in c.children if a.dep_ == "acl"]
    for v in verbs:
        if (marked and v.lemma_.lower() in REPORT_VERBS and in_region[v.idx] < 0
                and not any(c.dep_ == "neg" for c in v.children)):
            subj = _speaker_subject(v)
            if subj is not None:
                return subj, v
    for t in head.children:
        if (t.dep_ == "parataxis" and t.i < root.i and t.lemma_.lower() in REPORT_VERBS
                and in_region[t.idx] < 0 and not any(c.dep_ == "neg" for c in t.children)):
            subj = next((c for c in t.children if c.dep_ == "nsubj"), None)
            if subj is not None:
                return subj, t
    return None


def _content_tokens(rv, toks: set[int], subj) -> set[int]:
    comp = [c for c in rv.children if c.dep_ in ("ccomp", "xcomp") and c.i in toks]
    if not comp and rv.lemma_.lower() in DENY_VERBS:
        comp = [c for c in rv.children if c.dep_ == "dobj" and c.i in toks]
    if comp:
        ids: set[int] = set()
        for c in comp:
            ids |= _subtree_ids(c)
        if _controlled_infinitive(rv, comp, subj):
            # "X claims to have served in the army": "to have served ..." alone is a
            # fragment without its subject; the claim runs from the subject to its end
            lo = min(_subtree_ids(subj))
            ids |= set(range(lo, max(ids) + 1))
        return ids & toks
    clause = _that_clause(rv, toks, subj)
    if clause:
        return clause
    if rv.dep_ in ("parataxis", "ccomp") and rv.head.i in toks:
        # the verb hangs off the content's root: the content is the rest of the unit
        return toks - _subtree_ids(rv)
    return set()


def _controlled_infinitive(rv, comp, subj) -> bool:
    """The content is an infinitive with no subject of its own: the reporting verb's subject
    or object is its subject ("X claims to be P", "X was reported to have denied P", "X told
    Y to leave"), so it is no claim without them."""
    return (subj is not None and subj.i < rv.i and all(
        c.dep_ == "xcomp" and any(a.dep_ == "aux" and a.lower_ == "to" for a in c.children)
        for c in comp))


def _ends_with_colon(doc, toks: set[int]) -> bool:
    """"Diaz wrote on X on Tuesday:" - the words that follow are the speaker's."""
    words = [i for i in toks if not doc[i].is_space]
    return bool(words) and doc[max(words)].text == ":"


def _that_clause(rv, toks: set[int], subj) -> set[int]:
    """"X said in a post on X that P", "X said on X, formerly Twitter, that P": spaCy hangs
    the that-clause P off the platform phrase; it is what X said."""
    subj_ids = _subtree_ids(subj)
    for t in rv.subtree:
        if t.i not in toks or t.i in subj_ids or t is rv:
            continue
        if t.dep_ in ("relcl", "acl", "ccomp") and t.pos_ in ("VERB", "AUX"):
            first = min(_subtree_ids(t))
            if rv.doc[first].lower_ == "that" and t.head.i != rv.i:
                if t.head.dep_ == "dobj" and t.head.head.i == rv.i and t.head.pos_ == "NOUN":
                    # "found no evidence that P", "added a warning that P": the that-clause
                    # completes the object, and the object with it is what is reported
                    return _subtree_ids(t.head) & toks
                return _subtree_ids(t) & toks
    return set()


def _figure_statement(root, toks: set[int]):
    """"X put the toll at 27", "X revised its estimate to 1,200": X states a figure."""
    if root.lemma_.lower() not in FIGURE_VERBS or root.pos_ != "VERB":
        return None
    subj = [c for c in root.children if c.dep_ == "nsubj"]
    obj = [c for c in root.children if c.dep_ == "dobj"]
    prep = [c for c in root.children if c.dep_ == "prep" and c.lower_ in ("at", "to")]
    if subj and obj and prep and obj[0].lemma_.lower() in FIGURE_NOUNS and subj[0].pos_ in ("NOUN", "PROPN"):
        if any(t.like_num for t in prep[0].subtree):
            return root
    return None


# verbs by which a body (court, agency, survey, report) states something in its own name
STATEMENT_VERBS = {"measure", "list", "record", "rule", "order", "find", "uphold", "publish",
                   "show", "put", "estimate", "forecast", "count", "register", "classify"}
_BODY_HEADS = {"court", "institute", "agency", "survey", "commission", "board", "ministry",
               "office", "registry", "authority", "tribunal", "panel", "regulator", "service",
               "bureau", "department", "council", "inspectorate", "observatory", "judge"}


def _institutional_statement(root, toks: set[int], in_region):
    """The subject of "The national seismology institute measured the quake at 6.1", "The
    court upheld ...", "Commission records list him as a director" (a body or its
    document, outside quotes), or None."""
    if root.lemma_.lower() not in STATEMENT_VERBS or root.pos_ != "VERB" or in_region[root.idx] >= 0:
        return None
    subj = next((c for c in root.children if c.dep_ == "nsubj" and c.i in toks), None)
    if subj is None or subj.pos_ not in ("NOUN", "PROPN"):
        return None
    lemma = subj.lemma_.lower()
    if lemma in _BODY_HEADS or lemma in SOURCE_NOUNS or subj.ent_type_ == "ORG":
        return subj
    return None


# what a document or a poll does when it states something ("the poll gave Clinton a lead",
# "Wednesday's poll has Clinton leading", "footage captured him leaving")
DOCUMENT_VERBS = {"give", "have", "suggest", "indicate", "reveal", "capture", "depict", "document",
                  "detail", "describe", "cite", "confirm", "find", "show", "put"}
# "In the latest poll, 71 percent approved": the poll states it
POLL_NOUNS = {"poll", "survey", "study", "analysis", "tally", "count", "census", "report"}


def _document_statement(root, toks: set[int], in_region):
    """The subject of "The latest poll showed Trump leading", "The CBS poll gave Clinton a
    lead" (a source document among SOURCE_NOUNS, outside quotes), or None."""
    if root.lemma_.lower() not in DOCUMENT_VERBS or root.pos_ not in ("VERB", "AUX") or in_region[root.idx] >= 0:
        return None
    subj = next((c for c in root.children if c.dep_ == "nsubj" and c.i in toks), None)
    if subj is None or subj.pos_ != "NOUN" or subj.lemma_.lower() not in SOURCE_NOUNS:
        return None
    return subj


def _in_source(root, toks: set[int], in_region):
    """"In the new Post-ABC poll, the mogul wins 1 in 3 voters": (the phrase's tokens, with a
    comma after it, and the poll), or None."""
    if in_region[root.idx] >= 0:
        return None
    for prep in root.children:
        if prep.dep_ != "prep" or prep.lower_ != "in" or prep.i not in toks:
            continue
        pobj = next((c for c in prep.children if c.dep_ == "pobj"), None)
        if pobj is None or pobj.lemma_.lower() not in POLL_NOUNS or pobj.pos_ != "NOUN":
            continue
        phrase = _subtree_ids(prep)
        nxt = max(phrase) + 1
        if nxt < len(root.doc) and root.doc[nxt].text == ",":
            phrase.add(nxt)
        return phrase & toks, pobj
    return None


def _according_to(toks: set[int], doc):
    for i in sorted(toks):
        t = doc[i]
        if t.lower_ == "according" and i + 1 < len(doc) and doc[i + 1].lower_ == "to":
            to = doc[i + 1]
            pobj = next((c for c in to.children if c.dep_ == "pobj"), None)
            if pobj is None:
                continue
            phrase = {i, i + 1} | _subtree_ids(pobj)
            # the commas around it
            lo, hi = min(phrase), max(phrase)
            if lo > 0 and doc[lo - 1].text == ",":
                phrase.add(lo - 1)
            if hi + 1 < len(doc) and doc[hi + 1].text == ",":
                phrase.add(hi + 1)
            return phrase, pobj
    return None


def _denier(rel):
    """The one who denies in a clause tied to a claim noun, or None: the subject of a denial
    verb ("the State Department denied"), its agent in the passive ("rejected by the
    ministry"), or the subject of a report that calls it false ("the ministry said was
    false", "officials called baseless")."""
    lemma = rel.lemma_.lower()
    if lemma in DENY_VERBS:
        subj = next((c for c in rel.children if c.dep_ == "nsubj"
                     and c.lower_ not in RELATIVE_PRONOUNS), None)
        if subj is not None:
            return subj
        agent = next((c for c in rel.children if c.dep_ == "agent"), None)
        return next((c for c in agent.children if c.dep_ == "pobj"), None) if agent is not None else None
    if lemma in REPORT_VERBS or lemma == "call":
        comp = [c for c in rel.children if c.dep_ in ("ccomp", "xcomp", "oprd", "acomp")]
        words = [t for c in comp for t in c.subtree]
        if (any(t.lemma_.lower() in FALSITY for t in words)
                and not any(t.dep_ == "neg" for t in words)
                and not any(c.dep_ == "neg" for c in rel.children)):
            return next((c for c in rel.children if c.dep_ == "nsubj"
                         and c.lower_ not in RELATIVE_PRONOUNS), None)
    return None


def _denial_np(doc, content: set[int]):
    """The clause that ties a content to the one who denies it, inside one sentence: ", a
    claim the State Department denied", ", a claim rejected by the ministry", ", a claim the
    ministry said was false", ", which the ministry denied". Returns its tokens (with the
    comma before it), its verb and the denier, or None."""
    for i in sorted(content):
        t = doc[i]
        if t.lemma_.lower() in CLAIM_NOUNS:
            for rel in t.children:
                if rel.dep_ not in ("relcl", "acl"):
                    continue
                subj = _denier(rel)
                if subj is None:
                    continue
                ids = _subtree_ids(t)
                lo = min(ids)
                if lo > 0 and doc[lo - 1].text == ",":
                    ids.add(lo - 1)
                return ids & content | {i for i in ids if doc[i].text == ","}, rel, subj
        elif (t.dep_ == "relcl" and t.lemma_.lower() in DENY_VERBS
              and any(c.lower_ == "which" and c.dep_ in ("dobj", "nsubjpass") for c in t.children)):
            # ", which the ministry denied": the relative clause denies all that comes before
            subj = _denier(t)
            ids = _subtree_ids(t)
            lo = min(ids)
            if subj is None or lo == 0 or doc[lo - 1].text != ",":
                continue
            return (ids | {lo - 1}) & content | {lo - 1}, t, subj
    return None


def _split_content(doc, content: set[int]) -> list[set[int]]:
    """Split a content at "but"/"while" conjunctions and "although"/"despite" clauses whose
    parts have their own subject (or, for "despite", hold a clause of their own)."""
    if not content:
        return []
    heads = [doc[i] for i in content if doc[i].head.i not in content or doc[i].head.i == i]
    parts = [set(content)]
    for h in heads:
        for t in h.subtree:
            if t.i not in content:
                continue
            if t.dep_ == "conj" and t.pos_ in ("VERB", "AUX") and _has_subject(t):
                cc = [c for c in t.head.children if c.dep_ == "cc" and c.i < t.i]
                if cc and cc[-1].lower_ in SPLIT_CC:
                    parts = _carve(parts, _subtree_ids(t) & content, {cc[-1].i})
            elif t.dep_ == "advcl" and _has_subject(t) and any(
                m.dep_ == "mark" and m.lower_ in SPLIT_MARK for m in t.children
            ):
                marks = {m.i for m in t.children if m.dep_ == "mark"}
                parts = _carve(parts, (_subtree_ids(t) & content) - marks, marks)
            elif t.lower_ == "despite" and t.dep_ == "prep":
                obj = _subtree_ids(t) - {t.i}
                clause = [doc[j] for j in sorted(obj) if doc[j].pos_ in ("VERB", "AUX")
                          and doc[j].dep_ in ("acl", "ccomp", "relcl", "pcomp")]
                if clause:
                    parts = _carve(parts, obj & content, {t.i})
                    inner = _subtree_ids(clause[0]) & content
                    parts = [inner if p == (obj & content) else p for p in parts]
    return [p for p in parts if p]


def _carve(parts: list[set[int]], piece: set[int], drop: set[int]) -> list[set[int]]:
    out = []
    for p in parts:
        if piece and piece <= p and piece != p:
            out.append(p - piece - drop)
            out.append(piece)
        else:
            out.append(p)
    return out


# a dash signature ("― Esther Tapia ", "-- Reuters ") left at the start of the quote after it
_SIGNATURE_LEAD = re.compile(r"^(?:[―—–]|--)\s*(?:[A-Z][\w.'’-]*\s+){0,3}[A-Z][\w.'’-]*\.?\s*(?=[\"“])")
_SIGNATURE_ONLY = re.compile(r"(?:[―—–]|--)\s*(?:[A-Z][\w.'’-]*\s+){0,3}[A-Z][\w'’-]*\.?")
# "formerly Twitter, that ..." left at the start of a claim by a post's attribution
_PLATFORM_LEAD = re.compile(
    r"^(?:on\s+(?:X|Twitter|Facebook|Instagram|Telegram|TikTok|LinkedIn|Threads|Bluesky)\s*,?\s*)?"
    r"\(?formerly(?:\s+known\s+as)?\s+Twitter\)?\s*,?\s*(?:that\s+)?", re.I)


def _complementiser_that(tok) -> bool:
    """"wrote on Twitter that cracks had appeared": spaCy sometimes makes "that" a second
    subject of the clause; it is the complementiser."""
    return tok.lower_ == "that" and tok.dep_ in ("nsubj", "nsubjpass", "dobj") and any(
        c.dep_ in ("nsubj", "nsubjpass") and c.i > tok.i for c in tok.head.children)


def _marks_whole(mark, toks: list[int]) -> bool:
    """``mark`` ("whether", "if") opens the clause the tokens are: "(asked) whether P" is an
    open question; "If P, Q" is a conditional statement whose if-clause is only a part."""
    clause = mark.head if mark.dep_ == "mark" else mark
    ids = set(toks)
    return clause.i not in ids or clause.head.i not in ids or clause.head == clause


def _runs(toks: list[int]) -> list[tuple[int, int]]:
    """Sorted token indices as (first, last) of each run of consecutive ones."""
    runs: list[tuple[int, int]] = []
    for i in toks:
        if runs and i == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], i)
        else:
            runs.append((i, i))
    return runs


def _make_claim(doc, si, ids: set[int], mention, cue, stance, in_region) -> RawClaim | None:
    toks = sorted(ids)
    # trim edges: punctuation, quotes, "that", conjunctions
    while toks and (doc[toks[0]].text in EDGE or doc[toks[0]].is_space
                    or (doc[toks[0]].dep_ in ("mark", "cc") and doc[toks[0]].lower_ in
                        ("that", "and", "but", "while", "although", "though", "whereas", "yet"))
                    or _complementiser_that(doc[toks[0]])):
        toks.pop(0)
    while toks and (doc[toks[-1]].text in EDGE or doc[toks[-1]].is_space
                    or doc[toks[-1]].text in (".", "!", "?")):
        toks.pop()
    # a piece left between attributions that is punctuation alone (".''" after "the report
    # says ...") is not part of the claim
    toks = [i for a, b in _runs(toks)
            if not all(doc[j].is_punct or doc[j].is_space for j in range(a, b + 1))
            for i in range(a, b + 1)]
    if not toks or doc[toks[0]].lower_ in ("whether", "if") and _marks_whole(doc[toks[0]], toks):
        return None  # an open question ("asked whether P"), not a statement
    # "The proposal" (of "Egypt rejected the proposal"), "Johnson acknowledged": dropped by
    # _keep, which hands the speaker on to the next claim
    fragment = _fragment(doc, toks)
    modality = claim_modality(doc, toks)
    first, last = doc[toks[0]], doc[toks[-1]]
    start, end = first.idx, last.idx + len(last.text)
    if toks[-1] - toks[0] + 1 == len(toks):
        text = doc_text(doc)[start:end]
    else:  # non-contiguous (an attribution in the middle): the kept runs, one space between
        text = " ".join(doc_text(doc)[doc[a].idx:doc[b].idx + len(doc[b].text)].strip(" ,;:")
                        for a, b in _runs(toks))
    text = re.sub(r"\s+", " ", text).strip(" \"“”")
    trimmed = False
    m = DATELINE.match(text) or DATELINE_TAIL.match(text)
    if m and toks[-1] - toks[0] + 1 == len(toks):
        start += m.end()
        text = text[m.end():]
        trimmed = True
    if _SIGNATURE_ONLY.fullmatch(text):
        return None  # "― Carla Sanchez.": the signature of the quote before, not a claim
    m = _SIGNATURE_LEAD.match(text)
    if m and toks[-1] - toks[0] + 1 == len(toks):
        # '"..." ― Esther Tapia "Mostly he ...': the signature of the quote before is not
        # part of the next one
        k = m.end() + len(text[m.end():]) - len(text[m.end():].lstrip(" \"“"))
        start += k
        text = text[k:]
        trimmed = True
        toks = [i for i in toks if doc[i].idx >= start]
    m = _PLATFORM_LEAD.match(text)
    if m and m.end() and toks[-1] - toks[0] + 1 == len(toks):
        start += m.end()  # "said on X, formerly Twitter, that ...": the platform is not the claim
        text = text[m.end():]
        trimmed = True
    if not text:
        return None
    info = None
    if toks[-1] - toks[0] + 1 == len(toks) and not trimmed:
        # the claim is a span of the article's parse: its evidence comes from there, in
        # context, instead of a second spaCy pass over the claim text (15% of a run)
        info = info_from_doc(doc[toks[0]:toks[-1] + 1], entity_index(doc).within(toks[0], toks[-1] + 1))
    # the text's own case: ``text`` is ``doc_text[start:end]`` unwrapped (README, "Claims")
    inside = [in_region[doc[i].idx] for i in toks if doc[i].text not in EDGE]
    region = max(set(inside), key=inside.count) if inside else -1
    quoted = region >= 0 and inside.count(region) >= 0.8 * len(inside)
    return RawClaim(start=start, end=end, text=text, sent_index=si, mention=mention, cue=cue,
                    stance=stance, is_quote=quoted or cue == "quote",
                    region=region if quoted else -1, info=info, modality=modality, fragment=fragment)


# what makes a claim a plan, a possibility or a condition rather than an assertion
_HYPOTHETICAL_AUX = {"could", "would", "might", "may", "should", "ought"}
_HYPOTHETICAL_MARK = {"if", "unless"}
_PLAN_VERBS = {"plan", "intend", "consider", "threaten", "propose", "aim", "hope", "want", "seek"}
_HEDGE_WORDS = {"likely", "unlikely", "probably", "possibly", "perhaps", "apparently", "reportedly",
                "allegedly", "appear", "seem"}


def claim_modality(doc, toks: list[int]) -> str:
    """question | hypothetical | hedged | asserted, read off the claim's tokens (and the
    question mark that ends its sentence)."""
    nxt = toks[-1] + 1
    while nxt < len(doc) and (doc[nxt].text in EDGE or doc[nxt].is_space):
        nxt += 1
    if nxt < len(doc) and doc[nxt].text == "?" or doc[toks[-1]].text == "?":
        return "question"
    words = [doc[i] for i in toks]
    if any(t.lower_ in _HYPOTHETICAL_AUX and t.dep_ == "aux" for t in words) or any(
            t.lower_ in _HYPOTHETICAL_MARK and t.dep_ == "mark" for t in words) or any(
            t.lemma_.lower() in _PLAN_VERBS and any(c.dep_ == "xcomp" for c in t.children) for t in words):
        return "hypothetical"
    if any(t.lemma_.lower() in _HEDGE_WORDS for t in words):
        return "hedged"
    return "asserted"


def _fragment(doc, toks: list[int]) -> bool:
    """A piece of a sentence without a predicate of its own: no verb at all ("The allegations"
    of "X denied the allegations"), or only a subject and a reporting verb with nothing
    reported ("Johnson acknowledged" of "Johnson acknowledged, but said ...")."""
    words = [doc[i] for i in toks if not doc[i].is_punct]
    verbs = [t for t in words if t.pos_ in ("VERB", "AUX")]
    if verbs:
        # '"Can we?" Marta Kowalski asked.': after a quote, a verb of speaking reports too
        after_quote = toks[0] > 0 and doc[toks[0] - 1].text in QUOTE_CHARS + "'’"
        return len(words) <= 3 and all(v.lemma_.lower() in REPORT_VERBS or (
            after_quote and v.lemma_.lower() in COLON_VERBS) for v in verbs)
    # no verb: a fragment when carved out of a longer sentence, not a sentence of its own
    # ("Macaulay Culkin RIP...", a headline-like line, is kept)
    sent_words = [t for t in doc[toks[0]].sent if not t.is_punct and not t.is_space]
    return len(words) < 0.8 * len(sent_words)


RELATIVE_PRONOUNS = {"who", "whom", "which", "that", "whose"}
