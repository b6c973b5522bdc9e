"""Ray engine: the same flagged pairs as the local runner on a few short articles, with a
tiny random model and threshold 0 so that every candidate pair is flagged."""

from __future__ import annotations

import csv
import json
import os
import sys
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")
pytest.importorskip("ray.data")

sys.path.insert(0, str(Path(__file__).resolve().parent))  # whatever pytest's import mode
from conftest import assert_same_flags, build_tiny_model, wait_for_lines  # noqa: E402

pytestmark = pytest.mark.ray

ARTICLES = {
    "talks.txt": (
        "Pakistan says talks with US continue\n\n"
        "ISLAMABAD (Wire) - Foreign Office spokesperson Muhammad Faisal said on Friday that "
        "talks with Washington were ongoing at all levels. \"Our engagement continues,\" he "
        "said. Defence Minister Khurram Dastgir said all military and intelligence "
        "cooperation with the United States had been suspended. He said the suspension would "
        "last until further notice.\n"
    ),
    "factory.txt": (
        "Workers fear closure of Brenton plant\n\n"
        "The company said the Brenton factory would stay open and that no jobs would be cut. "
        "Union leader Sarah Mills said the plant would close in March and that 400 workers "
        "would lose their jobs. The company denied that the factory was closing. Mills said "
        "management had told staff the closure was final.\n"
    ),
    "vote.txt": (
        "Electoral commission reports turnout of 61 percent\n\n"
        "The commission said turnout was 61 percent. Opposition leader Grace Achieng said "
        "turnout had been well under 50 percent. Achieng said the count had been rigged. "
        "The commission said every result sheet had been published.\n"
    ),
}

KEY = ("doc_a", "start_a", "end_a", "doc_b", "start_b", "end_b")


def _rows(path: Path) -> dict[tuple, dict]:
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    out = {tuple(r[k] for k in KEY): r for r in rows}
    assert len(out) == len(rows), "duplicate flagged pairs"
    return out


@pytest.fixture(scope="module")
def ray_local():
    """A local one-CPU Ray instance (never a cluster named by RAY_ADDRESS)."""
    address = os.environ.pop("RAY_ADDRESS", None)
    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False)
    try:
        yield ray
    finally:
        if started:
            ray.shutdown()
        if address is not None:
            os.environ["RAY_ADDRESS"] = address


def _cfg(model, *extra):
    from pipeline.config import load_run_config

    # torch for both models: dynamic int8 (the auto backend) depends on a batch's mates
    return load_run_config(None, [f"score.model={json.dumps(str(model))}", "score.backend=torch",
                                  "topics.backend=torch",
                                  "score.device=cpu", "decide.threshold=0.0", "batch_docs=2",
                                  *extra])


def test_ray_matches_local(tmp_path, ray_local, monkeypatch):
    from pipeline.run import run

    monkeypatch.setenv("CONTRADICT_RAY_ACTORS", "1")
    model = build_tiny_model(tmp_path / "tiny", spelling=True)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, text in ARTICLES.items():
        (corpus / name).write_text(text, encoding="utf-8")
    (corpus / "empty.txt").write_text("", encoding="utf-8")  # a skipped document

    local = run([str(corpus)], tmp_path / "local" / "flags.csv", _cfg(model))
    remote = run([str(corpus)], tmp_path / "ray" / "flags.csv", _cfg(model, "engine=ray"))

    assert local.flags == local.pairs > 0, "threshold 0 should flag every candidate pair"
    assert (remote.documents, remote.claims, remote.pairs, remote.flags) == (
        local.documents, local.claims, local.pairs, local.flags)
    assert remote.documents == len(ARTICLES)
    assert [s["reason"] for s in remote.skipped] == [s["reason"] for s in local.skipped] == ["empty file"]

    a, b = _rows(local.out_csv), _rows(remote.out_csv)
    assert set(a) == set(b)
    for k in a:
        assert abs(float(a[k]["score"]) - float(b[k]["score"])) < 1e-4, k
        assert a[k]["claim_a"] == b[k]["claim_a"] and a[k]["relation"] == b[k]["relation"]
    scores = [float(r["score"]) for r in _rows(remote.out_csv).values()]
    assert scores == sorted(scores, reverse=True)

    ml = json.loads(local.manifest.read_text(encoding="utf-8"))
    mr = json.loads(remote.manifest.read_text(encoding="utf-8"))
    assert local.manifest.name == "flags.manifest.json"
    assert set(mr) == set(ml)
    assert mr["counts"] == ml["counts"] and mr["documents"] == ml["documents"]
    assert mr["engine"] == "ray" and ml["engine"] == "local"
    assert "score" in mr["timings_s"] and "total" in mr["timings_s"]
    assert not (tmp_path / "ray" / "flags.csv.parts").exists()


def test_ray_with_cross_document_is_refused_when_the_config_is_built():
    from pipeline.config import load_run_config
    from pipeline.errors import ConfigError

    with pytest.raises(ConfigError, match="cross-document.*fix: run with --engine local"):
        load_run_config(None, ["pair.cross_document=true", "engine=ray"])


def test_ray_does_not_touch_a_local_runs_parts(tmp_path, ray_local):
    """An interrupted local run's parts are refused (not deleted) by a Ray run without
    --resume, and continued by one with --resume."""
    from pipeline.errors import ResumeError
    from pipeline.run import run

    model = build_tiny_model(tmp_path / "tiny", spelling=True)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, text in ARTICLES.items():
        (corpus / name).write_text(text, encoding="utf-8")
    ref = run([str(corpus)], tmp_path / "ref" / "flags.csv", _cfg(model))
    out = tmp_path / "out" / "flags.csv"

    class Stop(Exception):
        pass

    def stop_after_first_batch(p):
        if p.batch_docs:
            raise Stop()

    with pytest.raises(Stop):
        run([str(corpus)], out, _cfg(model), on_progress=stop_after_first_batch)
    parts = out.with_name(out.name + ".parts")
    committed = (parts / "progress.jsonl").read_text()
    with pytest.raises(ResumeError, match="--resume.*--fresh"):
        run([str(corpus)], out, _cfg(model, "engine=ray"))
    assert (parts / "progress.jsonl").read_text() == committed
    resumed = run([str(corpus)], out, _cfg(model, "engine=ray"), resume=True)
    assert resumed.resumed and resumed.resumed_documents == 2
    assert _rows(out).keys() == _rows(ref.out_csv).keys()


# ------------------------------------------------------------------ slow: bigger corpus, kill -9
NAMES = ["Khurram Dastgir", "Maria Lopez", "David Chen", "Grace Achieng", "Sarah Mills",
         "Muhammad Faisal", "Samuel Kiprono", "Farida Nasser"]
TEMPLATES = [
    "{a} said all cooperation with the United States was suspended.",
    '"Talks between the two sides are ongoing at all levels," said {b}.',
    "{a} said {n} jobs would be cut at the plant.",
    "{b} said the plant would stay open and no jobs would be cut.",
    "The commission said turnout was {n} percent.",
    "{a} claimed that turnout was under {m} percent, a claim {b} denied.",
    "{b} said the shipment of {n} doses had arrived on time.",
    "{a} said far fewer doses had arrived.",
]


def generated_corpus(path: Path, n: int) -> Path:
    """n short articles recombined from templates and names (deterministic)."""
    import random

    with path.open("w", encoding="utf-8") as fh:
        for i in range(n):
            rng = random.Random(i)
            a, b = rng.sample(NAMES, 2)
            sents = [t.format(a=a, b=b, n=rng.randint(10, 900), m=rng.randint(10, 90))
                     for t in rng.sample(TEMPLATES, rng.randint(3, 5))]
            fh.write(json.dumps({"id": f"gen{i:04d}", "text": " ".join(sents)}) + "\n")
    return path


@pytest.mark.slow
def test_ray_and_local_give_identical_csvs_on_sample_and_200_articles(tmp_path, ray_local):
    import torch

    from pipeline.run import run

    # the same float arithmetic as the one-CPU actor (thread counts change the last bits)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    model = build_tiny_model(tmp_path / "tiny", spelling=True)
    corpus = generated_corpus(tmp_path / "gen.jsonl", 200)
    sample = Path(__file__).resolve().parent.parent / "data" / "sample"
    try:
        for name, inputs in (("sample", [str(sample)]), ("gen200", [str(corpus)])):
            cfg = _cfg(model, "batch_docs=16")
            local = run(inputs, tmp_path / name / "local.csv", cfg)
            remote = run(inputs, tmp_path / name / "ray.csv", _cfg(model, "batch_docs=16", "engine=ray"))
            assert local.flags == local.pairs > 0  # threshold 0: every pair is flagged
            assert_same_flags(remote.out_csv, local.out_csv)
    finally:
        torch.set_num_threads(threads)


KILL_SCRIPT = """
import sys, time
from pipeline.config import load_run_config
from pipeline.run import run
cfg = load_run_config(None, sys.argv[3:])
run([sys.argv[1]], sys.argv[2], cfg, on_progress=lambda p: time.sleep(1.5))
"""


@pytest.mark.slow
def test_ray_kill_9_then_resume_gives_the_rows_of_an_uninterrupted_run(tmp_path, ray_local):
    import signal
    import subprocess
    import sys

    from pipeline.run import run

    model = build_tiny_model(tmp_path / "tiny", spelling=True)
    corpus = generated_corpus(tmp_path / "gen.jsonl", 12)
    ref = run([str(corpus)], tmp_path / "ref" / "flags.csv", _cfg(model, "engine=ray"))
    out = tmp_path / "killed" / "flags.csv"
    overrides = [f"score.model={json.dumps(str(model))}", "score.backend=torch",
                 "topics.backend=torch", "score.device=cpu",
                 "decide.threshold=0.0", "batch_docs=2", "engine=ray"]
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    env.pop("RAY_ADDRESS", None)
    proc = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, str(corpus), str(out), *overrides],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    progress = out.with_name(out.name + ".parts") / "progress.jsonl"
    try:
        wait_for_lines(proc, progress, 2, timeout=600)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # the driver's own Ray processes
        except ProcessLookupError:
            pass
    assert not out.exists()
    committed = progress.read_text().count("\n")
    assert 2 <= committed < 6
    resumed = run([str(corpus)], out, _cfg(model, "engine=ray"), resume=True)
    assert resumed.resumed and resumed.documents == 12
    assert _rows(out).keys() == _rows(ref.out_csv).keys()
    assert_same_flags(out, ref.out_csv)
