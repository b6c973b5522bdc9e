"""Issue 29, faults: a full disk (one error line, no output without its manifest, --resume
equal to a clean run), a model retrained between an interrupted run and its resume (refused),
SIGINT and SIGTERM (they say what was kept and how to go on)."""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import NEWS, REPO, assert_same_flags, csv_rows, wait_for_lines, write_corpus
from pipeline.config import load_run_config
from pipeline.errors import OutputError, ResumeError, RunInterrupted
from pipeline.run import run

SENTENCES = [NEWS[i] for i in (0, 1, 3, 4)]


def _corpus(path: Path, n: int = 6) -> Path:
    return write_corpus(path, SENTENCES, n)


_rows = csv_rows


OVERRIDES = ["batch_docs=2", "decide.threshold=0.0", "score.backend=torch", "topics.backend=torch"]


@pytest.fixture(scope="module")
def model(tiny_model):
    return tiny_model  # the session's tiny model (conftest); a test that changes it copies it first


@pytest.fixture(scope="module")
def cfg(model):
    return load_run_config(None, [f"score.model={model}", *OVERRIDES])


@pytest.fixture(scope="module")
def ref(tmp_path_factory, cfg):
    d = tmp_path_factory.mktemp("ref")
    corpus = _corpus(d / "corpus.jsonl")
    summary = run([str(corpus)], d / "flagged.csv", cfg)
    # threshold 0 (no decider beside the tiny model): every pair is flagged
    assert summary.documents == 6 and summary.flags == summary.pairs > 0
    assert len(csv_rows(summary.out_csv)) == summary.flags
    return corpus, summary


def _enospc(*_a, **_k):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


# ------------------------------------------------------------------ 6. a full disk
def test_a_full_disk_while_committing_is_one_message_and_resume_completes(tmp_path, cfg, ref,
                                                                            monkeypatch):
    corpus, want = ref
    out = tmp_path / "flagged.csv"
    real = os.fsync
    calls = []

    def fsync(fd):
        calls.append(fd)
        if len(calls) == 3:  # the second batch's rows
            _enospc()
        return real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    with pytest.raises(OutputError) as err:
        run([str(corpus)], out, cfg)
    msg = str(err.value)
    assert "flags.jsonl" in msg and "No space left on device" in msg
    assert "2 documents are committed in" in msg and "--resume" in msg and "free space" in msg
    assert not out.exists() and not out.with_name("flagged.manifest.json").exists()
    monkeypatch.setattr(os, "fsync", real)
    got = run([str(corpus)], out, cfg, resume=True)
    assert got.resumed and got.documents == 6
    assert _rows(out) == _rows(want.out_csv)


def test_a_full_disk_while_writing_outputs_leaves_no_output_without_its_manifest(
        tmp_path, cfg, ref, monkeypatch):
    from pipeline.run import sinks

    corpus, want = ref
    out = tmp_path / "flagged.csv"
    real = sinks.JsonlSink.write

    def write(self, rows, manifest):
        self.path.write_text('{"half": ')
        _enospc()

    monkeypatch.setattr(sinks.JsonlSink, "write", write)
    c = load_run_config(None, [f"score.model={cfg.score.model}", *OVERRIDES,
                               "output.formats=[csv,jsonl,html]"])
    with pytest.raises(OutputError) as err:
        run([str(corpus)], out, c)
    msg = str(err.value)
    assert f"cannot write {tmp_path / 'flagged.jsonl'}: No space left on device" in msg
    assert "6 documents are committed" in msg and "then run the same command with --resume" in msg
    assert sorted(p.name for p in tmp_path.iterdir()) == ["flagged.csv.parts"]  # no .tmp either
    # the manifest's own write failing is the same
    monkeypatch.setattr(sinks.JsonlSink, "write", real)
    monkeypatch.setattr(sinks.Staged, "add_json", lambda self, path, data: _enospc())
    with pytest.raises(OutputError, match="No space left"):
        run([str(corpus)], out, c, resume=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["flagged.csv.parts"]
    monkeypatch.undo()
    got = run([str(corpus)], out, c, resume=True)
    assert got.documents == 6 and _rows(out) == _rows(want.out_csv)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "flagged.csv", "flagged.html", "flagged.jsonl", "flagged.manifest.json"]


def test_the_cli_says_it_in_one_line(tmp_path, ref, model, monkeypatch):
    from typer.testing import CliRunner

    from pipeline.cli import app
    from pipeline.run import store

    corpus, _ = ref
    monkeypatch.setattr(store.PartsStore, "commit", lambda self, rows, rec: _enospc())
    r = CliRunner().invoke(app, ["run", str(corpus), "-o", str(tmp_path / "f.csv"), "--model",
                                 str(model), "-q", *sum((["--set", o] for o in OVERRIDES), [])])
    assert isinstance(r.exception, OutputError), r.output
    assert "nothing was committed yet" in str(r.exception)


# ------------------------------------------------------------------ 7. resume after retraining
class Stop(Exception):
    pass


def _stop_after_one(p):
    if p.batch_docs:
        raise Stop()


def test_resume_refuses_a_retrained_nli_model_or_decision_model(tmp_path, model):
    import torch
    from transformers import AutoModelForSequenceClassification

    mine = tmp_path / "model"
    shutil.copytree(model, mine)
    corpus = _corpus(tmp_path / "corpus.jsonl")
    cfg = load_run_config(None, [f"score.model={mine}", *OVERRIDES])
    out = tmp_path / "flagged.csv"
    with pytest.raises(Stop):
        run([str(corpus)], out, cfg, on_progress=_stop_after_one)
    # `make train` writes new weights into the same folder
    m = AutoModelForSequenceClassification.from_pretrained(mine)
    with torch.no_grad():
        m.classifier.bias += 0.5
    m.save_pretrained(mine)
    with pytest.raises(ResumeError, match=r"the NLI model's weights changed .*sha256") as err:
        run([str(corpus)], out, cfg, resume=True)
    assert "--fresh" in str(err.value) and "-o" in str(err.value)
    # a decision model trained since (`make train-decider`) is refused too
    with pytest.raises(Stop):
        run([str(corpus)], out, cfg, fresh=True, on_progress=_stop_after_one)
    (mine / "decider.json").write_text("{}")
    with pytest.raises(ResumeError, match="the decision model changed"):
        run([str(corpus)], out, cfg, resume=True)


def test_the_fingerprint_holds_the_models_sha256(tmp_path, model):
    from pipeline.run.api import model_hashes

    cfg = load_run_config(None, [f"score.model={model}", *OVERRIDES])
    h = model_hashes(cfg)
    assert set(h) == {"nli", "decider", "embedder"}
    assert len(h["nli"]) == 64 and len(h["embedder"]) == 64 and h["decider"] == "none"
    thr = load_run_config(None, [f"score.model={model}", *OVERRIDES, "decide.method=threshold"])
    assert "decider" not in model_hashes(thr)


# ------------------------------------------------------------------ 8. signals
def test_an_interrupt_says_what_was_kept_and_how_to_go_on(tmp_path, cfg, ref):
    corpus, want = ref
    out = tmp_path / "flagged.csv"
    seen = []

    def ctrl_c(p):
        if p.batch_docs:
            seen.append(p)
            if len(seen) == 2:
                raise KeyboardInterrupt

    with pytest.raises(RunInterrupted) as err:
        run([str(corpus)], out, cfg, on_progress=ctrl_c)
    msg = str(err.value)
    assert "4 documents processed" in msg and str(out.with_name("flagged.csv.parts")) in msg
    assert "--resume" in msg
    assert _rows(run([str(corpus)], out, cfg, resume=True).out_csv) == _rows(want.out_csv)


@pytest.mark.parametrize("sig, rc", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_sigterm_and_sigint_stop_cleanly_and_say_so(tmp_path, ref, model, sig, rc):
    corpus, want = ref
    out = tmp_path / "flagged.csv"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    args = [sys.executable, "-m", "pipeline.cli", "run", str(corpus), "-o", str(out), "--model",
            str(model), "-q", *sum((["--set", o] for o in OVERRIDES), []), "--set", "batch_docs=1"]
    proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    progress = out.with_name("flagged.csv.parts") / "progress.jsonl"
    wait_for_lines(proc, progress, 1, timeout=240, poll=0.05, what="stopped")
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    if proc.returncode == 0 or "the run is complete" in err:  # a loaded machine: too late
        pytest.skip("the run finished before the signal arrived")
    assert proc.returncode == rc, err
    assert "Traceback" not in err
    [line] = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert "interrupted" in line and "committed in" in line and "--resume" in line
    assert not out.exists()
    r = subprocess.run(args + ["--resume"], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert_same_flags(out, want.out_csv)  # one document a batch: equal to float rounding


def test_a_full_disk_while_taking_the_lock_is_one_message(tmp_path, cfg, ref, monkeypatch):
    corpus, _ = ref
    monkeypatch.setattr(os, "pwrite", _enospc)  # RunLock writes who holds it
    with pytest.raises(OutputError, match="No space left on device; nothing was committed"):
        run([str(corpus)], tmp_path / "new" / "flagged.csv", cfg)
    assert not (tmp_path / "new").exists()


def test_an_interrupt_after_the_outputs_are_written_says_the_run_is_complete(tmp_path, cfg, ref,
                                                                             monkeypatch):
    from pipeline.run import store

    corpus, want = ref
    out = tmp_path / "flagged.csv"

    def ctrl_c(self):
        raise KeyboardInterrupt

    monkeypatch.setattr(store.PartsStore, "remove", ctrl_c)
    with pytest.raises(RunInterrupted, match="the run is complete"):
        run([str(corpus)], out, cfg)
    assert _rows(out) == _rows(want.out_csv) and out.with_name("flagged.manifest.json").is_file()
