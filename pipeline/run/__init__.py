"""Corpus runs: one run layer (api.py) for both engines (local.py, ray_data.py), with the
parts store (store.py: commit log, resume, lock), the ledger (ledger.py: counts, skips,
timings, manifest), the sinks (sinks.py) and progress rendering for the CLI (progress.py)."""

from pipeline.run.api import RunProgress, RunSummary, run

__all__ = ["run", "RunProgress", "RunSummary"]
