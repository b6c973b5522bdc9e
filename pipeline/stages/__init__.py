"""The pipeline's stages: ingest, normalise, segment and attribute, topics, pairing,
evidence, scoring and the decision; ``base.py`` holds the stage protocol and the batch they
pass on (``pipeline/components.py`` wraps each module's entry point as a stage object).
``segment.py`` is built from ``nlp.py``, ``windows.py``, ``quotes.py``, ``datelines.py``,
``mentions.py`` and ``attribution_rules.py``."""
