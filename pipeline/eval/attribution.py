"""Claims and speakers measured against gold attribution spans (``contradict eval attribution``).

Gold is brat standoff in PolNeAR's layout: ``text/NAME.txt`` beside ``attributions/NAME_<annotator>.ann``
(``T`` lines: ``Source``, ``Cue``, ``Content`` spans, possibly discontinuous ``s e;s e``; ``E``
lines tie one attribution's parts). Where an article has several annotators' files, the first by
name is read.

For each predicted claim the gold attribution it belongs to is the *innermost* Content that holds
at least half of the claim's characters (nested attributions: "X said Y claimed P" gives P to Y).

- content recall: gold Contents holding at least one claim;
- speaker accuracy, loose: a content word of the gold Source is among the words of the claim's
  speaker or mention; exact: the speaker's name words equal the Source's (titles, articles and
  possessives aside). Attributions whose Source is only a pronoun are left out of both (they need
  the gold coreference, which PolNeAR does not give);
- spurious: claims given a speaker that lie inside no gold Content, over claims given a speaker;
  by kind (``spurious_kinds``): overlapping no Content, or overlapping a smaller one of the
  same or of another Source;
- cue accuracy: the claim's cue is among the words of the gold Cue (claims with a cue);
- error kinds of the claims whose speaker is wrong: ``none_given``, ``pronoun_unresolved``
  (the mention is a pronoun and the speaker stayed empty or is the pronoun), ``fragment`` (the
  claim has no verb of its own), ``wrong_person``.
"""
from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.errors import DataError
from pipeline.types import Claim, Document

PRONOUNS = frozenset("i me my we us our you your he him his she her hers they them their it its "
                     "one who this that these those".split())
_STOP = frozenset("the a an of s mr mrs ms dr sen rep gov president former and or to for in on at "
                  "by with from as told said says".split()) | PRONOUNS
_WORD = re.compile(r"[A-Za-z0-9]+")
_ANN_ID = re.compile(r"[TE]\d+\t")


def _words(text: str) -> set[str]:
    return {w for w in (m.group(0).lower() for m in _WORD.finditer(text or "")) if w not in _STOP and len(w) > 1}


@dataclass
class GoldAttribution:
    """One gold attribution of a PolNeAR article: the content spans, the source and cue
    spans (character offsets into the article text, end exclusive) and their texts."""
    content: list[tuple[int, int]]
    source: list[tuple[int, int]] = field(default_factory=list)
    cue: list[tuple[int, int]] = field(default_factory=list)
    source_text: str = ""
    cue_text: str = ""

    @property
    def content_len(self) -> int:
        """The number of characters in the content spans."""
        return sum(e - s for s, e in self.content)

    def overlap(self, start: int, end: int) -> int:
        """How many characters of [``start``, ``end``) fall inside the content spans."""
        return sum(max(0, min(e, end) - max(s, start)) for s, e in self.content)

    @property
    def pronoun_source(self) -> bool:
        """Whether the source is pronouns alone ("he", "they"), which a speaker name cannot match."""
        toks = [w.lower() for w in _WORD.findall(self.source_text)]
        return bool(toks) and all(w in PRONOUNS for w in toks)


@dataclass
class GoldArticle:
    """A PolNeAR article: its text as a Document, its publisher and its gold attributions."""
    doc: Document
    publisher: str
    attributions: list[GoldAttribution]


def _spans(field_text: str) -> list[tuple[int, int]]:
    out = []
    for piece in field_text.split(";"):
        s, e = piece.split()
        out.append((int(s), int(e)))
    return out


def parse_ann(path: Path, text: str) -> list[GoldAttribution]:
    """The attributions of one brat ``.ann`` file (only those with a Content span)."""
    spans: dict[str, tuple[str, list[tuple[int, int]]]] = {}
    events = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not _ANN_ID.match(line):
            continue  # blank, another kind of line, or the rest of a span text that held a line break
        parts = line.split("\t")
        try:
            if line[0] == "T":
                kind, _, offs = parts[1].partition(" ")
                spans[parts[0]] = (kind, _spans(offs))
            else:
                events.append(dict(arg.split(":", 1) for arg in parts[1].split()))
        except (IndexError, ValueError) as exc:
            raise DataError(f"{path}:{n}: not a brat annotation line ({exc})",
                            fix="each T line is 'ID<TAB>Type start end[;start end]<TAB>text'") from exc
    out = []
    for ev in events:
        ref = {k: spans.get(v) for k, v in ev.items()}
        content = ref.get("Content")
        if not content:
            continue
        att = GoldAttribution(content=content[1])
        if source := ref.get("Source"):
            att.source = source[1]
            att.source_text = " ".join(text[s:e] for s, e in att.source)
        if cue := ref.get("Cue"):
            att.cue = cue[1]
            att.cue_text = " ".join(text[s:e] for s, e in att.cue)
        out.append(att)
    return out


def load_gold_dir(folder: str | Path, limit: int | None = None) -> list[GoldArticle]:
    """The articles of a PolNeAR split folder (``text/*.txt`` with ``attributions/*.ann``),
    at most ``limit``; a folder without that layout is a ``DataError`` naming the fix."""
    folder = Path(folder)
    tdir, adir = folder / "text", folder / "attributions"
    if not tdir.is_dir() or not adir.is_dir():
        raise DataError(f"{folder}: expected text/ and attributions/ folders (PolNeAR's layout)",
                        fix="pass e.g. ../shared/data/news/polnear/dev")
    anns: dict[str, Path] = {}
    for p in sorted(adir.glob("*.ann")):
        stem = p.stem.rsplit("_", 1)[0]
        anns.setdefault(stem, p)
    out = []
    for tp in sorted(tdir.glob("*.txt")):
        if tp.stem not in anns:
            continue
        text = tp.read_text(encoding="utf-8")
        out.append(GoldArticle(Document(id=tp.stem, text=text, origin=str(tp)),
                               tp.stem.split("_", 1)[0], parse_ann(anns[tp.stem], text)))
        if limit and len(out) >= limit:
            break
    if not out:
        raise DataError(f"{folder}: no article with an annotation file")
    return out


def gold_of(claim: Claim, atts: list[GoldAttribution]) -> GoldAttribution | None:
    """The innermost gold attribution whose Content holds at least half of the claim."""
    n = max(1, claim.end - claim.start)
    inside = [a for a in atts if a.overlap(claim.start, claim.end) * 2 >= n]
    return min(inside, key=lambda a: a.content_len) if inside else None


def speaker_match(claim: Claim, att: GoldAttribution) -> tuple[bool, bool]:
    """(loose, exact) agreement of a claim's speaker with the gold Source."""
    gold = _words(att.source_text)
    pred = _words(claim.speaker) | _words(claim.mention)
    loose = bool(gold & pred)
    exact = bool(gold) and _words(claim.speaker) == gold
    return loose, exact


def _fragment(claim: Claim) -> bool:
    info = claim.info
    return info is not None and not info.preds


def error_kind(claim: Claim) -> str:
    """Why a claim's speaker is wrong: ``fragment`` (the claim is not a whole statement),
    ``pronoun_unresolved``, ``none_given`` or ``wrong_person``."""
    if _fragment(claim):
        return "fragment"
    if not claim.speaker:
        mention = (claim.mention or "").lower().strip()
        return "pronoun_unresolved" if mention in PRONOUNS else "none_given"
    if claim.speaker.lower().strip() in PRONOUNS:
        return "pronoun_unresolved"
    return "wrong_person"


def _spurious_kind(claim: Claim, atts: list[GoldAttribution]) -> str:
    """Why a claim with a speaker is in no gold Content: ``outside``, it overlaps none;
    ``larger_same_source``, it overlaps a Content (less than half of the claim: "X endorsed
    Clinton", Content "Clinton") whose Source shares a word with the speaker;
    ``larger_other_source``, it overlaps one of another Source."""
    over = [a for a in atts if a.overlap(claim.start, claim.end) > 0]
    if not over:
        return "outside"
    pred = _words(claim.speaker) | _words(claim.mention)
    return "larger_same_source" if any(_words(a.source_text) & pred for a in over) else "larger_other_source"


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 4) if b else None


def score_article(art: GoldArticle, claims: list[Claim]) -> dict:
    """Score one article's claims against its gold attributions: the counts (claims,
    speakers right loosely and exactly, spurious speakers, cues, content covered), the error
    kinds and a few examples."""
    c: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    spur: Counter[str] = Counter()
    examples: list[dict] = []
    covered: set[int] = set()
    for cl in claims:
        att = gold_of(cl, art.attributions)
        c["claims"] += 1
        if cl.speaker:
            c["with_speaker"] += 1
            if att is None:
                c["spurious"] += 1
                spur[_spurious_kind(cl, art.attributions)] += 1
        if att is None:
            continue
        covered.add(id(att))
        c["in_content"] += 1
        if cl.cue:
            c["cue_scored"] += 1
            c["cue_ok"] += bool(_words(cl.cue) & _words(att.cue_text)) or (
                cl.cue.lower() in att.cue_text.lower())
        if not att.source_text or att.pronoun_source:
            continue
        c["speaker_scored"] += 1
        loose, exact = speaker_match(cl, att)
        c["loose_ok"] += loose
        c["exact_ok"] += exact
        if not loose:
            kind = error_kind(cl)
            kinds[kind] += 1
            if len(examples) < 3:
                examples.append({"doc": art.doc.id, "claim": cl.text[:160], "speaker": cl.speaker,
                                 "mention": cl.mention, "gold_source": att.source_text, "kind": kind})
    c["gold_contents"] = len(art.attributions)
    c["gold_covered"] = len(covered)
    c.update({f"spurious:{k}": v for k, v in spur.items()})
    return {"counts": c, "kinds": kinds, "examples": examples}


def summarise(counts: Counter, kinds: Counter) -> dict:
    """The report's figures from summed ``counts`` and error ``kinds``: ratios (None where
    nothing was scored) and the counts they come from."""
    return {
        "articles": counts["articles"],
        "claims": counts["claims"],
        "gold_contents": counts["gold_contents"],
        "content_recall": _ratio(counts["gold_covered"], counts["gold_contents"]),
        "speaker_accuracy_loose": _ratio(counts["loose_ok"], counts["speaker_scored"]),
        "speaker_accuracy_exact": _ratio(counts["exact_ok"], counts["speaker_scored"]),
        "speaker_scored": counts["speaker_scored"],
        "spurious_speakers": _ratio(counts["spurious"], counts["with_speaker"]),
        "cue_accuracy": _ratio(counts["cue_ok"], counts["cue_scored"]),
        "claims_in_content": _ratio(counts["in_content"], counts["claims"]),
        "error_kinds": dict(kinds.most_common()),
        "spurious_kinds": {k: counts[f"spurious:{k}"] for k in
                           ("outside", "larger_same_source", "larger_other_source")},
    }


def evaluate(articles: list[GoldArticle], claims_by_doc: dict[str, list[Claim]]) -> dict:
    """Score the pipeline's claims (by document id) against every gold article: the summed
    figures, per publisher, with the error and spurious-speaker kinds and examples."""
    total: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    per_pub: dict[str, tuple[Counter, Counter]] = defaultdict(lambda: (Counter(), Counter()))
    examples = []
    for art in articles:
        r = score_article(art, claims_by_doc.get(art.doc.id, []))
        for bucket in (total, per_pub[art.publisher][0]):
            bucket.update(r["counts"])
            bucket["articles"] += 1
        kinds.update(r["kinds"])
        per_pub[art.publisher][1].update(r["kinds"])
        examples.extend(r["examples"])
    out = summarise(total, kinds)
    out["per_publisher"] = {p: summarise(c, k) for p, (c, k) in sorted(per_pub.items())}
    out["examples"] = examples[:60]
    return out


def run_eval_attribution(gold_dir: str | Path, pipe, out_dir: Path | None = None, *,
                         limit: int | None = None, batch: int = 16, on_progress=None) -> dict:
    """Run the claim stages of ``pipe`` (a ``Pipeline``) over the gold articles and score them."""
    articles = load_gold_dir(gold_dir, limit)
    by_doc: dict[str, list[Claim]] = {}
    for i in range(0, len(articles), batch):
        docs = [a.doc for a in articles[i:i + batch]]
        res = pipe.extract(docs)
        for d, cs in zip(res.docs, res.per_doc):
            by_doc[d] = cs
        if on_progress:
            on_progress(min(i + batch, len(articles)), len(articles))
    report = evaluate(articles, by_doc)
    if out_dir:
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "metrics.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n",
                                              encoding="utf-8")
    return report


def format_attribution(report: dict) -> str:
    """The attribution report as the lines ``eval attribution`` prints."""
    keys = ("content_recall", "speaker_accuracy_loose", "speaker_accuracy_exact", "spurious_speakers",
            "cue_accuracy", "claims_in_content")
    lines = [f"{report['articles']} articles, {report['claims']} claims, {report['gold_contents']} gold "
             f"contents, {report['speaker_scored']} claims with a named gold source"]
    lines += [f"  {k:<24} {report[k]}" for k in keys]
    lines.append("  error kinds: " + ", ".join(f"{k} {v}" for k, v in report["error_kinds"].items()))
    lines.append("  spurious kinds: " + ", ".join(f"{k} {v}" for k, v in report["spurious_kinds"].items()))
    lines.append(f"  {'publisher':<14} {'arts':>4} {'recall':>7} {'loose':>6} {'exact':>6} {'spur':>6}")
    for p, r in report["per_publisher"].items():
        lines.append(f"  {p:<14} {r['articles']:>4} {r['content_recall'] or 0:>7.3f} "
                     f"{r['speaker_accuracy_loose'] or 0:>6.3f} {r['speaker_accuracy_exact'] or 0:>6.3f} "
                     f"{r['spurious_speakers'] or 0:>6.3f}")
    return "\n".join(lines)
