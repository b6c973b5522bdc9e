#!/usr/bin/env python
"""Long-document benchmark: segment + attribute time against document length, and articles of
1,000,000 and 3,000,000 characters end to end, each in its own process with its peak RSS
(issue 11: linear time, no spaCy E088 crash; issue 29 item 9: time and memory linear in the
length, a 3M-character article within 1.5 GB).

The long articles are generated deterministically from the paragraphs of ``data/sample``
and ``data/labelled/{dev,test}.jsonl``: paragraphs are drawn in order of the source
articles, person names are swapped for fictional ones every few paragraphs (so the number
of distinct speakers grows with the length, as in a long report or a live blog) and the
result is cut at a paragraph boundary once it reaches the wanted size.

Pathological texts (``--cases``, each end to end in its own process with its peak RSS, cut off
after ``--case-timeout`` seconds): a run of 49,000 digits, 100,000 quote marks glued together,
a 100,000-character word and the numbers 1 to 10,000 one a line (49 KB), each between two
sentences of prose.

Usage:
    python scripts/bench_long.py                         # 50K..1M segment+attribute, 1M and 3M end to end
    python scripts/bench_long.py --no-sizes --no-e2e     # the pathological texts only
    python scripts/bench_long.py --no-sizes --e2e-chars 300000,1000000,3000000
    python scripts/bench_long.py --sizes 50000,100000 --no-e2e
    python scripts/bench_long.py --profile 100000        # cProfile of one size, top 25 lines
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

FIRST = ("Amara Bilal Carmen Dmitri Elena Farid Greta Hiroshi Ines Jonas Kavya Luca Maren "
         "Nadia Omar Priya Quentin Rosa Samir Tamsin Umar Vera Wanjiru Xavier Yusuf Zara").split()
LAST = ("Abara Bergstrom Castellano Dimitrov Eze Fonseca Gallo Haddad Ibsen Jovanovic Kamau "
        "Lindqvist Moreau Nakamura Okafor Petrov Quispe Rahman Sato Tremblay Usman Varga "
        "Whitlock Xu Yilmaz Zielinski").split()
_NAME = re.compile(r"\b([A-Z][a-z]+) ([A-Z][a-z]{2,})\b")


def source_paragraphs(root: Path = ROOT) -> list[str]:
    from bench import source_texts  # scripts/bench.py: the same source articles

    paras = []
    for _, t in source_texts(root):
        for p in re.split(r"\n\s*\n", t)[1:]:  # without the headline
            p = p.strip()
            if len(p) > 40 and p not in ("|", "READ MORE"):
                paras.append(p)
    if not paras:
        raise SystemExit("no source paragraphs in data/sample or data/labelled")
    return paras


def long_article(n_chars: int, seed: int = 13) -> str:
    """A news-like article of about ``n_chars`` characters (cut at a paragraph boundary)."""
    rng = random.Random(seed)
    paras = source_paragraphs()
    out = ["Long report: talks, figures and denials"]
    size = len(out[0])
    mapping: dict[str, str] = {}
    i = 0
    while size < n_chars:
        if i % 6 == 0:
            mapping = {}  # a new cast every few paragraphs
        p = paras[i % len(paras)]

        def swap(m: re.Match) -> str:
            key = m.group(0)
            if m.group(1) in ("The", "A", "In", "On", "But", "He", "She", "It", "They", "We"):
                return key
            if key not in mapping:
                mapping[key] = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
            return mapping[key]

        p = _NAME.sub(swap, p)
        out.append(p)
        size += len(p) + 2
        i += 1
    text = "\n\n".join(out) + "\n"
    return text[:n_chars].rsplit("\n\n", 1)[0] + "\n" if len(text) > n_chars else text


PROSE_BEFORE = "The ministry said on Tuesday that 40 trucks of aid had crossed the border."
PROSE_AFTER = "Officials at the crossing denied that any trucks had been turned back."
CASES = {
    "digits49k": lambda: "".join(str(i % 10) for i in range(49_000)),
    "quotes100k": lambda: '"' * 100_000,
    "word100k": lambda: ("abcdefghij" * 10_000)[:100_000],
    # `seq 1 10000`: a 49 KB file of numbers, one a line
    "numbers49k": lambda: "\n".join(str(i) for i in range(1, 10_001)),
}


def pathological(case: str) -> str:
    """One pathological text: the run of ``CASES[case]`` between two sentences of prose."""
    return f"{PROSE_BEFORE}\n\n{CASES[case]()}\n\n{PROSE_AFTER}\n"


def segment_attribute(text: str, seg) -> dict:
    """normalize, parse + segment (a long text is parsed window by window inside
    raw_claims, so parse and segment are timed together) and attribute; wall and CPU time."""
    from pipeline.stages.attribute import attribute
    from pipeline.stages.normalize import normalize

    w0, c0 = time.perf_counter(), time.process_time()
    norm = normalize(text)
    w1, c1 = time.perf_counter(), time.process_time()
    raw = seg.raw_claims(norm, seg.parse_many([norm.text])[0])
    w2, c2 = time.perf_counter(), time.process_time()
    claims = attribute("long", norm, raw)
    w3, c3 = time.perf_counter(), time.process_time()
    for c in claims:  # offsets exact
        assert 0 <= c.start < c.end <= len(text) and text[c.start:c.end].strip(), c
    return {"chars": len(text), "claims": len(claims),
            "speakers": len({c.speaker_id for c in claims if c.speaker_id}),
            "normalize_s": round(w1 - w0, 2), "parse_segment_s": round(w2 - w1, 2),
            "attribute_s": round(w3 - w2, 2), "total_s": round(w3 - w0, 2),
            "cpu_s": round(c3 - c0, 2)}


def end_to_end(text: str, model: str, backend: str, workdir: Path) -> dict:
    """The whole local runner on a one-article .txt corpus (models loaded first, not timed)."""
    from pipeline.config import load_run_config
    from pipeline.pipeline import Pipeline
    from pipeline.run import run
    from pipeline.types import Document

    ov = [f"score.backend={backend}", "score.device=cpu"]
    if model:
        ov.append(f"score.model={json.dumps(model)}")
    cfg = load_run_config(None, ov)
    pipe = Pipeline(cfg)
    t = time.perf_counter()
    pipe.process([Document("warmup", "Minister Ana Reyes said the bridge would open in May. "
                                     "Engineers said it would not open before October.")])
    load_s = time.perf_counter() - t
    workdir.mkdir(parents=True, exist_ok=True)
    src = workdir / "long_article.txt"
    src.write_text(text, encoding="utf-8")
    t, c = time.perf_counter(), time.process_time()
    summary = run([str(src)], workdir / "flagged.csv", cfg, pipeline=pipe)
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    man = json.loads(Path(summary.manifest).read_text(encoding="utf-8"))
    return {"chars": len(text), "documents": summary.documents, "skipped": len(summary.skipped),
            "claims": summary.claims, "pairs": summary.pairs, "flags": summary.flags,
            "model_load_s": round(load_s, 1), "wall_s": round(wall, 1), "cpu_s": round(cpu, 1),
            "timings_s": man.get("timings_s", {})}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="50000,100000,200000,400000,1000000",
                    help="document sizes in characters, comma-separated")
    ap.add_argument("--e2e-chars", default="1000000,3000000",
                    help="sizes of the end-to-end articles (characters, comma-separated; each "
                         "in its own process, with its peak RSS)")
    ap.add_argument("--no-sizes", action="store_true", help="skip the segment+attribute sizes")
    ap.add_argument("--child-e2e", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--no-e2e", action="store_true", help="skip the end-to-end run")
    ap.add_argument("--cases", default=",".join(CASES),
                    help="pathological texts to run end to end (comma-separated; '' for none): "
                         + ", ".join(CASES))
    ap.add_argument("--case-timeout", type=float, default=600,
                    help="seconds before a pathological case is stopped (reported as '> N s')")
    ap.add_argument("--child-case", default="", help=argparse.SUPPRESS)
    ap.add_argument("--model", default="", help="NLI model folder (default: the shipped model)")
    ap.add_argument("--backend", default="torch", choices=("torch", "onnx"))
    ap.add_argument("--workdir", default="out/bench_long")
    ap.add_argument("--profile", type=int, default=0, help="cProfile segment+attribute at this size")
    ap.add_argument("--out", default="", help="also write the figures as JSON here")
    args = ap.parse_args(argv)

    if args.child_e2e or args.child_case:  # one end-to-end run in this process: one JSON line
        name = args.child_case or str(args.child_e2e)
        text = pathological(args.child_case) if args.child_case else long_article(args.child_e2e)
        r = end_to_end(text, args.model, args.backend, Path(args.workdir) / name)
        r["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        print(json.dumps(r))
        return 0

    from pipeline.stages.segment import Segmenter

    seg = Segmenter()
    segment_attribute(long_article(3000), seg)  # load spaCy before timing

    if args.profile:
        import cProfile
        import pstats

        text = long_article(args.profile)
        prof = cProfile.Profile()
        prof.enable()
        segment_attribute(text, seg)
        prof.disable()
        pstats.Stats(prof).sort_stats("cumulative").print_stats(25)
        return 0

    result: dict = {"segment_attribute": []}
    print(f"{'chars':>9} {'claims':>7} {'speakers':>8} {'normalize':>9} {'parse+segment':>13} "
          f"{'attribute':>9} {'total':>7} {'cpu':>7}  (seconds; cpu: this process's CPU time)")
    for size in [] if args.no_sizes else [int(s) for s in args.sizes.split(",") if s.strip()]:
        r = segment_attribute(long_article(size), seg)
        result["segment_attribute"].append(r)
        print(f"{r['chars']:>9} {r['claims']:>7} {r['speakers']:>8} {r['normalize_s']:>9} "
              f"{r['parse_segment_s']:>13} {r['attribute_s']:>9} {r['total_s']:>7} {r['cpu_s']:>7}",
              flush=True)
    if not args.no_e2e:
        result["end_to_end"] = []
        for size in [int(x) for x in args.e2e_chars.split(",") if x.strip()]:
            proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child-e2e", str(size),
                                   "--backend", args.backend, "--workdir", args.workdir]
                                  + (["--model", args.model] if args.model else []),
                                  capture_output=True, text=True, cwd=str(ROOT))
            if proc.returncode != 0:
                raise SystemExit(f"end to end, {size:,} characters, failed:\n{proc.stderr[-3000:]}")
            r = json.loads(proc.stdout.strip().splitlines()[-1])
            result["end_to_end"].append(r)
            ok = "PASS" if r["peak_rss_mb"] <= 1536 and r["documents"] == 1 else "FAIL"
            print(f"\nend to end, one {r['chars']:,}-character article ({args.backend}): "
                  f"{r['wall_s']} s wall, {r['cpu_s']} s CPU, peak RSS {r['peak_rss_mb']:.0f} MB "
                  f"(target <= 1,536 MB: {ok}); {r['claims']} claims, {r['pairs']} pairs, "
                  f"{r['flags']} flagged; models loaded beforehand in {r['model_load_s']} s", flush=True)
            print("stage timings (s): " + ", ".join(f"{k} {v}" for k, v in r["timings_s"].items()))
        runs = result["end_to_end"]
        if len(runs) > 1:
            a, b = runs[0], runs[-1]
            print(f"\n{b['chars'] / a['chars']:.1f}x the characters: {b['wall_s'] / max(a['wall_s'], 1e-9):.2f}x "
                  f"the wall time, {b['cpu_s'] / max(a['cpu_s'], 1e-9):.2f}x the CPU time, "
                  f"{b['peak_rss_mb'] / a['peak_rss_mb']:.2f}x the peak RSS")
    cases = [c for c in args.cases.split(",") if c.strip()]
    if cases:
        result["pathological"] = []
        print(f"\n{'case':>11} {'chars':>8} {'wall':>8} {'cpu':>8} {'peak RSS':>9} {'claims':>6}  "
              f"(end to end, one document, {args.backend}; models loaded beforehand)")
    for case in cases:
        if case not in CASES:
            raise SystemExit(f"unknown case {case!r}: choose from {', '.join(CASES)}")
        cmd = [sys.executable, str(Path(__file__).resolve()), "--child-case", case,
               "--backend", args.backend, "--workdir", args.workdir] + (
                   ["--model", args.model] if args.model else [])
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, cwd=str(ROOT),
                                  timeout=args.case_timeout)
        except subprocess.TimeoutExpired:
            r = {"case": case, "chars": len(pathological(case)), "timed_out_s": args.case_timeout}
            result["pathological"].append(r)
            print(f"{case:>11} {r['chars']:>8} {'> ' + str(int(args.case_timeout)) + ' s':>8}", flush=True)
            continue
        if proc.returncode != 0:
            raise SystemExit(f"{case} failed:\n{proc.stderr[-3000:]}")
        r = {"case": case, **json.loads(proc.stdout.strip().splitlines()[-1])}
        result["pathological"].append(r)
        print(f"{case:>11} {r['chars']:>8} {str(r['wall_s']) + ' s':>8} {str(r['cpu_s']) + ' s':>8} "
              f"{r['peak_rss_mb']:>6.0f} MB {r['claims']:>6}", flush=True)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
