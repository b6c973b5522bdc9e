"""Issue 29, the run layer's outputs: no input or system file is ever overwritten, outputs never
overwrite each other, links are written through and devices refused, a run never reads its
own files, empty names are refused with a message, a refused run creates no folder."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import build_tiny_model
from pipeline.config import load_run_config
from pipeline.errors import ModelError, OutputError, RunLockedError
from pipeline.run import run

TEXT = "The minister said 2 doses arrived. The hospital said no doses arrived at all."


@pytest.fixture(scope="module")
def model(tiny_model):
    return tiny_model  # the session's tiny model (conftest); a test that changes it copies it first


@pytest.fixture(scope="module")
def cfg(model):
    return load_run_config(None, [f"score.model={model}", "batch_docs=2", "decide.threshold=0.0",
                                  "score.backend=torch", "topics.backend=torch"])


def _docs(path: Path, n: int = 2) -> Path:
    path.write_text("".join(json.dumps({"id": f"d{i}", "text": TEXT}) + "\n" for i in range(n)),
                    encoding="utf-8")
    return path


def _with(cfg, **output):
    import dataclasses

    return dataclasses.replace(cfg, output=dataclasses.replace(cfg.output, **output))


# ------------------------------------------------------------------ 1. an input replaced by an output
def test_no_format_may_replace_an_input(tmp_path, cfg):
    docs = _docs(tmp_path / "docs.jsonl")
    before = docs.read_bytes()
    with pytest.raises(OutputError, match=r"the jsonl output .*docs\.jsonl is one of the inputs"):
        run([str(docs)], tmp_path / "docs.csv", _with(cfg, formats=["csv", "jsonl"]))
    assert docs.read_bytes() == before
    assert not (tmp_path / "docs.csv").exists()
    # through a link, and a hard link, too
    os.symlink(docs, tmp_path / "alias.jsonl")
    with pytest.raises(OutputError, match="one of the inputs"):
        run([str(tmp_path / "alias.jsonl")], tmp_path / "docs.csv", _with(cfg, formats=["jsonl"]))
    os.link(docs, tmp_path / "hard.html")
    with pytest.raises(OutputError, match="one of the inputs"):
        run([str(docs)], tmp_path / "hard.csv", _with(cfg, formats=["csv", "html"]))
    # an input inside the parts folder would be deleted with it
    parts = tmp_path / "p.csv.parts"
    parts.mkdir()
    inside = _docs(parts / "in.jsonl")
    with pytest.raises(OutputError, match="inside the parts folder"):
        run([str(inside)], tmp_path / "p.csv", cfg)
    assert docs.read_bytes() == before and inside.is_file()


def test_the_cli_refuses_the_issue_command(tmp_path, model):
    from pipeline.cli import app

    docs = tmp_path / "docs.jsonl"
    docs.write_text('{"id":"d1","text":"The minister said 2 doses arrived."}\n')
    before = docs.read_bytes()
    r = CliRunner().invoke(app, ["run", str(docs), "-o", str(tmp_path / "docs.csv"), "--format",
                                 "csv,jsonl", "--model", str(model), "-q"])
    assert isinstance(r.exception, OutputError)
    assert "one of the inputs" in str(r.exception) and "fix:" in str(r.exception)
    assert docs.read_bytes() == before


# ------------------------------------------------------------------ 2. outputs overwrite each other
@pytest.mark.parametrize("out, formats, manifest, message", [
    ("m.csv", ["csv", "jsonl"], "m.jsonl", "the jsonl output .* and the manifest .* are the same file"),
    ("m.csv", ["csv"], "m.csv.lock", "the manifest .* and the lock file"),
    ("n.csv", ["csv"], "n.csv.parts/man.json", "inside the parts folder"),
    ("m.csv", ["csv", "html"], "m.html.tmp", "the manifest .* and the html output's temporary file"),
])
def test_outputs_may_not_overwrite_each_other(tmp_path, cfg, out, formats, manifest, message):
    docs = _docs(tmp_path / "docs.jsonl")
    with pytest.raises(OutputError, match=message):
        run([str(docs)], tmp_path / out, _with(cfg, formats=formats), manifest=tmp_path / manifest)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["docs.jsonl"]


def test_the_lock_covers_every_path_a_run_writes(tmp_path, cfg):
    docs = _docs(tmp_path / "docs.jsonl", 4)
    (tmp_path / "o").mkdir()
    refused = []

    def second_run(p):
        if p.batch_docs and not refused:
            # o/x.tsv shares o/x.manifest.json with the run on o/x.csv
            with pytest.raises(RunLockedError, match="x.manifest.json"):
                run([str(docs)], tmp_path / "o" / "x.tsv", cfg)
            # and -o o/x.html --format csv would write the first run's HTML report
            with pytest.raises(RunLockedError, match="x.html"):
                run([str(docs)], tmp_path / "o" / "x.html", cfg, manifest=tmp_path / "o" / "y.json")
            refused.append(True)

    got = run([str(docs)], tmp_path / "o" / "x.csv", _with(cfg, formats=["csv", "html"]),
              on_progress=second_run)
    assert refused and got.documents == 4
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == [
        "x.csv", "x.html", "x.manifest.json"]  # every lock gone


# ------------------------------------------------------------------ 3. links and devices
def test_a_link_is_written_through_and_a_fifo_refused(tmp_path, cfg):
    docs = _docs(tmp_path / "docs.jsonl")
    target = tmp_path / "real" / "target.csv"
    target.parent.mkdir()
    target.write_text("old\n")
    link = tmp_path / "link.csv"
    os.symlink(target, link)
    mlink = tmp_path / "link.manifest.json"
    os.symlink(tmp_path / "real" / "m.json", mlink)  # dangling: the target is created
    got = run([str(docs)], link, cfg)
    assert link.is_symlink() and mlink.is_symlink()
    assert target.read_text().startswith("doc_a,doc_b")
    assert json.loads((tmp_path / "real" / "m.json").read_text())["documents_processed"] == 2
    assert got.documents == 2
    assert not list(tmp_path.rglob("*.tmp"))

    fifo = tmp_path / "fifo.csv"
    os.mkfifo(fifo)
    with pytest.raises(OutputError, match="not a regular file"):
        run([str(docs)], fifo, cfg)
    os.symlink(fifo, tmp_path / "to-fifo.csv")
    with pytest.raises(OutputError, match="not a regular file"):
        run([str(docs)], tmp_path / "to-fifo.csv", cfg)
    with pytest.raises(OutputError, match="not a regular file"):
        run([str(docs)], tmp_path / "x.csv", cfg, manifest=fifo)
    assert fifo.is_fifo() and (tmp_path / "to-fifo.csv").is_symlink()


def test_a_device_is_refused_not_replaced(tmp_path, cfg):
    # a copy of /dev/null's device in tmp_path: never a system file, even if this breaks
    import stat

    docs = _docs(tmp_path / "docs.jsonl")
    dev = tmp_path / "null.csv"
    try:
        os.mknod(dev, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("making a device node needs root")
    with pytest.raises(OutputError, match="a device, FIFO or socket, not a regular file"):
        run([str(docs)], dev, cfg)
    with pytest.raises(OutputError, match="not a regular file"):
        run([str(docs)], tmp_path / "x.csv", cfg, manifest=dev)
    assert dev.is_char_device()


# ------------------------------------------------------------------ 4. the run reads its own files
def test_a_run_never_reads_its_own_outputs_parts_or_lock(tmp_path, cfg):
    corp = tmp_path / "corp"
    corp.mkdir()
    for i in range(3):
        (corp / f"a{i}.txt").write_text(TEXT, encoding="utf-8")
    out = corp / "out" / "flags.csv"
    c = _with(cfg, formats=["csv", "jsonl", "html"])
    first = run([str(corp)], out, c, keep_parts=True)  # its lock and parts exist while it reads
    assert first.documents == 3 and first.skipped == []
    totals = []
    again = run([str(corp)], out, c, fresh=True, on_progress=lambda p: totals.append(p.total))
    assert again.documents == 3 and again.skipped == [], again.skipped
    assert totals[0] == 3  # the progress total does not count them either
    with out.open(encoding="utf-8") as fh:
        assert {r["doc_a"] for r in csv.DictReader(fh)} <= {"a0.txt", "a1.txt", "a2.txt"}


def test_the_default_output_inside_the_input_folder(tmp_path, cfg, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("a.txt").write_text(TEXT, encoding="utf-8")
    out = Path("out/flagged.csv")
    run(["."], out, cfg, keep_parts=True)
    again = run(["."], out, cfg, fresh=True)
    assert again.documents == 1 and again.skipped == [], again.skipped


# ------------------------------------------------------------------ 5. empty names
@pytest.mark.parametrize("name", [".", "/", ""])
def test_an_output_without_a_file_name_is_refused(tmp_path, cfg, name):
    docs = _docs(tmp_path / "docs.jsonl")
    with pytest.raises(OutputError, match="names a folder, not a file"):
        run([str(docs)], name, cfg)


@pytest.mark.parametrize("name", [".", "/", ""])
def test_the_cli_refuses_an_empty_name_without_a_traceback(tmp_path, model, name):
    import subprocess
    import sys

    from conftest import REPO

    docs = _docs(tmp_path / "docs.jsonl")
    r = subprocess.run([sys.executable, "-m", "pipeline.cli", "run", str(docs), "-o", name,
                        "--model", str(model), "-q"], capture_output=True, text=True, cwd=tmp_path,
                       env=dict(os.environ, PYTHONPATH=str(REPO)), timeout=120)
    assert r.returncode == 1, r.stderr
    assert "Traceback" not in r.stderr and "names a folder, not a file" in r.stderr
    assert "fix: name a file" in r.stderr


# ------------------------------------------------------------------ 14. a refused run creates no folder
def test_a_refused_run_creates_no_output_folder(tmp_path, cfg):
    docs = _docs(tmp_path / "docs.jsonl")
    bad = build_tiny_model(tmp_path / "bad", {0: "positive", 1: "negative", 2: "mixed"})
    import dataclasses

    badcfg = dataclasses.replace(cfg, score=dataclasses.replace(cfg.score, model=str(bad)))
    with pytest.raises(ModelError):
        run([str(docs)], tmp_path / "new" / "sub" / "x.csv", badcfg)
    assert not (tmp_path / "new").exists()
    # refused by the lock: the folder it would have made is gone again
    from pipeline.run.store import RunLock

    (tmp_path / "o").mkdir()
    with RunLock(tmp_path / "o" / "x.csv"):
        with pytest.raises(RunLockedError):
            run([str(docs)], tmp_path / "o" / "x.csv", cfg, manifest=tmp_path / "m" / "n" / "x.json")
    assert not (tmp_path / "m").exists()


# ------------------------------------------------------------------ 1. the claims command too
def test_the_claims_command_never_replaces_an_input(tmp_path):
    import subprocess
    import sys

    from conftest import REPO

    docs = tmp_path / "docs.csv"
    docs.write_text("id,text\nd1,The minister said 2 doses arrived.\n", encoding="utf-8")
    before = docs.read_bytes()
    r = subprocess.run([sys.executable, "-m", "pipeline.cli", "claims", str(docs), "-o", str(docs),
                        "-q"], capture_output=True, text=True, timeout=300,
                       env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert r.returncode == 1 and "one of the inputs" in r.stderr, r.stderr
    assert docs.read_bytes() == before
