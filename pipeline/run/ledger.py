"""The ledger of a run: counts, skipped documents, dropped work, timings and the manifest.

Both engines feed it the same commit records (one per batch), whether they come from this
process or were read back from an interrupted run's commit log, so the counts, skips and
timings of a resumed run are those of an uninterrupted one.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from pipeline import __version__
from pipeline.config import RunConfig, to_dict

def _models(cfg: RunConfig) -> dict:
    """``model`` (the NLI model, its backend as run: torch-fp32 / onnx-int8, and why) and
    ``embedder``, for the manifest."""
    from pipeline.pipeline import describe_models

    d = describe_models(cfg)
    return {"model": d["nli"], "embedder": d["embedder"]}


def _below_summary(row: dict) -> dict:
    keys = ("doc_a", "start_a", "end_a", "doc_b", "start_b", "end_b", "claim_a", "claim_b",
            "speaker_a", "speaker_b", "relation", "score", "p_contradiction")
    return {k: row.get(k) for k in keys}


def manifest_path(out: Path) -> Path:
    """``flagged.csv`` -> ``flagged.manifest.json`` (two outputs in one folder keep theirs)."""
    return out.with_name(out.stem + ".manifest.json")


def skip_kind(reason: str) -> str:
    """A short key to group skip reasons by ("file is 12 bytes, over ..." -> "file is N bytes";
    "not valid UTF-8 at byte 7" -> "not valid UTF-8 at byte N")."""
    head = re.split(r"[:;(]", reason, maxsplit=1)[0].strip()
    if reason.startswith("error:"):
        head = "error: " + reason.split(":", 2)[1].strip()
    # numbers become N, names that hold digits stay (UTF-8, UTF-16)
    return re.sub(r"(?<![A-Za-z0-9-])\d+", "N", head) or reason


@dataclass
class Ledger:
    """The run's running totals, committed batch by batch: documents, skips, counts,
    dropped work, timings and recovery notes; ``manifest`` turns them into the manifest."""
    processed: list[str] = field(default_factory=list)  # document ids, in commit order
    skipped: list[dict] = field(default_factory=list)
    claims: int = 0
    pairs: int = 0
    nli_pairs: int = 0  # candidate pairs the NLI model scored (fewer with the NLI cascade)
    nli_confirmed: int = 0  # of them, scored again one by one near the cut (decide.confirm_margin)
    flags: int = 0
    dropped: dict[str, int] = field(default_factory=dict)  # work dropped by a cap, by cap name
    timings: dict[str, float] = field(default_factory=dict)
    recovered: list[str] = field(default_factory=list)  # torn tails dropped on resume
    resumed_documents: int = 0  # documents (processed + skipped) taken from an earlier run
    batches: int = 0
    complete: bool = False  # every output and the manifest are in place (only cleanup is left)
    below: list[dict] = field(default_factory=list)  # the run's best rows under the cut, best first
    keep_below: int = 10  # how many of them (output.top)
    cut: float | None = None  # the decision stage's cut on the score column, as the batches report it

    @property
    def documents(self) -> int:
        """The number of documents processed."""
        return len(self.processed)

    @property
    def done(self) -> int:
        """Progress position: documents processed plus records skipped."""
        return len(self.processed) + len(self.skipped)

    def add(self, rec: dict) -> None:
        """Count one commit record (see ``engine.commit_record``)."""
        self.processed.extend(rec["docs"])
        self.skipped.extend(rec.get("skipped", []))
        self.claims += int(rec.get("claims", 0))
        self.pairs += int(rec.get("pairs", 0))
        self.nli_pairs += int(rec.get("nli_pairs", 0))
        self.nli_confirmed += int(rec.get("nli_confirmed", 0))
        self.flags += int(rec.get("flags", 0))
        for k, v in rec.get("dropped", {}).items():
            self.dropped[k] = self.dropped.get(k, 0) + int(v)
        for k, v in rec.get("timings", {}).items():
            self.timings[k] = self.timings.get(k, 0.0) + float(v)
        if rec.get("cut") is not None:
            self.cut = float(rec["cut"])
        if rec.get("below"):
            self.below = sorted(self.below + list(rec["below"]),
                                key=lambda r: (-r["score"], r.get("_seq", 0)))[:self.keep_below]
        self.batches += 1

    def top_skip_reasons(self, n: int = 3) -> list[tuple[str, int]]:
        """The ``n`` commonest kinds of skip, with their counts."""
        return Counter(skip_kind(s["reason"]) for s in self.skipped).most_common(n)

    def manifest(self, cfg: RunConfig, *, inputs: list[str], outputs: dict[str, str],
                 n_rows: int, resumed: bool, engine: str) -> dict:
        """The run's manifest: tool, version, inputs, outputs, engine, documents, skips,
        counts (``n_rows`` flags), drops, models, decision, config, resume and recovery notes,
        timings."""
        return {
            "tool": "contradict", "version": __version__,
            "inputs": inputs, "output": outputs.get("csv", ""), "outputs": outputs,
            "engine": engine,
            "documents_processed": self.documents,
            "documents": sorted(self.processed),
            "skipped": self.skipped,
            "counts": {"documents": self.documents, "skipped": len(self.skipped),
                       "claims": self.claims, "pairs": self.pairs, "nli_pairs": self.nli_pairs,
                       "nli_confirmed": self.nli_confirmed, "flags": n_rows},
            "dropped": dict(sorted(self.dropped.items())),
            **_models(cfg),
            "decision": {"method": cfg.decide.method, "threshold": cfg.decide.threshold,
                         "cut": self.cut,
                         "nli_cascade": cfg.decide.nli_cascade,
                         "confirm_margin": cfg.decide.confirm_margin},
            # with no flag, the best candidates under the cut: what the CLI prints instead
            "below_cut": [] if self.flags else [_below_summary(r) for r in self.below],
            "config": to_dict(cfg),
            "resumed": resumed,
            "resumed_documents": self.resumed_documents if resumed else 0,
            "recovered": self.recovered,
            "timings_s": {k: round(v, 3) for k, v in sorted(self.timings.items())},
            "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
