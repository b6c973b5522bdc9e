"""Issue 11: hostile and unusual inputs are recorded, never lost, never crash the run.

max_bytes on every input kind, CSV with an unclosed quote, the folder walk (hidden files,
broken symbolic links, version-control and cache folders, NUL bytes anywhere), JSON error
wording.
"""

from __future__ import annotations

import json
import os

import pytest

from pipeline.config import IngestConfig
from pipeline.stages.ingest import iter_items
from pipeline.types import Document, Skipped


def split(items):
    docs = {d.id: d for d in items if isinstance(d, Document)}
    skipped = [s for s in items if isinstance(s, Skipped)]
    return docs, skipped


def reason(skipped, name: str, line=None) -> str:
    hits = [s.reason for s in skipped if s.file.rsplit("/", 1)[-1] == name and s.line == line]
    assert hits, f"no skip record for {name}:{line}: {[(s.file, s.line, s.reason) for s in skipped]}"
    return hits[0]


# ---------------------------------------------------------------- max_bytes everywhere
def test_max_bytes_applies_to_txt_jsonl_and_csv_records(tmp_path):
    cfg = IngestConfig(max_bytes=200)
    small, big = "Talks are ongoing as he said. " * 2, "Talks are ongoing as he said. " * 20
    (tmp_path / "small.txt").write_text(small, encoding="utf-8")
    (tmp_path / "big.txt").write_text(big, encoding="utf-8")
    (tmp_path / "d.jsonl").write_text(
        json.dumps({"id": "j1", "text": small}) + "\n" + json.dumps({"id": "j2", "text": big}) + "\n"
        + json.dumps({"id": "j3", "text": "x" * 5000}) + "\n"  # line over 6 x max_bytes: never read whole
        + json.dumps({"id": "j4", "text": small}) + "\n", encoding="utf-8")
    (tmp_path / "d.csv").write_text(f"id,text\nc1,{small}\nc2,{big}\nc3,{small}\n", encoding="utf-8")
    docs, skipped = split(list(iter_items([tmp_path], cfg)))
    assert set(docs) == {"small.txt", "j1", "j4", "c1", "c3"}
    assert "over ingest.max_bytes=200" in reason(skipped, "big.txt")
    assert "over ingest.max_bytes=200" in reason(skipped, "d.jsonl", 2)
    assert "over 6 x ingest.max_bytes=200" in reason(skipped, "d.jsonl", 3)
    assert "over ingest.max_bytes=200" in reason(skipped, "d.csv", 3)
    assert len(docs) + len(skipped) == 2 + 4 + 3


# ---------------------------------------------------------------- CSV quoting
def test_csv_unclosed_quote_does_not_swallow_the_following_rows(tmp_path):
    p = tmp_path / "five.csv"
    p.write_text('id,text,source\n'
                 'c1,Turnout was 61 percent.,Wire\n'
                 'c2,The plant will close in May.,Wire\n'
                 'c3,"The minister said talks are ongoing.,Wire\n'  # unclosed quote
                 'c4,Officials denied the report.,Wire\n'
                 'c5,The bridge opens in October.,Wire\n', encoding="utf-8")
    docs, skipped = split(list(iter_items([p])))
    assert set(docs) == {"c1", "c2", "c4", "c5"}
    assert "unclosed quote" in reason(skipped, "five.csv", 4)
    assert len(docs) + len(skipped) == 5  # 5 rows in: every one accounted for


def test_csv_quote_closed_by_a_later_row_and_undoubled_quotes(tmp_path):
    p = tmp_path / "q.csv"
    p.write_text('id,text,source\n'
                 'c1,"Talks are ongoing, he said.",Wire\n'
                 'c2,"Multi-line\n\nbody is fine.",Wire\n'
                 'c3,"He said "no" twice.",Wire\n'  # a quote inside a quoted field not doubled
                 'c4,"Unclosed here,Wire\n'
                 'c5,"Quoted, five.",Wire\n'  # its opening quote would close c4's field
                 'c6,Six.,Wire\n', encoding="utf-8")
    docs, skipped = split(list(iter_items([p])))
    assert set(docs) == {"c1", "c2", "c5", "c6"}
    assert docs["c2"].text == "Multi-line\n\nbody is fine."
    assert "malformed CSV quoting" in reason(skipped, "q.csv", 6)  # c3 (c2 spans lines 3-5)
    assert "malformed CSV quoting" in reason(skipped, "q.csv", 7)  # c4
    assert len(docs) + len(skipped) == 6


# ---------------------------------------------------------------- folder walk
def test_folder_walk_records_everything_it_does_not_read(tmp_path):
    good = "Talks are ongoing, the minister said on Monday.\n"
    (tmp_path / "a.txt").write_text(good)
    (tmp_path / ".hidden.txt").write_text(good)
    (tmp_path / ".drafts").mkdir()
    (tmp_path / ".drafts" / "x.txt").write_text(good)
    for vcs in (".git", "__pycache__", "node_modules", ".cache", ".venv"):
        (tmp_path / vcs / "sub").mkdir(parents=True)
        (tmp_path / vcs / "HEAD.txt").write_text(good)
        (tmp_path / vcs / "sub" / "obj.txt").write_text(good)
    (tmp_path / "dangling.txt").symlink_to(tmp_path / "missing.txt")
    (tmp_path / "linked.txt").symlink_to(tmp_path / "a.txt")  # followed: a document
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "loop").symlink_to(tmp_path)  # a loop back to the root
    os.mkfifo(tmp_path / "pipe.txt")  # would block a reader forever
    # a NUL byte far past the first 8 KB
    (tmp_path / "late_nul.txt").write_bytes(good.encode() * 400 + b"\x00tail\n")
    (tmp_path / "notes.docx").write_bytes(b"PK")
    docs, skipped = split(list(iter_items([tmp_path])))
    assert set(docs) == {"a.txt", "linked.txt"}
    assert "hidden file" in reason(skipped, ".hidden.txt")
    assert "hidden folder; 1 files" in reason(skipped, ".drafts")
    for vcs in (".git", "__pycache__", "node_modules", ".cache", ".venv"):
        assert "version-control or cache folder; 2 files not read" in reason(skipped, vcs)
    assert "broken symbolic link" in reason(skipped, "dangling.txt")
    assert "loop" in reason(skipped, "loop")
    assert "not a regular file" in reason(skipped, "pipe.txt")
    assert f"NUL byte at byte {len(good) * 400}" in reason(skipped, "late_nul.txt")
    assert "unsupported file type" in reason(skipped, "notes.docx")
    assert len(skipped) == 12


def test_nul_and_lone_surrogates_in_records(tmp_path):
    p = tmp_path / "d.jsonl"
    p.write_text(json.dumps({"id": "ok", "text": "Fine text here."}) + "\n"
                 + '{"id": "nul", "text": "before\\u0000after"}\n'
                 + '{"id": "sur", "text": "lone \\ud800 surrogate"}\n'
                 + '{"id": "sur2", "text": "fine", "title": "bad \\udfff"}\n', encoding="utf-8")
    c = tmp_path / "d.csv"
    c.write_text("id,text\nc1,fine text\nc2,with \x00 nul\n", encoding="utf-8")
    docs, skipped = split(list(iter_items([p, c])))
    assert set(docs) == {"ok", "c1"}
    assert "NUL" in reason(skipped, "d.jsonl", 2)
    assert "surrogate" in reason(skipped, "d.jsonl", 3)
    assert "surrogate" in reason(skipped, "d.jsonl", 4)
    assert "NUL" in reason(skipped, "d.csv", 3)


def test_json_error_message_says_at_once(tmp_path):
    p = tmp_path / "d.jsonl"
    p.write_text('{"id": "x", "text": "unterminated\n{"id": "y", "text": "a\tb"}\n', encoding="utf-8")
    _, skipped = split(list(iter_items([p])))
    p.write_bytes(b'{"id": "x", "text": "unterminated')  # no final newline
    _, skipped2 = split(list(iter_items([p])))
    msgs = [reason(skipped, "d.jsonl", 2), reason(skipped2, "d.jsonl", 1)]
    assert "Invalid control character at column" in msgs[0]
    assert "Unterminated string starting at column 21" in msgs[1]
    assert not any("at at" in m for m in msgs)


@pytest.mark.parametrize("name", ["pipe.txt"])
def test_explicit_fifo_input_is_skipped_not_read(tmp_path, name):
    os.mkfifo(tmp_path / name)
    docs, skipped = split(list(iter_items([tmp_path / name])))
    assert not docs and "not a regular file" in skipped[0].reason


# ---------------------------------------------------------------- terminal table
def test_terminal_table_drops_ansi_escapes_and_bidi_controls():
    from pipeline.cli import format_top

    row = {"score": 0.9, "reason": "nli\x1b[2J", "relation": "same_speaker",
           "claim_a": "\x1b[31mRed\x1b[0m claim \u202eesrever\u202c and \u2067iso\u2069",
           "speaker_a": "A\x1b]0;owned\x07B", "claim_b": "b\x00c\rd\x08e\x9bf", "speaker_b": "\u200fS"}
    out = format_top([row])
    assert "Red claim" in out and "AB" in out
    bad = [c for c in out if c != "\n" and (ord(c) < 32 or 0x7f <= ord(c) <= 0x9f
                                            or c in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067"
                                                    "\u2068\u2069\u200e\u200f\u061c")]
    assert not bad, [hex(ord(c)) for c in bad]
    assert out.count("\n") == 1  # header + one row, nothing breaks the line


def test_a_model_with_fewer_positions_than_max_length_does_not_crash(tiny_model):
    """The tiny test model has 128 positions; score.max_length is 256 by default."""
    from pipeline.nli.model import get_model

    m = get_model(str(tiny_model), max_length=256)
    assert m.max_length == 128
    long = " ".join(["talks are ongoing"] * 200)
    ab, ba = m.predict_both([(long, long), ("a", "b")])
    assert ab.shape == (2, 3) and ba.shape == (2, 3)
