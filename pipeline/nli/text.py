"""The text the NLI model is given for a claim, beside the scoring that reads it."""

from __future__ import annotations


def nli_text(claim) -> str:
    """The text the NLI model sees: a denial is stated as the negation it asserts."""
    if claim.stance == "denies":
        body = claim.text[0].lower() + claim.text[1:] if claim.text else claim.text
        return f"It is not true that {body.rstrip('.')}."
    return claim.text
