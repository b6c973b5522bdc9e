"""Cross-document pairs: an approximate nearest-neighbour index over claim embeddings.

Claims of each new batch are searched against the claims of earlier documents (faiss HNSW,
inner product on normalised embeddings = cosine) and paired when they are close enough and
in scope:

* ``speaker``: the same canonical speaker (matched across documents by name);
* ``topic``: any speaker, same topic (similarity at least ``cross_min_similarity``);
* ``speaker_or_topic``: either.

The index's claims and embeddings (float32, so a resumed run computes the same similarities)
are appended to the run's parts folder after every batch, so a resumed run rebuilds the same
index. A torn last line (a kill while writing) is dropped and reported by ``reload``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from pipeline.config import PairConfig
from pipeline.types import Claim, Pair

_FIELDS = ("doc_id", "id", "start", "end", "text", "sent_index", "speaker", "speaker_id",
           "side", "cue", "stance", "mention", "topic", "is_quote")


def speaker_key(name: str) -> str:
    """Match canonical speakers across documents by name: case, titles and articles aside."""
    words = re.findall(r"[\w.]+", name.lower())
    words = [w for w in words if w not in {"the", "a", "an", "mr", "mrs", "ms", "dr"}]
    return " ".join(words)


class CrossIndex:
    """The cross-document claim index (faiss HNSW, inner product on normalised embeddings):
    claims are added document by document and paired with the earlier documents' claims in
    scope; persisted beside the run's parts so a resumed run reloads it."""
    def __init__(self, cfg: PairConfig, folder: Path | None = None, dim: int = 384):
        import faiss

        self.cfg = cfg
        self.dim = dim
        self.index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
        self.index.hnsw.efSearch = 64
        self.claims: list[Claim] = []
        self.folder = folder
        self._pending: list[tuple[Claim, np.ndarray]] = []

    # persistence ------------------------------------------------------------------------
    def _paths(self) -> tuple[Path, Path]:
        assert self.folder is not None
        return self.folder / "cross_claims.jsonl", self.folder / "cross_emb.f32"

    def persist(self) -> None:
        """Append the claims added since the last call (called before each batch commit)."""
        if self.folder is None or not self._pending:
            self._pending = []
            return
        meta, emb = self._paths()
        with meta.open("a", encoding="utf-8") as fm, emb.open("ab") as fe:
            for c, e in self._pending:
                fm.write(json.dumps({k: getattr(c, k) for k in _FIELDS}) + "\n")
                fe.write(np.asarray(e, dtype=np.float32).tobytes())
        self._pending = []

    def reload(self, committed_docs: set[str] | None = None) -> list[str]:
        """Rebuild the index from the parts folder (for --resume); returns notes on what was
        dropped (a torn last line, rows of a batch that never committed).

        Raises:
            ResumeError: a line other than the last one is not valid JSON.
        """
        from pipeline.errors import ResumeError

        meta, emb = self._paths()
        notes: list[str] = []
        if not meta.is_file():
            return notes
        raw = meta.read_bytes()
        lines = raw.split(b"\n")
        tail = lines.pop()
        if tail:
            notes.append(f"{meta.name}: dropped a torn last line ({len(tail)} bytes)")
        rows = []
        for n, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise ResumeError(f"{meta}:{n}: corrupt claim row ({exc})",
                                  fix="start over with --fresh") from exc
        vecs = np.frombuffer(emb.read_bytes(), dtype=np.float32) if emb.is_file() else np.zeros(0, np.float32)
        n = min(len(rows), len(vecs) // self.dim)
        keep = [i for i in range(n) if committed_docs is None or rows[i]["doc_id"] in committed_docs]
        if len(keep) < len(rows):
            notes.append(f"{meta.name}: dropped {len(rows) - len(keep)} claim(s) of uncommitted documents")
        claims = [Claim(**rows[i]) for i in keep]
        kept_vecs = vecs[: n * self.dim].reshape(n, self.dim)[keep]
        # rewrite without rows of a batch that never committed, so they are not added twice
        meta.write_text("".join(json.dumps(rows[i]) + "\n" for i in keep), encoding="utf-8")
        emb.write_bytes(np.ascontiguousarray(kept_vecs, dtype=np.float32).tobytes())
        if claims:
            self._add(claims, kept_vecs)
        return notes

    def mark(self) -> tuple[int, int]:
        """A point to roll back to if a batch fails after adding its claims."""
        return len(self.claims), len(self._pending)

    def rollback(self, mark: tuple[int, int]) -> None:
        """Forget the claims added since ``mark`` (the index is rebuilt without them)."""
        n, pending = mark
        if len(self.claims) == n:
            del self._pending[pending:]
            return
        import faiss

        vecs = self.index.reconstruct_n(0, n) if n else np.zeros((0, self.dim), np.float32)
        self.index = faiss.IndexHNSWFlat(self.dim, 32, faiss.METRIC_INNER_PRODUCT)
        self.index.hnsw.efSearch = 64
        if n:
            self.index.add(np.ascontiguousarray(vecs, dtype=np.float32))
        del self.claims[n:]
        del self._pending[pending:]

    # pairing ----------------------------------------------------------------------------
    def _add(self, claims: list[Claim], emb: np.ndarray) -> None:
        self.index.add(np.ascontiguousarray(emb, dtype=np.float32))
        self.claims.extend(claims)

    def add_and_pair(self, claims: list[Claim], emb: np.ndarray) -> list[Pair]:
        """Pairs of the new claims with earlier documents' claims (and across the batch's own
        documents), then add the new claims to the index."""
        pairs: list[Pair] = []
        if claims:
            # earlier batches, then the batch itself (pairs only across different documents)
            self._add(claims, emb)
            self._pending.extend(zip(claims, emb))
            k = min(self.cfg.cross_k * 4 + 1, len(self.claims))
            sims, idx = self.index.search(np.ascontiguousarray(emb, dtype=np.float32), k)
            base = len(self.claims) - len(claims)
            seen: set[tuple[str, str]] = set()
            for qi, c in enumerate(claims):
                kept = 0
                for s, j in zip(sims[qi], idx[qi]):
                    if j < 0 or kept >= self.cfg.cross_k:
                        continue
                    other = self.claims[int(j)]
                    if other.doc_id == c.doc_id:
                        continue
                    if int(j) >= base and int(j) - base > qi:
                        continue  # a pair inside the batch is found from its later claim
                    if not self._in_scope(c, other, float(s)):
                        continue
                    lo, hi = sorted((c.key, other.key))
                    key = (lo, hi)
                    if key in seen:
                        continue
                    seen.add(key)
                    kept += 1
                    pairs.append(Pair(other, c, "cross_document", float(s)))
        return pairs

    def _in_scope(self, a: Claim, b: Claim, sim: float) -> bool:
        if sim < self.cfg.min_similarity:
            return False
        same_speaker = bool(a.speaker and b.speaker) and speaker_key(a.speaker) == speaker_key(b.speaker)
        topical = sim >= self.cfg.cross_min_similarity
        scope = self.cfg.cross_scope
        if scope == "speaker":
            return same_speaker
        if scope == "topic":
            return topical
        return same_speaker or topical
