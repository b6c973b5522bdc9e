"""Labelled NLI pairs: reading and validating JSONL files (``premise``, ``hypothesis``, ``label``).

Local files are checked line by line first, so a bad row is reported with its file and line;
then they are loaded with ``datasets``. A string that is neither a file, a folder nor a glob
is taken as a hub dataset id (for users with network access).
"""

from __future__ import annotations

import glob
import json
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Iterable

from pipeline.errors import DataError
from pipeline.types import LABELS
# Integer labels follow the GLUE/MNLI convention unless the config maps them otherwise.
DEFAULT_ID_NAMES = {"0": "entailment", "1": "neutral", "2": "contradiction"}
ALIASES = {
    "entails": "entailment",
    "entail": "entailment",
    "contradict": "contradiction",
    "contradicts": "contradiction",
    "contradictory": "contradiction",
    "neutral": "neutral",
}
REQUIRED = ("premise", "hypothesis", "label")


@dataclass(frozen=True)
class NLIExample:
    """One labelled pair: premise, hypothesis, label (entailment, neutral, contradiction) and
    the source it came from."""
    premise: str
    hypothesis: str
    label: str
    source: str


def canonical_label(raw: object, label_map: dict[str, str] | None = None) -> str | None:
    """Map a raw label (name or id) to one of LABELS, or None if unknown."""
    key = str(raw).strip()
    lm = {str(k).strip().lower(): v for k, v in (label_map or {}).items()}
    low = key.lower()
    if low in lm:
        return lm[low]
    if low in LABELS:
        return low
    if low in ALIASES:
        return ALIASES[low]
    if key in DEFAULT_ID_NAMES:
        return DEFAULT_ID_NAMES[key]
    return None


def expand_paths(specs: Iterable[str], base: Path | None = None) -> list[Path]:
    """Expand files, folders (``*.jsonl`` inside, recursively) and globs to sorted files."""
    out: list[Path] = []
    for spec in specs:
        p = Path(spec)
        if base is not None and not p.is_absolute():
            p = base / p
        if p.is_dir():
            out.extend(sorted(p.rglob("*.jsonl")))
        elif p.is_file():
            out.append(p)
        else:
            matches = sorted(Path(m) for m in glob.glob(str(p)))
            out.extend(m for m in matches if m.is_file())
    return out


def is_local_spec(spec: str, base: Path | None = None) -> bool:
    """Whether ``spec`` names local data (an existing path, relative to ``base`` if given, a
    glob or a .jsonl/.json name) rather than a hub dataset id."""
    p = Path(spec)
    if base is not None and not p.is_absolute():
        p = base / p
    return p.exists() or any(ch in spec for ch in "*?[") or spec.endswith((".jsonl", ".json"))


def iter_json_lines(path: Path, expected: str = "one JSON object per line"):
    """(line number, parsed value) for every non-blank line of a JSONL file; DataError with
    the file and line for a line that is not JSON."""
    try:
        fh = path.open("r", encoding="utf-8")
    except OSError as exc:
        raise DataError(f"{path}: cannot open: {exc}") from exc
    with fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                yield lineno, json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"{path}:{lineno}: not valid JSON ({exc.msg})",
                                expected=expected) from exc


def read_jsonl(path: Path, label_map: dict[str, str] | None = None) -> list[NLIExample]:
    """Read one JSONL file, raising DataError with file and line for any bad row."""
    rows: list[NLIExample] = []
    for lineno, obj in iter_json_lines(path):
        if not isinstance(obj, dict):
            raise DataError(f"{path}:{lineno}: not a JSON object", expected="an object per line")
        missing = [k for k in REQUIRED if k not in obj or obj[k] is None]
        if missing:
            raise DataError(
                f"{path}:{lineno}: missing column(s) {', '.join(missing)}",
                expected="fields premise, hypothesis, label",
                found=", ".join(sorted(obj)),
            )
        label = canonical_label(obj["label"], label_map)
        if label is None:
            raise DataError(
                f"{path}:{lineno}: unknown label {obj['label']!r}",
                expected=f"one of {', '.join(LABELS)} or ids 0/1/2",
                fix="map it with label_map in the training config",
            )
        rows.append(
            NLIExample(
                premise=str(obj["premise"]),
                hypothesis=str(obj["hypothesis"]),
                label=label,
                source=str(obj.get("source") or path.stem),
            )
        )
    if not rows:
        raise DataError(f"{path}: empty split (no rows)", expected="at least one labelled pair")
    return rows


def load_hub_dataset(spec: str, label_map: dict[str, str] | None = None) -> list[NLIExample]:
    """Load ``name`` or ``name:split`` from the hub with ``datasets`` (needs network)."""
    import datasets

    name, _, split = spec.partition(":")
    ds = datasets.load_dataset(name, split=split or "train")
    rows = []
    for i, obj in enumerate(ds, start=1):
        label = canonical_label(obj.get("label"), label_map)
        if label is None:
            if str(obj.get("label")) == "-1":
                continue  # unlabelled rows in SNLI/MNLI
            raise DataError(f"{spec}: row {i}: unknown label {obj.get('label')!r}")
        rows.append(NLIExample(str(obj["premise"]), str(obj["hypothesis"]), label, name))
    if not rows:
        raise DataError(f"{spec}: empty split")
    return rows


def load_files(
    specs: Iterable[str], label_map: dict[str, str] | None = None, base: Path | None = None
) -> dict[str, list[NLIExample]]:
    """Load every file named by ``specs``; returns {file stem or hub id: examples}."""
    out: dict[str, list[NLIExample]] = {}
    for spec in specs:
        if is_local_spec(spec, base):
            files = expand_paths([spec], base)
            if not files:
                raise DataError(f"no data files match {spec!r}", fix="check the path or glob")
            for f in files:
                out[f.stem] = read_jsonl(f, label_map)
        else:
            out[spec] = load_hub_dataset(spec, label_map)
    return out


def to_dataset(examples: list[NLIExample]):
    """A ``datasets.Dataset`` with premise, hypothesis, label (name) and source columns."""
    import datasets

    return datasets.Dataset.from_dict(
        {
            "premise": [e.premise for e in examples],
            "hypothesis": [e.hypothesis for e in examples],
            "label": [e.label for e in examples],
            "source": [e.source for e in examples],
        }
    )
