"""The run layer: per-document isolation, the lock, content-checked resume, output checks,
the manifest's name and counts, exit codes, the model checked up front, progress."""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import NEWS, REPO, assert_same_flags, build_tiny_model, csv_rows, write_corpus
from pipeline.config import load_run_config
from pipeline.errors import ModelError, OutputError, ResumeError, RunLockedError
from pipeline.run import run
from pipeline.run.store import RunLock

SENTENCES = [NEWS[i] for i in (0, 1, 3, 4, 5, 6)]


def _corpus(path: Path, n: int = 6) -> Path:
    return write_corpus(path, SENTENCES, n)


_rows = csv_rows


def _key(rows):
    return sorted(tuple(sorted(r.items())) for r in rows)


class Stop(Exception):
    pass


def _stop_after(batches: int):
    seen = []

    def cb(p):
        if p.batch_docs:
            seen.append(p)
            if len(seen) >= batches:
                raise Stop()
    return cb


@pytest.fixture(scope="module")
def model(tiny_model):
    return tiny_model  # the session's tiny model (conftest); a test that changes it copies it first


@pytest.fixture(scope="module")
def cfg(model):
    # torch: dynamic int8 (NLI and embedder) scales activations per batch, so a retried batch
    # would score and embed ~1e-4 apart
    return load_run_config(None, [f"score.model={model}", "batch_docs=2", "decide.threshold=0.0",
                                  "score.backend=torch", "topics.backend=torch"])


@pytest.fixture(scope="module")
def ref(tmp_path_factory, cfg):
    d = tmp_path_factory.mktemp("ref")
    corpus = _corpus(d / "corpus.jsonl")
    summary = run([str(corpus)], d / "flagged.csv", cfg)
    # threshold 0 (no decider beside the tiny model): every pair is flagged
    assert summary.documents == 6 and summary.flags == summary.pairs > 0
    assert len(csv_rows(summary.out_csv)) == summary.flags
    return corpus, summary


# ------------------------------------------------------------------ isolation
def test_a_failing_document_is_skipped_and_the_run_goes_on(tmp_path, cfg, ref, monkeypatch):
    import pipeline.components as pc  # the attribute stage calls stages.attribute.attribute

    corpus, want = ref
    real = pc.attribute

    def flaky(doc_id, *a, **kw):
        if doc_id == "doc03":
            raise RuntimeError("boom in\nattribute")
        return real(doc_id, *a, **kw)

    monkeypatch.setattr(pc, "attribute", flaky)
    got = run([str(corpus)], tmp_path / "flagged.csv", cfg)
    assert got.documents == 5
    [skip] = got.skipped
    assert skip["doc_id"] == "doc03" and skip["line"] == 4
    assert skip["reason"] == "error: RuntimeError: boom in attribute"
    want_rows = [r for r in _rows(want.out_csv) if "doc03" not in (r["doc_a"], r["doc_b"])]
    assert _key(_rows(got.out_csv)) == _key(want_rows)
    manifest = json.loads(got.manifest.read_text())
    assert "doc03" not in manifest["documents"] and manifest["counts"]["skipped"] == 1
    assert got.top_skip_reasons == [("error: RuntimeError", 1)]


# ------------------------------------------------------------------ lock
def test_a_second_run_on_the_same_output_is_refused_at_once(tmp_path, cfg, ref):
    corpus, _ = ref
    out = tmp_path / "flagged.csv"
    with RunLock(out):
        with pytest.raises(RunLockedError) as err:
            run([str(corpus)], out, cfg)
    msg = str(err.value)
    assert f"pid {os.getpid()} on {socket.gethostname()}" in msg and "started" in msg
    assert not out.exists() and not out.with_name("flagged.csv.parts").exists()


def test_the_cli_exits_1_naming_the_other_run(tmp_path, ref, model):
    corpus, _ = ref
    out = tmp_path / "flagged.csv"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    with RunLock(out):
        r = subprocess.run([sys.executable, "-m", "pipeline.cli", "run", str(corpus), "-o", str(out),
                            "--model", str(model)], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 1, r.stderr
    assert "another run is writing this output" in r.stderr and f"pid {os.getpid()}" in r.stderr
    assert "Traceback" not in r.stderr


def test_a_stale_lock_of_a_dead_process_is_taken_over(tmp_path, cfg, ref):
    corpus, want = ref
    out = tmp_path / "flagged.csv"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    out.with_name("flagged.csv.lock").write_text(json.dumps(
        {"pid": int(dead), "host": socket.gethostname(), "started": "earlier"}))
    got = run([str(corpus)], out, cfg)
    assert _key(_rows(got.out_csv)) == _key(_rows(want.out_csv))
    assert not out.with_name("flagged.csv.lock").exists()


# ------------------------------------------------------------------ resume
def test_resume_refuses_a_changed_input_and_fresh_starts_over(tmp_path, cfg, ref):
    _, want = ref
    corpus = _corpus(tmp_path / "corpus.jsonl")
    out = tmp_path / "flagged.csv"
    with pytest.raises(Stop):
        run([str(corpus)], out, cfg, on_progress=_stop_after(1))  # doc00, doc01 committed
    # an interrupted run is in the way of a plain run
    with pytest.raises(ResumeError, match="--resume.*--fresh"):
        run([str(corpus)], out, cfg)
    lines = corpus.read_text().splitlines()
    lines[1] = json.dumps({"id": "doc01", "text": SENTENCES[5] + " " + SENTENCES[0]})
    corpus.write_text("\n".join(lines) + "\n")
    with pytest.raises(ResumeError, match="'doc01'.*changed.*fix: start over with --fresh"):
        run([str(corpus)], out, cfg, resume=True)
    got = run([str(corpus)], out, cfg, fresh=True)
    assert got.documents == 6 and not got.resumed
    manifest = json.loads(got.manifest.read_text())
    assert manifest["resumed"] is False


def test_resume_without_parts_is_not_reported_as_resumed(tmp_path, cfg, ref):
    corpus, _ = ref
    got = run([str(corpus)], tmp_path / "flagged.csv", cfg, resume=True)
    assert got.documents == 6 and got.resumed is False
    assert json.loads(got.manifest.read_text())["resumed"] is False


def test_parsing_ahead_changes_nothing_but_the_timings(tmp_path, cfg, ref):
    corpus, want = ref
    assert cfg.segment.prefetch is True  # the default: ref parsed each next batch in the background
    assert "parse_wait" in json.loads(want.manifest.read_text())["timings_s"]
    off = dataclasses.replace(cfg, segment=dataclasses.replace(cfg.segment, prefetch=False))
    got = run([str(corpus)], tmp_path / "flagged.csv", off)
    assert got.documents == 6
    assert _key(_rows(got.out_csv)) == _key(_rows(want.out_csv))
    assert "parse_wait" not in json.loads(got.manifest.read_text())["timings_s"]


def test_a_batch_whose_parse_ahead_raises_is_parsed_again(tmp_path, cfg, ref, monkeypatch):
    import pipeline.pipeline as pl

    corpus, want = ref
    real, calls = pl.Pipeline.parse, []

    def flaky(self, docs):
        calls.append([d.id for d in docs])
        if len(calls) == 2:  # the second batch, parsed ahead in the background thread
            raise RuntimeError("boom while parsing ahead")
        return real(self, docs)

    monkeypatch.setattr(pl.Pipeline, "parse", flaky)
    got = run([str(corpus)], tmp_path / "flagged.csv", cfg)
    assert got.documents == 6 and not got.skipped
    assert calls.count(calls[1]) == 2  # parsed again, in the main thread
    assert _key(_rows(got.out_csv)) == _key(_rows(want.out_csv))


def test_cross_document_resume_gives_identical_similarity(tmp_path, model):
    cfg = load_run_config(None, [f"score.model={model}", "batch_docs=2", "decide.threshold=0.0",
                                 "pair.cross_document=true", "pair.cross_min_similarity=0.3"])
    corpus = _corpus(tmp_path / "corpus.jsonl")
    ref = run([str(corpus)], tmp_path / "ref" / "flagged.csv", cfg)
    # threshold 0: every cross-document candidate is flagged, so the comparison below covers them
    assert sum(r["relation"] == "cross_document" for r in _rows(ref.out_csv)) == 30
    out = tmp_path / "out" / "flagged.csv"
    with pytest.raises(Stop):
        run([str(corpus)], out, cfg, on_progress=_stop_after(2))
    # a kill in the middle of writing the claim index: a torn last line
    parts = out.with_name("flagged.csv.parts")
    with (parts / "cross_claims.jsonl").open("a") as fh:
        fh.write('{"doc_id": "doc04", "id": "0.0", "sta')
    got = run([str(corpus)], out, cfg, resume=True)
    assert got.resumed is True
    assert _key(_rows(out)) == _key(_rows(ref.out_csv))  # similarity to the last digit
    manifest = json.loads(got.manifest.read_text())
    torn = len('{"doc_id": "doc04", "id": "0.0", "sta')
    assert manifest["recovered"] == [f"cross_claims.jsonl: dropped a torn last line ({torn} bytes)"]


# ------------------------------------------------------------------ outputs, model
def test_outputs_are_checked_before_any_work(tmp_path, cfg):
    corpus = _corpus(tmp_path / "corpus.jsonl")
    before = corpus.read_bytes()
    with pytest.raises(OutputError, match="one of the inputs"):
        run([str(corpus)], corpus, cfg)
    assert corpus.read_bytes() == before
    with pytest.raises(OutputError, match="is a folder"):
        run([str(corpus)], tmp_path, cfg)
    with pytest.raises(OutputError, match="is a file, not a folder"):
        run([str(corpus)], corpus / "sub" / "flagged.csv", cfg)
    with pytest.raises(OutputError, match="cannot write"):
        run([str(corpus)], Path("/proc/contradict-test/flagged.csv"), cfg)
    with pytest.raises(OutputError, match="one of the inputs"):
        run([str(corpus)], tmp_path / "x.csv", cfg, manifest=corpus)


def test_a_bad_model_is_refused_before_any_document_is_read(tmp_path, monkeypatch):
    import pipeline.pipeline as pl

    bad = build_tiny_model(tmp_path / "bad", {0: "positive", 1: "negative", 2: "mixed"})
    # every batch goes through the stage loop: it must never start
    monkeypatch.setattr(pl.Pipeline, "run_stages", lambda *a, **k: pytest.fail("a stage ran"))
    cfg = load_run_config(None, [f"score.model={bad}"])
    corpus = _corpus(tmp_path / "corpus.jsonl")
    with pytest.raises(ModelError, match="contradiction"):
        run([str(corpus)], tmp_path / "flagged.csv", cfg)
    assert not (tmp_path / "flagged.csv.parts").exists()


def test_dropped_pairs_are_counted(tmp_path, model):
    cfg = load_run_config(None, [f"score.model={model}", "batch_docs=3", "decide.threshold=0.0",
                                 "pair.max_pairs_per_doc=1", "pair.min_similarity=0.0"])
    corpus = _corpus(tmp_path / "corpus.jsonl")
    got = run([str(corpus)], tmp_path / "flagged.csv", cfg)
    manifest = json.loads(got.manifest.read_text())
    assert got.pairs == 6  # one per document
    # three claims from three sentences make three candidates a document: two dropped in each
    assert manifest["dropped"]["max_pairs_per_doc"] == got.dropped["max_pairs_per_doc"] == 2 * 6


def test_knn_pairs_reports_what_the_cap_drops():
    import numpy as np

    from pipeline.config import PairConfig
    from pipeline.stages.pairing import knn_pairs
    from pipeline.types import Claim

    claims = [Claim("d", f"{i}.0", 0, 1, f"c{i}", i) for i in range(4)]
    emb = np.eye(4, dtype=np.float32) + 0.5
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    stats: dict = {}
    pairs = knn_pairs(claims, emb, PairConfig(k=3, min_similarity=0.0, max_pairs_per_doc=2), stats)
    assert len(pairs) == 2 and stats == {"max_pairs_per_doc": 4}  # 6 unique pairs, 2 kept
    assert knn_pairs(claims, emb, PairConfig(k=3, min_similarity=0.0)) != []


# ------------------------------------------------------------------ CLI: summary, exit codes, progress
def test_cli_summary_and_exit_codes(tmp_path, ref, model):
    from pipeline.cli import app

    corpus, _ = ref
    out = tmp_path / "flagged.csv"
    r = CliRunner().invoke(app, ["run", str(corpus), "-o", str(out), "--model", str(model),
                                 "--threshold", "0", "--set", "batch_docs=2", "-q"])
    assert r.exit_code == 0, r.output + repr(r.exception)
    assert "6 documents, 0 skipped" in r.output and "flags per document:" in r.output
    assert "time per stage: " in r.output and "score " in r.output
    assert f"manifest: {tmp_path / 'flagged.manifest.json'}" in r.output
    assert (tmp_path / "flagged.manifest.json").is_file()
    # nothing processed: exit 2 with a message
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "a.txt").write_text("")
    r = CliRunner().invoke(app, ["run", str(empty), "-o", str(tmp_path / "e.csv"), "--model", str(model), "-q"])
    assert r.exit_code == 2, r.output
    assert "no document was processed" in r.output and "empty file (1)" in r.output


def test_progress_to_a_file_is_one_line_per_batch(tmp_path, ref, model):
    corpus, _ = ref
    err = tmp_path / "stderr.txt"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    with err.open("w") as fh:
        r = subprocess.run([sys.executable, "-m", "pipeline.cli", "run", str(corpus), "-o",
                            str(tmp_path / "flagged.csv"), "--model", str(model), "--set",
                            "batch_docs=2", "-v"], stdout=subprocess.PIPE, stderr=fh, text=True,
                           env=env, timeout=300)
    assert r.returncode == 0
    text = err.read_text()
    assert "\r" not in text
    lines = [ln for ln in text.splitlines() if ln.startswith("run | ")]
    assert [ln.split(" | ")[1] for ln in lines] == [
        "0/6 docs   0%", "2/6 docs  33%", "4/6 docs  67%", "6/6 docs 100%"]
    assert "claims" in lines[-1] and "flags" in lines[-1] and "ETA 0:00" in lines[-1]
    # -v: per-stage timings for every batch
    assert sum("run: batch of 2 docs: normalize" in ln for ln in text.splitlines()) == 3
    # -q: nothing
    r = subprocess.run([sys.executable, "-m", "pipeline.cli", "run", str(corpus), "-o",
                        str(tmp_path / "q.csv"), "--model", str(model), "-q"],
                       capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0 and "run | " not in r.stderr and "Loading weights" not in r.stderr


def test_progress_bar_on_a_terminal_redraws_in_place():
    import io

    from pipeline.run.progress import Progress

    buf = io.StringIO()
    p = Progress("eval pairs", "pairs", stream=buf, tty=True, min_interval=0)
    p.start_at = 0
    for i in (10, 20, 30):
        p.update(i, 30, {"files": 1})
    p.close()
    out = buf.getvalue()
    assert out.count("\r") == 3 and out.endswith("\n") and "30/30 pairs 100%" in out
    buf = io.StringIO()
    p = Progress("x", stream=buf, tty=False)
    p.update(3, None)
    assert buf.getvalue().startswith("x | 3 docs | ") and "ETA" not in buf.getvalue()
    buf = io.StringIO()
    Progress("x", stream=buf, enabled=False).update(1, 2)
    assert buf.getvalue() == ""


def test_count_total_is_cheap_and_honest(tmp_path):
    from pipeline.run.progress import count_total

    (tmp_path / "a.txt").write_text("x")
    (tmp_path / "b.jsonl").write_text('{"id": 1}\n{"id": 2}\n{"id": 3}')
    assert count_total([tmp_path]) == 4
    (tmp_path / "c.csv").write_text("id,text\n")
    assert count_total([tmp_path]) is None


def test_reading_and_counting_go_by_one_reader_table(tmp_path, monkeypatch):
    """ingest.READERS is the one suffix-to-reader table: a reader added there is both read
    in a folder and counted by the progress total."""
    from pipeline.run.progress import count_total
    from pipeline.stages import ingest
    from pipeline.types import Document

    def tsv(path, _id, cfg):
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
            doc_id, text = line.split("\t")
            yield Document(id=doc_id, text=text, origin=f"{path}:{i + 1}")

    (tmp_path / "a.txt").write_text("Talks are ongoing.", encoding="utf-8")
    (tmp_path / "b.tsv").write_text("t1\tIt rained.\nt2\tIt did not rain.\n", encoding="utf-8")
    items = list(ingest.iter_items([tmp_path]))
    assert [type(i).__name__ for i in items] == ["Skipped", "Document"]  # .tsv: unsupported
    assert count_total([tmp_path]) == 2  # one text document each, the .tsv's too
    monkeypatch.setitem(ingest.READERS, ".tsv", ingest.Reader(tsv, ingest.count_lines))
    assert [i.id for i in ingest.iter_items([tmp_path])] == ["a.txt", "t1", "t2"]
    assert count_total([tmp_path]) == 3


def test_eval_pairs_reports_progress_and_the_cli_draws_it(tmp_path, model):
    from pipeline.cli import app
    from pipeline.eval.pairs import eval_pairs

    data = tmp_path / "dev.jsonl"
    rows = [{"premise": "the dog runs .", "hypothesis": "the dog sleeps .", "label": lab}
            for lab in ("contradiction", "entailment", "neutral") * 3]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    calls = []
    eval_pairs(str(model), [str(data)], None, batch_size=4, on_progress=lambda d, t: calls.append((d, t)))
    assert calls[-1] == (9, 9) and [d for d, _ in calls] == sorted(d for d, _ in calls)
    r = CliRunner().invoke(app, ["eval", "pairs", "--model", str(model), "--data", str(data),
                                 "--batch-size", "4", "--no-diagnostics"])
    assert r.exit_code == 0, r.output
    assert "eval pairs | 9/9 pairs 100%" in r.output


def test_analyse_reports_documents_done():
    from pipeline.eval.docs import GoldDoc, analyse
    from pipeline.pipeline import BatchResult
    from pipeline.types import Document

    class Pipe:
        def process(self, docs):
            return BatchResult()

    gold = [GoldDoc(Document(f"d{i}", "x"), {}, []) for i in range(5)]
    calls = []
    analyse(Pipe(), gold, batch=2, on_progress=lambda d, t: calls.append((d, t)))
    assert calls == [(2, 5), (4, 5), (5, 5)]


def test_analyse_refuses_candidates_the_cascade_left_unscored():
    from pipeline.eval.docs import GoldDoc, analyse
    from pipeline.pipeline import BatchResult
    from pipeline.types import Document

    class Pipe:
        def process(self, docs):
            return BatchResult(scores=[None])

    with pytest.raises(ValueError, match="full_scoring"):
        analyse(Pipe(), [GoldDoc(Document("d0", "x"), {}, [])])


# ------------------------------------------------------------------ the Ray engine's glue, without a Ray cluster
class _FakeDataset:
    """Stands in for ray.data: rows go through the real PipelineActor, in this process."""

    def __init__(self, items, fn=None):
        self.items, self.fn = items, fn

    def map_batches(self, cls, fn_constructor_kwargs, batch_size, batch_format, compute, num_cpus):
        assert batch_size == 1 and batch_format == "numpy"
        return _FakeDataset(self.items, cls(**fn_constructor_kwargs))

    def iter_rows(self):
        import numpy as np

        for item in reversed(self.items):  # out of order, as an actor pool may complete them
            out = self.fn({"seq": np.array([item["seq"]]), "docs": np.array([item["docs"]], dtype=object)})
            for seq, result in zip(out["seq"], out["result"]):
                yield {"seq": seq, "result": result}


def test_ray_engine_glue_chunks_resumes_and_matches_local(tmp_path, cfg, ref, monkeypatch):
    pytest.importorskip("ray.data")
    import dataclasses

    import ray.data

    import pipeline.run.ray_data as rd

    corpus, want = ref
    chunks = []
    monkeypatch.setattr(ray.data, "from_items", lambda items, **kw: chunks.append(len(items)) or _FakeDataset(items))
    monkeypatch.setattr(rd, "_init_ray", lambda *a: False)
    monkeypatch.setenv("CONTRADICT_RAY_CHUNK_DOCS", "4")
    ray_cfg = dataclasses.replace(cfg, engine="ray")
    got = run([str(corpus)], tmp_path / "flagged.csv", ray_cfg)
    assert chunks == [2, 1]  # 6 documents, batches of 2, chunks of 4 documents: never all at once
    assert_same_flags(got.out_csv, want.out_csv)
    assert json.loads(got.manifest.read_text())["engine"] == "ray"
    # a local run interrupted after one batch, resumed on the Ray engine
    out = tmp_path / "resumed.csv"
    with pytest.raises(Stop):
        run([str(corpus)], out, cfg, on_progress=_stop_after(1))
    chunks.clear()
    got = run([str(corpus)], out, ray_cfg, resume=True)
    assert got.resumed and got.resumed_documents == 2 and chunks == [2]
    assert_same_flags(out, want.out_csv)
