"""A learnt attribution tagger: a linear-chain CRF over the tokens of a sentence that marks
attribution Sources, Cues and Contents (BIO), trained on PolNeAR train (real political news,
gold brat attributions; ``scripts/train_attribution.py``, ``make train-attribution``).

The rules in attribution_rules.py find a speaker where a reporting verb or a quote says who speaks.
PolNeAR's attributions are wider: "Trump has railed against the provisions", "The FBI decided
not to recommend charges", "leaked documents show he took a loss" each attribute a content to
a source through a verb no word list holds. The tagger reads the same spaCy parse the rules
read (words, lemmas, tags, dependencies, entities, quote marks) and gives every token one of
``O``, ``B-/I-SRC``, ``B-/I-CUE``, ``B-/I-CON``. ``Segmenter.raw_claims`` asks it only about
claims the rules left without a speaker (``segment.attribution_model``).

The model is the CRFsuite file ``models/attribution-crf/model.crfsuite`` with its card
(README.md). Without the file, or without python-crfsuite, ``load_tagger`` returns None and
the rules work alone.
"""
from __future__ import annotations

import json
import math
import threading
from pathlib import Path

LABELS = ("O", "B-SRC", "I-SRC", "B-CUE", "I-CUE", "B-CON", "I-CON")
MODEL_NAME = "attribution-crf"
MODEL_FILE = "model.crfsuite"
GATE_FILE = "gate.json"  # logistic regression over claim_features (weights by name, bias, cut)
KINDS = ("SRC", "CUE", "CON")

_LOCK = threading.Lock()
_CACHE: dict[str, object] = {}


def default_model_dir() -> Path:
    """``models/attribution-crf`` beside the package (a checkout or an editable install)."""
    return Path(__file__).resolve().parent.parent.parent / "models" / MODEL_NAME


def _shape(text: str) -> str:
    if text.isupper() and len(text) > 1:
        return "XX"
    if text[:1].isupper():
        return "Xx"
    if text[:1].isdigit():
        return "d"
    if text.isalpha():
        return "x"
    return "p"


def sentence_features(sent, in_region, report_lemmas=frozenset()) -> list[list[str]]:
    """CRFsuite attribute lists, one per token of ``sent`` (a spaCy Span). ``in_region`` maps a
    character offset of the document to its quote region (-1 outside quotes), as
    ``quotes.region_lookup`` builds it; ``report_lemmas`` are the rules' reporting verbs."""
    toks = list(sent)
    n = len(toks)
    root = sent.root
    # where each token sits in the sentence's clause structure: inside the root's subject,
    # its clausal complement, its object, ... (a token's first ancestor below the root)
    branch = {}
    for child in root.children:
        for t in child.subtree:
            branch[t.i] = child.dep_
    has_quote = any(in_region[t.idx] >= 0 for t in toks)
    has_report = any(t.lemma_.lower() in report_lemmas for t in toks)
    starts_para = sent.start == 0 or "\n" in sent.doc[sent.start - 1].text_with_ws
    sent_feats = [f"sq={has_quote}", f"sr={has_report}", f"sp={starts_para}"]
    words = [t.lower_ for t in toks]
    pos = [t.pos_ for t in toks]
    out = []
    for k, t in enumerate(toks):
        lemma = t.lemma_.lower()
        head = t.head
        f = ["b", f"w={words[k]}", f"l={lemma}", f"p={pos[k]}", f"t={t.tag_}", f"d={t.dep_}",
             f"s={_shape(t.text)}", f"e={t.ent_iob_}{t.ent_type_}",
             f"hl={head.lemma_.lower()}", f"hp={head.pos_}", f"hd={head.dep_}",
             f"dhp={t.dep_}|{head.pos_}", f"dhl={t.dep_}|{head.lemma_.lower()}",
             f"br={branch.get(t.i, 'ROOT' if t.i == root.i else '')}",
             f"q={in_region[t.idx] >= 0}", f"rv={lemma in report_lemmas}",
             f"hrv={head.lemma_.lower() in report_lemmas}",
             f"pos={min(k, 5)}", f"end={min(n - 1 - k, 5)}"]
        f += sent_feats
        if t.i == root.i:
            f.append("root")
        for off in (-2, -1, 1, 2):
            j = k + off
            if 0 <= j < n:
                f.append(f"p{off}={pos[j]}")
                if abs(off) == 1:
                    f.append(f"w{off}={words[j]}")
            else:
                f.append(f"p{off}=BOUND")
        out.append(f)
    return out


def spans(labels: list[str], kind: str) -> list[tuple[int, int]]:
    """[start, end) token index ranges of the spans of ``kind`` ("SRC", "CUE", "CON")."""
    out, start = [], None
    for i, lab in enumerate(list(labels) + ["O"]):
        if start is not None and lab != f"I-{kind}":
            out.append((start, i))
            start = None
        if lab == f"B-{kind}" or (lab == f"I-{kind}" and start is None):
            start = i
    return out


class AttributionTagger:
    """One CRFsuite model; ``tag`` is safe to call from several threads (one Tagger each)."""

    def __init__(self, path: str | Path):
        import pycrfsuite  # noqa: F401 (fails early when python-crfsuite is absent)

        self.path = Path(path)
        self._local = threading.local()
        meta = self.path.parent / "metrics.json"
        self.meta = json.loads(meta.read_text(encoding="utf-8")) if meta.is_file() else {}
        gate = self.path.parent / GATE_FILE
        self.gate = json.loads(gate.read_text(encoding="utf-8")) if gate.is_file() else None
        self._tagger()  # open it once now: a broken file fails here, not mid-run

    def _tagger(self):
        tg = getattr(self._local, "tagger", None)
        if tg is None:
            import pycrfsuite

            tg = pycrfsuite.Tagger()
            tg.open(str(self.path))
            self._local.tagger = tg
        return tg

    def tag(self, feats: list[list[str]]) -> list[str]:
        if not feats:
            return []
        return list(self._tagger().tag(feats))

    def tag_marginals(self, feats: list[list[str]]) -> tuple[list[str], dict[str, list[float]]]:
        """The Viterbi labels and, per kind (SRC, CUE, CON), each token's marginal
        probability of being inside a span of that kind."""
        if not feats:
            return [], {k: [] for k in KINDS}
        tg = self._tagger()
        labels = list(tg.tag(feats))
        marg = {k: [tg.marginal(f"B-{k}", i) + tg.marginal(f"I-{k}", i) for i in range(len(feats))]
                for k in KINDS}
        return labels, marg

    def accept(self, feats: dict[str, float], kind: str = "add") -> float:
        """The gate's probability for one claim: ``add``, that a claim without a rule speaker
        is attributed content whose source the tagger found (``claim_features``); ``keep``,
        that a claim the rules gave a speaker lies in an attributed content
        (``keep_features``). Without a gate: the share of the claim tagged as Content."""
        gate = (self.gate or {}).get(kind)
        if gate is None:
            return feats.get("con_share", 0.0)
        z = gate["bias"] + sum(w * feats.get(k, 0.0) for k, w in gate["weights"].items())
        return 1.0 / (1.0 + math.exp(-z))

    def describe(self) -> dict:
        return {"path": str(self.path), **{k: self.meta[k] for k in ("dev",) if k in self.meta}}


def resolve_model_path(setting: str) -> Path | None:
    """The model file a ``segment.attribution_model`` setting names: "auto" the shipped one
    when present, "none"/"" none, else a folder holding model.crfsuite or the file itself."""
    setting = (setting or "").strip()
    if setting.lower() in ("", "none", "off"):
        return None
    p = default_model_dir() if setting == "auto" else Path(setting).expanduser()
    if p.is_dir():
        p = p / MODEL_FILE
    return p if p.is_file() else None


def load_tagger(setting: str = "auto", *, strict: bool = False) -> AttributionTagger | None:
    """The tagger the setting names, loaded once per process; None when there is none or
    python-crfsuite is not installed. ``strict``: a model named explicitly (not "auto") that
    cannot be loaded raises ConfigError instead."""
    from pipeline.errors import ConfigError

    named = strict and (setting or "").strip().lower() not in ("auto", "", "none", "off")
    path = resolve_model_path(setting)
    if path is None:
        if named:
            raise ConfigError(f"segment.attribution_model: no {MODEL_FILE} at {setting}",
                              fix="train one with `make train-attribution`, or set it to auto/none")
        return None
    key = str(path)
    with _LOCK:
        if key not in _CACHE:
            try:
                _CACHE[key] = AttributionTagger(path)
            except ImportError as exc:
                if named:
                    raise ConfigError("segment.attribution_model needs python-crfsuite",
                                      fix="pip install python-crfsuite (make install does this)") from exc
                return None
        return _CACHE[key]  # type: ignore[return-value]


def claim_features(ids: list[int], sent_labels: list[str], sent_marg: dict[str, list[float]],
                   src_labels: list[str], src_marg: dict[str, list[float]],
                   src: tuple[int, int], cue: tuple[int, int] | None, where: str,
                   *, quoted: bool, pronoun: bool, rule_mention: bool,
                   para_start: bool, sent=None, src_sent=None) -> dict[str, float]:
    """What the ``add`` gate reads about one claim: ``ids`` its token positions in its
    sentence (labels ``sent_labels``, marginals ``sent_marg``), ``src``/``cue`` the chosen
    Source and Cue spans in the source sentence (``src_labels``/``src_marg``; the same
    sentence when ``where`` is "same", else "next" or "prev").

    With the spaCy spans ``sent`` (the claim's sentence) and ``src_sent`` (the Source's), the
    gate also reads words (``lexical_features``): which verb heads the claim and which the Cue
    ("the poll shows", "critics charge" attribute; "Rubio won" does not), what heads the
    Source, and whether the Source is the subject of the claim's own verb."""
    n = max(1, len(ids))
    con = sent_marg["CON"]
    return {
        "con_share": sum(sent_labels[k].endswith("CON") for k in ids) / n,
        "con_mean": sum(con[k] for k in ids) / n,
        "con_min": min(con[k] for k in ids) if ids else 0.0,
        # the share of the claim's tokens more likely inside an attribution than outside
        "attr_mean": sum(1.0 - con[k] - sent_marg["SRC"][k] - sent_marg["CUE"][k] < 0.5
                         for k in ids) / n,
        "src_mean": sum(src_marg["SRC"][k] for k in range(*src)) / max(1, src[1] - src[0]),
        "src_len": min(src[1] - src[0], 10) / 10,
        "cue_mean": (sum(src_marg["CUE"][k] for k in range(*cue)) / max(1, cue[1] - cue[0])) if cue else 0.0,
        "has_cue": float(cue is not None),
        f"where_{where}": 1.0,
        "quoted": float(quoted), "pronoun": float(pronoun), "rule_mention": float(rule_mention),
        "para_start": float(para_start), "log_len": math.log(n) / 4,
        **(lexical_features(ids, sent, src_sent, src, cue) if sent is not None and src_sent is not None else {}),
    }


def _clause_root(sent, ids: list[int]):
    """The token of ``sent`` at one of positions ``ids`` whose head lies outside them."""
    inside = {sent[k].i for k in ids}
    return next((sent[k] for k in ids if sent[k].head.i not in inside or sent[k].head.i == sent[k].i), sent[ids[0]])


def lexical_features(ids: list[int], sent, src_sent, src: tuple[int, int],
                     cue: tuple[int, int] | None) -> dict[str, float]:
    """One-hot words for the ``add`` gate: ``v=`` the lemma of the verb heading the claim,
    ``cv=`` of the Cue's verb, ``sh=`` of the Source's head when it is a common noun or a
    pronoun (a name is a story's word: of a name only its entity type ``se=`` is read), and
    ``src_subj`` when the Source holds the subject of the claim's verb or of the Cue's."""
    root = _clause_root(sent, ids)
    out: dict[str, float] = {}
    if root.pos_ in ("VERB", "AUX"):
        out[f"v={root.lemma_.lower()}"] = 1.0
    cue_toks = [src_sent[k] for k in range(*cue)] if cue is not None else []
    verb = next((t for t in cue_toks if t.pos_ in ("VERB", "AUX")), cue_toks[0] if cue_toks else None)
    if verb is not None:
        out[f"cv={verb.lemma_.lower()}"] = 1.0
    stoks = [src_sent[k] for k in range(*src)]
    shead = _clause_root(src_sent, list(range(*src)))
    if shead.pos_ in ("NOUN", "PRON"):
        out[f"sh={shead.lemma_.lower()}"] = 1.0
    ent = next((t.ent_type_ for t in stoks if t.ent_type_), "")
    out[f"se={ent or '-'}"] = 1.0
    src_ids = {t.i for t in stoks}
    out["src_subj"] = float(any(c.dep_ in ("nsubj", "nsubjpass") and c.i in src_ids
                                for h in [root] + cue_toks for c in h.children))
    return out


def keep_features(ids: list[int], labels: list[str], marg: dict[str, list[float]], sent, rc) -> dict[str, float]:
    """What the ``keep`` gate reads about a claim the rules gave a speaker (``rc``, a RawClaim):
    how much of it the tagger takes for Content, how the rule found its speaker."""
    n = max(1, len(ids))
    con = marg["CON"]
    m = rc.mention
    in_sent = m is not None and sent.start_char <= m.start < sent.end_char
    src = [k for k, t in enumerate(sent) if in_sent and m.start <= t.idx < m.end]
    cue = rc.cue or ""
    return {
        "con_share": sum(labels[k].endswith("CON") for k in ids) / n,
        "con_mean": sum(con[k] for k in ids) / n,
        "con_min": min(con[k] for k in ids) if ids else 0.0,
        "src_mean": sum(marg["SRC"][k] for k in src) / len(src) if src else 0.0,
        "in_sent": float(in_sent), "quoted": float(rc.is_quote or rc.region >= 0),
        "pronoun": float(m is not None and m.pronoun != ""),
        f"cue_{cue if cue in ('said', 'says', 'told', 'quote', 'according to', ':') else 'other'}": 1.0,
        "log_len": math.log(n) / 4,
    }
