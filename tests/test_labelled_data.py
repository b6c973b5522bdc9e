"""Integrity checks for the annotated contradiction set in data/labelled/.

Runs the same checks as ``python3 scripts/check_labelled.py`` and verifies
that the committed JSONL files are exactly what ``scripts/build_labelled.py``
produces from ``data/labelled/src/``.
"""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LABELLED = ROOT / "data" / "labelled"
FILES = [LABELLED / "dev.jsonl", LABELLED / "test.jsonl"]


def _load_script(name: str):
    path = ROOT / "scripts" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"_labelled_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def checker():
    return _load_script("check_labelled")


@pytest.fixture(scope="module")
def result(checker):
    return checker.check_files(FILES)


def test_no_errors(result):
    errors, _ = result
    assert errors == [], "\n".join(errors[:20])


def test_minimum_counts(result):
    _, stats = result
    total = stats["total"]
    assert total["articles"] >= 20
    assert total["claims"] >= 200
    assert total["contradiction"] >= 60
    assert total["non_contradiction"] >= 60


def test_every_type_is_used(result, checker):
    _, stats = result
    total = stats["total"]
    for t in checker.CONTRADICTION_TYPES:
        assert total["contradiction_types"][t] >= 6, t
    for t in checker.NON_CONTRADICTION_TYPES:
        assert total["non_contradiction_types"][t] >= 6, t


def test_both_splits_have_a_mix(result):
    _, stats = result
    for split in ("dev", "test"):
        st = stats[split]
        assert st["articles"] >= 10, split
        assert st["contradiction"] >= 20, split
        assert st["non_contradiction"] >= 20, split


def test_splits_are_disjoint():
    ids = {}
    for path in FILES:
        with open(path, encoding="utf-8") as fh:
            ids[path.stem] = {json.loads(line)["id"] for line in fh}
    assert not (ids["dev"] & ids["test"])


def test_checker_catches_a_bad_span(checker, tmp_path):
    with open(FILES[0], encoding="utf-8") as fh:
        art = json.loads(fh.readline())
    claim = art["claims"][0]
    claim["start"] += 1
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(art) + "\n", encoding="utf-8")
    errors, _ = checker.check_files([bad])
    # the error names the shifted span and the claim text it no longer matches
    wanted = f"text[{claim['start']}:{claim['end']}]="
    assert [e for e in errors if wanted in e and e.endswith(f"!= {claim['text']!r}")], errors


def test_jsonl_matches_sources(tmp_path):
    builder = _load_script("build_labelled")
    builder.build(out_dir=tmp_path)
    for path in FILES:
        assert (tmp_path / path.name).read_bytes() == path.read_bytes(), (
            f"{path.name} is stale: run python3 scripts/build_labelled.py"
        )
