"""Write: flagged-pairs CSV (the contract in DESIGN.md), claims CSV, run manifest.

CSV cells that a spreadsheet would run as a formula (starting with = + - @, tab or CR)
are prefixed with a single quote.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Iterable

from pipeline.types import Claim, Flag

FLAG_COLUMNS = [
    "doc_a", "doc_b", "start_a", "end_a", "start_b", "end_b", "claim_a", "claim_b",
    "speaker_a", "speaker_b", "side_a", "side_b", "relation", "topic", "score",
    "p_contradiction", "p_entailment", "p_neutral", "reason", "similarity", "stance_a",
    "stance_b", "cue_a", "cue_b", "details",
]
CLAIM_COLUMNS = [
    "doc", "claim_id", "start", "end", "text", "speaker", "speaker_id", "side", "mention",
    "cue", "stance", "topic", "is_quote",
]
_DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> object:
    """Neutralise spreadsheet formulas in text cells; numbers pass through."""
    if isinstance(value, str) and value.startswith(_DANGEROUS):
        return "'" + value
    return value


def flag_row(f: Flag) -> dict:
    a, b = f.pair.a, f.pair.b
    return {
        "doc_a": a.doc_id, "doc_b": b.doc_id, "start_a": a.start, "end_a": a.end,
        "start_b": b.start, "end_b": b.end, "claim_a": a.text, "claim_b": b.text,
        "speaker_a": a.speaker, "speaker_b": b.speaker, "side_a": a.side, "side_b": b.side,
        "relation": f.pair.relation, "topic": f.topic, "score": round(f.score, 6),
        "p_contradiction": round(f.p_contradiction, 6), "p_entailment": round(f.p_entailment, 6),
        "p_neutral": round(f.p_neutral, 6), "reason": f.reason,
        "similarity": round(f.pair.similarity, 6), "stance_a": a.stance, "stance_b": b.stance,
        "cue_a": a.cue, "cue_b": b.cue,
        "details": json.dumps(f.details, ensure_ascii=False) if f.details else "",
    }


def claim_row(c: Claim) -> dict:
    return {
        "doc": c.doc_id, "claim_id": c.id, "start": c.start, "end": c.end, "text": c.text,
        "speaker": c.speaker, "speaker_id": c.speaker_id, "side": c.side, "mention": c.mention,
        "cue": c.cue, "stance": c.stance, "topic": c.topic, "is_quote": int(c.is_quote),
    }


def write_csv(path: Path, columns: list[str], rows: Iterable[dict]) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
        w.writeheader()
        for row in rows:
            w.writerow({k: safe_cell(v) for k, v in row.items()})
            n += 1
    os.replace(tmp, path)
    return n


def write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
    os.replace(tmp, path)
