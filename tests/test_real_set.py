"""The real annotated set (data/labelled/real): built from its per-article files, split by
article, every span pinned by a hash. The texts are in ../shared: the checks against them run
only where it is present."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.errors import DataError
from pipeline.eval.docs import DEFAULT_TEXTS, load_gold, span_sha1

REAL = Path(__file__).resolve().parent.parent / "data" / "labelled" / "real"


def _lines(name):
    return [json.loads(line) for line in (REAL / name).read_text(encoding="utf-8").splitlines() if line.strip()]


def test_built_files_match_the_annotations_and_the_split():
    split = {row.split("\t")[0]: row.split("\t")[3]
             for row in (REAL / "split.tsv").read_text(encoding="utf-8").splitlines()[1:]}
    built = {a["id"]: (s, a) for s in ("dev", "test") for a in _lines(f"{s}.jsonl")}
    anns = {json.loads(p.read_text(encoding="utf-8"))["id"]: json.loads(p.read_text(encoding="utf-8"))
            for p in (REAL / "ann").glob("*.json")}
    assert len(anns) >= 60 and set(anns) == set(built) == set(split)
    for doc_id, (s, a) in built.items():
        assert split[doc_id] == s
        assert a["claims"] == anns[doc_id]["claims"] and a["pairs"] == anns[doc_id]["pairs"]
        assert a["exhaustive"] is True and "text" not in a  # offsets only: the texts stay in ../shared
    contra = {s: sum(p["label"] == "contradiction" for _, (sp, a) in built.items() if sp == s for p in a["pairs"])
              for s in ("dev", "test")}
    assert min(contra.values()) >= 50


def test_a_moved_span_is_refused(tmp_path):
    texts = tmp_path / "news"
    texts.mkdir()
    (texts / "fnc1_train_bodies.jsonl").write_text(
        json.dumps({"id": "x1", "text": "Talks are over. Rain fell."}) + "\n")
    line = {"id": "x1", "corpus": "fnc1", "exhaustive": True, "pairs": [],
            "claims": [{"id": "c1", "start": 0, "end": 14, "sha1": span_sha1("Talks are over")}]}
    gold = tmp_path / "g.jsonl"
    gold.write_text(json.dumps(line) + "\n")
    (doc,) = load_gold(gold, texts)
    assert doc.claims["c1"]["text"] == "Talks are over" and doc.exhaustive
    line["claims"][0]["end"] = 13
    gold.write_text(json.dumps(line) + "\n")
    with pytest.raises(DataError, match="g.jsonl:1: claim c1"):
        load_gold(gold, texts)


@pytest.mark.skipif(not DEFAULT_TEXTS.is_dir(), reason="../shared/data/news is not here")
def test_every_real_span_points_at_its_words():
    for split in ("dev", "test"):
        docs = load_gold(REAL / f"{split}.jsonl")
        assert len(docs) >= 30
