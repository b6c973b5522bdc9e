"""Ingest (every input kind, bad input recorded), numeric checks, CSV safety, config."""

from __future__ import annotations

import csv
import json
import os

import pytest

from pipeline.config import load_run_config
from pipeline.stages.quantities import numeric_mismatch, quantities
from pipeline.errors import ConfigError, InputError
from pipeline.stages.ingest import iter_items
from pipeline.types import Document, Skipped
from pipeline.run.sinks import FLAG_COLUMNS, safe_cell, write_csv


def test_folder_jsonl_csv_and_bad_inputs(tmp_path):
    (tmp_path / "a.txt").write_text("Talks are ongoing, he said.\n", encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.md").write_text("Cooperation is suspended.\n", encoding="utf-8")
    (tmp_path / "empty.txt").write_text("   \n")
    (tmp_path / "bin.txt").write_bytes(b"\x00\x01\x02binary")
    (tmp_path / "latin.txt").write_bytes("caf\xe9".encode("latin-1"))
    (tmp_path / "photo.png").write_bytes(b"\x89PNG")
    (tmp_path / "docs.jsonl").write_text(
        json.dumps({"id": "j1", "text": "One.", "title": "T", "date": "2026-01-01"}) + "\n"
        + "{not json\n"
        + json.dumps({"text": "no id"}) + "\n"
        + json.dumps({"id": "j4", "text": ""}) + "\n",
        encoding="utf-8")
    with (tmp_path / "docs.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "text", "source"])
        w.writerow(["c1", "Turnout was 61 percent.", "Wire"])
        w.writerow(["c2", "", "Wire"])
    items = list(iter_items([tmp_path]))
    docs = {d.id: d for d in items if isinstance(d, Document)}
    skipped = [s for s in items if isinstance(s, Skipped)]
    assert set(docs) == {"a.txt", "sub/b.md", "j1", "c1"}
    assert docs["j1"].date == "2026-01-01" and docs["c1"].source == "Wire"
    reasons = {(s.file.rsplit("/", 1)[-1], s.line): s.reason for s in skipped}
    assert reasons[("empty.txt", None)] == "empty file"
    assert "binary" in reasons[("bin.txt", None)]
    assert "UTF-8" in reasons[("latin.txt", None)]
    assert "unsupported file type" in reasons[("photo.png", None)]
    assert "malformed JSON" in reasons[("docs.jsonl", 2)]
    assert "missing id" in reasons[("docs.jsonl", 3)]
    assert reasons[("docs.jsonl", 4)] == "empty text"
    assert reasons[("docs.csv", 3)] == "empty text"
    # every input line is accounted for:
    # 2 text docs + 4 bad files + 4 JSONL lines + 2 CSV rows
    assert len(docs) + len(skipped) == 2 + 4 + 4 + 2


def test_missing_input_is_an_error(tmp_path):
    with pytest.raises(InputError, match="input not found"):
        list(iter_items([tmp_path / "nope"]))


def test_quantities_and_numeric_mismatch():
    q = {(x.value, x.unit) for x in quantities("The US gave $33bn over 15 years; 1,200 workers and 61% turnout")}
    assert (33e9, "usd") in q and (1200.0, "worker") in q and (61.0, "percent") in q
    assert not any(u == "year" for _, u in q)
    assert numeric_mismatch("The plant employs 1,200 workers.", "Only 950 workers are employed.") == (
        True, "1,200 workers vs 950 workers are employed")
    assert numeric_mismatch("Turnout was 61%.", "Turnout was under 50 percent.") == (
        True, "61% vs 50 percent")
    assert not numeric_mismatch("Aid of $33bn was given.", "Aid of 33 billion dollars was given.")[0]
    assert not numeric_mismatch("In 2019 turnout fell.", "In 2021 turnout fell.")[0]  # years
    assert not numeric_mismatch("400 jobs will go.", "Turnout was 61%.")[0]  # other quantities


def test_numeric_mismatch_names_the_first_disputed_figure_whatever_the_hash_seed():
    """The detail in the CSV's details column must not change from run to run: units were
    iterated as a set of strings, whose order follows PYTHONHASHSEED."""
    import subprocess
    import sys

    code = ("from pipeline.stages.quantities import numeric_mismatch; print(numeric_mismatch("
            "'Turnout was 28 percent and 1,187 homes were tested and 12 schools closed.', "
            "'Turnout was 30 percent, 1,240 homes were tested and 15 schools closed.')[1])")
    seen = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": str(seed)}).stdout.strip()
            for seed in range(8)}
    assert len(seen) == 1 and seen.pop().startswith("28 percent")  # the first text's first unit


def test_formula_cells_are_neutralised(tmp_path):
    assert safe_cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert safe_cell("+1") == "'+1" and safe_cell("@x") == "'@x" and safe_cell("-2") == "'-2"
    assert safe_cell(-0.5) == -0.5 and safe_cell("plain") == "plain"
    path = tmp_path / "f.csv"
    write_csv(path, FLAG_COLUMNS, [{"claim_a": "=1+1", "score": 0.9}])
    row = next(csv.DictReader(path.open(encoding="utf-8")))
    assert row["claim_a"] == "'=1+1" and row["score"] == "0.9"


def test_config_overrides_and_validation(tmp_path):
    cfg = load_run_config(None, ["pair.k=3", "decide.threshold=0.7", 'score.model="x/y"'])
    assert cfg.pair.k == 3 and cfg.decide.threshold == 0.7 and cfg.score.model == "x/y"
    with pytest.raises(ConfigError, match="unknown key"):
        load_run_config(None, ["pair.kk=3"])
    with pytest.raises(ConfigError, match="threshold"):
        load_run_config(None, ["decide.threshold=2"])
    p = tmp_path / "c.yaml"
    p.write_text("pair: [1, 2]\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_run_config(p)
