"""Memory that must stay flat over a long stream (issue 27).

The fast test checks the cause that was found: ONNX Runtime's CPU memory arena kept the
largest buffers it had ever allocated, so a run's RSS climbed with each longer batch. The slow
one streams 5,000 generated articles through the run layer and bounds the RSS growth.
"""

from __future__ import annotations

import gc

import numpy as np
import pytest


def _rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _doubling_graph(path):
    import onnx
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", "d"])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", "d"])
    two = helper.make_tensor("two", TensorProto.FLOAT, [], [2.0])
    # two intermediate tensors as large as the input: the arena holds them between runs
    nodes = [helper.make_node("Mul", ["x", "two"], ["a"]), helper.make_node("Add", ["a", "x"], ["b"]),
             helper.make_node("Sub", ["b", "x"], ["y"])]
    graph = helper.make_graph(nodes, "double", [x], [y], initializer=[two])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))


@pytest.mark.skipif(not __import__("sys").platform.startswith("linux"), reason="reads /proc")
def test_onnx_sessions_give_large_buffers_back(tmp_path):
    """A run on a 128 MB input leaves no 128 MB buffers behind in the process (with the
    arena on, every such shape grew the arena for the rest of the run)."""
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    from pipeline.threads import ort_session_options

    _doubling_graph(tmp_path / "double.onnx")
    sess = ort.InferenceSession(str(tmp_path / "double.onnx"), ort_session_options(1),
                                providers=["CPUExecutionProvider"])
    sess.run(None, {"x": np.ones((4, 4), dtype=np.float32)})
    gc.collect()
    before = _rss_mb()
    x = np.ones((32 * 1024, 1024), dtype=np.float32)  # 128 MB
    y = sess.run(None, {"x": x})[0]
    assert float(y[0, 0]) == 2.0
    del x, y
    gc.collect()
    kept = _rss_mb() - before
    assert kept < 64, f"{kept:.0f} MB kept after the run (the arena holds its buffers)"


@pytest.mark.slow
@pytest.mark.skipif(not __import__("sys").platform.startswith("linux"), reason="reads /proc")
def test_rss_stays_flat_over_a_5000_article_stream(tmp_path):
    """5,000 generated articles through the run layer (scripts/bench.py's child run: models
    loaded once, the local engine, default settings) in their own process: the highest RSS of
    the second half stays within 10% of the highest of the first tenth, and under 1.5 GB."""
    import importlib.util
    import json
    import subprocess
    import sys

    from conftest import REPO, SHIPPED_MODEL

    if not (SHIPPED_MODEL / "config.json").is_file():
        pytest.skip("no shipped model")
    spec = importlib.util.spec_from_file_location("_bench", REPO / "scripts" / "bench.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    sources = bench.load_sources()
    docs = bench.make_corpus(sources, bench.person_names(sources), 5000, seed=27)
    corpus = tmp_path / "corpus.jsonl"
    bench.write_jsonl(corpus, docs)
    proc = subprocess.run([sys.executable, str(REPO / "scripts" / "bench.py"), "--child-run", str(corpus),
                           "--model", str(SHIPPED_MODEL), "--workdir", str(tmp_path), "--batch-docs", "32"],
                          capture_output=True, text=True, cwd=str(REPO))
    assert proc.returncode == 0, proc.stderr[-3000:]
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    assert res["documents"] == 5000
    rss = res["rss"]
    assert rss["growth_second_half_over_first_tenth"] <= 1.10, res["rss_mb_over_time"]
    assert res["peak_rss_mb"] <= 1536, res["rss_mb_over_time"]
