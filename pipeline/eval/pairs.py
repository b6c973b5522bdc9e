"""Evaluate an NLI model on labelled JSONL files: one metrics report per file.

Library code only: no printing and no exit codes. The CLI prints
``metrics.format_table(eval_pairs(...))``.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from pipeline.eval import metrics

from pipeline.nli import model as nli

from pipeline.nli import data as nlidata

log = logging.getLogger(__name__)

REPORT_FILE = "report.json"


def eval_pairs(
    model: str,
    data: list[str],
    out_dir: Path | None,
    backend: str = "torch",
    batch_size: int = 64,
    max_length: int = 256,
    label_map: dict[str, str] | None = None,
    limit: int = 0,
    on_progress=None,
) -> dict[str, dict]:
    """Score every labelled pair in ``data`` with ``model`` and report metrics per file.

    Args:
        model: model folder or hub id, loaded once with ``nli.get_model``.
        data: file, folder, glob or hub-id specs, as for ``nlidata.load_files``.
        out_dir: if given, ``out_dir/report.json`` (model, backend, data specs, limit and
            every file's report) and per-file PNGs ``<stem>_{pr,confusion,reliability}.png``
            are written there (the folder is created).
        backend, batch_size, max_length: passed to ``nli.get_model``.
        label_map: raw label -> canonical label mapping, passed to ``nlidata.load_files``.
        limit: if > 0, only the first ``limit`` rows of each file are scored (smoke runs).
        on_progress: called with (pairs scored, pairs in all) as model batches complete.

    Returns:
        {file stem (or hub id): ``metrics.classification_report(...)``}, in load order.

    Raises:
        DataError: a data spec matches no file, or a file has a bad row (raised by
            ``nlidata.load_files`` before the model is loaded).
        ModelError: the model cannot be loaded or has no contradiction label.
    """
    files = nlidata.load_files(list(data), label_map)  # data first: a bad path fails fast
    nli_model = nli.get_model(
        model, backend=backend, batch_size=batch_size, max_length=max_length
    )
    reports: dict[str, dict] = {}
    if limit and limit > 0:
        files = {stem: rows[:limit] for stem, rows in files.items()}
    total = sum(len(rows) for rows in files.values())
    scored = [0]

    def step(n: int) -> None:
        scored[0] += n
        if on_progress is not None:
            on_progress(scored[0], total)

    for stem, rows in files.items():
        probs = nli_model.predict([(r.premise, r.hypothesis) for r in rows], on_batch=step)
        reports[stem] = metrics.classification_report([r.label for r in rows], probs, nli.LABELS)
        log.info("evaluated %s: n=%d acc=%.3f", stem, reports[stem]["n"], reports[stem]["accuracy"])

    if out_dir is not None:
        write_outputs(reports, Path(out_dir), model=model, data=data, backend=backend, limit=limit)
    return reports


def write_outputs(
    reports: dict[str, dict], out_dir: Path, *, model: str, data: list[str],
    backend: str = "torch", limit: int = 0,
) -> Path:
    """Write ``out_dir/report.json`` and each file's PNGs; returns the JSON path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    plots = {
        stem: [p.name for p in metrics.plot_report(rep, out_dir, stem)]
        for stem, rep in reports.items()
    }
    payload = {
        "model": str(model),
        "backend": backend,
        "data": [str(d) for d in data],
        "limit": int(limit or 0),
        "files": reports,
        "plots": plots,
    }
    path = out_dir / REPORT_FILE
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(payload, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path
