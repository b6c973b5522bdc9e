"""contradict: statement-contradiction detection over news articles.

Stages (one module each): ingest, normalize, segment, attribute, topics, pairing, nli
(score), decide, write; pipeline.py assembles them, runner.py streams a corpus through them.
"""

__version__ = "0.1.0"
