"""Speaker mentions: a speaker as written in the text (``Mention``), built from tokens of
the parse (``speaker_mention``, ``mention_of``, ``span_mention``), the per-Doc indexes they
read (``doc_text``, ``EntityIndex``), and the speakers named outside a sentence: a quote
signed with a dash ('"..." ― Name') and a transcript's paragraph labels ("PENCE: ...")."""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field

from pipeline.stages.agents import agent_noun, not_agent
from pipeline.stages.bounds import MAX_RUN
from pipeline.stages.datelines import DATELINE
from pipeline.stages.quotes import EDGE, QUOTE_CHARS


# paragraph labels that are not a speaker's name ("UPDATE: ...", "WATCH: ...")
NOT_SPEAKER_LABELS = {"update", "updated", "note", "editor", "editors", "watch", "read", "photo",
                      "video", "breaking", "related", "source", "sources", "click", "also", "more",
                      "transcript", "advertisement", "q", "a", "see", "listen", "warning", "correction",
                      "clarification", "exclusive", "analysis", "opinion", "poll", "report", "live"}
_TRANSCRIPT_LABEL = re.compile(r"[\"“]?((?:[A-Z][\w.'’-]*\s+){0,2}[A-Z][\w.'’-]*):\s+\S")
# a line that follows a quoted transcript and is no one's turn ('"Follow Pam Key on Twitter')
_FURNITURE = re.compile(r"[\"“”'(\[]*(?:Follow\b.{0,60}\bon (?:Twitter|Facebook|Instagram|X)\b|\()")
_DASH_NAME = re.compile(r"[\"”'’]*[ \t\xa0]*(?:[―—–]|--)[ \t\xa0]*"
                        r"((?:[A-Z][\w.'’-]*[ \t\xa0]+){0,3}[A-Z][\w'’-]*(?:\.(?=\w))?)")
PRONOUNS = {"he", "she", "they", "it", "we", "i"}


@dataclass
class Mention:
    """A speaker as written in the text, with what spaCy saw in it."""

    text: str
    start: int  # normalised offsets
    end: int
    ents: list[tuple[str, str]] = field(default_factory=list)
    tokens: list[tuple[str, str, str, str]] = field(default_factory=list)  # text, lemma, pos, dep
    head_lemma: str = ""
    head_text: str = ""
    definite: bool = False
    antecedents: tuple[str, ...] = ()  # organisations named before the mention, latest first
    owner: tuple[str, str] | None = None  # ("Ostland", "GPE"): the latest ORG/GPE named before
    head_pos: str = ""  # the head word's part of speech ("NOUN" in "Trump's supporters")
    head_ent: str = ""  # the entity type of the head word ("GPE" in "Pakistan said"), or ""
    appos: frozenset[str] = frozenset()  # words of the head's apposition or conjunct (", Alan Garten")
    nonagent: str = ""  # why the head cannot speak (``agents.not_agent``), or ""

    @property
    def pronoun(self) -> str:
        """The mention in lower case when it is a personal pronoun alone ("he"), else ""."""
        t = self.text.strip().lower()
        return t if t in PRONOUNS else ""


def span_mention(doc, start: int, end: int) -> Mention | None:
    """The Mention over the tokens covering characters [start, end), headed by their root,
    or None when no token does."""
    span = doc.char_span(start, end, alignment_mode="expand")
    if span is None or not len(span):
        return None
    root = span.root
    if root.pos_ in _NOT_HEADS:
        # a misparse left a determiner or a preposition on top ("the editorial read", with
        # "read" taken for the noun): an English noun phrase ends in its head
        root = next((t for t in reversed(span) if t.pos_ not in _NOT_HEADS), root)
    return mention_of(doc, root, [t.i for t in span])


_NOT_HEADS = frozenset({"DET", "ADP", "PUNCT", "CCONJ", "PART", "SPACE"})


def dash_attribution(doc, text: str, quote_end: int) -> Mention | None:
    """'"..." ― Name' (a quote signed with a dash after it): the name's mention, or None."""
    m = _DASH_NAME.match(text, quote_end, quote_end + MAX_RUN)  # not to the end of a quote run
    if m is None or "\n\n" in text[quote_end:m.start(1)]:
        return None
    return span_mention(doc, m.start(1), m.end(1))


def transcript_labels(doc, text: str, skip_before: int) -> list[tuple[tuple[int, int], Mention, str]]:
    """Paragraphs opening with a speaker's label, as transcripts print them ("PENCE: Well, ...",
    "Sen. Smith: ..."): (paragraph span, mention, ":")."""
    out = []
    turn = None  # the speaker whose quoted turn may run on into the next paragraph
    for para in re.finditer(r"[^\n]+(?:\n(?!\n)[^\n]*)*", text):
        if para.start() < skip_before:
            continue
        m = _TRANSCRIPT_LABEL.match(text, para.start())
        opens_quote = text[para.start()] in QUOTE_CHARS
        if m is None or m.end(1) - para.start() > 40:
            # '"PENCE: Well, ...' then '"But the truth is ...': a quoted turn runs on over the
            # paragraphs that open with a quote mark and no label of their own
            if turn is not None and opens_quote and not _FURNITURE.match(text, para.start()):
                out.append(((para.start(), para.end()), turn, ":"))
            else:
                turn = None
            continue
        turn = None
        label = m.group(1)
        words = [w.strip(".'’").lower() for w in label.split()]
        if not words or words[0] in NOT_SPEAKER_LABELS or words[-1] in NOT_SPEAKER_LABELS:
            continue
        if not (label.isupper() and len(label) > 1) and not any(
                lab == "PERSON" for _, lab in _span_ents(doc, m.start(1), m.end(1))):
            continue
        mention = span_mention(doc, m.start(1), m.end(1))
        if mention is not None:
            out.append(((m.end(1), para.end()), mention, ":"))
            turn = mention if opens_quote else None
    return out


def _span_ents(doc, start: int, end: int) -> list[tuple[str, str]]:
    span = doc.char_span(start, end, alignment_mode="expand")
    return [] if span is None else entity_index(doc).within(span.start, span.end)


# ---------------------------------------------------------------------- per-doc indexes
# ``doc.text`` and ``doc.ents`` are rebuilt from every token on each access in spaCy; reading
# them once per mention made segmenting quadratic in the document's length (issue 11).
# Both are computed once per parsed Doc and kept in ``doc.user_data``.
_TEXT_KEY = "contradict.text"
_ENTS_KEY = "contradict.ents"


def doc_text(doc) -> str:
    """``doc.text``, built once per Doc."""
    text = doc.user_data.get(_TEXT_KEY)
    if text is None:
        text = doc.user_data[_TEXT_KEY] = doc.text
    return text


_NOT_IN_NAMES = {"PART", "VERB", "AUX", "PRON", "SCONJ"}


def _org_text(ent) -> str:
    """An ORG entity's text up to the first lowercase verb, particle or pronoun: on hard-wrapped
    copy the tagger can run a name on across the line ("calling on the health ministry\nto fund
    more clinics" -> "health ministry"); an organisation's name holds none of those."""
    end = ent.end
    for t in ent:
        if t.i > ent.start and t.pos_ in _NOT_IN_NAMES and t.text[:1].islower():
            end = t.i
            break
    span = ent.doc[ent.start:end]
    return " ".join(span.text.split())


_SUBJ = ("nsubj", "nsubjpass")


def _subject_like(tok) -> bool:
    """A clause's subject, or the possessor, apposition or compound of one ("Estmark's
    foreign ministry rejected", "The coalition, Citizens for a Clean Vote, said")."""
    return tok.dep_ in _SUBJ or (tok.dep_ in ("poss", "appos", "compound") and tok.head.dep_ in _SUBJ)


# a government portfolio, which the NER often tags as an organisation when it only qualifies
# an office ("Defence minister Khawaja Dastgir", "Interior secretary"): not a body that "the
# company" or "the bank" could refer back to
_PORTFOLIOS = frozenset({"defence", "defense", "interior", "foreign", "finance", "health", "education",
                         "justice", "treasury", "commerce", "trade", "agriculture", "energy", "labour",
                         "labor", "transport", "home", "environment", "information", "culture",
                         "economy", "housing", "immigration"})
_OFFICES = frozenset({"minister", "secretary", "spokesman", "spokeswoman", "spokesperson", "chief",
                      "official", "officials", "adviser", "advisor", "undersecretary", "critic"})


def _portfolio(ent) -> bool:
    """"Defence" in "Defence minister Khawaja Dastgir": a portfolio qualifying an office."""
    return (len(ent) == 1 and ent.root.lower_ in _PORTFOLIOS
            and ent.root.dep_ in ("compound", "amod") and ent.root.head.lower_ in _OFFICES)


def _in_dateline(ent) -> bool:
    """True for an entity inside a dateline ("KARVELO, March 3 (Wire) - ")."""
    text = doc_text(ent.doc)
    line = text.rfind("\n", 0, ent.start_char) + 1
    d = DATELINE.match(text[line:line + 120])
    return d is not None and ent.start_char < line + d.end()


_TOLD = frozenset({"tell", "inform", "brief", "email", "text", "assure", "warn"})
_SPOKE = frozenset({"say", "speak", "talk", "tell", "write", "confirm", "explain", "add",
                    "comment", "deny", "describe", "insist"})
_TALK_NOUNS = frozenset({"interview", "interviews", "statement", "statements", "remarks",
                         "comments", "briefing", "conversation"})


def _addressed(ent) -> bool:
    """An entity that is where a statement was made, not who acts: the one told ("told the
    BBC", "told Reuters"), spoken or written to or with ("said to Reuters", "in an interview
    with CNN"), or cited ("according to Reuters")."""
    root, head = ent.root, ent.root.head
    if root.dep_ in ("dobj", "dative") and head.lemma_ in _TOLD:
        return True
    if root.dep_ == "pobj" and head.lower_ in ("to", "with"):
        up = head.head
        return (up.lemma_ in _SPOKE or up.lower_ in _TALK_NOUNS
                or (head.lower_ == "to" and up.lower_ == "according"))
    return False


class EntityIndex:
    """The entities of a Doc sorted by token start, for bisecting (entities never overlap)."""

    def __init__(self, doc):
        ents = list(doc.ents)
        self.starts = [e.start for e in ents]
        self.items = [(e.start, e.end, e.text, e.label_) for e in ents]
        # antecedents of "the company", "the club": not an agency in the dateline, nor an
        # organisation that was only told or interviewed ("told the BBC", "according to Reuters")
        orgs = [(e.end, _org_text(e)) for e in ents
                if e.label_ == "ORG" and not _in_dateline(e) and not _addressed(e)
                and not _portfolio(e)]
        self.org_ends = [end for end, _ in orgs]
        self.org_texts = [text for _, text in orgs]
        named = [(e.end, _org_text(e) if e.label_ == "ORG" else e.text, e.label_, _subject_like(e.root),
                  e.start) for e in ents if e.label_ in ("ORG", "GPE") and not _in_dateline(e)]
        self.named_ends = [n[0] for n in named]
        self.named = [n[1:] for n in named]

    def within(self, lo: int, hi: int) -> list[tuple[str, str]]:
        """(text, label) of the entities inside tokens [lo, hi)."""
        out = []
        for i in range(bisect_left(self.starts, lo), len(self.items)):
            s, e, text, label = self.items[i]
            if s >= hi:
                break
            if e <= hi:
                out.append((text, label))
        return out

    def orgs_before(self, tok: int, n: int) -> tuple[str, ...]:
        """The last ``n`` ORG entities ending at or before token ``tok``, latest first."""
        k = bisect_right(self.org_ends, tok)
        return tuple(reversed(self.org_texts[max(0, k - n):k]))

    def owner_before(self, tok: int, sent_start: int) -> tuple[str, str] | None:
        """(text, label) of what "its" or "their" at token ``tok`` most likely stands for: the
        latest ORG or GPE entity before it, from token ``sent_start`` on, that is (or names) a
        clause's subject ("Ostland has recalled its ambassador to Karvelo, its foreign ministry said" ->
        Ostland); else the latest one named before ("Estmark's foreign ministry rejected the
        account. Its spokesman said" -> Estmark). A dateline's place is never one."""
        k = bisect_right(self.named_ends, tok)
        for j in range(k - 1, -1, -1):
            text, label, subject, start = self.named[j]
            if start < sent_start:
                break
            if subject:
                return text, label
        return self.named[k - 1][:2] if k else None


def entity_index(doc) -> EntityIndex:
    """The Doc's ``EntityIndex``, built once per Doc."""
    index = doc.user_data.get(_ENTS_KEY)
    if index is None:
        index = doc.user_data[_ENTS_KEY] = EntityIndex(doc)
    return index

SOURCE_NOUNS = {"report", "figure", "data", "statement", "filing", "document", "record",
                "circular", "survey", "study", "analysis", "website", "account", "estimate",
                "count", "tally", "letter", "release", "note", "audit", "review", "post",
                "tweet", "message", "video", "poll", "result", "footage", "research", "email",
                "memo", "finding", "transcript", "recording"}


def _owner(doc, i: int) -> tuple[str, str] | None:
    """What "its"/"their" at token ``i`` stands for (``EntityIndex.owner_before``), looking for a
    subject in its own sentence and the one before ("BravaGas said on its website that
    deliveries to Osterland had continued. Its chief executive said" -> BravaGas)."""
    start = doc[i].sent.start
    return entity_index(doc).owner_before(i, doc[start - 1].sent.start if start > 0 else 0)


def speaker_mention(tok) -> Mention:
    """The speaker mention headed by ``tok``, without trailing relative clauses.

    "The company's annual report said ..." is the company speaking: a source document
    with a possessor hands the mention to the possessor."""
    if tok.lemma_.lower() in SOURCE_NOUNS:
        poss = [c for c in tok.children if c.dep_ == "poss" and c.pos_ in ("NOUN", "PROPN")]
        if poss:
            tok = poss[0]
    elif tok.pos_ == "NOUN" and not agent_noun(tok.lemma_):
        # "according to information obtained by Re/code": who obtained it speaks, not the
        # information (agents.py)
        by = [g for c in tok.children if c.dep_ == "acl" for a in c.children if a.dep_ == "agent"
              for g in a.children if g.dep_ == "pobj"]
        if by:
            tok = by[0]
    ids = [t.i for t in tok.subtree]
    doc = tok.doc
    cut = [c for c in tok.children if c.dep_ in ("relcl", "acl") and c.i > tok.i]
    if cut:
        stop = min(min(t.i for t in c.subtree) for c in cut)
        ids = [i for i in ids if i < stop]
    while ids and (doc[ids[-1]].text in EDGE or doc[ids[-1]].dep_ == "case"):
        ids.pop()
    while ids and doc[ids[0]].text in EDGE:
        ids.pop(0)
    s0 = doc[ids[0]].idx
    d = DATELINE.match(doc_text(doc)[s0:s0 + 120])
    if d and any(doc[i].idx >= s0 + d.end() for i in ids):  # "ISLAMABAD (Wire) - Pakistan's ministry"
        ids = [i for i in ids if doc[i].idx >= s0 + d.end()]
    elif d and tok.head.i > ids[-1]:
        # the parser made the dateline itself the subject ("KASSARA, May 14 (Wire) - Health
        # Minister Farida Nasser said"): the speaker is what stands between it and the verb
        after = [t.i for t in doc[ids[-1] + 1:tok.head.i] if t.idx >= s0 + d.end()]
        if after:
            span = doc[after[0]:after[-1] + 1]
            tok, ids = span.root, list(range(after[0], after[-1] + 1))
    return mention_of(doc, tok, ids)


def _named_alike(doc, tok, inside: set[int]) -> frozenset[str]:
    """The words of a mention that name its head: an apposition anywhere in it (the parser
    often hangs "The local member of parliament, Angela Fisher" on "parliament") and the
    head's own conjuncts ("GOP contender and former neurosurgeon Ben Carson")."""
    tops = [doc[i] for i in inside if doc[i].dep_ == "appos"]
    tops += [c for c in tok.children if c.dep_ == "conj" and c.i in inside]
    return frozenset(t.text for c in tops for t in c.subtree if t.i in inside)


def mention_of(doc, tok, ids: list[int]) -> Mention:
    """The Mention over tokens ``ids`` (in order) headed by ``tok``."""
    s, e = doc[ids[0]].idx, doc[ids[-1]].idx + len(doc[ids[-1]].text)
    ents = entity_index(doc).within(ids[0], ids[-1] + 1)
    antecedents = entity_index(doc).orgs_before(ids[0], 6)
    tokens = [(doc[i].text, doc[i].lemma_, doc[i].pos_, doc[i].dep_) for i in ids]
    inside = set(ids)
    definite = any(doc[i].lower_ in ("the", "this", "that") or doc[i].dep_ == "poss" for i in ids)
    return Mention(text=doc_text(doc)[s:e], start=s, end=e, ents=ents, tokens=tokens,
                   head_lemma=tok.lemma_.lower(), head_text=tok.lower_, definite=definite,
                   antecedents=antecedents,
                   owner=_owner(doc, ids[0]) if doc[ids[0]].lower_ in ("its", "their") else None,
                   head_pos=tok.pos_, head_ent=tok.ent_type_, nonagent=not_agent(tok),
                   appos=_named_alike(doc, tok, inside))
