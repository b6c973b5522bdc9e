"""The real annotated set: which articles, their dev/test split, and the annotation files.

The texts stay in ``../shared/data/news`` (news text released for research, not ours to copy);
the repository keeps article ids, offsets and a short hash of each span.

    python scripts/real_set.py select            # choose the articles and split them (once; writes split.tsv)
    python scripts/real_set.py extend            # 36 more dev articles drawn the same way (test unchanged)
    python scripts/real_set.py find ID "exact words from the article"   # offsets + sha1 of a span
    python scripts/real_set.py check             # validate every ann/*.json against its text
    python scripts/real_set.py build             # ann/*.json + split.tsv -> dev.jsonl, test.jsonl

Selection (``select``) is by a fixed seed over articles of 500-4,500 characters: 42 FNC-1
bodies (32 with a dispute or denial word anywhere, 10 without) and 24 PolNeAR *train*
articles (never dev: PolNeAR dev measures attribution). Split by article, half each way,
stratified by corpus and by the dispute word. Nothing about the pipeline's output enters it.
"""
from __future__ import annotations

import hashlib
import json
import random
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent / "data" / "labelled" / "real"
NEWS = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "news"
SEED = 20261207
DISPUTE = re.compile(r"\b(den(y|ies|ied|ial)|reject\w*|dismiss\w*|disput\w*|refut\w*|rebut\w*|"
                     r"contradict\w*|false|baseless|debunk\w*|hoax)\b", re.I)


def sha(span: str) -> str:
    return hashlib.sha1(span.encode("utf-8")).hexdigest()[:10]


def load_text(corpus: str, doc_id: str, news: Path = NEWS) -> str:
    """The original text of one article (see ``pipeline.eval.real.load_texts`` for the runtime twin)."""
    if corpus == "fnc1":
        for line in (news / "fnc1_train_bodies.jsonl").open(encoding="utf-8"):
            obj = json.loads(line)
            if obj["id"] == doc_id:
                return obj["text"]
        raise KeyError(doc_id)
    if corpus == "polnear-train":
        return (news / "polnear" / "train" / "text" / f"{doc_id}.txt").read_text(encoding="utf-8")
    raise KeyError(corpus)


def select() -> None:
    rng = random.Random(SEED)
    fnc = [json.loads(line) for line in (NEWS / "fnc1_train_bodies.jsonl").open(encoding="utf-8")]
    fnc = [d for d in fnc if 500 <= len(d["text"]) <= 4500]
    with_d = sorted(d["id"] for d in fnc if DISPUTE.search(d["text"]))
    without = sorted(d["id"] for d in fnc if not DISPUTE.search(d["text"]))
    pol = sorted(p.stem for p in (NEWS / "polnear" / "train" / "text").glob("*.txt")
                 if 500 <= len(p.read_text(encoding="utf-8")) <= 4500)
    rows = []
    for corpus, ids, n, tag in (("fnc1", with_d, 32, "dispute"), ("fnc1", without, 10, "none"),
                                ("polnear-train", pol, 24, "-")):
        pick = rng.sample(ids, n)
        for i, doc_id in enumerate(pick):
            rows.append((doc_id, corpus, tag, "dev" if i % 2 == 0 else "test"))
    out = HERE / "split.tsv"
    out.write_text("id\tcorpus\tstratum\tsplit\n" + "".join("\t".join(r) + "\n" for r in rows), encoding="utf-8")
    print(f"{len(rows)} articles -> {out}")


def extend(n_dispute: int = 24, n_none: int = 6, n_polnear: int = 6, seed: int = SEED + 1) -> None:
    """More dev articles, drawn the same way from the articles not yet chosen (test stays as it
    was split: it has been reported on)."""
    rng = random.Random(seed)
    have = {r["id"] for r in split_rows()}
    fnc = [json.loads(line) for line in (NEWS / "fnc1_train_bodies.jsonl").open(encoding="utf-8")]
    fnc = [d for d in fnc if 500 <= len(d["text"]) <= 4500 and d["id"] not in have]
    with_d = sorted(d["id"] for d in fnc if DISPUTE.search(d["text"]))
    without = sorted(d["id"] for d in fnc if not DISPUTE.search(d["text"]))
    pol = sorted(p.stem for p in (NEWS / "polnear" / "train" / "text").glob("*.txt")
                 if p.stem not in have and 500 <= len(p.read_text(encoding="utf-8")) <= 4500)
    rows = []
    for corpus, ids, n, tag in (("fnc1", with_d, n_dispute, "dispute"), ("fnc1", without, n_none, "none"),
                                ("polnear-train", pol, n_polnear, "-")):
        rows += [(doc_id, corpus, tag, "dev") for doc_id in rng.sample(ids, n)]
    with (HERE / "split.tsv").open("a", encoding="utf-8") as fh:
        fh.write("".join("\t".join(r) + "\n" for r in rows))
    print(f"{len(rows)} more dev articles -> {HERE / 'split.tsv'}")


def split_rows() -> list[dict]:
    lines = (HERE / "split.tsv").read_text(encoding="utf-8").splitlines()
    head = lines[0].split("\t")
    return [dict(zip(head, line.split("\t"))) for line in lines[1:] if line.strip()]


def find(doc_id: str, snippet: str) -> None:
    row = next(r for r in split_rows() if r["id"] == doc_id)
    text = load_text(row["corpus"], doc_id)
    starts = [m.start() for m in re.finditer(re.escape(snippet), text)]
    if not starts:
        sys.exit(f"not found in {doc_id}: {snippet!r}")
    for s in starts:
        print(json.dumps({"start": s, "end": s + len(snippet), "sha1": sha(snippet)}))


def check_one(ann: dict, text: str) -> list[str]:
    errs = []
    ids = set()
    for c in ann.get("claims", []):
        if c["id"] in ids:
            errs.append(f"duplicate claim id {c['id']}")
        ids.add(c["id"])
        s, e = c["start"], c["end"]
        if not (0 <= s < e <= len(text)):
            errs.append(f"claim {c['id']}: offsets {s}-{e} out of range")
        elif sha(text[s:e]) != c["sha1"]:
            errs.append(f"claim {c['id']}: sha1 of text[{s}:{e}] is {sha(text[s:e])}, not {c['sha1']}")
        elif text[s:e] != text[s:e].strip():
            errs.append(f"claim {c['id']}: span has leading or trailing space")
    for p in ann.get("pairs", []):
        if p["a"] not in ids or p["b"] not in ids:
            errs.append(f"pair {p['a']}-{p['b']}: unknown claim")
        if p["label"] not in ("contradiction", "non_contradiction"):
            errs.append(f"pair {p['a']}-{p['b']}: label {p['label']!r}")
    if not isinstance(ann.get("exhaustive"), bool):
        errs.append("'exhaustive' must be true or false")
    return errs


def check() -> int:
    bad = 0
    rows = {r["id"]: r for r in split_rows()}
    for path in sorted((HERE / "ann").glob("*.json")):
        ann = json.loads(path.read_text(encoding="utf-8"))
        row = rows.get(ann["id"])
        if row is None:
            print(f"{path}: {ann['id']} is not in split.tsv")
            bad += 1
            continue
        for err in check_one(ann, load_text(row["corpus"], ann["id"])):
            print(f"{path}: {err}")
            bad += 1
    print("ok" if not bad else f"{bad} errors")
    return 1 if bad else 0


def build() -> None:
    rows = {r["id"]: r for r in split_rows()}
    out = {"dev": [], "test": []}
    for path in sorted((HERE / "ann").glob("*.json")):
        ann = json.loads(path.read_text(encoding="utf-8"))
        ann["corpus"] = rows[ann["id"]]["corpus"]
        out[rows[ann["id"]]["split"]].append(ann)
    for split, anns in out.items():
        (HERE / f"{split}.jsonl").write_text(
            "".join(json.dumps(a, ensure_ascii=False, sort_keys=True) + "\n" for a in anns), encoding="utf-8")
        print(f"{split}: {len(anns)} articles, "
              f"{sum(1 for a in anns for p in a['pairs'] if p['label'] == 'contradiction')} contradictions")


if __name__ == "__main__":
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "select":
        select()
    elif cmd == "find":
        find(sys.argv[2], sys.argv[3])
    elif cmd == "extend":
        extend()
    elif cmd == "check":
        sys.exit(check())
    elif cmd == "build":
        build()
    else:
        sys.exit(__doc__)
