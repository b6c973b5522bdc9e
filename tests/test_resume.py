"""Streaming runs: kill -9 part-way, resume, and compare with an uninterrupted run."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import NEWS, wait_for_lines, write_corpus
from pipeline.config import load_run_config
from pipeline.errors import ResumeError
from pipeline.run import run

REPO = Path(__file__).resolve().parent.parent

def _corpus(path: Path, n: int = 12) -> Path:
    return write_corpus(path, NEWS, n, per_doc=4, tail="{broken line\n")


def _rows(path: Path) -> list[tuple]:
    with path.open(encoding="utf-8") as fh:
        return sorted(tuple(sorted(r.items())) for r in csv.DictReader(fh))


SCRIPT = """
import sys, time
from pipeline.config import load_run_config
from pipeline.run import run
cfg = load_run_config(None, sys.argv[3:])
run([sys.argv[1]], sys.argv[2], cfg, on_progress=lambda p: time.sleep(1.5))
"""


@pytest.fixture()
def overrides(tiny_model):
    return [f"score.model={tiny_model}", "batch_docs=2", "decide.threshold=0.0"]


def test_kill_and_resume_equals_uninterrupted(tmp_path, overrides):
    corpus = _corpus(tmp_path / "corpus.jsonl")
    cfg = load_run_config(None, overrides)
    ref = run([str(corpus)], tmp_path / "ref" / "flagged.csv", cfg)
    # threshold 0 (no decider beside the tiny model): every pair is flagged
    assert ref.documents == 12 and ref.flags == ref.pairs > 0
    assert [s["line"] for s in ref.skipped] == [13]

    out = tmp_path / "killed" / "flagged.csv"
    out.parent.mkdir()
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, str(corpus), str(out), *overrides],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    progress = out.with_name(out.name + ".parts") / "progress.jsonl"
    wait_for_lines(proc, progress, 2, timeout=240)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not out.exists()
    parts = progress.parent
    committed = progress.read_text().count("\n")
    assert 2 <= committed < 6
    # a batch that was being written when the process died: a torn row after the last commit
    with (parts / "flags.jsonl").open("ab") as fh:
        fh.write(b'{"doc_a": "doc99", "score": 0.5')
    with progress.open("ab") as fh:
        fh.write(b'{"batch": 9')

    resumed = run([str(corpus)], out, cfg, resume=True)
    assert resumed.documents == 12
    assert _rows(out) == _rows(ref.out_csv)
    manifest = json.loads(resumed.manifest.read_text())
    assert manifest["resumed"] is True
    assert manifest["counts"]["flags"] == ref.flags
    assert [s["line"] for s in manifest["skipped"]] == [13]  # recorded once


def test_corrupt_state_is_explained(tmp_path, overrides):
    corpus = _corpus(tmp_path / "corpus.jsonl", n=4)
    cfg = load_run_config(None, overrides)
    out = tmp_path / "flagged.csv"
    run([str(corpus)], out, cfg, keep_parts=True)
    parts = out.with_name(out.name + ".parts")
    lines = (parts / "progress.jsonl").read_text().splitlines()
    lines[0] = lines[0][:10]  # damage a committed line, not the last one
    (parts / "progress.jsonl").write_text("\n".join(lines) + "\n")
    with pytest.raises(ResumeError, match="progress.jsonl:1: corrupt"):
        run([str(corpus)], out, cfg, resume=True)
    # another config is refused, not half-used
    run([str(corpus)], out, cfg, keep_parts=True)
    other = load_run_config(None, overrides + ["pair.k=2"])
    with pytest.raises(ResumeError, match="another config"):
        run([str(corpus)], out, other, resume=True)
    # a flags file shorter than its commits
    (parts / "flags.jsonl").write_bytes(b"")
    with pytest.raises(ResumeError, match="shorter"):
        run([str(corpus)], out, cfg, resume=True)
