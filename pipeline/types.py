"""Typed objects that travel between stages. Every offset is into the document's original text."""

from __future__ import annotations

from dataclasses import dataclass, field

# The three NLI labels, in the column order of every probability array in this project
# (NLIModel.predict, eval metrics). A model's own output order is looked up by name in its
# config.id2label (nli.model.label_indices); a trained model's head uses nli.train.ID2LABEL.
LABELS = ("contradiction", "entailment", "neutral")

# Pair types in the annotated articles (data/labelled/README.md): why two claims contradict,
# or why a related pair does not.
CONTRADICTION_TYPES = ("negation_antonym", "numeric", "conflicting_facts", "walk_back", "denial",
                       "change_over_time")
NON_CONTRADICTION_TYPES = ("agreeing", "paraphrase", "related_compatible")


@dataclass(frozen=True)
class Document:
    """One article as read from disk (after decoding, before any normalisation)."""

    id: str
    text: str
    title: str = ""
    date: str = ""
    source: str = ""
    url: str = ""
    origin: str = ""  # file (and line) it came from


@dataclass(frozen=True)
class Skipped:
    """A document or line that could not be processed, and why."""

    file: str
    line: int | None
    reason: str
    doc_id: str = ""


@dataclass(frozen=True)
class ClaimInfo:
    """What the decision stage knows about one claim's wording (stages/evidence.py builds it).

    Every set holds lower-case lemmas or normalised strings."""

    ents: frozenset = frozenset()  # named entities (people, places, organisations, ...)
    lemmas: frozenset = frozenset()  # content lemmas (nouns, verbs, adjectives, proper nouns)
    subj: frozenset = frozenset()  # the subject's head and compound lemmas
    preds: frozenset = frozenset()  # predicate lemmas: main verb, its xcomp/conj, copula complement
    neg_heads: frozenset = frozenset()  # lemmas of what is negated ("no freeze" -> freeze)
    times: frozenset = frozenset()  # day / date expressions ("monday", "march 3")
    hedged: bool = False  # modal or opinion wording ("could", "likely", "expects")
    dispute: bool = False  # reports or voices a dispute ("denied", "dismissed it as", "baseless")


@dataclass(frozen=True)
class Claim:
    """A statement in a document.

    ``start``/``end`` index the original text: ``doc.text[start:end]`` is the claim's source
    span. ``text`` is the normalised (unwrapped) claim text given to the model.

    Frozen: a stage that adds to a claim (attribute: speaker, side, role; claim_info: info;
    topics: topic) returns a copy, ``dataclasses.replace(claim, topic=...)``, and the claim
    it read stays as it was.
    """

    doc_id: str
    id: str  # unique within the document: "<sentence>.<n>"
    start: int
    end: int
    text: str
    sent_index: int
    speaker: str = ""  # canonical speaker name; "" when unknown
    speaker_id: str = ""  # canonical id within the document
    side: str = ""  # country or organisation
    cue: str = ""  # reporting verb / "according to" / "quote"
    stance: str = "asserts"  # asserts | denies
    mention: str = ""  # the raw speaker mention as written ("he", "the defence minister")
    topic: str = ""
    is_quote: bool = False
    role: str = ""  # "analyst" for analysts', economists' and commentators' opinions
    modality: str = "asserted"  # asserted | hedged | hypothetical | question
    # the id of the claim (same document) this one disputes where the article ties the two in
    # one sentence ("P, a claim Y denied": P by X, and P denied by Y); "" otherwise
    target: str = ""
    # a tied denial's own clause in the text (", a claim Y denied" without its comma), raw
    # offsets; None for every other claim
    clause: tuple[int, int] | None = None
    info: ClaimInfo | None = field(default=None, repr=False, compare=False)

    @property
    def key(self) -> str:
        """The claim's id unique across documents: ``<doc_id>#<id>``."""
        return f"{self.doc_id}#{self.id}"


@dataclass(frozen=True)
class Pair:
    """A candidate pair of related claims."""

    a: Claim
    b: Claim
    relation: str  # same_speaker | same_side | opposing_sides | cross_document | unattributed
    similarity: float
    # 1, 2, 3: ``b`` (or ``a``) is the nearest, second, third claim of another speaker to a
    # claim of the pair that reports or voices a dispute (stages/pairing.py); 0 otherwise
    dispute_rank: int = 0


@dataclass(frozen=True)
class Score:
    """NLI probabilities in both directions: index 0 is (a, b), index 1 is (b, a)."""

    p_contradiction: tuple[float, float]
    p_entailment: tuple[float, float]
    p_neutral: tuple[float, float]


@dataclass(frozen=True)
class Flag:
    """A pair the decision stage flagged, with the score it used and why."""

    pair: Pair
    score: float
    p_contradiction: float
    p_entailment: float
    p_neutral: float
    reason: str
    topic: str = ""
    details: dict = field(default_factory=dict)
