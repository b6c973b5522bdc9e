"""The ``contradict`` command. Thin: every command calls an importable function that returns
data; errors from the library become a message on stderr and exit code 1."""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import sys
from pathlib import Path
from typing import Annotated

import typer

from pipeline.config import Backend, Engine, Method  # the choices config checks too
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


def _err(msg: str) -> None:
    from pipeline.errors import printable

    typer.echo(f"error: {printable(msg)}", err=True)


_SIGNAL = {"received": signal.SIGINT}


def _stop_on_sigterm() -> None:
    """SIGTERM stops a run as Ctrl-C does: the parts are kept and the run says so."""
    def handler(signum, frame):
        _SIGNAL["received"] = signum
        raise KeyboardInterrupt

    try:
        signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread (an embedding caller): leave it be
        pass


def _logging(verbose: bool) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    for noisy in ("transformers", "sentence_transformers", "datasets", "httpx", "filelock"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    if not verbose:
        # the model loaders' own bars ("Loading weights") only with -v
        os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
        if "transformers" in sys.modules:
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()


def _progress(label: str, unit: str, quiet: bool):
    from pipeline.run.progress import Progress

    return Progress(label, unit, stream=sys.stderr, enabled=not quiet)


def _run_cfg(config: Path | None, overrides: list[str], model: str | None,
             threshold: float | None, backend: Backend | None = None,
             engine: Engine | None = None, method: Method | None = None,
             cross: bool | None = None, formats: str | None = None,
             top: int | None = None):
    from pipeline.config import default_run_config, load_run_config

    ov = list(overrides or [])
    if model:
        ov.append(f"score.model={json.dumps(model)}")
    if threshold is not None:
        ov.append(f"decide.threshold={threshold}")
        ov.append(f"decide.operating_point={threshold}")
    if backend is not None:
        ov.append(f"score.backend={backend.value}")
    if engine is not None:
        ov.append(f"engine={engine.value}")
    if method is not None:
        ov.append(f"decide.method={method.value}")
    if cross is not None:
        ov.append(f"pair.cross_document={'true' if cross else 'false'}")
    if formats is not None:
        ov.append(f"output.formats={json.dumps([f.strip() for f in formats.split(',') if f.strip()])}")
    if top is not None:
        ov.append(f"output.top={top}")
    return load_run_config(config or default_run_config(), ov)


DEFAULT_STORIES = [Path("data/labelled/dev.jsonl"), Path("data/labelled/test.jsonl")]
ConfigOpt = Annotated[Path | None, typer.Option("--config", "-c", help="YAML run config (default: configs/run.yaml when it exists in the current folder, else the built-in defaults).")]
TextsOpt = Annotated[Path | None, typer.Option("--texts", help="Where the texts of real annotated articles lie (data/labelled/real/*.jsonl hold offsets only; default ../shared/data/news).")]
SetOpt = Annotated[list[str] | None, typer.Option("--set", help="Dotted override section.key=value, e.g. --set pair.k=8 (repeatable).")]
ModelOpt = Annotated[str | None, typer.Option("--model", "-m", help="NLI model: a local folder or a hub id (default: the model in models/).")]
VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", help="More detail on stderr: logs, per-stage timings per batch, model loaders' bars.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar on stderr.")]


@app.command()
def run(
    inputs: Annotated[list[Path], typer.Argument(help="Article files (.txt/.md), folders, .jsonl or .csv.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Flagged-pairs CSV to write.")] = Path("out/flagged.csv"),
    config: ConfigOpt = None,
    model: ModelOpt = None,
    threshold: Annotated[float | None, typer.Option(help="Cut on the score column: the decision model's operating point (decide.operating_point; default: the one chosen on dev) and the fallback threshold (decide.threshold).")] = None,
    backend: Annotated[Backend | None, typer.Option(help="NLI backend (score.backend).")] = None,
    method: Annotated[Method | None, typer.Option(help="Decision stage (decide.method).")] = None,
    cross_document: Annotated[bool | None, typer.Option("--cross-document/--no-cross-document", help="Also pair claims across documents.")] = None,
    engine: Annotated[Engine | None, typer.Option(help="local, or ray (Ray Data; RAY_ADDRESS picks the cluster).")] = None,
    resume: Annotated[bool, typer.Option(help="Continue an interrupted run with the same inputs and config.")] = False,
    fresh: Annotated[bool, typer.Option(help="Discard an interrupted run's parts and start over.")] = False,
    manifest: Annotated[Path | None, typer.Option(help="Manifest path (default: <out stem>.manifest.json beside the CSV).")] = None,
    formats: Annotated[str | None, typer.Option("--format", "-f", help="Output formats, comma-separated: csv,jsonl,parquet,html (default csv; output.formats). Each goes beside -o with its suffix: flagged.csv -> flagged.html.")] = None,
    top: Annotated[int | None, typer.Option(help="Rows of the top-flags table to print (output.top, default 10); with no flag, the best candidates under the cut instead.")] = None,
    overrides: SetOpt = None,
    verbose: VerboseOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Run the whole pipeline and write flagged pairs (CSV, and JSONL, Parquet, an HTML report
    with --format) and a manifest (JSON).

    Exit codes: 0 when at least one document was processed, 2 when none was, 1 for usage,
    configuration, input/output and model errors."""
    _logging(verbose)
    from pipeline.run.sinks import output_paths

    if resume and fresh:
        from pipeline.errors import ConfigError

        raise ConfigError("--resume and --fresh contradict each other",
                          fix="--resume continues an interrupted run; --fresh discards it")
    cfg = _run_cfg(config, overrides or [], model, threshold, backend, engine, method, cross_document,
                   formats, top)
    output_paths(out, cfg.output.formats)  # a clash of output names fails now, not after the run
    from pipeline.run import run as run_corpus
    from pipeline.run.progress import RunProgressBar, format_summary

    bar = RunProgressBar("run", stream=sys.stderr, enabled=not quiet, verbose=verbose)
    _stop_on_sigterm()
    try:
        summary = run_corpus([str(i) for i in inputs], out, cfg, resume=resume, fresh=fresh,
                             manifest=manifest, on_progress=bar.update_run)
    except KeyboardInterrupt as exc:  # SIGINT or SIGTERM: say what was kept
        bar.close()
        _err(str(exc) or "interrupted")
        raise typer.Exit(128 + int(_SIGNAL["received"])) from None
    finally:
        bar.close()
    typer.echo(format_summary(summary))
    if summary.top and cfg.output.top > 0:
        typer.echo(format_top(summary.top[:cfg.output.top]))
    elif summary.below and cfg.output.top > 0:
        cut = f" ({summary.cut:.3f})" if summary.cut is not None else ""
        typer.echo(f"no pair reached the cut{cut}; the {len(summary.below)} best candidates under "
                   f"it, to read (not flags: --threshold lowers the cut to write them):")
        typer.echo(format_top(summary.below[:cfg.output.top]))
    if summary.documents == 0:
        _err("no document was processed"
             + (f" ({len(summary.skipped)} skipped; reasons in {summary.manifest})" if summary.skipped
                else "; the inputs hold no .txt/.md/.jsonl/.csv document"))
        raise typer.Exit(2)


# terminal escape sequences, other control characters and bidi overrides/isolates/marks:
# text from the input must not move the cursor, recolour or reorder the terminal
_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def terminal_safe(s: object) -> str:
    """``s`` as one line of plain text for the terminal (escapes dropped, controls -> space)."""
    return _CONTROL.sub(" ", _ANSI.sub("", str(s)))


def format_top(rows: list[dict], width: int = 60) -> str:
    """The ``--top`` table: a header, then one line per row (score, reason, relation, each
    side's claim with its speaker), every cell made terminal-safe and cut to fit ``width``."""
    def cut(s: str, n: int) -> str:
        s = terminal_safe(s)
        return s if len(s) <= n else s[: n - 1] + "…"

    lines = [f"{'score':>5}  {'reason':<12} {'relation':<15} {'A (speaker)':<{width}}  B (speaker)"]
    for r in rows:
        a = f"{cut(r['claim_a'], width - 18)} ({cut(r['speaker_a'] or '-', 14)})"
        b = f"{cut(r['claim_b'], width - 18)} ({cut(r['speaker_b'] or '-', 14)})"
        lines.append(f"{float(r['score']):5.2f}  {cut(r['reason'], 12):<12} {cut(r['relation'], 15):<15} "
                     f"{a:<{width}}  {b}")
    return "\n".join(lines)


@app.command()
def claims(
    inputs: Annotated[list[Path], typer.Argument(help="Article files, folders, .jsonl or .csv.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Claims CSV to write.")] = Path("out/claims.csv"),
    config: ConfigOpt = None,
    overrides: SetOpt = None,
    verbose: VerboseOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Write every claim with document, offsets, speaker, side, cue, stance and topic."""
    _logging(verbose)
    from pipeline.run.progress import count_total
    from pipeline.stages.ingest import iter_items
    from pipeline.pipeline import Pipeline
    from pipeline.types import Document, Skipped
    from pipeline.run.sinks import CLAIM_COLUMNS, claim_row, write_csv

    cfg = _run_cfg(config, overrides or [], None, None)
    from pipeline.run.api import check_output_file

    check_output_file([str(i) for i in inputs], out)  # an input is never replaced by the output
    pipe = Pipeline(cfg)
    skipped: list[Skipped] = []
    bar = _progress("claims", "docs", quiet)
    total = count_total([str(i) for i in inputs])
    seen = {"docs": 0, "claims": 0}

    def extract(batch):
        res = pipe.extract(batch)
        seen["docs"] += len(batch)
        seen["claims"] += len(res.claims)
        bar.update(seen["docs"] + len(skipped), total,
                   {"claims": seen["claims"], "skipped": len(skipped)}, force=True)
        return (claim_row(c) for c in res.claims)

    def rows():
        batch = []
        for item in iter_items([str(i) for i in inputs], cfg.ingest):
            if not isinstance(item, Document):
                skipped.append(item)
                continue
            batch.append(item)
            if len(batch) >= cfg.batch_docs:
                yield from extract(batch)
                batch = []
        if batch:
            yield from extract(batch)

    try:
        n = write_csv(out, CLAIM_COLUMNS, rows())
    finally:
        bar.close()
    typer.echo(f"{n} claims -> {out}")
    for s in skipped:
        typer.echo(terminal_safe(f"skipped {s.file}{':' + str(s.line) if s.line else ''}: {s.reason}"),
                   err=True)


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
    output: Annotated[str | None, typer.Option(help="Output folder (default: output_dir in the config).")] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace a non-empty output folder.")] = False,
    resume: Annotated[bool, typer.Option(help="Continue from the last checkpoint in <output>/checkpoints.")] = False,
    overrides: Annotated[list[str] | None, typer.Option("--set", help="Dotted override section.key=value, e.g. --set train.epochs=1 (repeatable).")] = None,
) -> None:
    """Fine-tune a 3-label NLI cross-encoder (progress bar here, log in <output>/train.log)."""
    _logging(True)
    from pipeline.config import load_train_config
    from pipeline.nli.train import train as do_train

    cfg = load_train_config(config, overrides or [])
    metrics = do_train(cfg, output=output, overwrite=overwrite, resume=resume)
    typer.echo(json.dumps(metrics, indent=2))


@app.command()
def soup(
    runs: Annotated[list[Path], typer.Argument(help="Two or more run folders of one recipe (e.g. seeds), written by `contradict train`.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder for the averaged model.")],
    config: Annotated[Path, typer.Option("--config", "-c", help="Training YAML whose dev files (and seed) give the dev sample.")] = Path("configs/train.yaml"),
    dev: Annotated[bool, typer.Option(help="Measure every run and the soup on the dev sample and refit the soup's calibration temperature on it (without it the soup has no calibration.json: temperature 1).")] = True,
    overwrite: Annotated[bool, typer.Option(help="Replace a non-empty output folder.")] = False,
    overrides: Annotated[list[str] | None, typer.Option("--set", help="Dotted override, e.g. --set train.seed=13 (the dev sample's seed).")] = None,
) -> None:
    """Average the weights of runs fine-tuned from one base (a model soup), refit its
    temperature on dev and print every run's and the soup's dev accuracy on one sample."""
    _logging(False)
    from pipeline.config import REPO_ROOT, load_train_config
    from pipeline.nli.data import load_files
    from pipeline.nli.soup import average_models
    from pipeline.nli.train import dev_sample

    cfg = load_train_config(config, overrides or [])
    rows = dev_sample(load_files(cfg.dev_files, cfg.label_map, base=REPO_ROOT), cfg) if dev else None
    info = average_models(runs, output, dev_rows=rows, overwrite=overwrite)
    typer.echo(json.dumps(info, indent=2))


@eval_app.command("pairs")
def eval_pairs_cmd(
    data: Annotated[list[str], typer.Option("--data", "-d", help="JSONL file, folder or glob (repeatable).")],
    model: ModelOpt = None,
    out: Annotated[Path | None, typer.Option("--out", help="Folder for report.json and PNG plots.")] = None,
    backend: Annotated[Backend, typer.Option(help="NLI backend.")] = Backend.torch,
    limit: Annotated[int, typer.Option(help="Only the first N rows of each file (0: all).")] = 0,
    batch_size: Annotated[int, typer.Option(help="Pairs per batch.")] = 64,
    diagnostics: Annotated[bool, typer.Option(help="Also the negation stress set and the unrelated-pair false-positive rate.")] = True,
    nli_root: Annotated[Path, typer.Option(help="NLI data folder for the stress set (dev/, test/cad_test.jsonl, extra/).")] = Path("../shared/data/nli"),
    stress_gold: Annotated[Path, typer.Option(help="Annotated articles whose hard non-contradictions join the stress set.")] = Path("data/labelled/dev.jsonl"),
    stories: Annotated[list[Path] | None, typer.Option("--stories", help="JSONL of documents or annotated articles for cross-story pairs (repeatable; default data/labelled/*.jsonl).")] = None,
    threshold: Annotated[float | None, typer.Option(help="Operating threshold on P(contradiction) (default: decide.threshold).")] = None,
    directions: Annotated[str, typer.Option(help="How the two directions combine: max, mean or min.")] = "mean",
    verbose: VerboseOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Accuracy, macro-F1, per-class P/R/F1, PR-AUC, confusion matrix, ECE before and after
    calibration, best threshold, hypothesis-only gap; the negation stress set's
    false-contradiction rate (argmax, at --threshold, and at the cut recalling 60% of the
    contradictions that carry a cue, with the ROC-AUC between the two) and the unrelated-pair
    false-positive rate."""
    _logging(verbose)
    bar = _progress("eval pairs", "pairs", quiet)
    from pipeline.config import ScoreConfig
    from pipeline.eval.pairs import eval_pairs
    from pipeline.eval.metrics import format_table

    from pipeline.config import RunConfig
    from pipeline.eval.pairs import eval_diagnostics, format_diagnostics

    model_dir = ScoreConfig(model=model or "").resolved_model()
    try:
        reports = eval_pairs(model_dir, list(data), out,
                             backend=backend.value, batch_size=batch_size, limit=limit,
                             on_progress=bar.update)
    finally:
        bar.close()
    typer.echo(format_table(reports))
    if diagnostics:
        thr = RunConfig().decide.threshold if threshold is None else threshold
        diag = eval_diagnostics(model_dir, out, nli_root=nli_root if nli_root.exists() else None,
                                labelled_dev=stress_gold if stress_gold.is_file() else None,
                                stories=list(stories or DEFAULT_STORIES), threshold=thr,
                                directions=directions, backend=backend.value,
                                batch_size=batch_size)
        typer.echo(format_diagnostics(diag, reports))
    if out:
        typer.echo(f"report and plots in {out}")


@eval_app.command("docs")
def eval_docs_cmd(
    gold: Annotated[Path, typer.Option("--gold", "-g", help="Annotated articles (JSONL, see data/labelled/README.md).")],
    model: ModelOpt = None,
    config: ConfigOpt = None,
    out: Annotated[Path | None, typer.Option(
        "--out", help="Folder for docs_report.json, metrics.json, docs_pr.png (every threshold) "
                      "and candidates.jsonl.")] = None,
    misses: Annotated[int, typer.Option(help="Print the N worst misses.")] = 5,
    texts: TextsOpt = None,
    overrides: SetOpt = None,
    verbose: VerboseOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Precision (unannotated flags in exhaustively annotated articles count as false
    positives), recall, F1, per-article precision@3/5/10 and average precision, flags per
    article, hard non-contradictions flagged, speaker and side accuracy; the plain threshold against
    the learned decision stage (when trained)."""
    _logging(verbose)
    from pipeline.eval.docs import format_report, run_eval_docs

    cfg = _run_cfg(config, overrides or [], model, None)
    bar = _progress("eval docs", "docs", quiet)
    try:
        reports = run_eval_docs(gold, cfg, out, on_progress=bar.update, texts=texts)
    finally:
        bar.close()
    typer.echo(format_report(reports))
    best = reports.get(cfg.decide.method) or reports.get("learned") or reports["threshold"]
    worst = sorted(best["misses"], key=lambda m: (m["p_contradiction"] is None, -(m["p_contradiction"] or 0)))
    if misses and worst:
        typer.echo(f"\nmisses ({cfg.decide.method}), first {misses}:")
        for m in worst[:misses]:
            typer.echo(f"- [{m['doc']}, {m['type']}] {m['why']} (p_c={m['p_contradiction']})\n"
                       f"    A: {m['a'][:100]!s}\n    B: {m['b'][:100]!s}")
    if out:
        typer.echo(f"report in {out / 'docs_report.json'}, metrics at every threshold in "
                   f"{out / 'metrics.json'} and {out / 'docs_pr.png'}")


@eval_app.command("attribution")
def eval_attribution_cmd(
    gold: Annotated[Path, typer.Option("--gold", "-g", help="Folder with text/*.txt and attributions/*.ann (brat, PolNeAR's layout).")],
    config: ConfigOpt = None,
    out: Annotated[Path | None, typer.Option("--out", help="Folder for metrics.json.")] = None,
    limit: Annotated[int | None, typer.Option(help="Only the first N articles.")] = None,
    overrides: SetOpt = None,
    verbose: VerboseOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Claims and speakers against gold attribution spans: content recall, speaker accuracy
    (loose and exact), spurious speakers, cue accuracy, error kinds, per publisher."""
    _logging(verbose)
    from pipeline.eval.attribution import format_attribution, run_eval_attribution
    from pipeline.pipeline import Pipeline

    cfg = _run_cfg(config, overrides or [], None, None)
    bar = _progress("eval attribution", "docs", quiet)
    try:
        report = run_eval_attribution(gold, Pipeline(cfg), out, limit=limit,
                                      on_progress=lambda n, t: bar.update(n, t, {}, force=True))
    finally:
        bar.close()
    typer.echo(format_attribution(report))
    if out:
        typer.echo(f"metrics in {out / 'metrics.json'}")


@app.command("train-decider")
def train_decider_cmd(
    gold: Annotated[Path, typer.Option("--gold", "-g", help="Annotated articles to train on (dev split).")] = Path("data/labelled/dev.jsonl"),
    model: ModelOpt = None,
    config: ConfigOpt = None,
    out: Annotated[Path | None, typer.Option("--out", help="decider.json path (default: beside the model).")] = None,
    unannotated_weight: Annotated[float, typer.Option(help="Weight of unannotated candidates as negatives (1.0: annotations are exhaustive).")] = 1.0,
    target_precision: Annotated[float, typer.Option(help="The operating point: highest recall at this precision (cross-validated by article).")] = 0.6,
    margin_only: Annotated[bool, typer.Option("--margin-only", help="Keep the existing decider.json and only measure its NLI cascade margin (nli_margin) on these articles.")] = False,
    texts: TextsOpt = None,
    extra_gold: Annotated[Path | None, typer.Option("--extra-gold", help="More annotated articles added to every fit, never to a test fold (e.g. the written data/labelled/dev.jsonl beside the real set).")] = None,
    extra_weight: Annotated[float, typer.Option(help="Weight of the --extra-gold candidates.")] = 1.0,
    overrides: SetOpt = None,
    verbose: VerboseOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Train the decision model (calibrated logistic regression over NLI, same-event evidence
    and rule features) and measure its NLI cascade margin; prints its cross-validated figures
    by article."""
    _logging(verbose)
    from pipeline.eval.docs import run_train_decider

    cfg = _run_cfg(config, overrides or [], model, None)
    bar = _progress("train-decider", "docs", quiet)
    try:
        dec = run_train_decider(gold, cfg, out, unannotated_weight=unannotated_weight,
                                target_precision=target_precision, margin_only=margin_only,
                                on_progress=bar.update, texts=texts, extra_gold=extra_gold,
                                extra_weight=extra_weight)
    finally:
        bar.close()
    if margin_only:
        typer.echo(json.dumps({"nli_margin": dec.nli_margin}))
    else:
        typer.echo(json.dumps({**dec.metrics, "nli_margin": dec.nli_margin}, indent=2))


@app.command("export-onnx")
def export_onnx(
    model: Annotated[str | None, typer.Argument(help="Model folder (default: the model in models/).")] = None,
    quantize: Annotated[bool, typer.Option(help="Dynamic int8 quantisation.")] = True,
    embedder: Annotated[bool, typer.Option("--embedder/--no-embedder", help="Also export the sentence embedder (topics.embedder) to the cache.")] = False,
    config: ConfigOpt = None,
    verbose: VerboseOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Export a model folder to ONNX (dynamic int8, tied to its weights' sha256) for the
    auto/onnx backends; with --embedder, the sentence embedder too."""
    _logging(verbose)
    from pipeline.nli.export import export

    cfg = _run_cfg(config, [], model, None)
    bar = _progress("export-onnx", "steps", quiet)
    try:
        path = export(cfg.score.resolved_model(), quantize=quantize,
                      on_step=lambda done, total, name: bar.update(done, total, force=True))
    finally:
        bar.close()
    typer.echo(f"wrote {path}")
    if embedder:
        from pipeline.config import minilm_path
        from pipeline.stages.embedder import export_embedder

        path = export_embedder(minilm_path(cfg.topics.embedder), cfg.topics.onnx_cache)
        typer.echo(f"wrote {path}")


def main() -> None:
    """The ``contradict`` console entry point: runs the app; a ``ContradictError`` prints
    ``error: ...`` on stderr and exits 1, Ctrl-C prints ``error: interrupted`` and exits 130."""
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
