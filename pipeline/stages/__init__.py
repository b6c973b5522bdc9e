"""The pipeline's stages: ingest, normalise, segment and attribute, topics, pairing,
evidence, scoring and the decision."""
