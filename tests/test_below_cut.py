"""A run that flags nothing still gives its reader the best candidates under the cut."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import NEWS, csv_rows, write_corpus
from pipeline.config import load_run_config
from pipeline.run import run

REPO = Path(__file__).resolve().parent.parent

SENTENCES = NEWS[:5]

KEY = ("doc_a", "start_a", "end_a", "doc_b", "start_b", "end_b")


def _cfg(tiny_model, threshold: float, top: int = 4):
    # batches of one document: the run's best rows are merged across batches (and commits)
    # torch: scores that do not depend on their batch-mates (the int8 model confirms near the cut)
    return load_run_config(None, [f"score.model={tiny_model}", "score.backend=torch", "batch_docs=1",
                                  f"decide.threshold={threshold}", f"output.top={top}"])


def test_below_cut_rows_are_the_runs_best_unflagged_pairs(tmp_path, tiny_model):
    corpus = write_corpus(tmp_path / "c.jsonl", SENTENCES, n=5)
    every = run([str(corpus)], tmp_path / "all" / "f.csv", _cfg(tiny_model, 0.0))
    ranked = csv_rows(tmp_path / "all" / "f.csv")  # every scored pair, best first
    assert every.flags == len(ranked) > 4 and every.below == []  # flags: nothing to add

    none = run([str(corpus)], tmp_path / "none" / "f.csv", _cfg(tiny_model, 1.0))
    assert none.flags == 0 and csv_rows(tmp_path / "none" / "f.csv") == []
    assert none.cut == 1.0
    assert [r["reason"] for r in none.below] == ["below_cut"] * 4
    scores = [r["score"] for r in none.below]
    assert scores == sorted(scores, reverse=True) and max(scores) < 1.0
    # the same scores as the top of the run that flags everything, and the same pairs
    # (ties may come in another order)
    assert [round(s, 6) for s in scores] == [round(float(r["score"]), 6) for r in ranked[:4]]
    score_of = {tuple(str(r[k]) for k in KEY): round(float(r["score"]), 6) for r in ranked}
    assert all(score_of[tuple(str(b[k]) for k in KEY)] == round(b["score"], 6) for b in none.below)
    manifest = json.loads(none.manifest.read_text())
    assert [m["score"] for m in manifest["below_cut"]] == scores
    assert manifest["decision"]["cut"] == 1.0
    assert json.loads(every.manifest.read_text())["below_cut"] == []


def test_cli_prints_the_candidates_when_nothing_is_flagged(tmp_path, tiny_model):
    corpus = write_corpus(tmp_path / "c.jsonl", SENTENCES, n=3)
    r = subprocess.run([sys.executable, "-m", "pipeline.cli", "run", str(corpus), "-o",
                        str(tmp_path / "o" / "f.csv"), "--model", str(tiny_model), "--threshold",
                        "1.0", "--top", "3", "-q"], capture_output=True, text=True, cwd=REPO,
                       env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin",
                            "HF_HUB_OFFLINE": "1"})
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "0 flagged" in out
    assert "no pair reached the cut (1.000); the 3 best candidates under it" in out
    table = out[out.index("score  reason"):].splitlines()[1:]
    assert len(table) == 3 and all("below_cut" in line for line in table)
