"""The one shape of a stage (issue 28), in the manner of spaCy's pipeline components.

A stage is built from the run's configuration (``from_config``: it reads its own section of
``RunConfig``, and takes the models it needs from the shared ``Models``). It reads a
``BatchResult`` and gives a new one:

- ``predict(batch)`` computes what the stage adds, without modifying the batch or anything
  in it (claims and pairs are frozen; lists and arrays are read, never written);
- ``apply(batch, prediction)`` returns a new ``BatchResult`` holding it (claims and pairs
  copied with ``dataclasses.replace``, what the stage consumed dropped);
- calling the stage is the two in a row.

``pipeline.pipeline.STAGES`` lists the stages in the order they run and ``Pipeline`` is a
loop over them; the run's timing keys (one per stage name), the manifest's ``timings_s``
and ``scripts/bench.py``'s per-stage profile read their names from that list. A stage's
model state (the cross-document index, the confirm pass's word vectors) is the stage's
own, never the batch's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from pipeline.types import Claim, Document, Flag, Pair, Score

if TYPE_CHECKING:
    import numpy as np

    from pipeline.config import RunConfig
    from pipeline.stages.normalize import Normalized
    from pipeline.stages.attribution_rules import RawClaim


@dataclass(frozen=True)
class BatchResult:
    """One batch of documents on its way through the stages, and what they found.

    Each stage returns a copy with its own fields filled in (``dataclasses.replace``); the
    fields a later stage no longer needs (the normalised texts, the spaCy parses, the raw
    claims) are emptied once consumed, so a batch does not hold them through scoring.
    """

    documents: list[Document] = field(default_factory=list)  # the batch as read (the input)
    docs: list[str] = field(default_factory=list)  # their ids, in input order
    norms: list[Normalized] = field(default_factory=list)  # normalize; emptied by attribute
    parsed: list[Any] = field(default_factory=list)  # parse: spaCy Docs; emptied by segment
    raw: list[list[RawClaim]] = field(default_factory=list)  # segment; emptied by attribute
    per_doc: list[list[Claim]] = field(default_factory=list)  # the claims, document by document
    claims: list[Claim] = field(default_factory=list)  # the same claims in one list
    embeddings: np.ndarray | None = None  # embed: one row per claim
    pairs: list[Pair] = field(default_factory=list)  # pair: candidate pairs the gate kept
    dropped: dict[str, int] = field(default_factory=dict)  # work dropped by a cap, by cap name
    # same-event evidence per pair (stages/evidence.py), computed once (cascade or confirm)
    # and handed on to the decision; None until a stage needed it
    evidence: list[dict] | None = None
    need: np.ndarray | None = None  # cascade: which pairs the NLI model must score
    scores: list[Score | None] = field(default_factory=list)  # None: left out by the NLI cascade
    nli_pairs: int = 0  # pairs the NLI model scored
    nli_confirmed: int = 0  # of them, scored again one by one near the cut (decide.confirm_margin)
    flags: list[Flag] = field(default_factory=list)  # decide: the flagged pairs
    below: list[Flag] = field(default_factory=list)  # the best pairs under the cut (output.top)
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage name

    @classmethod
    def of(cls, docs: list[Document]) -> BatchResult:
        """A fresh batch of ``docs``, before any stage."""
        return cls(documents=list(docs), docs=[d.id for d in docs])


class Models(Protocol):
    """What stages share, built lazily once per process (``Pipeline`` is one): the run's
    configuration, the segmenter (spaCy), the topics stage's embedder, the NLI model, the
    decision model, the cross-document index (None without ``pair.cross_document``) and the
    run layer's progress hook for long documents."""

    cfg: RunConfig
    segmenter: Any
    topics: Any
    cross: Any
    on_window: Any

    @property
    def nli(self) -> Any:
        """The NLI model (``pipeline.nli.model``)."""
        ...

    @property
    def decider(self) -> Any:
        """The decision model (``pipeline.stages.decide.Decider``)."""
        ...


@runtime_checkable
class Stage(Protocol):
    """A stage: ``name`` (its timing key), ``ahead`` (whether the local engine may run it in
    the background thread that prepares the next batch), built by ``from_config``; calling
    it is ``apply(batch, predict(batch))``."""

    name: ClassVar[str]
    ahead: ClassVar[bool]

    @classmethod
    def from_config(cls, cfg: RunConfig, models: Models) -> Stage:
        """The stage for ``cfg`` (its own section), using the shared ``models``."""
        ...

    def predict(self, batch: BatchResult) -> Any:
        """What the stage adds to ``batch``; ``batch`` and its contents are left unchanged."""
        ...

    def apply(self, batch: BatchResult, prediction: Any) -> BatchResult:
        """A new batch with ``prediction`` in it."""
        ...

    def __call__(self, batch: BatchResult) -> BatchResult:
        """``apply(batch, predict(batch))``."""
        ...


class Component:
    """The common part of the stage classes (``pipeline/components.py``): built with the
    run's configuration and the shared models, called as ``apply(batch, predict(batch))``."""

    name: ClassVar[str] = ""
    ahead: ClassVar[bool] = False

    def __init__(self, cfg: RunConfig, models: Models):
        self.cfg = cfg
        self.models = models

    @classmethod
    def from_config(cls, cfg: RunConfig, models: Models) -> Component:
        """The stage for ``cfg``, using the shared ``models``."""
        return cls(cfg, models)

    def predict(self, batch: BatchResult) -> Any:
        """What the stage adds to ``batch`` (each stage defines it)."""
        raise NotImplementedError

    def apply(self, batch: BatchResult, prediction: Any) -> BatchResult:
        """A new batch with ``prediction`` in it (each stage defines it)."""
        raise NotImplementedError

    def __call__(self, batch: BatchResult) -> BatchResult:
        """``apply(batch, predict(batch))``."""
        return self.apply(batch, self.predict(batch))
