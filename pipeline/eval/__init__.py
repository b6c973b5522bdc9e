"""Evaluation: NLI pair metrics, document-level contradiction metrics, attribution
scoring and the stress set."""
