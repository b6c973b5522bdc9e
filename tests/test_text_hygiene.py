"""Issue 29: control characters never reach output cells or the terminal; files that hold
nothing are skipped alike; the wording of encodings and skip kinds."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys

import pytest

from conftest import REPO
from pipeline.run.sinks import FLAG_COLUMNS, write_outputs
from pipeline.stages.ingest import iter_items
from pipeline.types import Document, Skipped

HOSTILE = "\x1b[31mred\x1b[0m \x9b2J \x07bell \u202eevil\u202c \u2066iso\u2069 \x85nel"
CONTROLS = [chr(c) for c in [*range(0, 9), 11, 12, *range(14, 32), *range(0x7f, 0xa0)]] + [
    chr(c) for c in [*range(0x202a, 0x202f), *range(0x2066, 0x206a)]]


def _row(**kw) -> dict:
    row = {c: "" for c in FLAG_COLUMNS}
    row.update(start_a=0, end_a=3, start_b=4, end_b=7, score=0.9, p_contradiction=0.9,
               p_entailment=0.05, p_neutral=0.05, similarity=0.5, reason="learned",
               relation="same_speaker", details="")
    row.update(kw)
    return row


# ------------------------------------------------------------------ 12. cells
def test_control_characters_never_reach_a_cell(tmp_path):
    import pyarrow.parquet as pq

    rows = [_row(doc_a="d\x1b]0;title\x07oc", doc_b="b\u202eid", claim_a=HOSTILE,
                 claim_b="Talks\ttabs and\nnewlines stay", speaker_a="Ali\x1b[2J",
                 speaker_b="\u2067Omar\u2069", topic="t\x00opic")]
    write_outputs(tmp_path / "f.csv", ["csv", "jsonl", "parquet"], rows, {})
    with (tmp_path / "f.csv").open(encoding="utf-8", newline="") as fh:
        [c] = list(csv.DictReader(fh))
    [j] = [json.loads(line) for line in (tmp_path / "f.jsonl").open(encoding="utf-8")]
    [p] = pq.read_table(tmp_path / "f.parquet").to_pylist()
    for cells in (c, j, p):
        text = "".join(str(v) for v in cells.values())
        assert not any(ch in text for ch in CONTROLS), [ch for ch in CONTROLS if ch in text]
        assert cells["doc_a"] == "doc" and cells["doc_b"] == "bid"
        assert cells["claim_a"] == "red 2J bell evil iso nel"
        assert cells["speaker_a"] == "Ali" and cells["speaker_b"] == "Omar"
        assert cells["claim_b"] == "Talks\ttabs and\nnewlines stay"  # not control characters


def test_claims_csv_cells_are_clean_too(tmp_path):
    from pipeline.run.sinks import CLAIM_COLUMNS, write_csv

    write_csv(tmp_path / "c.csv", CLAIM_COLUMNS, [{"doc": "a\x1bb", "claim": HOSTILE}])
    text = (tmp_path / "c.csv").read_text(encoding="utf-8")
    assert not any(ch in text for ch in CONTROLS)


def test_hostile_names_reach_the_terminal_escaped(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    name = str(tmp_path / "evil\x1b[2J\u202etxt.md")
    r = subprocess.run([sys.executable, "-m", "pipeline.cli", "run", name, "-o",
                        str(tmp_path / "f.csv"), "-q"], capture_output=True, text=True, env=env,
                       timeout=120)
    assert r.returncode == 1
    assert not any(ch in r.stderr for ch in CONTROLS)
    assert "input not found: " in r.stderr and "evil\\x1b[2J\\u202etxt.md" in r.stderr


def test_the_resume_refusal_escapes_the_id():
    from pipeline.errors import ResumeError

    msg = str(ResumeError("document 'a\x1b[31m\u202eb' changed", fix="--fresh"))
    assert "\x1b" not in msg and "\u202e" not in msg and "a\\x1b[31m\\u202eb" in msg


# ------------------------------------------------------------------ 13. files that hold nothing
@pytest.mark.parametrize("content", [
    b"", b"  \n\t\r\n", b"\xef\xbb\xbf", b"\xef\xbb\xbf   \n", "\u00a0\u3000\n".encode(),
    "\ufeff\u200b\u2060 \u00a0".encode(),
], ids=["empty", "spaces", "bom", "bom-spaces", "nbsp-ideographic", "zero-width"])
def test_a_file_that_holds_nothing_is_skipped_as_empty(tmp_path, content):
    for name in ("a.txt", "b.jsonl", "c.csv"):
        (tmp_path / name).write_bytes(content)
    items = list(iter_items([tmp_path]))
    assert not [i for i in items if isinstance(i, Document)]
    assert sorted((os.path.basename(s.file), s.reason) for s in items) == [
        ("a.txt", "empty file"), ("b.jsonl", "empty file"), ("c.csv", "empty file")]


def test_a_record_whose_text_holds_nothing_is_empty_text(tmp_path):
    p = tmp_path / "d.jsonl"
    p.write_text("\n".join(json.dumps({"id": f"j{i}", "text": t}) for i, t in
                           enumerate(["\ufeff", "\u00a0\u3000", "\u200b", "Real text."])) + "\n",
                 encoding="utf-8")
    (tmp_path / "d.csv").write_text("id,text\nc1,\u00a0\u3000\nc2,Real text.\n", encoding="utf-8")
    items = list(iter_items([tmp_path]))
    assert {i.id for i in items if isinstance(i, Document)} == {"j3", "c2"}
    assert [s.reason for s in items if isinstance(s, Skipped)] == ["empty text"] * 4


def test_a_bom_only_jsonl_line_is_a_blank_line(tmp_path):
    p = tmp_path / "d.jsonl"
    p.write_bytes(b"\xef\xbb\xbf\n" + json.dumps({"id": "a", "text": "Real text."}).encode() + b"\n")
    items = list(iter_items([p]))
    assert [i.id for i in items] == ["a"] and all(isinstance(i, Document) for i in items)


# ------------------------------------------------------------------ 14. wording
@pytest.mark.parametrize("bom, name", [(b"\xff\xfe\x00\x00", "UTF-32"), (b"\x00\x00\xfe\xff", "UTF-32"),
                                       (b"\xff\xfe", "UTF-16"), (b"\xfe\xff", "UTF-16")])
def test_utf32_is_not_called_utf16(tmp_path, bom, name):
    enc = {b"\xff\xfe\x00\x00": "utf-32-le", b"\x00\x00\xfe\xff": "utf-32-be",
           b"\xff\xfe": "utf-16-le", b"\xfe\xff": "utf-16-be"}[bom]
    for ext in ("txt", "csv"):
        (tmp_path / f"a.{ext}").write_bytes(bom + "id,text\nx,Talks are ongoing.\n".encode(enc))
    reasons = {s.reason for s in iter_items([tmp_path])}
    assert reasons == {f"{name} text (byte-order mark); re-save the file as UTF-8"}


def test_skip_kinds_keep_the_names_of_encodings():
    from pipeline.run.ledger import skip_kind

    assert skip_kind("not valid UTF-8 at byte 12; re-save the file as UTF-8") == "not valid UTF-8 at byte N"
    assert skip_kind("UTF-16 text (byte-order mark); re-save") == "UTF-16 text"
    assert skip_kind("file is 12 bytes, over ingest.max_bytes=10") == "file is N bytes, over ingest.max_bytes=N"
    assert skip_kind("line is not valid UTF-8") == "line is not valid UTF-8"


def test_the_summary_keeps_utf8_and_escapes_names(tmp_path):
    from pipeline.run.api import RunSummary
    from pipeline.run.progress import format_summary

    s = RunSummary(out_csv=tmp_path / "f\x1b[2J.csv", manifest=tmp_path / "m.json", documents=1,
                   skipped=[{"reason": "x"}], top_skip_reasons=[("not valid UTF-8 at byte N", 2)])
    text = format_summary(s)
    assert "not valid UTF-8 at byte N (2)" in text and "\x1b" not in text
