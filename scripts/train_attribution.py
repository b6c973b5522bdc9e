"""Train the attribution tagger (pipeline/stages/attribution_tagger.py) on PolNeAR train and
measure it on PolNeAR dev (token spans; the claim-level figures come from
``contradict eval attribution``). Never reads dev for training.

    python scripts/train_attribution.py --train ../shared/data/news/polnear/train \
        --dev ../shared/data/news/polnear/dev --out models/attribution-crf

Each sentence (segment.py's sentences: spaCy's, cut again at paragraph breaks) is one CRF
sequence; a token's label is the role of the innermost gold span over it (a Source or Cue
inside another attribution's Content keeps its own role).
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from bisect import bisect_left
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.config import RunConfig  # noqa: E402
from pipeline.eval.attribution import load_gold_dir  # noqa: E402
from pipeline.stages import attribution_tagger as at  # noqa: E402
from pipeline.stages.normalize import normalize  # noqa: E402
from pipeline.stages.attribution_rules import REPORT_VERBS  # noqa: E402
from pipeline.stages.quotes import quote_regions, region_lookup  # noqa: E402
from pipeline.stages.segment import Segmenter, _sentences  # noqa: E402


def _norm_span(offsets, s: int, e: int) -> tuple[int, int]:
    return bisect_left(offsets, s), bisect_left(offsets, e)


def token_labels(doc, norm, atts) -> list[str]:
    """One label per token of ``doc`` from the gold attributions (raw offsets)."""
    n = len(doc)
    role = [""] * n
    span_id = [-1] * n
    cur_len = [10 ** 9] * n  # length of the Content a CON token was given to
    starts = [t.idx for t in doc]
    rank = {"CON": 0, "CUE": 1, "SRC": 2}
    sid = 0
    for a in atts:
        for kind, pieces in (("CON", a.content), ("CUE", a.cue), ("SRC", a.source)):
            sid += 1
            for s, e in pieces:
                ns, ne = _norm_span(norm.offsets, s, e)
                lo = bisect_left(starts, ns)
                if lo > 0 and doc[lo - 1].idx + len(doc[lo - 1].text) > ns:
                    lo -= 1
                for i in range(lo, n):
                    if doc[i].idx >= ne:
                        break
                    if doc[i].is_space:
                        continue
                    # a Source/Cue wins over a Content; among Contents the innermost (later, shorter)
                    if not role[i] or rank[kind] > rank[role[i]] or (
                            kind == role[i] == "CON" and a.content_len < cur_len[i]):
                        role[i], span_id[i] = kind, sid
                        cur_len[i] = a.content_len
    labels = []
    for i in range(n):
        if not role[i]:
            labels.append("O")
        elif i > 0 and role[i - 1] == role[i] and span_id[i - 1] == span_id[i]:
            labels.append(f"I-{role[i]}")
        else:
            labels.append(f"B-{role[i]}")
    return labels


def sequences(arts, seg: Segmenter, cfg, parsed=None):
    """(features, labels) per sentence of every article (``parsed``: (norms, docs) done ahead)."""
    out = []
    if parsed is None:
        norms = [normalize(a.doc.text, cfg.normalize) for a in arts]
        docs = seg.nlp.pipe([n.text for n in norms], batch_size=16)
    else:
        norms, docs = parsed
    report = frozenset(REPORT_VERBS)
    for a, norm, doc in zip(arts, norms, docs):
        labels = token_labels(doc, norm, a.attributions)
        in_region = region_lookup(quote_regions(norm.text), len(norm.text))
        for sent in _sentences(doc):
            feats = at.sentence_features(sent, in_region, report)
            out.append((feats, labels[sent.start:sent.end]))
    return out


def span_scores(gold: list[list[str]], pred: list[list[str]]) -> dict:
    """Exact-span precision / recall / F1 per kind, and token accuracy of "inside a Content"."""
    res = {}
    for kind in ("SRC", "CUE", "CON"):
        tp = fp = fn = 0
        for g, p in zip(gold, pred):
            gs, ps = set(at.spans(g, kind)), set(at.spans(p, kind))
            tp += len(gs & ps)
            fp += len(ps - gs)
            fn += len(gs - ps)
        pr = tp / (tp + fp) if tp + fp else 0.0
        rc = tp / (tp + fn) if tp + fn else 0.0
        res[kind] = {"precision": round(pr, 4), "recall": round(rc, 4),
                     "f1": round(2 * pr * rc / (pr + rc), 4) if pr + rc else 0.0}
    ok = tot = 0
    for g, p in zip(gold, pred):
        for a, b in zip(g, p):
            tot += 1
            ok += a.endswith("CON") == b.endswith("CON")
    res["content_token_accuracy"] = round(ok / tot, 4) if tot else None
    return res


def train_crf(seqs, path: Path, params: dict) -> None:
    import pycrfsuite

    trainer = pycrfsuite.Trainer(verbose=False)
    for feats, labels in seqs:
        trainer.append(feats, labels)
    trainer.set_params({"c1": params["c1"], "c2": params["c2"],
                        "max_iterations": params["iterations"],
                        "feature.minfreq": params["min_freq"], "feature.possible_transitions": True})
    trainer.train(str(path))


def gate_candidates(arts, norms, docs, seg: Segmenter) -> dict[str, tuple[list[dict], list[int]]]:
    """Features and gold answers for the two gates: ``add``, the tagger's candidate speakers
    for the claims the rules leave without one, right when the claim lies in a gold Content
    (``gold_of``) and the tagged Source shares a word with the gold Source (or either is a
    pronoun); ``keep``, the claims the rules gave a speaker, right when in a gold Content."""
    from types import SimpleNamespace

    from pipeline.eval.attribution import PRONOUNS, _words, gold_of

    out = {"add": ([], []), "keep": ([], [])}
    for a, norm, doc in zip(arts, norms, docs):
        seg.gate_log = []
        seg.raw_claims(norm, doc)
        for kind, rc, mention, _cue, feats in seg.gate_log:
            s, e = norm.raw_span(rc.start, rc.end)
            g = gold_of(SimpleNamespace(start=s, end=e), a.attributions)
            if kind == "keep":
                ok = g is not None
            else:
                ok = g is not None and (
                    not g.source_text or g.pronoun_source or mention.text.strip().lower() in PRONOUNS
                    or bool(_words(g.source_text) & _words(mention.text)))
            out[kind][0].append(feats)
            out[kind][1].append(int(ok))
    seg.gate_log = None
    return out


def fit_gate(X: list[dict], y: list[int]) -> dict:
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression

    vec = DictVectorizer(sparse=False)
    m = LogisticRegression(C=1.0, max_iter=2000).fit(vec.fit_transform(X), y)
    return {"weights": {k: round(float(w), 5) for k, w in zip(vec.get_feature_names_out(), m.coef_[0])},
            "bias": round(float(m.intercept_[0]), 5), "train_candidates": len(y),
            "train_positive": int(sum(y))}


def choose_cut(arts, norms, docs, seg: Segmenter, cuts) -> tuple[tuple[float, float], list[dict]]:
    """Score ``eval attribution`` on dev with the rules alone, then at each (add cut, keep
    cut); the pair with the best loose speaker accuracy among those that give no more
    spurious speakers than the rules alone (the smallest spurious share when none does)."""
    from pipeline.eval.attribution import evaluate
    from pipeline.stages.attribute import attribute

    keys = ("speaker_accuracy_loose", "speaker_accuracy_exact", "spurious_speakers",
            "content_recall", "cue_accuracy")

    def score():
        by_doc = {a.doc.id: attribute(a.doc.id, n, seg.raw_claims(n, d)) for a, n, d in zip(arts, norms, docs)}
        r = evaluate(arts, by_doc)
        return {k: r[k] for k in keys}

    tagger = seg._tagger
    seg._tagger = None
    rules = {"cut": None, "keep_cut": None, **score()}
    print(rules, flush=True)
    seg._tagger = tagger
    rows = [rules]
    for cut, keep_cut in cuts:
        seg.cfg.attribution_cut = cut
        tagger.gate["keep_cut"] = keep_cut
        rows.append({"cut": cut, "keep_cut": keep_cut, **score()})
        print(rows[-1], flush=True)
    ok = [r for r in rows[1:] if r["spurious_speakers"] <= rules["spurious_speakers"]]
    best = max(ok, key=lambda r: r["speaker_accuracy_loose"]) if ok else min(
        rows[1:], key=lambda r: r["spurious_speakers"])
    return (best["cut"], best["keep_cut"]), rows


def parse(arts, seg: Segmenter, cfg):
    norms = [normalize(a.doc.text, cfg.normalize) for a in arts]
    return norms, list(seg.nlp.pipe([n.text for n in norms], batch_size=16))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--train", required=True, help="PolNeAR train folder (text/, attributions/)")
    ap.add_argument("--dev", required=True, help="PolNeAR dev folder: the gates' cuts and the figures")
    ap.add_argument("--out", default=str(at.default_model_dir()))
    ap.add_argument("--c1", type=float, default=0.3, help="L1 weight (sparser, smaller model)")
    ap.add_argument("--c2", type=float, default=0.01, help="L2 weight")
    ap.add_argument("--iterations", type=int, default=200)
    ap.add_argument("--min-freq", type=int, default=2, help="drop attributes seen fewer times")
    ap.add_argument("--limit", type=int, default=None, help="train on the first N articles only")
    ap.add_argument("--cut", type=float, default=None,
                    help="ship this add cut instead of dev's pick (the grid is still scored)")
    ap.add_argument("--keep-cut", type=float, default=None,
                    help="ship this keep cut (0: the keep gate off) instead of dev's pick")
    args = ap.parse_args(argv)
    params = {"c1": args.c1, "c2": args.c2, "iterations": args.iterations, "min_freq": args.min_freq}
    cfg = RunConfig()
    seg = Segmenter(cfg.segment)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    train_arts = load_gold_dir(args.train, args.limit)
    dev_arts = load_gold_dir(args.dev)
    tr_norms, tr_docs = parse(train_arts, seg, cfg)
    dv_norms, dv_docs = parse(dev_arts, seg, cfg)
    print(f"parsed {len(train_arts)} train, {len(dev_arts)} dev articles ({time.time() - t0:.0f} s)", flush=True)
    # the gates learn from the tagger's output on articles it was not trained on: two halves
    # of train, each tagged by a CRF trained on the other half
    cands = {"add": ([], []), "keep": ([], [])}
    with tempfile.TemporaryDirectory() as tmp:
        for fold in (0, 1):
            fit = [i for i in range(len(train_arts)) if i % 2 != fold]
            app = [i for i in range(len(train_arts)) if i % 2 == fold]
            path = Path(tmp) / f"fold{fold}.crfsuite"
            train_crf(sequences([train_arts[i] for i in fit], seg, cfg,
                                ([tr_norms[i] for i in fit], [tr_docs[i] for i in fit])), path, params)
            fseg = Segmenter(cfg.segment)
            fseg._tagger = at.AttributionTagger(path)
            got = gate_candidates([train_arts[i] for i in app], [tr_norms[i] for i in app],
                                  [tr_docs[i] for i in app], fseg)
            for k in cands:
                cands[k][0].extend(got[k][0])
                cands[k][1].extend(got[k][1])
            print(f"fold {fold}: {len(got['add'][1])} add / {len(got['keep'][1])} keep candidates "
                  f"({time.time() - t0:.0f} s)", flush=True)
    gate = {k: fit_gate(*cands[k]) for k in cands}
    train = sequences(train_arts, seg, cfg, (tr_norms, tr_docs))
    t1 = time.time()
    train_crf(train, out / at.MODEL_FILE, params)
    print(f"trained in {time.time() - t1:.0f} s: {out / at.MODEL_FILE} "
          f"({(out / at.MODEL_FILE).stat().st_size / 1e6:.1f} MB)", flush=True)
    (out / at.GATE_FILE).write_text(json.dumps(gate, indent=1) + "\n", encoding="utf-8")
    tagger = at.AttributionTagger(out / at.MODEL_FILE)
    dev = sequences(dev_arts, seg, cfg, (dv_norms, dv_docs))
    spans_dev = span_scores([g for _, g in dev], [tagger.tag(f) for f, _ in dev])
    seg._tagger = tagger
    grid = [(c, k) for c in (0.4, 0.5, 0.6, 0.7, 0.8) for k in (0.0, 0.2, 0.4, 0.5, 0.6, 0.7)]
    (cut, keep_cut), rows = choose_cut(dev_arts, dv_norms, dv_docs, seg, grid)
    if args.cut is not None:
        cut = args.cut
    if args.keep_cut is not None:
        keep_cut = args.keep_cut
    gate["cut"], gate["keep_cut"] = cut, keep_cut
    (out / at.GATE_FILE).write_text(json.dumps(gate, indent=1) + "\n", encoding="utf-8")
    metrics = {"train": {"folder": str(args.train), "articles": len(train_arts), "sentences": len(train)},
               "params": params, "gate": {"cut": cut, "keep_cut": keep_cut},
               "dev": {"folder": str(args.dev), "articles": len(dev_arts), "token_spans": spans_dev,
                       "cuts": rows},
               "seconds": round(time.time() - t0)}
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(metrics["dev"]["token_spans"]), f"cut {cut} keep_cut {keep_cut}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
