"""Output sinks (CSV, JSONL, Parquet, HTML report) and the settings that choose them; no model,
no browser (tests/test_report_browser.py drives the report in Chromium)."""

from __future__ import annotations

import csv
import json
from html.parser import HTMLParser

import pytest
from typer.testing import CliRunner

from conftest import REPO, SAMPLE
from pipeline.cli import app
from pipeline.config import (OUTPUT_FORMATS, RunConfig, default_run_config, load_run_config,
                             load_train_config)
from pipeline.errors import ConfigError
from pipeline.run import sinks
from pipeline.run.report import _display, build_report, load_texts, write_report
from pipeline.run.sinks import FLAG_COLUMNS, output_paths, write_csv, write_outputs

ROWS = [json.loads(line) for line in (REPO / "tests" / "data" / "report_rows.jsonl").open(encoding="utf-8")]
TEXTS = {p.name: p.read_text(encoding="utf-8") for p in SAMPLE.glob("*.txt")}


def _rows():
    rows = [dict(r) for r in ROWS]
    rows[1]["claim_a"] = "=HYPERLINK(\"http://x\")"  # formula cells, a quote, a newline
    rows[2]["speaker_b"] = 'He said "no",\nthen left'
    rows[3]["details"] = json.dumps({"a": [1, 2]})
    rows[4]["_seq"] = 7  # private keys of the parts store never reach an output
    return rows


def test_every_format_is_a_sink():
    assert tuple(sinks.SINKS) == OUTPUT_FORMATS


def test_output_paths_take_the_stem_of_o(tmp_path):
    p = output_paths(tmp_path / "flagged.csv", ["csv", "jsonl", "parquet", "html"])
    assert {k: v.name for k, v in p.items()} == {
        "csv": "flagged.csv", "jsonl": "flagged.jsonl", "parquet": "flagged.parquet", "html": "flagged.html"}
    with pytest.raises(ConfigError, match="same file"):
        output_paths(tmp_path / "flagged.html", ["csv", "html"])
    with pytest.raises(ConfigError, match="unknown output format"):
        output_paths(tmp_path / "f.csv", ["xlsx"])


def test_csv_sink_is_byte_identical_to_the_csv_writer(tmp_path):
    rows = _rows()
    write_csv(tmp_path / "old.csv", FLAG_COLUMNS, rows)
    w = write_outputs(tmp_path / "new.csv", ["csv"], rows, {})
    assert w.rows == len(rows) and list(w.paths) == ["csv"]
    assert (tmp_path / "new.csv").read_bytes() == (tmp_path / "old.csv").read_bytes()
    got = list(csv.DictReader((tmp_path / "new.csv").open(encoding="utf-8")))
    assert got[1]["claim_a"].startswith("'=")


def test_all_sinks_get_the_same_rows_in_the_same_order(tmp_path):
    import pyarrow.parquet as pq

    rows = _rows()
    calls = []

    def fresh():
        calls.append(1)
        return iter(rows)

    manifest = {"inputs": [str(SAMPLE)], "counts": {"flags": len(rows)}}
    w = write_outputs(tmp_path / "f.csv", ["html", "parquet", "jsonl", "csv"], fresh, manifest,
                      texts=TEXTS)
    assert list(w.paths) == ["csv", "html", "parquet", "jsonl"]  # csv first, then as asked
    assert len(calls) == 4 and w.rows == len(rows)

    jl = [json.loads(line) for line in (tmp_path / "f.jsonl").open(encoding="utf-8")]
    assert [list(r) for r in jl] == [FLAG_COLUMNS] * len(rows)
    table = pq.read_table(tmp_path / "f.parquet")
    assert table.column_names == FLAG_COLUMNS
    assert str(table.schema.field("start_a").type) == "int64"
    assert str(table.schema.field("score").type) == "double"
    pa_rows = table.to_pylist()
    for src, j, p in zip(rows, jl, pa_rows):
        for c in FLAG_COLUMNS:
            if c == "details":
                want = json.loads(src[c]) if src[c] else {}
                assert j[c] == want and json.loads(p[c] or "{}") == want
            else:
                assert j[c] == src[c] == p[c], c  # no formula prefix outside the CSV
    meta = json.loads(table.schema.metadata[b"contradict.manifest"])
    assert meta == manifest
    page = (tmp_path / "f.html").read_text(encoding="utf-8")
    assert [int(i) for i in _Rows.ids(page)] == list(range(len(rows)))


def test_one_shot_iterator_is_kept_for_every_sink(tmp_path):
    w = write_outputs(tmp_path / "f.csv", ["csv", "jsonl"], (r for r in ROWS), {})
    assert w.rows == len(ROWS)
    assert len((tmp_path / "f.jsonl").read_text(encoding="utf-8").splitlines()) == len(ROWS)


def test_empty_run_writes_valid_files(tmp_path):
    import pyarrow.parquet as pq

    w = write_outputs(tmp_path / "f.csv", OUTPUT_FORMATS, [], {})
    assert w.rows == 0
    assert pq.read_table(tmp_path / "f.parquet").num_rows == 0
    assert (tmp_path / "f.jsonl").read_text() == ""
    assert "No flags" in (tmp_path / "f.html").read_text(encoding="utf-8")


class _Rows(HTMLParser):
    """Collects the report's rows and, per span id, the text of its marks."""

    def __init__(self):
        super().__init__()
        self.rows, self.marks, self.scripts, self._in = [], {}, 0, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "tr" and "data-a" in a:
            self.rows.append(a)
        if tag == "mark" and "data-s" in a:
            self._in = a["data-s"].split()
        if tag == "script":
            self.scripts += 1

    def handle_endtag(self, tag):
        if tag == "mark":
            self._in = None

    def handle_data(self, data):
        for s in self._in or []:
            self.marks[s] = self.marks.get(s, "") + data

    @classmethod
    def ids(cls, page):
        p = cls()
        p.feed(page)
        return [r["data-i"] for r in p.rows]


def test_report_marks_each_claim_at_its_offsets():
    page = build_report(ROWS, {}, TEXTS)
    p = _Rows()
    p.feed(page)
    assert len(p.rows) == len(ROWS) and p.scripts == 1
    for r, tr in zip(ROWS, p.rows):
        for side in ("a", "b"):
            text = TEXTS[r[f"doc_{side}"]]
            assert p.marks[tr[f"data-{side}"]] == _display(text)[r[f"start_{side}"]:r[f"end_{side}"]]
            assert " ".join(p.marks[tr[f"data-{side}"]].split()) == " ".join(
                text[r[f"start_{side}"]:r[f"end_{side}"]].split())


def test_report_overlapping_spans_and_bad_offsets():
    text = "Alpha beta gamma delta epsilon."
    base = {k: "" for k in FLAG_COLUMNS} | {"doc_a": "d", "doc_b": "d", "score": 0.5, "relation": "same_speaker",
                                             "reason": "nli"}
    rows = [base | {"start_a": 0, "end_a": 16, "start_b": 6, "end_b": 22},  # overlapping
            base | {"start_a": 6, "end_a": 10, "start_b": 25, "end_b": 99}]  # past the end
    page = build_report(rows, {}, {"d": text})
    p = _Rows()
    p.feed(page)
    a0, b0, a1, b1 = p.rows[0]["data-a"], p.rows[0]["data-b"], p.rows[1]["data-a"], p.rows[1]["data-b"]
    assert p.marks[a0] == text[0:16] and p.marks[b0] == text[6:22] and p.marks[a1] == text[6:10]
    assert b1 not in p.marks and "outside this text" in page


def test_report_escapes_and_allows_only_its_own_script_and_style():
    import base64
    import hashlib
    import re

    evil = "<script>alert(1)</script><img src=x onerror=alert(2)>"
    row = {k: evil for k in FLAG_COLUMNS} | {"start_a": 0, "end_a": 8, "start_b": 8, "end_b": 16,
                                            "score": 0.7, "doc_a": evil, "doc_b": evil}
    page = build_report([row], {"inputs": [evil], "version": evil}, {evil: evil + evil})
    assert page.count("<script") == 1 and "<img" not in page and "onerror=alert" not in page.replace(
        "onerror=alert(2)&gt;", "")
    csp = re.search(r'Content-Security-Policy" content="([^"]+)"', page).group(1)
    assert "default-src 'none'" in csp and "unsafe-inline" not in csp
    for tag in ("script", "style"):
        body = re.search(rf"<{tag}>(.*?)</{tag}>", page, re.S).group(1)
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in csp
    assert "http://" not in page and "https://" not in page  # nothing to fetch


def test_report_reads_back_only_flagged_documents(tmp_path):
    corpus = tmp_path / "c.jsonl"
    corpus.write_text("".join(json.dumps({"id": f"d{i}", "text": f"Text {i} is here."}) + "\n"
                              for i in range(5)), encoding="utf-8")
    assert load_texts([str(corpus)], None, {"d1", "d3"}) == {"d1": "Text 1 is here.", "d3": "Text 3 is here."}
    assert load_texts([str(corpus)], {"id_field": "id", "text_field": "text"}, []) == {}
    row = {k: "" for k in FLAG_COLUMNS} | {"doc_a": "d3", "doc_b": "d3", "start_a": 0, "end_a": 6,
                                           "start_b": 7, "end_b": 15, "score": 0.5}
    out = tmp_path / "r.html"
    write_report(out, [row], {"inputs": [str(corpus)], "config": {"ingest": RunConfig().ingest.__dict__}})
    page = out.read_text(encoding="utf-8")
    assert page.count('class="doc"') == 1 and "Text 3" in page and "Text 1" not in page


def test_formats_and_top_are_settings():
    cfg = load_run_config(None, ['output.formats="jsonl, HTML"', "output.top=3"])
    assert cfg.output.formats == ["jsonl", "html"] and cfg.output.top == 3
    assert RunConfig().output.formats == ["csv"]
    with pytest.raises(ConfigError, match="unknown output format"):
        load_run_config(None, ["output.formats=[csv, pdf]"])


def test_cli_rejects_a_bad_format_before_running(tmp_path):
    r = CliRunner().invoke(app, ["run", str(SAMPLE), "-o", str(tmp_path / "f.csv"), "--format", "csv,pdf"])
    assert r.exit_code != 0 and isinstance(r.exception, ConfigError)
    assert "pdf" in str(r.exception) and "csv, jsonl, parquet, html" in str(r.exception)
    r = CliRunner().invoke(app, ["run", str(SAMPLE), "-o", str(tmp_path / "f.html"), "--format", "csv,html"])
    assert isinstance(r.exception, ConfigError) and "same file" in str(r.exception)
    assert not (tmp_path / "f.html").exists()


def test_cli_options_map_to_settings():
    from pipeline.cli import _run_cfg

    cfg = _run_cfg(None, [], None, None, formats="csv,parquet", top=4)
    assert cfg.output.formats == ["csv", "parquet"] and cfg.output.top == 4


def test_project_config_is_read_by_default_and_holds_only_differences(tmp_path, monkeypatch):
    import yaml

    assert default_run_config(REPO) == REPO / "configs" / "run.yaml"
    assert default_run_config(tmp_path) is None
    data = yaml.safe_load((REPO / "configs" / "run.yaml").read_text())
    defaults = RunConfig()

    def same_as_default(d, obj, where=""):
        for k, v in d.items():
            cur = getattr(obj, k)
            if isinstance(v, dict):
                yield from same_as_default(v, cur, f"{where}{k}.")
            elif v == cur:
                yield where + k

    assert list(same_as_default(data, defaults)) == [], "configs/run.yaml repeats a built-in default"
    monkeypatch.chdir(REPO)
    from pipeline.cli import _run_cfg

    assert _run_cfg(None, [], None, None).output.formats == data["output"]["formats"]
    monkeypatch.chdir(tmp_path)
    assert _run_cfg(None, [], None, None).output.formats == ["csv"]


def test_train_overrides_name_their_section():
    cfg = load_train_config(None, ["train.epochs=1", "train.max_length=64"])
    assert cfg.epochs == 1.0 and cfg.max_length == 64
    assert load_train_config(None, ["epochs=3"]).epochs == 3.0  # one section: bare keys too
    with pytest.raises(ConfigError, match="section.key=value"):
        load_train_config(None, ["train.epochs"])
    with pytest.raises(ConfigError, match="unknown key"):
        load_train_config(None, ["train.epoch=1"])
