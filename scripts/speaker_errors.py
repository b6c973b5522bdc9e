"""List the claims whose speaker disagrees with the annotation (segment + attribute only).

    python scripts/speaker_errors.py data/labelled/dev.jsonl
"""
import sys

from pipeline.config import RunConfig
from pipeline.eval.docs import load_gold, match_claims, same_speaker
from pipeline.pipeline import Pipeline


def main(path: str) -> None:
    pipe = Pipeline(RunConfig())
    gold = load_gold(path)
    ok = total = 0
    for g in gold:
        res = pipe.extract([g.doc])
        m = match_claims(g.claims, res.claims)
        for gid, gc in g.claims.items():
            if not m[gid]:
                print(f"{g.doc.id}/{gid}: MISSED claim\n    {gc['text'][:160]}")
                continue
            total += 1
            pred = m[gid][0].speaker
            if same_speaker(gc.get("speaker"), pred):
                ok += 1
            else:
                print(f"{g.doc.id}/{gid}: gold={gc.get('speaker')!r} pred={pred!r}\n    {gc['text'][:160]}")
    print(f"speaker accuracy {ok}/{total} = {ok / max(total, 1):.3f}")


if __name__ == "__main__":
    main(sys.argv[1])
