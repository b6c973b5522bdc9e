#!/usr/bin/env python3
"""Build the annotated contradiction set (data/labelled/{dev,test}.jsonl).

The articles live in ``data/labelled/src/*.txt``, one article per file, with
inline claim markers.  This script strips the markers, computes character
offsets in the stripped text, optionally converts straight quotes to curly
quotes and hard-wraps the paragraphs, and writes one JSON object per article.

Source file format
------------------

    id: courts-03
    date: 2026-03-14
    subject: courts
    split: dev              # dev | test
    wrap: 72                # optional: hard-wrap paragraphs at this width
    quotes: curly           # optional: convert "..." and ' to curly quotes
    source: Wire (fictional)   # optional, this is the default
    exhaustive: yes         # optional (default no): every contradiction in the
                            # article is in the pairs table, so any other pair of
                            # its statements is not a contradiction

    Headline line (becomes the title and the first line of the text)

    First paragraph, with a [[c1|marked claim]] in it. Lines of a paragraph
    in the source are joined with single spaces.

    |

    READ MORE
    Unrelated headline (a paragraph starting with READ MORE keeps its lines)

    == claims
    c1 | Speaker Name | Side          # "null" for None
    == pairs
    c1 c4 | contradiction | numeric | short note

Everything after ``#`` on a claims/pairs line is *not* treated as a comment
(notes may contain ``#``); comments are only allowed as whole lines starting
with ``#`` in the claims and pairs sections.

Offsets are stable under the text transformations because both of them are
length-preserving: the curly-quote conversion replaces one character with one
character, and hard-wrapping only replaces single spaces with newlines.  The
claim text stored in the JSON is always re-read as ``text[start:end]`` after
the transformations, so it contains the line breaks of the wrapped article.

Usage:  python3 scripts/build_labelled.py [--out DIR]
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC_DIR = ROOT / "data" / "labelled" / "src"
OUT_DIR = ROOT / "data" / "labelled"

sys.path.insert(0, str(ROOT))
from pipeline.types import CONTRADICTION_TYPES, NON_CONTRADICTION_TYPES  # noqa: E402  (stdlib only)

LABEL_TYPES = {
    "contradiction": CONTRADICTION_TYPES,
    "non_contradiction": NON_CONTRADICTION_TYPES,
}
SPLITS = ("dev", "test")
DEFAULT_SOURCE = "Wire (fictional)"

# Paragraphs that are page furniture are never re-wrapped.
FURNITURE_PREFIXES = ("|", "READ MORE", "INSIDE STORY:")

MARK_OPEN = re.compile(r"\[\[([A-Za-z0-9_]+)\|")


class SourceError(Exception):
    pass


def parse_source(path: Path) -> dict:
    raw = path.read_text(encoding="utf-8")
    lines = raw.split("\n")

    # --- header: key: value lines up to the first blank line
    header: dict[str, str] = {}
    i = 0
    while i < len(lines) and lines[i].strip():
        key, sep, value = lines[i].partition(":")
        if not sep:
            raise SourceError(f"{path.name}: bad header line {lines[i]!r}")
        header[key.strip()] = value.strip()
        i += 1
    for key in ("id", "date", "subject", "split"):
        if key not in header:
            raise SourceError(f"{path.name}: missing header {key!r}")
    if header["split"] not in SPLITS:
        raise SourceError(f"{path.name}: bad split {header['split']!r}")
    if header.get("exhaustive", "no") not in ("yes", "no"):
        raise SourceError(f"{path.name}: exhaustive must be yes or no, not {header['exhaustive']!r}")

    # --- sections
    body_lines: list[str] = []
    claim_lines: list[str] = []
    pair_lines: list[str] = []
    section = body_lines
    for line in lines[i:]:
        if line.strip() == "== claims":
            section = claim_lines
            continue
        if line.strip() == "== pairs":
            section = pair_lines
            continue
        section.append(line)

    return {
        "header": header,
        "body": "\n".join(body_lines),
        "claims": [ln for ln in claim_lines if ln.strip() and not ln.lstrip().startswith("#")],
        "pairs": [ln for ln in pair_lines if ln.strip() and not ln.lstrip().startswith("#")],
    }


def join_paragraphs(body: str) -> str:
    """Source paragraphs (blank-line separated) -> one line per paragraph."""
    paras = [p for p in re.split(r"\n\s*\n", body.strip("\n")) if p.strip()]
    out = []
    for p in paras:
        plines = [ln.strip() for ln in p.split("\n") if ln.strip()]
        if plines[0] == "READ MORE":
            out.append("\n".join(plines))
        else:
            out.append(" ".join(plines))
    return "\n\n".join(out) + "\n"


def strip_markers(marked: str, name: str) -> tuple[str, dict[str, tuple[int, int]]]:
    """Remove [[id|...]] markers; return plain text and id -> (start, end)."""
    out: list[str] = []
    spans: dict[str, tuple[int, int]] = {}
    stack: list[tuple[str, int]] = []
    pos = 0
    n = len(marked)
    while pos < n:
        m = MARK_OPEN.match(marked, pos)
        if m:
            stack.append((m.group(1), len(out)))
            pos = m.end()
            continue
        if marked.startswith("]]", pos) and stack:
            cid, start = stack.pop()
            end = len(out)
            if cid in spans:
                raise SourceError(f"{name}: duplicate claim id {cid}")
            spans[cid] = (start, end)
            pos += 2
            continue
        out.append(marked[pos])
        pos += 1
    if stack:
        raise SourceError(f"{name}: unclosed marker(s) {[c for c, _ in stack]}")
    text = "".join(out)
    if "[[" in text or "]]" in text:
        raise SourceError(f"{name}: stray marker brackets in text")
    return text, spans


def curly_quotes(text: str) -> str:
    """Length-preserving straight -> curly quote conversion."""
    chars = list(text)
    for i, ch in enumerate(chars):
        prev = chars[i - 1] if i > 0 else "\n"
        if ch == '"':
            chars[i] = "\u201c" if (prev.isspace() or prev in "([\u2014-") else "\u201d"
        elif ch == "'":
            chars[i] = "\u2018" if (prev.isspace() or prev in "([\u2014") else "\u2019"
    return "".join(chars)


def hard_wrap(text: str, width: int) -> str:
    """Greedy wrap of every body paragraph by turning spaces into newlines.

    The first line (headline), furniture lines and the headline line that
    follows a READ MORE line are left alone.  Only single
    spaces are replaced, so every character offset stays valid.
    """
    chars = list(text)
    line_start = 0
    first = True
    after_read_more = False
    while line_start < len(chars):
        try:
            line_end = chars.index("\n", line_start)
        except ValueError:
            line_end = len(chars)
        line = "".join(chars[line_start:line_end])
        skip = first or after_read_more or line.startswith(FURNITURE_PREFIXES)
        after_read_more = line.strip() == "READ MORE"
        if line and not skip:
            seg_start = line_start
            last_space = -1
            for i in range(line_start, line_end):
                if chars[i] == " ":
                    last_space = i
                if i - seg_start >= width and last_space > seg_start:
                    chars[last_space] = "\n"
                    seg_start = last_space + 1
                    last_space = -1
        if line:
            first = False
        line_start = line_end + 1
    return "".join(chars)


def parse_null(value: str):
    value = value.strip()
    return None if value in ("", "null", "None") else value


def build_article(path: Path) -> tuple[str, dict]:
    src = parse_source(path)
    h = src["header"]
    name = path.name
    marked = join_paragraphs(src["body"])
    if "  " in marked:
        raise SourceError(f"{name}: double space in text")
    text, spans = strip_markers(marked, name)
    if h.get("quotes") == "curly":
        text = curly_quotes(text)
    if h.get("wrap"):
        text = hard_wrap(text, int(h["wrap"]))
    assert len(text) == len(strip_markers(marked, name)[0])

    title = text.split("\n", 1)[0].strip()

    meta: dict[str, tuple] = {}
    for line in src["claims"]:
        parts = [p.strip() for p in line.split("|")]
        if len(parts) != 3:
            raise SourceError(f"{name}: bad claim line {line!r}")
        cid, speaker, side = parts
        if cid in meta:
            raise SourceError(f"{name}: claim {cid} listed twice")
        meta[cid] = (parse_null(speaker), parse_null(side))
    if set(meta) != set(spans):
        raise SourceError(
            f"{name}: marker/table mismatch: only marked {sorted(set(spans) - set(meta))}, "
            f"only listed {sorted(set(meta) - set(spans))}"
        )

    claims = []
    for cid, (start, end) in sorted(spans.items(), key=lambda kv: (kv[1][0], kv[1][1])):
        speaker, side = meta[cid]
        ctext = text[start:end]
        if not ctext.strip() or ctext != ctext.strip():
            raise SourceError(f"{name}: claim {cid} has empty or padded span {ctext!r}")
        claims.append(
            {"id": cid, "start": start, "end": end, "text": ctext, "speaker": speaker, "side": side}
        )

    pairs = []
    seen = set()
    for line in src["pairs"]:
        parts = [p.strip() for p in line.split("|", 3)]
        if len(parts) != 4:
            raise SourceError(f"{name}: bad pair line {line!r}")
        ids, label, ptype, note = parts
        a, b = ids.split()
        if a not in spans or b not in spans:
            raise SourceError(f"{name}: pair {a} {b} refers to an unknown claim")
        if label not in LABEL_TYPES or ptype not in LABEL_TYPES[label]:
            raise SourceError(f"{name}: bad label/type {label}/{ptype}")
        key = frozenset((a, b))
        if a == b or key in seen:
            raise SourceError(f"{name}: self or duplicate pair {a} {b}")
        seen.add(key)
        pairs.append({"a": a, "b": b, "label": label, "type": ptype, "note": note})

    article = {
        "id": h["id"],
        "title": title,
        "date": h["date"],
        "source": h.get("source", DEFAULT_SOURCE),
        "subject": h["subject"],
        "text": text,
        "claims": claims,
        "pairs": pairs,
    }
    if h.get("exhaustive", "no") == "yes":
        article["exhaustive"] = True
    return h["split"], article


def build(out_dir: Path = OUT_DIR, src_dir: Path = SRC_DIR) -> dict[str, list[dict]]:
    by_split: dict[str, list[dict]] = {s: [] for s in SPLITS}
    ids = set()
    for path in sorted(src_dir.glob("*.txt")):
        split, art = build_article(path)
        if art["id"] in ids:
            raise SourceError(f"duplicate article id {art['id']}")
        if path.stem != art["id"]:
            raise SourceError(f"{path.name}: file name does not match id {art['id']}")
        ids.add(art["id"])
        by_split[split].append(art)
    out_dir.mkdir(parents=True, exist_ok=True)
    for split, arts in by_split.items():
        arts.sort(key=lambda a: a["id"])
        with open(out_dir / f"{split}.jsonl", "w", encoding="utf-8", newline="\n") as fh:
            for art in arts:
                fh.write(json.dumps(art, ensure_ascii=False) + "\n")
    return by_split


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=OUT_DIR, help="output directory")
    ap.add_argument("--src", type=Path, default=SRC_DIR, help="source directory")
    args = ap.parse_args(argv)
    try:
        by_split = build(args.out, args.src)
    except SourceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for split, arts in by_split.items():
        n_claims = sum(len(a["claims"]) for a in arts)
        n_pairs = sum(len(a["pairs"]) for a in arts)
        print(f"{split}: {len(arts)} articles, {n_claims} claims, {n_pairs} pairs -> "
              f"{args.out / (split + '.jsonl')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
