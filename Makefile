# contradict: statement-contradiction detection. `make help` lists the targets.
SHELL := /bin/bash
PY    := .venv/bin/python
BIN   := .venv/bin
NLI   ?= ../shared/data/nli
MODEL ?= models/nli-minilm-l6
TRAIN_OUT ?= runs/nli-minilm-l6
EVAL_OUT  ?= out/eval
export HF_HUB_OFFLINE=1
export TRANSFORMERS_OFFLINE=1
export TOKENIZERS_PARALLELISM=false

.DEFAULT_GOAL := help
.PHONY: help install run report-screenshot lint test test-slow train train-soup eval eval-pairs eval-docs eval-real eval-attribution train-attribution train-decider bench export-onnx clean

help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2}'

.venv/.installed: pyproject.toml
	python3 -m venv .venv
	$(BIN)/pip install -q --upgrade pip
	# the CPU build of torch first: an unpinned torch would pull a CUDA build of several GB
	$(BIN)/pip install -q torch==2.13.0
	# the distribution was called "contradict" before (a name taken on the package index)
	-$(BIN)/pip uninstall -y -q contradict 2>/dev/null
	$(BIN)/pip install -q -e '.[fast,ray,dev]'
	# the fast path out of the box: int8 NLI export beside the model and the ONNX sentence
	# embedder in ~/.cache/contradict, each checked against torch and tied to its weights'
	# sha256 (a retrained model is re-exported on first use); a failure leaves torch in use
	-$(BIN)/contradict export-onnx $(MODEL) --embedder
	touch $@

install: .venv/.installed ## Create .venv and install everything (offline-capable)

run: .venv/.installed ## Run the pipeline on data/sample -> out/flagged.csv, out/flagged.html (report), out/flagged.manifest.json
	$(BIN)/contradict run data/sample -o out/flagged.csv --config configs/run.yaml

report-screenshot: .venv/.installed ## Screenshot of the HTML report in headless Chromium -> out/report.png
	@[ -f out/flagged.html ] || $(MAKE) --no-print-directory run
	$(PY) scripts/report_screenshot.py out/flagged.html out/report.png

lint: .venv/.installed ## ruff (lint rules in pyproject.toml) and mypy on pipeline/; .ci/run runs it before the tests
	$(BIN)/ruff check .
	$(BIN)/mypy

test: .venv/.installed ## Run the fast tests (no ../shared needed; the browser test skips without Chromium)
	$(PY) -m pytest -q

test-slow: .venv/.installed ## Run only the slow tests (marked slow: > 20 s each)
	$(PY) -m pytest -q -m slow

V1_COMMIT := 408e7cd
runs/v1-base/config.json: ## the v1 weights that model v2 continues (from git history)
	mkdir -p runs/v1-base
	for f in config.json model.safetensors tokenizer.json tokenizer_config.json; do \
	  git show $(V1_COMMIT):models/nli-minilm-l6/$$f > runs/v1-base/$$f; done

train: .venv/.installed runs/v1-base/config.json ## Fine-tune the NLI model (configs/train.yaml) into $(TRAIN_OUT); RESUME=1 continues
	$(BIN)/contradict train --config configs/train.yaml --output $(TRAIN_OUT) $(if $(RESUME),--resume,)

SEEDS ?= 13 14 15
train-soup: .venv/.installed runs/v1-base/config.json ## The shipped recipe: train once per seed in $(SEEDS) ($(TRAIN_OUT)-seedS), average the runs into $(TRAIN_OUT)
	for s in $(SEEDS); do \
	  $(BIN)/contradict train --config configs/train.yaml --output $(TRAIN_OUT)-seed$$s --set train.seed=$$s $(if $(RESUME),--resume,) || exit 1; done
	$(BIN)/contradict soup $(foreach s,$(SEEDS),$(TRAIN_OUT)-seed$(s)) --output $(TRAIN_OUT) --config configs/train.yaml --overwrite

eval-pairs: .venv/.installed ## Measure $(MODEL) on every file in $(NLI)/test -> $(EVAL_OUT)/pairs
	@if [ -d "$(NLI)/test" ]; then \
	  $(BIN)/contradict eval pairs --model $(MODEL) --data $(NLI)/test --out $(EVAL_OUT)/pairs; \
	else echo "no $(NLI)/test here: set NLI=path/to/nli-data"; fi

eval-docs: .venv/.installed ## Measure the pipeline on the annotated articles (data/labelled/test.jsonl)
	$(BIN)/contradict eval docs --gold data/labelled/test.jsonl --model $(MODEL) --out $(EVAL_OUT)/docs

NEWS ?= ../shared/data/news
eval-real: .venv/.installed ## Measure the pipeline on the real annotated articles (data/labelled/real/test.jsonl; texts in $(NEWS))
	$(BIN)/contradict eval docs --gold data/labelled/real/test.jsonl --texts $(NEWS) --model $(MODEL) --out $(EVAL_OUT)/real

eval-attribution: .venv/.installed ## Claims and speakers against PolNeAR dev's gold attributions ($(NEWS)/polnear/dev)
	$(BIN)/contradict eval attribution --gold $(NEWS)/polnear/dev --out $(EVAL_OUT)/attribution

ATTR_MODEL ?= models/attribution-crf
train-attribution: .venv/.installed ## Train the attribution tagger (CRF + gates) on $(NEWS)/polnear/train, cuts chosen on dev -> $(ATTR_MODEL)
	# the shipped cuts: dev's pick (0.5, keep 0.6) costs the written articles speaker
	# accuracy; 0.7 with the keep gate off leaves them unchanged (models/attribution-crf/README.md)
	nice $(PY) scripts/train_attribution.py --train $(NEWS)/polnear/train --dev $(NEWS)/polnear/dev --out $(ATTR_MODEL) --cut 0.7 --keep-cut 0

eval: eval-pairs eval-docs ## Both evaluations

train-decider: .venv/.installed ## Train the decision stage on the real dev set (+ the written dev set), beside $(MODEL)
	$(BIN)/contradict train-decider --gold data/labelled/real/dev.jsonl --texts $(NEWS) --extra-gold data/labelled/dev.jsonl --extra-weight 1.0 --target-precision 0.3 --model $(MODEL)

export-onnx: .venv/.installed ## Rebuild the ONNX exports: $(MODEL) (int8) and the sentence embedder
	$(BIN)/contradict export-onnx $(MODEL) --embedder

bench: .venv/.installed ## Speed and memory on real news (../shared/data/news/fnc1_train_bodies.jsonl, else generated) at 1,000 and 10,000 articles: articles/s, RSS over time, CPU per stage, naive baseline -> out/bench.json
	$(PY) scripts/bench.py --model $(MODEL) --out out/bench.json --sizes 1000,10000 --ray-memory 1000,10000

clean: ## Remove outputs (keeps .venv and models)
	rm -rf out runs/*.out .pytest_cache
