"""The stage protocol (issue 28): the pipeline is its ordered list of stages and a loop, each
stage leaves the batch it reads unchanged, and claims are frozen."""

from __future__ import annotations

import dataclasses
import importlib.util
import json

import numpy as np
import pytest

from conftest import REPO, SAMPLE
from pipeline.config import RunConfig
from pipeline.pipeline import STAGE_NAMES, STAGES, BatchResult, Pipeline
from pipeline.stages.base import Component, Stage
from pipeline.types import Claim, ClaimInfo, Document


def _bench():
    spec = importlib.util.spec_from_file_location("bench", REPO / "scripts" / "bench.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_stage_names_come_from_the_one_list():
    assert STAGE_NAMES == ("normalize", "parse", "segment", "attribute", "claim_info", "embed", "topics",
                           "pair", "cascade", "score", "confirm", "decide")
    assert all(isinstance(s.name, str) and s.name for s in STAGES)
    pipe = Pipeline(RunConfig())  # builds the stages, loads no model
    assert tuple(s.name for s in pipe.stages) == STAGE_NAMES
    assert all(isinstance(s, Stage) for s in pipe.stages)
    # the benchmark's per-stage profile reads the same list (and adds the run's write)
    assert tuple(name for name, _ in _bench().PROFILE_STAGES) == STAGE_NAMES + ("write",)
    # the stages that may run ahead of the batch (the prefetch thread) come first
    ahead = [s.ahead for s in STAGES]
    assert ahead == sorted(ahead, reverse=True) and ahead[:2] == [True, True]


class _Count(Component):
    """A stage added at the end of the list: counts the batch's claims into ``dropped``."""

    name = "count_claims"

    def predict(self, batch):
        return len(batch.claims)

    def apply(self, batch, prediction):
        return dataclasses.replace(batch, dropped={**batch.dropped, "counted": prediction})


def _doc() -> Document:
    path = sorted(SAMPLE.glob("*.txt"))[0]
    return Document(path.name, path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def pipe(shipped_model):
    return Pipeline(RunConfig())


def test_adding_a_stage_is_one_list_entry(pipe, shipped_model):
    """Every stage's time is under its name, in order, and nothing else; a stage added to the
    list runs last, with its own timing key, and the others give what they gave without it."""
    res = pipe.process([_doc()])
    assert tuple(res.timings) == STAGE_NAMES
    assert res.claims and res.pairs and len(res.scores) == len(res.pairs)
    longer = Pipeline(RunConfig(), stages=STAGES + (_Count,))
    longer._nli, longer._decider = pipe.nli, pipe.decider  # the same models, loaded once
    more = longer.process([_doc()])
    assert tuple(more.timings) == STAGE_NAMES + ("count_claims",)
    assert more.dropped["counted"] == len(res.claims)
    assert [f.pair for f in more.flags] == [f.pair for f in res.flags]
    assert [(f.score, f.reason) for f in more.flags] == [(f.score, f.reason) for f in res.flags]


def _snapshot(batch: BatchResult) -> dict:
    """Each field's object and, for lists, dicts and arrays, a copy of what it holds."""
    out = {}
    for f in dataclasses.fields(batch):
        v = getattr(batch, f.name)
        held = (list(v) if isinstance(v, list) else dict(v) if isinstance(v, dict)
                else v.copy() if isinstance(v, np.ndarray) else None)
        out[f.name] = (v, held)
    return out


def _unchanged(batch: BatchResult, snap: dict) -> list[str]:
    changed = []
    for name, (obj, held) in snap.items():
        v = getattr(batch, name)
        if v is not obj:
            changed.append(name)
        elif isinstance(v, list) and (len(v) != len(held) or any(a is not b for a, b in zip(v, held))):
            changed.append(name)
        elif isinstance(v, dict) and v != held:
            changed.append(name)
        elif isinstance(v, np.ndarray) and not np.array_equal(v, held):
            changed.append(name)
    return changed


def test_predict_leaves_the_batch_unchanged_and_apply_returns_a_new_one(pipe, shipped_model):
    batch = BatchResult.of([_doc()])
    for stage in pipe.stages:
        snap = _snapshot(batch)
        claims = [dataclasses.astuple(c) for c in batch.claims]
        out = stage.apply(batch, stage.predict(batch))
        assert _unchanged(batch, snap) == [], stage.name
        assert [dataclasses.astuple(c) for c in batch.claims] == claims, stage.name
        assert out is not batch or stage.name == "confirm", stage.name  # confirm may not run
        batch = out
    assert batch.flags is not None and batch.claims and batch.parsed == [] and batch.norms == []
    # the claims carry what the stages added: speakers, info, topics
    assert all(c.info is not None and c.topic for c in batch.claims)
    assert any(c.speaker for c in batch.claims)


def test_claims_and_batches_are_frozen():
    c = Claim("d", "0.0", 0, 5, "Talks", 0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.speaker = "Ana Reyes"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.info = ClaimInfo()  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        BatchResult().flags = []  # type: ignore[misc]
    d = dataclasses.replace(c, speaker="Ana Reyes")
    assert (c.speaker, d.speaker) == ("", "Ana Reyes")


def test_the_manifest_times_every_stage_by_its_name(sample_run):
    out, _ = sample_run
    manifest = json.loads((out.parent / "flagged.manifest.json").read_text())
    timed = set(manifest["timings_s"])
    assert set(STAGE_NAMES) <= timed
    # the rest is the run layer's own: reading, the prefetch wait, Ray, writing, the total
    assert timed - set(STAGE_NAMES) <= {"ingest", "parse_wait", "ray_init", "write", "total"}
