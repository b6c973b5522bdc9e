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

The pieces it is built from, one module each: spaCy loading (``nlp.py``), windows of a long
text (``windows.py``), quote regions (``quotes.py``), datelines, headlines and subheadings
(``datelines.py``), speaker mentions (``mentions.py``) and the rules that read claims off one
sentence (``attribution_rules.py``). This module is the stage: a document -> its raw claims.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Literal

from pipeline.config import SegmentConfig
from pipeline.stages.attribution_rules import REPORT_LEMMAS, RawClaim, sentence_claims
from pipeline.stages.bounds import WINDOW_TOKENS, estimated_tokens
from pipeline.stages.datelines import dateline_spans, headline_end, is_subheading
from pipeline.stages.mentions import Mention, dash_attribution, doc_text, span_mention, transcript_labels
from pipeline.stages.nlp import load_spacy
from pipeline.stages.normalize import Normalized
from pipeline.stages.quotes import quote_paragraph_after, quote_regions, region_lookup
from pipeline.stages.windows import LongText, text_windows

if TYPE_CHECKING:
    from pipeline.stages.attribution_tagger import AttributionTagger


class Segmenter:
    """Builds claims from a normalised document with spaCy."""

    def __init__(self, cfg: SegmentConfig | None = None):
        self.cfg = cfg or SegmentConfig()
        self._nlp = None
        self._tagger: AttributionTagger | None | Literal[False] = False  # not loaded yet (None: no model)
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
        """The spaCy pipeline (``nlp.load_spacy``), loaded on first use."""
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
        in_region = region_lookup(regions, len(norm.text))
        out: list[RawClaim] = []
        attributions: dict[int, tuple[Mention, str]] = {}
        head_end = headline_end(norm.text) if headline else 0
        datelines = dateline_spans(norm.text)
        pending: list[Mention] = []
        para_speakers: list[tuple[tuple[int, int], Mention, str]] = transcript_labels(doc, norm.text, head_end)
        sents = list(_sentences(doc))
        for si, sent in enumerate(sents):
            if sent.start_char < head_end:
                continue  # the headline is the publisher's, not a statement in the article
            if is_subheading(norm.text, sent.start_char, sent.end_char):
                continue  # a subheading between paragraphs: the publisher's, not a claim
            if any(s <= sent.start_char and sent.end_char <= e + 1 for s, e in datelines):
                continue  # "ISLAMABAD (Wire" cut off as a sentence of its own
            for rc, attr_regions in sentence_claims(sent, si, in_region, self.cfg.split_compound):
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
        for i, (_qs, qe, _) in enumerate(regions):
            if i not in attributions:
                m = dash_attribution(doc, norm.text, qe)  # '"...," ― Sonya Herridge'
                if m is not None:
                    attributions[i] = (m, "quote")
        # a quote's speaker reaches every claim inside it; an unattributed quote continues
        # the previous one when it runs on from the last paragraph, or follows it within the
        # same paragraph ('"A," he said. "B."'), and a quote attributed only in its later
        # paragraphs gets that speaker backwards
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
            if i not in attributions and i - 1 in attributions and quote_paragraph_after(
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
                tagged[si] = tagger.tag_marginals(sentence_features(sents[si], in_region, REPORT_LEMMAS))
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
            mention = rule or span_mention(doc, s, e)
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
        pieces: list[RawClaim] = []
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


def _next_paragraph(text: str, pos: int) -> tuple[int, int]:
    """(start, end) of the paragraph after the break at ``pos``."""
    start = pos
    while start < len(text) and text[start] in " \n":
        start += 1
    end = text.find("\n\n", start)
    return start, len(text) if end < 0 else end
