#!/usr/bin/env python3
"""Validate data/labelled/{dev,test}.jsonl and print counts.

Checks every article and annotation:
  * required fields and types; article ids unique across both splits;
  * claim ids unique within an article; 0 <= start < end <= len(text);
    text[start:end] == claim["text"]; no leading/trailing whitespace in spans;
  * speaker / side are strings or null; ``exhaustive`` (optional) is a boolean;
  * pairs refer to existing claims, are not self-pairs or duplicates,
    and use a valid label/type combination.

Exit status is 1 if any error is found (errors are printed to stderr).

Usage:  python3 scripts/check_labelled.py [FILE.jsonl ...]
"""
from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_FILES = [ROOT / "data" / "labelled" / "dev.jsonl", ROOT / "data" / "labelled" / "test.jsonl"]

sys.path.insert(0, str(ROOT))
from pipeline.types import CONTRADICTION_TYPES, NON_CONTRADICTION_TYPES  # noqa: E402  (stdlib only)

LABEL_TYPES = {
    "contradiction": CONTRADICTION_TYPES,
    "non_contradiction": NON_CONTRADICTION_TYPES,
}
ARTICLE_FIELDS = {
    "id": str, "title": str, "date": str, "source": str, "subject": str,
    "text": str, "claims": list, "pairs": list,
}


def _empty_stats() -> dict:
    return {
        "articles": 0,
        "claims": 0,
        "pairs": 0,
        "contradiction": 0,
        "non_contradiction": 0,
        "contradiction_types": Counter(),
        "non_contradiction_types": Counter(),
        "subjects": Counter(),
        "hard_wrapped": 0,
        "exhaustive": 0,
        "words": [],
    }


def check_article(art: dict, where: str, errors: list[str]) -> None:
    for field, typ in ARTICLE_FIELDS.items():
        if field not in art:
            errors.append(f"{where}: missing field {field!r}")
            return
        if not isinstance(art[field], typ):
            errors.append(f"{where}: field {field!r} should be {typ.__name__}")
            return
    if not isinstance(art.get("exhaustive", False), bool):
        errors.append(f"{where}: field 'exhaustive' should be true or false")
    text = art["text"]
    claim_ids = set()
    for j, c in enumerate(art["claims"]):
        cw = f"{where} claim #{j} ({c.get('id')!r})"
        for field in ("id", "start", "end", "text", "speaker", "side"):
            if field not in c:
                errors.append(f"{cw}: missing field {field!r}")
                break
        else:
            if c["id"] in claim_ids:
                errors.append(f"{cw}: duplicate claim id")
            claim_ids.add(c["id"])
            s, e = c["start"], c["end"]
            if not (isinstance(s, int) and isinstance(e, int)) or isinstance(s, bool) or isinstance(e, bool):
                errors.append(f"{cw}: start/end must be integers")
                continue
            if not (0 <= s < e <= len(text)):
                errors.append(f"{cw}: span {s}:{e} out of range (len {len(text)})")
                continue
            if text[s:e] != c["text"]:
                errors.append(f"{cw}: text[{s}:{e}]={text[s:e]!r} != {c['text']!r}")
            if c["text"] != c["text"].strip():
                errors.append(f"{cw}: span has leading/trailing whitespace")
            for field in ("speaker", "side"):
                if c[field] is not None and (not isinstance(c[field], str) or not c[field].strip()):
                    errors.append(f"{cw}: {field} must be a non-empty string or null")
    seen = set()
    for j, p in enumerate(art["pairs"]):
        pw = f"{where} pair #{j}"
        if not all(k in p for k in ("a", "b", "label", "type")):
            errors.append(f"{pw}: missing field")
            continue
        for k in ("a", "b"):
            if p[k] not in claim_ids:
                errors.append(f"{pw}: unknown claim id {p[k]!r}")
        if p["a"] == p["b"]:
            errors.append(f"{pw}: self-pair {p['a']}")
        key = frozenset((p["a"], p["b"]))
        if key in seen:
            errors.append(f"{pw}: duplicate pair {p['a']}/{p['b']}")
        seen.add(key)
        if p["label"] not in LABEL_TYPES:
            errors.append(f"{pw}: bad label {p['label']!r}")
        elif p["type"] not in LABEL_TYPES[p["label"]]:
            errors.append(f"{pw}: type {p['type']!r} not valid for {p['label']}")


def _add_stats(stats: dict, art: dict) -> None:
    stats["articles"] += 1
    stats["claims"] += len(art.get("claims", []))
    stats["exhaustive"] += int(art.get("exhaustive") is True)
    stats["subjects"][art.get("subject")] += 1
    body = art.get("text", "").split("\n\n")
    # "hard-wrapped" = some paragraph contains a single newline inside prose
    if any("\n" in para.strip() and not para.startswith(("READ MORE", "|", "INSIDE STORY:"))
           for para in body[1:]):
        stats["hard_wrapped"] += 1
    stats["words"].append(len(art.get("text", "").split()))
    for p in art.get("pairs", []):
        stats["pairs"] += 1
        label = p.get("label")
        if label in LABEL_TYPES:
            stats[label] += 1
            stats[f"{label}_types"][p.get("type")] += 1


def check_files(paths=None) -> tuple[list[str], dict]:
    """Check the given JSONL files. Returns (errors, stats).

    stats = {"total": {...}, "<file stem>": {...}} with keys articles, claims,
    pairs, contradiction, non_contradiction, contradiction_types,
    non_contradiction_types, subjects, hard_wrapped, words.
    """
    paths = [Path(p) for p in (paths or DEFAULT_FILES)]
    errors: list[str] = []
    stats = {"total": _empty_stats()}
    article_ids: dict[str, str] = {}
    for path in paths:
        split_stats = stats.setdefault(path.stem, _empty_stats())
        if not path.exists():
            errors.append(f"{path}: file not found")
            continue
        with open(path, encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, 1):
                where = f"{path.name}:{lineno}"
                if not line.strip():
                    errors.append(f"{where}: blank line")
                    continue
                try:
                    art = json.loads(line)
                except json.JSONDecodeError as exc:
                    errors.append(f"{where}: invalid JSON ({exc})")
                    continue
                if not isinstance(art, dict):
                    errors.append(f"{where}: not a JSON object")
                    continue
                where = f"{where} [{art.get('id')}]"
                aid = art.get("id")
                if aid in article_ids:
                    errors.append(f"{where}: article id also in {article_ids[aid]}")
                article_ids[aid] = where
                check_article(art, where, errors)
                _add_stats(split_stats, art)
                _add_stats(stats["total"], art)
    return errors, stats


def format_stats(stats: dict) -> str:
    lines = []
    for name, st in stats.items():
        words = st["words"]
        wr = f"{min(words)}-{max(words)}" if words else "-"
        lines.append(
            f"[{name}] articles={st['articles']} claims={st['claims']} pairs={st['pairs']} "
            f"contradiction={st['contradiction']} non_contradiction={st['non_contradiction']} "
            f"hard_wrapped={st['hard_wrapped']} exhaustive={st['exhaustive']} words/article={wr}"
        )
        lines.append("  contradiction types:     " + ", ".join(
            f"{t}={st['contradiction_types'].get(t, 0)}" for t in CONTRADICTION_TYPES))
        lines.append("  non-contradiction types: " + ", ".join(
            f"{t}={st['non_contradiction_types'].get(t, 0)}" for t in NON_CONTRADICTION_TYPES))
        lines.append("  subjects: " + ", ".join(
            f"{s}={n}" for s, n in sorted(st["subjects"].items())))
    return "\n".join(lines)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    errors, stats = check_files(argv or None)
    print(format_stats(stats))
    if errors:
        for err in errors:
            print("ERROR:", err, file=sys.stderr)
        print(f"{len(errors)} error(s)", file=sys.stderr)
        return 1
    print("OK: no errors")
    return 0


if __name__ == "__main__":
    sys.exit(main())
