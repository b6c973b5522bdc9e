#!/usr/bin/env python
"""Benchmarks: throughput, memory and scaling of the pipeline; onnx int8 vs torch fp32;
the pipeline vs a naive all-pairs baseline. Run by ``make bench``.

The sizes are timed on real news, ``../shared/data/news/fnc1_train_bodies.jsonl`` (1,673 FNC-1
bodies, repeated with fresh ids past its end) when it is present (``--corpus``), else on
articles generated in memory from ``data/sample/*.txt`` and ``data/labelled/{dev,test}.jsonl``
by recombining paragraphs, swapping speaker names and perturbing figures (deterministic
for a seed); the report says which. For each size the local streaming runner runs on a JSONL
file of the corpus in its own subprocess (so sizes do not share memory) with the onnx
backend, and records its RSS after every batch and its CPU time. A separate child
(``--profile-docs``) splits wall and CPU time by stage, and the naive all-sentence-pairs
baseline runs on the same articles (``--baseline-docs``).

Usage:
    python scripts/bench.py                       # sizes 100,1000,10000 (long)
    python scripts/bench.py --quick --model /tmp/smoke
    python scripts/bench.py --sizes 100,1000 --out out/bench.json

Each size runs with the default settings (``score.backend`` and ``topics.backend`` auto:
the onnx exports, built first if missing) and reports a per-stage profile (parse, attribute,
evidence, embed, topics, pair, NLI, decide, write, other: seconds and share of the run).

Targets (issue 12; measured, never assumed): >= 10 articles/s end to end at 1,000 articles;
NLI >= 700 claim pairs/s (int8); embedder >= 3x its torch speed; pipeline >= 3x faster per
article than the naive all-sentence-pairs baseline at equal or better recall on
data/labelled/test; pairs per claim flat (<= 1.2x) from 1,000 to 10,000; peak RSS <= 1.5 GB
at 10,000. Also kept: onnx/torch NLI >= 2x with SNLI accuracy within 1 point.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SNLI_DEFAULT = ROOT.parent / "shared" / "data" / "nli" / "test" / "snli_test.jsonl"

FIRST_NAMES = ("Amara Bilal Carmen Dmitri Elena Farid Greta Hiroshi Ines Jonas Kavya Luca Maren "
               "Nadia Omar Priya Quentin Rosa Samir Tamsin Umar Vera Wanjiru Xavier Yusuf Zara").split()
LAST_NAMES = ("Abara Bergstrom Castellano Dimitrov Eze Fonseca Gallo Haddad Ibsen Jovanovic Kamau "
              "Lindqvist Moreau Nakamura Okafor Petrov Quispe Rahman Sato Tremblay Usman Varga "
              "Whitlock Xu Yilmaz Zielinski").split()
WARMUP_TEXT = ("Minister Ana Reyes said on Monday that the bridge would open in May. "
               "Engineers said the bridge would not open before October.")


# ---------------------------------------------------------------------------- corpus
def source_texts(root: Path = ROOT) -> list[tuple[str, str]]:
    """(id, text) of the articles the benchmarks are built from: data/sample/*.txt and the
    texts of data/labelled/{dev,test}.jsonl (also read by scripts/bench_long.py)."""
    texts: list[tuple[str, str]] = []
    for p in sorted((root / "data" / "sample").glob("*.txt")):
        texts.append((p.stem, p.read_text(encoding="utf-8")))
    for split in ("dev", "test"):
        f = root / "data" / "labelled" / f"{split}.jsonl"
        if f.is_file():
            for line in f.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    obj = json.loads(line)
                    if isinstance(obj.get("text"), str):
                        texts.append((str(obj.get("id", len(texts))), obj["text"]))
    return texts


def load_sources(root: Path = ROOT) -> list[dict]:
    """Source articles: {"id", "paragraphs"}; the first paragraph is the headline."""
    sources = []
    for sid, text in source_texts(root):
        paras = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
        paras = [p for p in paras if len(p) > 1 and p not in ("|", "READ MORE")]
        if len(paras) >= 3:
            sources.append({"id": sid, "paragraphs": paras})
    if not sources:
        raise SystemExit("no source articles in data/sample or data/labelled")
    return sources


def person_names(sources: list[dict], spacy_model: str = "auto") -> list[str]:
    """PERSON entities in the sources (longest first), for name swapping."""
    from pipeline.stages.nlp import load_spacy

    nlp = load_spacy(spacy_model)
    names: set[str] = set()
    for src in sources:
        for doc in nlp.pipe(src["paragraphs"], batch_size=32):
            for ent in doc.ents:
                t = ent.text.strip()
                # two or three capitalised words: single tokens are too often places
                if ent.label_ == "PERSON" and re.fullmatch(r"[A-Z][\w'’.-]+(?: [A-Z][\w'’.-]+){1,2}", t) \
                        and not t.isupper():
                    names.add(t)
    return sorted(names, key=lambda s: (-len(s), s))


_NUM = re.compile(r"(?<![\w.])(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(?![\w])")


def perturb_figures(text: str, rng: random.Random, p: float = 0.5) -> str:
    """Scale some figures by 0.6..1.4, keeping their format; years are left alone."""
    def repl(m: re.Match) -> str:
        whole, frac = m.group(1), m.group(2) or ""
        value = int(whole.replace(",", ""))
        if (not frac and "," not in whole and 1900 <= value <= 2100) or rng.random() > p:
            return m.group(0)
        new = float(whole.replace(",", "") + frac) * rng.uniform(0.6, 1.4)
        if frac:
            return f"{new:.{len(frac) - 1}f}"
        n = max(1, round(new))
        return f"{n:,}" if "," in whole else str(n)

    return _NUM.sub(repl, text)


def swap_names(text: str, names: list[str], rng: random.Random) -> str:
    """Replace each known person name (and its surname alone) by a random fictional one."""
    present = [n for n in names if n in text]
    if not present:
        return text
    mapping: dict[str, str] = {}
    for n in present:
        new = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
        mapping[n] = new
        parts = n.split()
        if len(parts) > 1:
            mapping.setdefault(parts[-1], new.split()[-1])
    pattern = re.compile(r"\b(" + "|".join(re.escape(k) for k in sorted(mapping, key=len, reverse=True)) + r")\b")
    return pattern.sub(lambda m: mapping[m.group(1)], text)


REAL_DEFAULT = ROOT.parent / "shared" / "data" / "news" / "fnc1_train_bodies.jsonl"


def real_corpus(path: Path, n: int) -> list[dict]:
    """n real articles from a JSONL corpus ({"id", "text"} a line), repeated in order with fresh
    ids past its end (the 10,000-article size from 1,673 FNC-1 bodies)."""
    base = [json.loads(line) for line in path.open(encoding="utf-8") if line.strip()]
    return [{"id": f"{base[i % len(base)]['id']}#{i // len(base)}", "text": base[i % len(base)]["text"]}
            for i in range(n)]


def make_corpus(sources: list[dict], names: list[str], n: int, seed: int = 13) -> list[dict]:
    """n articles: a source's headline and 5-12 of its paragraphs in order, plus 0-2 paragraphs
    from another source, names swapped and figures perturbed. Deterministic for a seed."""
    docs = []
    for i in range(n):
        rng = random.Random(f"{seed}:{i}")
        src = sources[rng.randrange(len(sources))]
        body = src["paragraphs"][1:]
        k = min(len(body), rng.randint(5, 12))
        chosen = [body[j] for j in sorted(rng.sample(range(len(body)), k))]
        other = sources[rng.randrange(len(sources))]
        for _ in range(rng.randint(0, 2)):
            para = rng.choice(other["paragraphs"][1:] or other["paragraphs"])
            chosen.insert(rng.randint(1, len(chosen)), para)
        text = "\n\n".join([src["paragraphs"][0]] + chosen) + "\n"
        text = perturb_figures(swap_names(text, names, rng), rng)
        docs.append({"id": f"bench-{i:05d}", "title": text.split("\n", 1)[0][:200],
                     "source": f"bench:{src['id']}", "text": text})
    return docs


def write_jsonl(path: Path, docs: list[dict]) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for d in docs:
            fh.write(json.dumps(d, ensure_ascii=False) + "\n")


# ---------------------------------------------------------------------------- helpers
def run_cfg(model: str, backend: str = "auto", batch_docs: int = 32):
    from pipeline.config import load_run_config

    return load_run_config(None, [f"score.model={json.dumps(model)}", f"score.backend={backend}",
                                  "score.device=cpu", f"batch_docs={batch_docs}"])


def peak_rss_mb_self() -> float:
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 1024 if sys.platform != "darwin" else kb / 1024 / 1024


def ensure_onnx(model: str) -> None:
    from pipeline.nli.model import ONNX_FILE

    if not (Path(model) / ONNX_FILE).is_file():
        from pipeline.nli.export import export

        print(f"note: no {ONNX_FILE} in {model}; exporting it now", file=sys.stderr)
        export(model, quantize=True)


# ---------------------------------------------------------------------------- child: one size
def child_run(jsonl: str, model: str, workdir: str, batch_docs: int) -> dict:
    """Run the streaming runner on one corpus (in its own process); return the figures."""
    from pipeline.pipeline import Pipeline
    from pipeline.run import run
    from pipeline.types import Document

    cfg = run_cfg(model, "auto", batch_docs)
    t = time.perf_counter()
    pipe = Pipeline(cfg)
    pipe.process([Document("warmup", WARMUP_TEXT)])  # load spaCy, embedder, NLI model
    load_s = time.perf_counter() - t
    models = pipe.describe()
    rss: list[list[float]] = []  # [documents done, seconds, RSS MB] after every batch
    t = time.perf_counter()
    c = time.process_time()
    summary = run([jsonl], Path(workdir) / "flags.csv", cfg, pipeline=pipe,
                  on_progress=lambda p: rss.append([p.done, round(time.perf_counter() - t, 1),
                                                    round(_rss_mb(), 1)]))
    wall = time.perf_counter() - t
    cpu = time.process_time() - c
    man = json.loads(Path(summary.manifest).read_text(encoding="utf-8"))
    tim = man["timings_s"]
    score_s = tim.get("score", 0.0)
    return {
        "documents": summary.documents, "skipped": len(summary.skipped),
        "claims": summary.claims, "pairs": summary.pairs, "flags": summary.flags,
        "load_s": round(load_s, 2), "run_s": round(wall, 2),
        "articles_per_s": round(summary.documents / wall, 3) if wall else None,
        "articles_per_s_incl_load": round(summary.documents / (wall + load_s), 3),
        "claims_per_article": round(summary.claims / max(1, summary.documents), 2),
        "pairs_per_claim": round(summary.pairs / max(1, summary.claims), 3),
        "nli_pairs": man["counts"].get("nli_pairs", summary.pairs),  # the rest: left out by the cascade
        "nli_share": round(man["counts"].get("nli_pairs", summary.pairs) / max(1, summary.pairs), 3),
        "nli_confirmed": man["counts"].get("nli_confirmed", 0),
        "score_s": score_s,
        "nli_pairs_per_s": (round(2 * man["counts"].get("nli_pairs", summary.pairs) / score_s, 1)
                            if score_s else None),
        "timings_s": tim,
        "profile": stage_profile(tim, wall),
        "backends": {"nli": models["nli"]["backend"], "embedder": models["embedder"]["backend"],
                     "threads": models["nli"]["threads"]},
        "cpu_s": round(cpu, 1), "cpu_s_per_article": round(cpu / max(1, summary.documents), 4),
        "peak_rss_mb": round(peak_rss_mb_self(), 1),
        "rss": rss_summary(rss),
        "rss_mb_over_time": rss,
    }


def rss_summary(samples: list[list[float]]) -> dict:
    """RSS after the first batch, at a tenth and at half of the run, at the end, and the
    growth of the second half's highest RSS over the first tenth's (flat: about 1.0)."""
    if not samples:
        return {}
    n = samples[-1][0] or 1

    def at(frac: float) -> float:
        return next((r for d, _, r in samples if d >= frac * n), samples[-1][2])

    first = max((r for d, _, r in samples if d <= 0.1 * n), default=samples[0][2])
    second = max((r for d, _, r in samples if d >= 0.5 * n), default=samples[-1][2])
    return {"first_batch_mb": samples[min(1, len(samples) - 1)][2], "tenth_mb": at(0.1),
            "half_mb": at(0.5), "last_mb": samples[-1][2],
            "growth_second_half_over_first_tenth": round(second / max(1e-9, first), 3)}


def child_profile(jsonl: str, model: str, limit: int, batch_docs: int) -> dict:
    """Wall and CPU seconds per stage, each stage's own time (what it calls is counted
    under the callee): the batches in this process one after another, without the parse
    prefetch, so that the process's CPU time splits cleanly between stages. The model calls
    are named after the stage that made them (``embed[score]``: the word embeddings of the
    NLI cascade; ``embed[confirm]``, ``NLI[confirm]``: one text or pair per call)."""
    import dataclasses

    from pipeline.nli.model import NLIModel
    from pipeline.pipeline import STAGES, Pipeline
    from pipeline.run.batches import process_batch
    from pipeline.stages.embedder import Embedder
    from pipeline.types import Document

    base = run_cfg(model, "auto", batch_docs)
    cfg = dataclasses.replace(base, segment=dataclasses.replace(base.segment, prefetch=False))
    stats: dict[str, list[float]] = {}
    stack: list[list] = []  # [name, wall, cpu, children wall, children cpu]

    def wrap(owner, attr: str, name: str, by_caller: bool = False) -> None:
        orig = getattr(owner, attr)

        def timed(*a, **k):
            label = f"{name}[{stack[-1][0]}]" if by_caller and stack else name
            stack.append([label, time.perf_counter(), time.process_time(), 0.0, 0.0])
            try:
                return orig(*a, **k)
            finally:
                lab, w0, c0, cw, cc = stack.pop()
                w, c = time.perf_counter() - w0, time.process_time() - c0
                st = stats.setdefault(lab, [0.0, 0.0, 0])
                st[0] += w - cw
                st[1] += c - cc
                st[2] += 1
                if stack:
                    stack[-1][3] += w
                    stack[-1][4] += c

        setattr(owner, attr, timed)

    for stage in STAGES:  # every stage by its name, from the pipeline's one list
        wrap(stage, "__call__", stage.name)
    wrap(Embedder, "encode", "embed", by_caller=True)
    wrap(NLIModel, "predict", "NLI", by_caller=True)
    pipe = Pipeline(cfg)
    pipe.process([Document("warmup", WARMUP_TEXT)])
    stats.clear()
    docs = [Document(d["id"], d["text"]) for d in
            (json.loads(line) for line in Path(jsonl).open(encoding="utf-8") if line.strip())][:limit]
    t, c = time.perf_counter(), time.process_time()
    for i in range(0, len(docs), batch_docs):
        process_batch(pipe, docs[i:i + batch_docs], i // batch_docs)
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    rows = [{"stage": k, "wall_s": round(v[0], 2), "cpu_s": round(v[1], 2), "calls": v[2],
             "cpu_ms_per_article": round(1000 * v[1] / max(1, len(docs)), 1)}
            for k, v in sorted(stats.items(), key=lambda kv: -kv[1][1])]
    return {"articles": len(docs), "wall_s": round(wall, 1), "cpu_s": round(cpu, 1),
            "cpu_ms_per_article": round(1000 * cpu / max(1, len(docs)), 1),
            "articles_per_s": round(len(docs) / wall, 2), "stages": rows,
            "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()}


def run_profile(docs: list[dict], model: str, batch_docs: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-profile-") as tmp:
        jsonl = Path(tmp) / "corpus.jsonl"
        write_jsonl(jsonl, docs)
        proc = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), "--child-profile", str(jsonl),
             "--model", model, "--limit", str(len(docs)), "--batch-docs", str(batch_docs)],
            capture_output=True, text=True, cwd=str(ROOT))
    if proc.returncode != 0:
        raise SystemExit(f"the stage profile failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def cpu_profile_report(prof: dict) -> str:
    head = (f"\nCPU per stage ({prof['articles']} articles, batches one after another without the "
            f"parse prefetch, {prof['cores']} cores): {prof['cpu_ms_per_article']} ms CPU per article, "
            f"{prof['articles_per_s']} articles/s in this mode")
    return head + "\n" + table(["stage", "wall s", "CPU s", "CPU ms/article", "calls"],
                               [[r["stage"], r["wall_s"], r["cpu_s"], r["cpu_ms_per_article"], r["calls"]]
                                for r in prof["stages"]])


def run_size(size: int, docs: list[dict], model: str, batch_docs: int) -> dict:
    with tempfile.TemporaryDirectory(prefix=f"bench-{size}-") as tmp:
        jsonl = Path(tmp) / "corpus.jsonl"
        write_jsonl(jsonl, docs)
        t = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), "--child-run", str(jsonl),
             "--model", model, "--workdir", tmp, "--batch-docs", str(batch_docs)],
            capture_output=True, text=True, cwd=str(ROOT),
        )
        total = time.perf_counter() - t
        children_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if proc.returncode != 0:
        raise SystemExit(f"size {size}: the benchmark run failed:\n{proc.stderr[-4000:]}")
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    res["size"] = size
    res["process_wall_s"] = round(total, 2)
    res["children_max_rss_mb"] = round(children_kb / 1024, 1)  # max over all children so far
    return res


# ---------------------------------------------------------------------------- Ray driver memory
def _rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def child_ray_run(jsonl: str, model: str, workdir: str, batch_docs: int) -> dict:
    """A Ray-engine run on one corpus (its own process): the driver's RSS after every batch."""
    from pipeline.run import run

    import dataclasses

    cfg = dataclasses.replace(run_cfg(model, "onnx", batch_docs), engine="ray")
    samples: list[float] = []
    t = time.perf_counter()
    summary = run([jsonl], Path(workdir) / "flags.csv", cfg,
                  on_progress=lambda p: samples.append(_rss_mb()))
    wall = time.perf_counter() - t
    return {"documents": summary.documents, "flags": summary.flags, "run_s": round(wall, 1),
            "driver_rss_mb_first_batch": round(samples[1] if len(samples) > 1 else samples[0], 1),
            "driver_rss_mb_last_batch": round(samples[-1], 1),
            "driver_peak_rss_mb": round(peak_rss_mb_self(), 1)}


def ray_driver_memory(sizes: list[int], sources: list[dict], names: list[str], model: str,
                      batch_docs: int, seed: int) -> list[dict]:
    """Ray's driver memory at each corpus size (``--ray-memory``): it reads documents a chunk
    at a time (CONTRADICT_RAY_CHUNK_DOCS), so its peak RSS should not grow with the corpus."""
    out = []
    for size in sizes:
        print(f"ray driver memory, {size} articles: running ...", file=sys.stderr, flush=True)
        with tempfile.TemporaryDirectory(prefix=f"bench-ray-{size}-") as tmp:
            jsonl = Path(tmp) / "corpus.jsonl"
            write_jsonl(jsonl, make_corpus(sources, names, size, seed))
            proc = subprocess.run(
                [sys.executable, str(Path(__file__).resolve()), "--child-ray", str(jsonl),
                 "--model", model, "--workdir", tmp, "--batch-docs", str(batch_docs)],
                capture_output=True, text=True, cwd=str(ROOT))
        if proc.returncode != 0:
            raise SystemExit(f"ray size {size}: the run failed:\n{proc.stderr[-4000:]}")
        res = {"size": size, **json.loads(proc.stdout.strip().splitlines()[-1])}
        print(f"ray driver memory, {size} articles: peak RSS {res['driver_peak_rss_mb']} MB "
              f"(after the first batch {res['driver_rss_mb_first_batch']} MB, after the last "
              f"{res['driver_rss_mb_last_batch']} MB), {res['run_s']} s", file=sys.stderr, flush=True)
        out.append(res)
    return out


# ---------------------------------------------------------------------------- backends
def corpus_pairs(docs: list[dict], model: str, n: int) -> list[tuple[str, str]]:
    """Up to n candidate claim pairs (NLI texts) from the pipeline's pairing stage."""
    from pipeline.nli.text import nli_text
    from pipeline.pipeline import Pipeline
    from pipeline.types import Document

    pipe = Pipeline(run_cfg(model, "onnx"))
    out: list[tuple[str, str]] = []
    for i in range(0, len(docs), 16):
        batch = [Document(d["id"], d["text"]) for d in docs[i:i + 16]]
        res = pipe.pair(pipe.extract(batch))
        out.extend((nli_text(p.a), nli_text(p.b)) for p in res.pairs)
        if len(out) >= n:
            break
    return out[:n]


def read_snli(path: Path, limit: int) -> list[tuple[str, str, str]]:
    from pipeline.nli.model import LABELS

    rows = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            obj = json.loads(line)
            lab = str(obj.get("label", "")).strip().lower()
            if lab in LABELS and obj.get("premise") and obj.get("hypothesis"):
                rows.append((obj["premise"], obj["hypothesis"], lab))
                if limit and len(rows) >= limit:
                    break
    return rows


def compare_backends(pairs: list[tuple[str, str]], model: str, snli: Path, snli_limit: int) -> dict:
    import numpy as np

    from pipeline.config import ScoreConfig
    from pipeline.nli.model import LABELS, NLIModel

    sc = ScoreConfig()
    out: dict = {"pairs": len(pairs), "directions": 2}
    probs = {}
    models = {}
    for backend in ("torch", "onnx"):
        t = time.perf_counter()
        m = NLIModel(model, backend=backend, device="cpu", max_length=sc.max_length,
                     batch_size=sc.batch_size, token_budget=sc.token_budget)
        load = time.perf_counter() - t
        m.predict(pairs[:32])  # warm-up
        t = time.perf_counter()
        ab, ba = m.predict_both(pairs)
        dt = time.perf_counter() - t
        probs[backend] = np.concatenate([ab, ba])
        models[backend] = m
        out[backend] = {"load_s": round(load, 2), "score_s": round(dt, 2),
                        "pairs_per_s": round(2 * len(pairs) / dt, 1) if dt else None}
    if out["torch"]["pairs_per_s"] and out["onnx"]["pairs_per_s"]:
        out["speedup_onnx_vs_torch"] = round(out["onnx"]["pairs_per_s"] / out["torch"]["pairs_per_s"], 2)
    if len(pairs):
        out["argmax_agreement"] = round(float((probs["torch"].argmax(1) == probs["onnx"].argmax(1)).mean()), 4)
        out["max_abs_prob_diff"] = round(float(np.abs(probs["torch"] - probs["onnx"]).max()), 4)
    if snli.is_file():
        rows = read_snli(snli, snli_limit)
        gold = np.array([LABELS.index(r[2]) for r in rows])
        out["snli"] = {"file": str(snli), "rows": len(rows)}
        for backend, m in models.items():
            t = time.perf_counter()
            p = m.predict([(r[0], r[1]) for r in rows])
            out["snli"][backend] = {"accuracy": round(float((p.argmax(1) == gold).mean()), 4),
                                    "pairs_per_s": round(len(rows) / (time.perf_counter() - t), 1)}
        out["snli"]["accuracy_diff_points"] = round(
            100 * (out["snli"]["onnx"]["accuracy"] - out["snli"]["torch"]["accuracy"]), 2)
    else:
        out["snli"] = {"note": f"{snli} not found; accuracy comparison skipped"}
    return out


# ---------------------------------------------------------------------------- baseline
def naive_baseline(docs: list[dict], model: str, spacy_model: str = "auto") -> dict:
    """Every pair of spaCy sentences in each article, both directions, onnx model."""
    from pipeline.config import ScoreConfig
    from pipeline.nli.model import NLIModel
    from pipeline.stages.normalize import normalize
    from pipeline.stages.nlp import load_spacy

    sc = ScoreConfig()
    nlp = load_spacy(spacy_model)
    m = NLIModel(model, backend="onnx", max_length=sc.max_length, batch_size=sc.batch_size,
                 token_budget=sc.token_budget)
    m.predict([("warm up", "warm up")])
    t = time.perf_counter()
    n_pairs = n_sents = 0
    for d in docs:
        sents = [s.text.strip() for s in nlp(normalize(d["text"]).text).sents if len(s.text.strip()) > 1]
        n_sents += len(sents)
        pairs = list(itertools.combinations(sents, 2))
        n_pairs += len(pairs)
        m.predict_both(pairs)
    dt = time.perf_counter() - t
    n = max(1, len(docs))
    return {"articles": len(docs), "sentences": n_sents, "pairs": n_pairs,
            "pairs_per_article": round(n_pairs / n, 1), "inferences": 2 * n_pairs,
            "wall_s": round(dt, 2), "s_per_article": round(dt / n, 3)}


def pipeline_on(docs: list[dict], model: str) -> dict:
    """The pipeline in-process on docs (used when no size run matches the baseline corpus)."""
    from pipeline.pipeline import Pipeline
    from pipeline.types import Document

    pipe = Pipeline(run_cfg(model, "onnx"))
    pipe.process([Document("warmup", WARMUP_TEXT)])
    t = time.perf_counter()
    pairs = 0
    for i in range(0, len(docs), 32):
        pairs += len(pipe.process([Document(d["id"], d["text"]) for d in docs[i:i + 32]]).pairs)
    dt = time.perf_counter() - t
    return {"documents": len(docs), "pairs": pairs, "run_s": round(dt, 2)}


# ---------------------------------------------------------------------------- profile (issue 12)
def profile_stages() -> tuple[tuple[str, bool], ...]:
    """(name, runs ahead) of every stage, in order, read from the pipeline's one list
    (``pipeline.pipeline.STAGES``; each name is its timing key), then the run's ``write``."""
    from pipeline.pipeline import STAGES

    return tuple((s.name, s.ahead) for s in STAGES) + (("write", False),)


PROFILE_STAGES = profile_stages()


def stage_profile(timings: dict, run_s: float) -> list[dict]:
    """Seconds and share of the run per stage, from the manifest's timings; ``other`` is the
    rest of the run (reading, batching, the parts store). With ``segment.prefetch`` the
    stages that run ahead (normalize, parse) run in a background thread beside the later
    stages: their rows are that thread's time (``(overlapped)``), and ``parse (waited)`` the
    time the main thread waited for them (what counts in the wall time)."""
    rows, used = [], 0.0
    overlapped = "parse_wait" in timings
    for name, ahead in PROFILE_STAGES:
        sec = float(timings.get(name, 0.0))
        if ahead and overlapped:
            rows.append({"stage": f"{name} (overlapped)", "s": round(sec, 2),
                         "share": round(sec / run_s, 3) if run_s else None})
            continue
        if overlapped and not any(r["stage"] == "parse (waited)" for r in rows):
            waited = float(timings["parse_wait"])
            rows.append({"stage": "parse (waited)", "s": round(waited, 2),
                         "share": round(waited / run_s, 3) if run_s else None})
            used += waited
        used += sec
        rows.append({"stage": name, "s": round(sec, 2), "share": round(sec / run_s, 3) if run_s else None})
    rows.append({"stage": "other", "s": round(max(0.0, run_s - used), 2),
                 "share": round(max(0.0, run_s - used) / run_s, 3) if run_s else None})
    return rows


def compare_embedders(texts: list[str]) -> dict:
    """Sentences/s of the embedder on torch and on its ONNX export (auto rule), same texts."""
    import numpy as np

    from pipeline.config import minilm_path
    from pipeline.stages.embedder import Embedder

    out: dict = {"texts": len(texts)}
    embs = {}
    for setting in ("torch", "auto"):
        e = Embedder(minilm_path(), backend=setting)
        e.encode(texts[:32])  # warm-up
        t = time.perf_counter()
        embs[setting] = e.encode(texts)
        dt = time.perf_counter() - t
        out[setting] = {"backend": e.backend_name, "s": round(dt, 2),
                        "sentences_per_s": round(len(texts) / dt, 1) if dt else None}
    if out["torch"]["sentences_per_s"] and out["auto"]["sentences_per_s"]:
        out["speedup"] = round(out["auto"]["sentences_per_s"] / out["torch"]["sentences_per_s"], 2)
    out["min_cosine"] = round(float(np.sum(embs["torch"] * embs["auto"], axis=1).min()), 4)
    return out


def labelled_recall(model: str, gold_path: Path, spacy_model: str = "auto") -> dict:
    """Contradiction recall on annotated articles: the pipeline (its flags) and the naive
    baseline (every sentence pair, flagged when P(contradiction) in either direction reaches
    decide.threshold), both matched to the gold claims by span overlap (eval/docs.py). Every
    candidate is scored (the NLI cascade off, as in eval docs): the same-cut comparison needs
    the NLI score of each."""
    import numpy as np

    from pipeline.eval.docs import _overlap, analyse, evaluate, full_scoring, load_gold
    from pipeline.pipeline import Pipeline
    from pipeline.stages.normalize import normalize
    from pipeline.stages.nlp import load_spacy

    gold = load_gold(gold_path)
    cfg = full_scoring(run_cfg(model, "auto"))
    pipe = Pipeline(cfg)
    t = time.perf_counter()
    analysed = analyse(pipe, gold)
    rep = evaluate(analysed, pipe.decider)
    pipe_s = time.perf_counter() - t
    # the same cut as the naive baseline's (max of the directions >= decide.threshold, no
    # rules), on the pipeline's candidates: recall compared like for like
    from pipeline.config import DecideConfig
    from pipeline.stages.decide import Decider

    same = evaluate(analysed, Decider(DecideConfig(method="threshold", threshold=cfg.decide.threshold,
                                                   directions="max", numeric=False, rules=[],
                                                   fallback_rules_flag=False)))
    nlp = load_spacy(spacy_model)
    found = total = n_pairs = 0
    t = time.perf_counter()
    for g in gold:
        norm = normalize(g.doc.text, cfg.normalize)
        sents = [norm.raw_span(s.start_char, s.end_char) for s in nlp(norm.text).sents
                 if len(s.text.strip()) > 1]
        pairs = list(itertools.combinations(range(len(sents)), 2))
        n_pairs += len(pairs)
        texts = [(g.doc.text[sents[i][0]:sents[i][1]], g.doc.text[sents[j][0]:sents[j][1]]) for i, j in pairs]
        ab, ba = pipe.nli.predict_both(texts) if texts else (np.zeros((0, 3)), np.zeros((0, 3)))
        flagged = [pairs[k] for k in range(len(pairs))
                   if max(ab[k, 0], ba[k, 0]) >= cfg.decide.threshold]
        for gp in g.pairs:
            if gp["label"] != "contradiction":
                continue
            total += 1
            ca, cb = g.claims[gp["a"]], g.claims[gp["b"]]
            sa = {i for i, sp in enumerate(sents) if _overlap((ca["start"], ca["end"]), sp) >= 0.5}
            sb = {i for i, sp in enumerate(sents) if _overlap((cb["start"], cb["end"]), sp) >= 0.5}
            found += int(any((i in sa and j in sb) or (i in sb and j in sa) for i, j in flagged))
    naive_s = time.perf_counter() - t
    return {"gold": str(gold_path), "articles": len(gold), "gold_contradictions": total,
            "pipeline_recall": round(rep["pair_recall"], 3), "pipeline_s": round(pipe_s, 2),
            "pipeline_recall_same_cut": round(same["pair_recall"], 3),
            "pipeline_candidate_recall": round(rep["candidate_recall"], 3),
            "naive_recall": round(found / max(1, total), 3), "naive_pairs": n_pairs,
            "naive_s": round(naive_s, 2), "threshold": cfg.decide.threshold,
            "backend": pipe.nli.backend_name}


def spacy_nprocess(docs: list[dict], choices=(1, 2), batch_docs: int = 32) -> dict:
    """Parse docs in pipeline-sized calls (batch_docs per nlp.pipe) with each n_process."""
    from pipeline.config import SegmentConfig
    from pipeline.stages.normalize import normalize
    from pipeline.stages.nlp import load_spacy

    texts = [normalize(d["text"]).text for d in docs]
    nlp = load_spacy("auto")
    list(nlp.pipe(texts[:2]))
    out = {"docs": len(texts), "cores": os.cpu_count(), "loadavg": round(os.getloadavg()[0], 1)}
    for n in choices:
        t = time.perf_counter()
        for i in range(0, len(texts), batch_docs):
            list(nlp.pipe(texts[i:i + batch_docs], batch_size=SegmentConfig().batch_size, n_process=n))
        out[f"n_process={n}"] = round(len(texts) / (time.perf_counter() - t), 2)
    return out


def spacy_components(docs: list[dict], rounds: int = 2, batch_docs: int = 32) -> dict:
    """Parse time per article with spaCy's attribute_ruler and lemmatizer and with the fast
    ones (stages/spacy_fast.py, ``segment.fast_components``), alternating, in pipeline-sized
    calls; each fast round loads the model afresh, so its lookups start empty as in a new
    run. Also checks that both give the same annotations."""
    from pipeline.config import SegmentConfig
    from pipeline.stages import nlp as spacy_nlp
    from pipeline.stages.normalize import normalize

    def annotations(doc) -> tuple:
        return ([(t.tag_, t.pos_, str(t.morph), t.lemma_, t.dep_, t.head.i, t.ent_type_,
                  t.ent_iob_, t.is_sent_start) for t in doc], [(e.start, e.end, e.label_) for e in doc.ents])

    texts = [normalize(d["text"]).text for d in docs]
    bs = SegmentConfig().batch_size
    out: dict = {"docs": len(texts), "cores": os.cpu_count(), "loadavg": round(os.getloadavg()[0], 1),
                 "stock_ms": [], "fast_ms": [], "stock_wall_ms": [], "fast_wall_ms": []}
    same = True
    stock = spacy_nlp.load_spacy("auto", fast=False)
    list(stock.pipe(texts[:2]))
    for _ in range(rounds):
        spacy_nlp._NLP.pop(("auto", True), None)  # a fresh model: the fast lookups start empty
        fast = spacy_nlp.load_spacy("auto", fast=True)
        for name, nlp in (("stock", stock), ("fast", fast)):
            parsed = []
            w, c = time.perf_counter(), time.process_time()
            for i in range(0, len(texts), batch_docs):
                parsed += list(nlp.pipe(texts[i:i + batch_docs], batch_size=bs))
            out[f"{name}_ms"].append(round((time.process_time() - c) * 1000 / len(texts), 1))
            out[f"{name}_wall_ms"].append(round((time.perf_counter() - w) * 1000 / len(texts), 1))
            if name == "stock":
                want = [annotations(d) for d in parsed]
            else:
                same = same and [annotations(d) for d in parsed] == want
    out["identical"] = same
    out["stock_ms_per_article"] = round(sum(out["stock_ms"]) / rounds, 1)
    out["fast_ms_per_article"] = round(sum(out["fast_ms"]) / rounds, 1)
    out["ratio"] = round(out["stock_ms_per_article"] / out["fast_ms_per_article"], 3)
    return out


def issue12_targets(result: dict) -> list[dict]:
    """The targets of issue 12, from this run's figures."""
    sizes = {r["size"]: r for r in result["sizes"]}
    rows = []
    r1k = sizes.get(1000)
    rows.append({"target": ">= 10 articles/s end to end at 1,000 (default settings)",
                 "measured": f"{r1k['articles_per_s']:.2f}/s ({r1k['backends']['nli']}, "
                             f"{r1k['backends']['embedder']})" if r1k else "1,000 not run",
                 "status": check(r1k["articles_per_s"] >= 10 if r1k else None)})
    nli_ps = [r["nli_pairs_per_s"] for r in result["sizes"] if r.get("nli_pairs_per_s")]
    be = result.get("backends", {})
    ps = be.get("onnx", {}).get("pairs_per_s")
    rows.append({"target": "NLI >= 700 claim pairs/s (int8)",
                 "measured": f"{ps} pairs/s (backend comparison); in runs: {nli_ps}" if ps else
                 f"in runs: {nli_ps}",
                 "status": check(None if ps is None else ps >= 700)})
    emb = result.get("embedders", {})
    sp = emb.get("speedup")
    rows.append({"target": "embedder >= 3x its torch speed",
                 "measured": f"{sp}x ({emb['auto']['backend']} {emb['auto']['sentences_per_s']}/s vs "
                             f"torch {emb['torch']['sentences_per_s']}/s, min cos {emb['min_cosine']})"
                 if sp else "n/a", "status": check(None if sp is None else sp >= 3.0)})
    bl, rc = result.get("baseline"), result.get("recall")
    if bl and rc:
        speed = 1 / max(1e-9, bl["time_ratio"])
        same = rc.get("pipeline_recall_same_cut", rc["pipeline_recall"])
        ok = speed >= 3.0 and same >= rc["naive_recall"]
        rows.append({"target": ">= 3x faster/article than naive at >= its recall (labelled/test)",
                     "measured": f"{speed:.1f}x faster; recall at the same cut ({rc['threshold']}, max "
                                 f"of directions): pipeline {same} vs naive {rc['naive_recall']} "
                                 f"(n={rc['gold_contradictions']}; at the pipeline's own operating "
                                 f"point {rc['pipeline_recall']})",
                     "status": check(ok)})
    else:
        rows.append({"target": ">= 3x faster/article than naive at >= its recall (labelled/test)",
                     "measured": "baseline or recall skipped", "status": "n/a"})
    if 1000 in sizes and 10000 in sizes:
        g = sizes[10000]["pairs_per_claim"] / max(1e-9, sizes[1000]["pairs_per_claim"])
        rows.append({"target": "pairs/claim flat 1,000 -> 10,000 (<= 1.2x)",
                     "measured": f"{g:.2f}x ({sizes[1000]['pairs_per_claim']} -> {sizes[10000]['pairs_per_claim']})",
                     "status": check(g <= 1.2)})
    else:
        ss = sorted(sizes)
        rows.append({"target": "pairs/claim flat 1,000 -> 10,000 (<= 1.2x)",
                     "measured": "10,000 not run; " + ", ".join(f"{k}: {sizes[k]['pairs_per_claim']}" for k in ss),
                     "status": "n/a"})
    if 10000 in sizes:
        rss = sizes[10000]["peak_rss_mb"]
        rows.append({"target": "peak RSS <= 1.5 GB at 10,000", "measured": f"{rss:.0f} MB",
                     "status": check(rss <= 1536)})
    else:
        big = max(sizes) if sizes else None
        rows.append({"target": "peak RSS <= 1.5 GB at 10,000",
                     "measured": f"10,000 not run; {sizes[big]['peak_rss_mb']:.0f} MB at {big}" if big else "n/a",
                     "status": "n/a"})
    return rows


def profile_report(result: dict) -> str:
    """The per-stage table: one column per size, seconds and share."""
    sizes = result["sizes"]
    if not sizes:
        return ""
    head = ["stage"] + [f"{r['size']}: s (share)" for r in sizes]
    names = list(dict.fromkeys(p["stage"] for r in sizes for p in r["profile"]))
    rows = []
    for name in names:
        cells = []
        for r in sizes:
            got = {p["stage"]: p for p in r["profile"]}.get(name)
            cells.append(f"{got['s']} ({100 * (got['share'] or 0):.0f}%)" if got else "-")
        rows.append([name] + cells)
    rows.append(["run (wall)"] + [f"{r['run_s']} (100%)" for r in sizes])
    out = ["\nPer-stage profile (seconds, share of the run)", table(head, rows)]
    for r in sizes:
        b = r.get("backends", {})
        out.append(f"size {r['size']}: NLI {b.get('nli')}, embedder {b.get('embedder')}, "
                   f"{b.get('threads')} threads")
    emb = result.get("embedders")
    if emb:
        out.append(f"\nEmbedder on {emb['texts']} claims: torch {emb['torch']['sentences_per_s']}/s, "
                   f"{emb['auto']['backend']} {emb['auto']['sentences_per_s']}/s "
                   f"({emb.get('speedup')}x), lowest cosine {emb['min_cosine']}")
    sp = result.get("spacy")
    if sp:
        out.append("spaCy docs/s by n_process (" + f"{sp['docs']} docs, {sp['cores']} cores, load "
                   f"{sp['loadavg']}): " + ", ".join(f"{k}: {v}" for k, v in sp.items() if k.startswith("n_")))
    rc = result.get("recall")
    if rc:
        out.append(f"Recall on {rc['gold']} ({rc['gold_contradictions']} gold contradictions): "
                   f"pipeline {rc['pipeline_recall']} at its operating point, "
                   f"{rc.get('pipeline_recall_same_cut')} at the naive baseline's cut, candidates "
                   f"{rc.get('pipeline_candidate_recall')}; naive all-sentence-pairs {rc['naive_recall']} "
                   f"({rc['naive_pairs']} pairs, threshold {rc['threshold']}, {rc['backend']})")
    out.append("\nTargets (issue 12)")
    out.append(table(["target", "measured", "status"],
                     [[t["target"], t["measured"], t["status"]] for t in result["targets_issue12"]]))
    return "\n".join(out)


# ---------------------------------------------------------------------------- report
def check(ok: bool | None) -> str:
    return "n/a" if ok is None else ("PASS" if ok else "MISS")


def targets(result: dict) -> list[dict]:
    sizes = {r["size"]: r for r in result["sizes"]}
    be = result.get("backends", {})
    rows = []
    sp = be.get("speedup_onnx_vs_torch")
    rows.append({"target": "onnx/torch NLI pairs/s >= 2x", "measured": f"{sp}x" if sp else "n/a",
                 "status": check(None if sp is None else sp >= 2.0)})
    snli = be.get("snli", {})
    d = snli.get("accuracy_diff_points")
    rows.append({"target": "SNLI accuracy onnx within 1 point of torch",
                 "measured": (f"torch {snli['torch']['accuracy']:.4f}, onnx {snli['onnx']['accuracy']:.4f} "
                              f"({d:+.2f} pts, n={snli['rows']})") if d is not None else snli.get("note", "n/a"),
                 "status": check(None if d is None else abs(d) <= 1.0)})
    if 1000 in sizes and 10000 in sizes:
        g = sizes[10000]["pairs_per_claim"] / max(1e-9, sizes[1000]["pairs_per_claim"])
        rows.append({"target": "pairs/claim growth 1,000 -> 10,000 <= 2x",
                     "measured": f"{g:.2f}x ({sizes[1000]['pairs_per_claim']} -> {sizes[10000]['pairs_per_claim']})",
                     "status": check(g <= 2.0)})
    else:
        ss = sorted(sizes)
        if len(ss) >= 2:
            a, b = sizes[ss[0]], sizes[ss[-1]]
            g = b["pairs_per_claim"] / max(1e-9, a["pairs_per_claim"])
            rows.append({"target": "pairs/claim growth 1,000 -> 10,000 <= 2x",
                         "measured": f"sizes not run; {ss[0]} -> {ss[-1]}: {g:.2f}x", "status": "n/a"})
        else:
            rows.append({"target": "pairs/claim growth 1,000 -> 10,000 <= 2x", "measured": "n/a",
                         "status": "n/a"})
    big = max(sizes) if sizes else None
    if 10000 in sizes:
        rss = sizes[10000]["peak_rss_mb"]
        rows.append({"target": "peak RSS <= 2 GB at 10,000", "measured": f"{rss:.0f} MB",
                     "status": check(rss <= 2048)})
    else:
        rows.append({"target": "peak RSS <= 2 GB at 10,000",
                     "measured": f"10,000 not run; {sizes[big]['peak_rss_mb']:.0f} MB at {big}" if big else "n/a",
                     "status": "n/a"})
    if big:
        aps = sizes[big]["articles_per_s"]
        rows.append({"target": ">= 5 articles/s end to end (onnx)",
                     "measured": f"{aps:.2f}/s at {big} ({sizes[big]['articles_per_s_incl_load']:.2f}/s incl. model load)",
                     "status": check(aps >= 5.0)})
    return rows


def issue27_targets(result: dict) -> list[dict]:
    """The targets of issue 27 (real news, 2 cores), from this run's figures."""
    sizes = {r["size"]: r for r in result["sizes"]}
    on = result.get("corpus", {}).get("timed_on", "")
    rows = []
    a = sizes.get(1000)
    rows.append({"target": ">= 20 articles/s at 1,000 articles",
                 "measured": f"{a['articles_per_s']}/s ({a['cpu_s_per_article']} CPU s/article, on {on})"
                 if a else "1,000 not run", "status": check(None if a is None else a["articles_per_s"] >= 20)})
    b = sizes.get(10000)
    rows.append({"target": "peak RSS <= 1.5 GB at 10,000",
                 "measured": f"{b['peak_rss_mb']:.0f} MB" if b else "10,000 not run",
                 "status": check(None if b is None else b["peak_rss_mb"] <= 1536)})
    g = b["peak_rss_mb"] / a["peak_rss_mb"] if a and b else None
    rows.append({"target": "peak RSS at 10,000 within 10% of 1,000",
                 "measured": f"{a['peak_rss_mb']:.0f} -> {b['peak_rss_mb']:.0f} MB ({g:.3f}x)" if g else "n/a",
                 "status": check(None if g is None else g <= 1.10)})
    return rows


def table(headers: list[str], rows: list[list]) -> str:
    cells = [[str(c) for c in r] for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in cells]
    return "\n".join(out)


def report(result: dict) -> str:
    parts = [f"model: {result['model']}   machine: {result['machine']['cpus']} CPUs, "
             f"load avg at start {result['machine']['loadavg_start']}"]
    rows = [[r["size"], r["documents"], r["claims"], r["pairs"], r["pairs_per_claim"],
             r.get("nli_share", "n/a"), r["flags"], r["load_s"], r["run_s"], r["articles_per_s"],
             r["nli_pairs_per_s"], r["peak_rss_mb"]]
            for r in result["sizes"]]
    parts.append("\nPipeline (local streaming runner, default settings, one subprocess per size; "
                 "NLI share: candidate pairs the NLI cascade sent to the model)")
    parts.append(table(["size", "docs", "claims", "pairs", "pairs/claim", "NLI share", "flags", "load s",
                        "run s", "articles/s", "NLI pairs/s", "peak RSS MB"], rows))
    be = result.get("backends")
    if be:
        parts.append(f"\nNLI backends on {be['pairs']} corpus claim pairs x 2 directions")
        brow = [[b, be[b]["pairs_per_s"], be[b]["score_s"],
                 be.get("snli", {}).get(b, {}).get("accuracy", "n/a")] for b in ("torch", "onnx")]
        parts.append(table(["backend", "pairs/s", "score s", "SNLI acc"], brow))
        parts.append(f"speedup onnx/torch: {be.get('speedup_onnx_vs_torch')}x   argmax agreement: "
                     f"{be.get('argmax_agreement')}   max |p diff|: {be.get('max_abs_prob_diff')}")
        if "note" in be.get("snli", {}):
            parts.append("note: " + be["snli"]["note"])
    bl = result.get("baseline")
    if bl:
        nb, pl = bl["naive"], bl["pipeline"]
        parts.append(f"\nPipeline vs naive all-sentence-pairs baseline ({nb['articles']} articles, onnx)")
        parts.append(table(
            ["method", "pairs", "pairs/article", "inferences", "s/article"],
            [["naive (all sentence pairs)", nb["pairs"], nb["pairs_per_article"], nb["inferences"], nb["s_per_article"]],
             ["pipeline (candidate pairs)", pl["pairs"], pl["pairs_per_article"], 2 * pl["pairs"], pl["s_per_article"]]]))
        parts.append(f"pairs scored: pipeline/naive = {bl['pairs_ratio']}   time per article: "
                     f"pipeline/naive = {bl['time_ratio']}")
    parts.append("\nTargets")
    parts.append(table(["target", "measured", "status"],
                       [[t["target"], t["measured"], t["status"]] for t in result["targets"]]))
    return "\n".join(parts)


# ---------------------------------------------------------------------------- main
def build_parser() -> argparse.ArgumentParser:
    """The bench's command line (``--help``)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="100,1000,10000", help="corpus sizes (articles), comma-separated")
    ap.add_argument("--model", default=None, help="NLI model folder (with model.int8.onnx; exported if missing)")
    ap.add_argument("--quick", action="store_true", help="sizes 20,100 and small limits (CI-speed check)")
    ap.add_argument("--out", default="out/bench.json", help="JSON results file")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--corpus", default=str(REAL_DEFAULT) if REAL_DEFAULT.is_file() else "",
                    help="real JSONL corpus to time (default: ../shared/data/news/fnc1_train_bodies.jsonl "
                         "when present; '' for generated articles)")
    ap.add_argument("--pairs", type=int, default=2000, help="claim pairs for the backend comparison")
    ap.add_argument("--snli", default=str(SNLI_DEFAULT), help="SNLI test JSONL for the accuracy check")
    ap.add_argument("--snli-limit", type=int, default=2000, help="SNLI rows (0: all)")
    ap.add_argument("--baseline-docs", type=int, default=100, help="articles for the naive baseline")
    ap.add_argument("--batch-docs", type=int, default=32)
    ap.add_argument("--skip-backends", action="store_true")
    ap.add_argument("--skip-baseline", action="store_true")
    ap.add_argument("--ray-memory", nargs="?", const="1000,10000", default="",
                    help="also measure the Ray driver's memory at these sizes (default 1000,10000)")
    ap.add_argument("--child-ray", help=argparse.SUPPRESS)
    ap.add_argument("--skip-embedders", action="store_true", help="no torch-vs-onnx embedder timing")
    ap.add_argument("--skip-recall", action="store_true", help="no recall comparison on --gold")
    ap.add_argument("--gold", default=str(ROOT / "data" / "labelled" / "test.jsonl"),
                    help="annotated articles for the pipeline-vs-naive recall comparison")
    ap.add_argument("--embed-docs", type=int, default=60, help="generated articles whose claims time the embedders")
    ap.add_argument("--spacy-nprocess", type=int, default=0, metavar="N",
                    help="also time spaCy n_process 1 and 2 on N generated articles")
    ap.add_argument("--spacy-components", type=int, default=0, metavar="N",
                    help="also time the parse of N articles (the real corpus when present) with "
                         "spaCy's attribute_ruler and lemmatizer and with the fast ones")
    ap.add_argument("--profile-docs", type=int, default=300,
                    help="articles of the per-stage CPU profile (0: none)")
    ap.add_argument("--child-run", help=argparse.SUPPRESS)
    ap.add_argument("--child-profile", help=argparse.SUPPRESS)
    ap.add_argument("--limit", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--workdir", help=argparse.SUPPRESS)
    return ap


def new_result(model: str, quick: bool, seed: int) -> dict:
    """The results record's head: the model, the settings and the machine."""
    import torch

    result: dict = {
        "model": model, "quick": quick, "seed": seed, "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": {"cpus": os.cpu_count(), "loadavg_start": [round(x, 2) for x in os.getloadavg()],
                    "platform": platform.platform(), "python": platform.python_version(),
                    "torch": torch.__version__, "torch_threads": torch.get_num_threads()},
        "sizes": [],
    }
    try:
        import onnxruntime

        result["machine"]["onnxruntime"] = onnxruntime.__version__
    except ImportError:
        pass

    return result


def baseline_section(docs: list[dict], model: str, sizes: list[dict], baseline_docs: int) -> dict:
    """The naive all-sentence-pairs baseline on ``docs`` against the pipeline: the size run of
    the same number of articles when there is one, else an in-process run."""
    naive = naive_baseline(docs, model)
    same = next((r for r in sizes if r["size"] == baseline_docs), None)
    pl = ({"documents": same["documents"], "pairs": same["pairs"], "run_s": same["run_s"],
           "from": f"size {same['size']} run"} if same else
          {**pipeline_on(docs, model), "from": "in-process run"})
    n = max(1, pl["documents"])
    pl["pairs_per_article"] = round(pl["pairs"] / n, 1)
    pl["s_per_article"] = round(pl["run_s"] / n, 3)
    return {
        "naive": naive, "pipeline": pl,
        "pairs_ratio": round(pl["pairs"] / max(1, naive["pairs"]), 3),
        "time_ratio": round(pl["s_per_article"] / max(1e-9, naive["s_per_article"]), 3),
    }


def print_summary(result: dict) -> None:
    """The figures of a finished bench on stdout: report, profiles, RSS, targets."""
    print(report(result))
    print(profile_report(result))
    for r in result["sizes"]:
        rs = r.get("rss") or {}
        if rs:
            print(f"RSS at {r['size']:,} articles: after the first batch {rs['first_batch_mb']} MB, "
                  f"at a tenth {rs['tenth_mb']} MB, at half {rs['half_mb']} MB, at the end "
                  f"{rs['last_mb']} MB, peak {r['peak_rss_mb']} MB (second half / first tenth: "
                  f"{rs['growth_second_half_over_first_tenth']}x); CPU {r['cpu_s']} s "
                  f"({r['cpu_s_per_article']} s per article)")
    if result.get("cpu_profile"):
        print(cpu_profile_report(result["cpu_profile"]))
    for r in result.get("ray_driver_memory", []):
        print(f"Ray driver memory at {r['size']:,} articles: peak RSS {r['driver_peak_rss_mb']} MB")
    print("\nTargets (issue 27)")
    print(table(["target", "measured", "status"],
                [[t["target"], t["measured"], t["status"]] for t in result["targets_issue27"]]))


def main(argv: list[str] | None = None) -> int:
    from pipeline.config import default_model_dir

    ap = build_parser()
    args = ap.parse_args(argv)

    if args.child_profile:
        print(json.dumps(child_profile(args.child_profile, args.model, args.limit, args.batch_docs)))
        return 0

    if args.child_ray:
        print(json.dumps(child_ray_run(args.child_ray, args.model, args.workdir, args.batch_docs)))
        return 0
    if args.child_run:
        print(json.dumps(child_run(args.child_run, args.model, args.workdir, args.batch_docs)))
        return 0

    if args.quick:
        if args.sizes == ap.get_default("sizes"):
            args.sizes = "20,100"
        args.pairs = min(args.pairs, 300)
        args.snli_limit = min(args.snli_limit or 300, 300)
        args.baseline_docs = min(args.baseline_docs, 20)
    sizes = sorted({int(s) for s in args.sizes.split(",") if s.strip()})
    model = str(Path(args.model or default_model_dir()).expanduser().resolve())
    ensure_onnx(model)
    result = new_result(model, args.quick, args.seed)

    t = time.perf_counter()
    sources = load_sources()
    names = person_names(sources)
    result["corpus"] = {"sources": len(sources), "person_names": len(names),
                        "prep_s": round(time.perf_counter() - t, 2)}
    print(f"{len(sources)} source articles, {len(names)} person names; sizes {sizes}", file=sys.stderr)

    real = Path(args.corpus) if args.corpus else None
    if real is not None and not real.is_file():
        sys.exit(f"--corpus {real}: not a file (a JSONL corpus, one {{\"id\", \"text\"}} a line)")
    result["corpus"]["timed_on"] = str(real) if real else "generated articles"
    print(f"timing on {real if real else 'generated articles (no real corpus here)'}", file=sys.stderr)
    for size in sizes:
        docs = real_corpus(real, size) if real else make_corpus(sources, names, size, args.seed)
        print(f"size {size}: running ...", file=sys.stderr, flush=True)
        r = run_size(size, docs, model, args.batch_docs)
        result["sizes"].append(r)
        print(f"size {size}: {r['articles_per_s']} articles/s, {r['pairs']} pairs, "
              f"peak RSS {r['peak_rss_mb']} MB", file=sys.stderr, flush=True)

    if args.profile_docs:
        print(f"CPU per stage, {args.profile_docs} articles ...", file=sys.stderr, flush=True)
        docs = (real_corpus(real, args.profile_docs) if real else
                make_corpus(sources, names, args.profile_docs, args.seed))
        result["cpu_profile"] = run_profile(docs, model, args.batch_docs)

    if args.ray_memory:
        ray_sizes = sorted({int(x) for x in args.ray_memory.split(",") if x.strip()})
        result["ray_driver_memory"] = ray_driver_memory(ray_sizes, sources, names, model,
                                                        args.batch_docs, args.seed)

    if not args.skip_backends:
        print("backends: torch vs onnx ...", file=sys.stderr, flush=True)
        docs = make_corpus(sources, names, max(100, min(2000, args.pairs // 2)), args.seed)
        pairs = corpus_pairs(docs, model, args.pairs)
        result["backends"] = compare_backends(pairs, model, Path(args.snli), args.snli_limit)

    if not args.skip_baseline:
        print("baseline: all sentence pairs ...", file=sys.stderr, flush=True)
        docs = (real_corpus(real, args.baseline_docs) if real else
                make_corpus(sources, names, args.baseline_docs, args.seed))
        result["baseline"] = baseline_section(docs, model, result["sizes"], args.baseline_docs)

    if not args.skip_embedders:
        print("embedder: torch vs onnx ...", file=sys.stderr, flush=True)
        from pipeline.pipeline import Pipeline
        from pipeline.types import Document

        docs = make_corpus(sources, names, args.embed_docs, args.seed)
        pipe = Pipeline(run_cfg(model))
        texts = [c.text for i in range(0, len(docs), 20)
                 for c in pipe.extract([Document(d["id"], d["text"]) for d in docs[i:i + 20]]).claims]
        result["embedders"] = compare_embedders(texts[:1000])

    if not args.skip_recall and Path(args.gold).is_file():
        print(f"recall: pipeline vs naive on {args.gold} ...", file=sys.stderr, flush=True)
        result["recall"] = labelled_recall(model, Path(args.gold))

    if args.spacy_nprocess:
        print("spaCy n_process ...", file=sys.stderr, flush=True)
        result["spacy"] = spacy_nprocess(make_corpus(sources, names, args.spacy_nprocess, args.seed))

    if args.spacy_components:
        print("spaCy components: stock vs fast ...", file=sys.stderr, flush=True)
        docs = (real_corpus(real, args.spacy_components) if real else
                make_corpus(sources, names, args.spacy_components, args.seed))
        sc = result["spacy_components"] = spacy_components(docs)
        print(f"parse of {sc['docs']} articles, CPU per article: spaCy's attribute_ruler and "
              f"lemmatizer {sc['stock_ms']} ms, the fast ones {sc['fast_ms']} ms (rounds); "
              f"{sc['ratio']}x; identical annotations: {sc['identical']}", file=sys.stderr, flush=True)

    result["targets"] = targets(result)
    result["targets_issue27"] = issue27_targets(result)
    result["targets_issue12"] = issue12_targets(result)
    result["finished"] = time.strftime("%Y-%m-%d %H:%M:%S")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    print_summary(result)
    print(f"\nresults -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
