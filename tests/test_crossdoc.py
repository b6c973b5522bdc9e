"""Cross-document pairs through the faiss index: scope, relation, persistence."""

from __future__ import annotations

import numpy as np

from pipeline.config import PairConfig
from pipeline.stages.crossdoc import CrossIndex, speaker_key
from pipeline.types import Claim


def _c(doc, i, speaker=""):
    return Claim(doc_id=doc, id=f"{i}.0", start=0, end=5, text=f"{doc} claim {i}", sent_index=i,
                 speaker=speaker, speaker_id=speaker and "s1")


def _unit(v):
    v = np.asarray(v, dtype=np.float32)
    return v / np.linalg.norm(v)


def test_speaker_key_matches_names_across_documents():
    assert speaker_key("The US State Department") == speaker_key("US State Department")
    assert speaker_key("Mr. Khurram Dastgir") != speaker_key("Muhammad Faisal")


def test_cross_pairs_by_scope_and_persistence(tmp_path):
    dim = 8
    base = np.zeros(dim)
    base[0] = 1
    near = base.copy()
    near[1] = 0.3  # cosine ~0.96 with base
    far = np.zeros(dim)
    far[2] = 1
    far[0] = 0.3  # cosine ~0.29 with base
    cfg = PairConfig(cross_document=True, cross_scope="speaker_or_topic", cross_k=4,
                     min_similarity=0.1, cross_min_similarity=0.8)
    idx = CrossIndex(cfg, tmp_path, dim=dim)
    first = [_c("d1", 0, "Khurram Dastgir"), _c("d1", 1, "Faisal")]
    assert idx.add_and_pair(first, np.stack([_unit(base), _unit(far)])) == []  # same document
    idx.persist()
    second = [_c("d2", 0, "US official"), _c("d2", 1, "Khurram Dastgir")]
    pairs = idx.add_and_pair(second, np.stack([_unit(near), _unit(base * 0.2 + far)]))
    idx.persist()
    got = {(p.a.key, p.b.key, p.relation) for p in pairs}
    # topic: near ~ base across documents; speaker: Dastgir in both, though the topic is far
    assert ("d1#0.0", "d2#0.0", "cross_document") in got
    assert ("d1#0.0", "d2#1.0", "cross_document") in got
    assert all(p.a.doc_id != p.b.doc_id for p in pairs)
    # speaker scope alone drops the topical pair
    idx2 = CrossIndex(PairConfig(cross_scope="speaker", min_similarity=0.1), tmp_path, dim=dim)
    idx2.reload({"d1", "d2"})
    assert len(idx2.claims) == 4
    third = [_c("d3", 0, "Someone else")]
    assert idx2.add_and_pair(third, np.stack([_unit(base)])) == []
    # a resumed index keeps only committed documents
    idx3 = CrossIndex(cfg, tmp_path, dim=dim)
    idx3.reload({"d1"})
    assert {c.doc_id for c in idx3.claims} == {"d1"}
