"""The ``contradict`` command. Thin: every command calls an importable function that returns
data; errors from the library become a message on stderr and exit code 1."""

from __future__ import annotations

import json
import logging
import os
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from pipeline.errors import ContradictError

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

app = typer.Typer(
    help="Find statements in news articles that contradict each other.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
eval_app = typer.Typer(help="Measure a model on labelled pairs, or the pipeline on annotated articles.",
                       no_args_is_help=True)
app.add_typer(eval_app, name="eval")


class Backend(str, Enum):
    auto = "auto"
    torch = "torch"
    onnx = "onnx"


class Engine(str, Enum):
    local = "local"
    ray = "ray"


class Method(str, Enum):
    threshold = "threshold"
    learned = "learned"


def _err(msg: str) -> None:
    typer.echo(f"error: {msg}", err=True)


def _logging(verbose: bool) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    for noisy in ("transformers", "sentence_transformers", "datasets", "httpx", "filelock"):
        logging.getLogger(noisy).setLevel(logging.ERROR)


def _run_cfg(config: Optional[Path], overrides: list[str], model: Optional[str],
             threshold: Optional[float], backend: Optional[Backend] = None,
             engine: Optional[Engine] = None, method: Optional[Method] = None,
             cross: Optional[bool] = None):
    from pipeline.config import load_run_config

    ov = list(overrides or [])
    if model:
        ov.append(f"score.model={json.dumps(model)}")
    if threshold is not None:
        ov.append(f"decide.threshold={threshold}")
    if backend is not None:
        ov.append(f"score.backend={backend.value}")
    if engine is not None:
        ov.append(f"engine={engine.value}")
    if method is not None:
        ov.append(f"decide.method={method.value}")
    if cross is not None:
        ov.append(f"pair.cross_document={'true' if cross else 'false'}")
    return load_run_config(config, ov)


ConfigOpt = Annotated[Optional[Path], typer.Option("--config", "-c", help="YAML run config (default: built-in defaults; see configs/run.yaml).")]
SetOpt = Annotated[Optional[list[str]], typer.Option("--set", help="Dotted override, e.g. --set pair.k=8 (repeatable).")]
ModelOpt = Annotated[Optional[str], typer.Option("--model", "-m", help="NLI model: a local folder or a hub id (default: the model in models/).")]
VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", help="Log progress to stderr.")]


@app.command()
def run(
    inputs: Annotated[list[Path], typer.Argument(help="Article files (.txt/.md), folders, .jsonl or .csv.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Flagged-pairs CSV to write.")] = Path("out/flagged.csv"),
    config: ConfigOpt = None,
    model: ModelOpt = None,
    threshold: Annotated[Optional[float], typer.Option(help="Contradiction threshold (decide.threshold).")] = None,
    backend: Annotated[Optional[Backend], typer.Option(help="NLI backend (score.backend).")] = None,
    method: Annotated[Optional[Method], typer.Option(help="Decision stage (decide.method).")] = None,
    cross_document: Annotated[Optional[bool], typer.Option("--cross-document/--no-cross-document", help="Also pair claims across documents.")] = None,
    engine: Annotated[Optional[Engine], typer.Option(help="local, or ray (Ray Data; RAY_ADDRESS picks the cluster).")] = None,
    resume: Annotated[bool, typer.Option(help="Continue an interrupted run with the same inputs and config.")] = False,
    manifest: Annotated[Optional[Path], typer.Option(help="Manifest path (default: manifest.json beside the CSV).")] = None,
    top: Annotated[int, typer.Option(help="Rows of the top-flags table to print.")] = 10,
    overrides: SetOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Run the whole pipeline and write flagged pairs (CSV) and a manifest (JSON)."""
    _logging(verbose)
    cfg = _run_cfg(config, overrides or [], model, threshold, backend, engine, method, cross_document)
    if cfg.engine == "ray":
        from pipeline.errors import ConfigError
        from pipeline.run.ray_data import run_ray

        if resume:
            raise ConfigError("--resume is not supported with --engine ray",
                              fix="rerun the whole corpus, or use the local engine to resume")

        summary = run_ray([str(i) for i in inputs], out, cfg, manifest=manifest)
    else:
        from pipeline.run.local import run as run_local

        summary = run_local([str(i) for i in inputs], out, cfg, resume=resume, manifest=manifest)
    typer.echo(
        f"{summary.documents} documents, {len(summary.skipped)} skipped, {summary.claims} claims, "
        f"{summary.pairs} candidate pairs, {summary.flags} flagged -> {summary.out_csv}"
    )
    if summary.skipped:
        typer.echo(f"skipped documents are listed with reasons in {summary.manifest}")
    if summary.top and top > 0:
        typer.echo(format_top(summary.top[:top]))


def format_top(rows: list[dict], width: int = 60) -> str:
    def cut(s: str, n: int) -> str:
        s = str(s).replace("\n", " ")
        return s if len(s) <= n else s[: n - 1] + "…"

    lines = [f"{'score':>5}  {'reason':<12} {'relation':<15} {'A (speaker)':<{width}}  B (speaker)"]
    for r in rows:
        a = f"{cut(r['claim_a'], width - 18)} ({cut(r['speaker_a'] or '-', 14)})"
        b = f"{cut(r['claim_b'], width - 18)} ({cut(r['speaker_b'] or '-', 14)})"
        lines.append(f"{float(r['score']):5.2f}  {cut(r['reason'], 12):<12} {r['relation']:<15} {a:<{width}}  {b}")
    return "\n".join(lines)


@app.command()
def claims(
    inputs: Annotated[list[Path], typer.Argument(help="Article files, folders, .jsonl or .csv.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Claims CSV to write.")] = Path("out/claims.csv"),
    config: ConfigOpt = None,
    overrides: SetOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Write every claim with document, offsets, speaker, side, cue, stance and topic."""
    _logging(verbose)
    from pipeline.config import load_run_config
    from pipeline.stages.ingest import iter_items
    from pipeline.pipeline import Pipeline
    from pipeline.types import Document
    from pipeline.run.sinks import CLAIM_COLUMNS, claim_row, write_csv

    cfg = load_run_config(config, overrides or [])
    pipe = Pipeline(cfg)
    skipped = []

    def rows():
        batch = []
        for item in iter_items([str(i) for i in inputs], cfg.ingest):
            if not isinstance(item, Document):
                skipped.append(item)
                continue
            batch.append(item)
            if len(batch) >= cfg.batch_docs:
                yield from (claim_row(c) for c in pipe.extract(batch).claims)
                batch = []
        if batch:
            yield from (claim_row(c) for c in pipe.extract(batch).claims)

    n = write_csv(out, CLAIM_COLUMNS, rows())
    typer.echo(f"{n} claims -> {out}")
    for s in skipped:
        typer.echo(f"skipped {s.file}{':' + str(s.line) if s.line else ''}: {s.reason}", err=True)


@app.command()
def score(
    premise: Annotated[str, typer.Argument(help="First statement.")],
    hypothesis: Annotated[str, typer.Argument(help="Second statement.")],
    model: ModelOpt = None,
    backend: Annotated[Backend, typer.Option(help="NLI backend.")] = Backend.torch,
) -> None:
    """Print the model's probabilities in both directions."""
    _logging(False)
    from pipeline.config import ScoreConfig
    from pipeline.nli.model import LABELS, get_model

    m = get_model(ScoreConfig(model=model or "").resolved_model(), backend=backend.value)
    ab, ba = m.predict_both([(premise, hypothesis)])
    typer.echo(f"{'direction':<10} " + " ".join(f"{lab:>13}" for lab in LABELS))
    for name, row in (("A -> B", ab[0]), ("B -> A", ba[0])):
        typer.echo(f"{name:<10} " + " ".join(f"{v:13.4f}" for v in row))


@app.command()
def train(
    config: Annotated[Path, typer.Option("--config", "-c", help="Training YAML.")] = Path("configs/train.yaml"),
    output: Annotated[Optional[str], typer.Option(help="Output folder (default: output_dir in the config).")] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace a non-empty output folder.")] = False,
    resume: Annotated[bool, typer.Option(help="Continue from the last checkpoint in <output>/checkpoints.")] = False,
    overrides: SetOpt = None,
) -> None:
    """Fine-tune a 3-label NLI cross-encoder (progress bar here, log in <output>/train.log)."""
    _logging(True)
    from pipeline.config import load_train_config
    from pipeline.nli.train import train as do_train

    cfg = load_train_config(config, overrides or [])
    metrics = do_train(cfg, output=output, overwrite=overwrite, resume=resume)
    typer.echo(json.dumps(metrics, indent=2))


@eval_app.command("pairs")
def eval_pairs_cmd(
    data: Annotated[list[str], typer.Option("--data", "-d", help="JSONL file, folder or glob (repeatable).")],
    model: ModelOpt = None,
    out: Annotated[Optional[Path], typer.Option("--out", help="Folder for report.json and PNG plots.")] = None,
    backend: Annotated[Backend, typer.Option(help="NLI backend.")] = Backend.torch,
    limit: Annotated[int, typer.Option(help="Only the first N rows of each file (0: all).")] = 0,
    batch_size: Annotated[int, typer.Option(help="Pairs per batch.")] = 64,
) -> None:
    """Accuracy, macro-F1, per-class P/R/F1, PR-AUC, confusion matrix, ECE, best threshold."""
    _logging(False)
    from pipeline.config import ScoreConfig
    from pipeline.eval.pairs import eval_pairs
    from pipeline.eval.metrics import format_table

    reports = eval_pairs(ScoreConfig(model=model or "").resolved_model(), list(data), out,
                         backend=backend.value, batch_size=batch_size, limit=limit)
    typer.echo(format_table(reports))
    if out:
        typer.echo(f"report and plots in {out}")


@eval_app.command("docs")
def eval_docs_cmd(
    gold: Annotated[Path, typer.Option("--gold", "-g", help="Annotated articles (JSONL, see data/labelled/README.md).")],
    model: ModelOpt = None,
    config: ConfigOpt = None,
    out: Annotated[Optional[Path], typer.Option("--out", help="Folder for docs_report.json.")] = None,
    misses: Annotated[int, typer.Option(help="Print the N worst misses.")] = 5,
    overrides: SetOpt = None,
) -> None:
    """Claim recall, speaker accuracy, pair recall/precision per type on annotated articles;
    the plain threshold against the learned decision stage (when trained)."""
    _logging(False)
    from pipeline.eval.docs import format_report, run_eval_docs

    cfg = _run_cfg(config, overrides or [], model, None)
    reports = run_eval_docs(gold, cfg, out)
    typer.echo(format_report(reports))
    best = reports.get(cfg.decide.method) or reports["threshold"]
    worst = sorted(best["misses"], key=lambda m: (m["p_contradiction"] is None, -(m["p_contradiction"] or 0)))
    if misses and worst:
        typer.echo(f"\nmisses ({cfg.decide.method}), first {misses}:")
        for m in worst[:misses]:
            typer.echo(f"- [{m['doc']}, {m['type']}] {m['why']} (p_c={m['p_contradiction']})\n"
                       f"    A: {m['a'][:100]!s}\n    B: {m['b'][:100]!s}")
    if out:
        typer.echo(f"report in {out / 'docs_report.json'}")


@app.command("train-decider")
def train_decider_cmd(
    gold: Annotated[Path, typer.Option("--gold", "-g", help="Annotated articles to train on (dev split).")] = Path("data/labelled/dev.jsonl"),
    model: ModelOpt = None,
    config: ConfigOpt = None,
    out: Annotated[Optional[Path], typer.Option("--out", help="decider.json path (default: beside the model).")] = None,
    overrides: SetOpt = None,
) -> None:
    """Train the learned decision stage (logistic regression over pair features)."""
    _logging(False)
    from pipeline.eval.docs import run_train_decider

    cfg = _run_cfg(config, overrides or [], model, None)
    dec = run_train_decider(gold, cfg, out)
    typer.echo(json.dumps(dec.metrics, indent=2))


@app.command("export-onnx")
def export_onnx(
    model: Annotated[Optional[str], typer.Argument(help="Model folder (default: the model in models/).")] = None,
    quantize: Annotated[bool, typer.Option(help="Dynamic int8 quantisation.")] = True,
    embedder: Annotated[bool, typer.Option("--embedder/--no-embedder", help="Also export the sentence embedder (topics.embedder) to the cache.")] = False,
    config: ConfigOpt = None,
) -> None:
    """Export a model folder to ONNX (dynamic int8, tied to its weights' sha256) for the
    auto/onnx backends; with --embedder, the sentence embedder too."""
    _logging(True)
    from pipeline.nli.export import export

    cfg = _run_cfg(config, [], model, None)
    path = export(cfg.score.resolved_model(), quantize=quantize)
    typer.echo(f"wrote {path}")
    if embedder:
        from pipeline.config import minilm_path
        from pipeline.stages.embedder import export_embedder

        path = export_embedder(minilm_path(cfg.topics.embedder), cfg.topics.onnx_cache)
        typer.echo(f"wrote {path}")


def main() -> None:
    try:
        app()
    except ContradictError as exc:
        _err(str(exc))
        sys.exit(1)
    except KeyboardInterrupt:
        _err("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()
