"""Issue 11: every setting is checked for type and range when the config is built; the
error names the key, the value found and the fix; the CLI exits 1 with it, no traceback."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.config import (CHOICES, RANGES, IngestConfig, RunConfig, TrainConfig, load_run_config,
                             load_train_config)
from pipeline.errors import ConfigError

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("override, message", [
    ("decide.threshold=nan", "decide.threshold must be a finite number"),
    ("decide.threshold=.inf", "decide.threshold must be a finite number"),
    ("decide.threshold=abc", "decide.threshold must be a number; found: 'abc'"),
    ("pair.min_similarity=high", "pair.min_similarity must be a number; found: 'high'"),
    ("pair.min_similarity=1.5", r"pair.min_similarity must be in \[0, 1\]; found: 1.5"),
    ("ingest.extensions=.md", "ingest.extensions must be a list; found: '.md'"),
    ("ingest.extensions=[md]", "must hold file extensions starting with a dot"),
    ("ingest.extensions=[]", "ingest.extensions must not be empty"),
    ("ingest.max_bytes=0", "ingest.max_bytes must be at least 1"),
    ("normalize.unwrap=maybe", "normalize.unwrap must be true or false"),
    ("pair.k=2.5", "pair.k must be a whole number"),
    ("pair.k=true", "pair.k must be a whole number"),
    ("pair.cross_scope=everyone", "pair.cross_scope must be one of speaker, topic, speaker_or_topic"),
    ("score.backend=tensorflow", "score.backend must be one of auto, torch, onnx"),
    ("segment.window_chars=5000000", r"segment.window_chars must be in \[1000, 1000000\]"),
    ("batch_docs=0", "batch_docs must be at least 1"),
    ("engine=spark", "engine must be one of local, ray"),
    ("pair.k=[1,", "not valid YAML"),
    ("score.model=[a, b]", "score.model must be text"),
])
def test_bad_settings_name_key_value_and_fix(override, message):
    with pytest.raises(ConfigError, match=message) as info:
        load_run_config(None, [override])
    assert "fix:" in str(info.value) and "found:" in str(info.value)


def test_good_settings_are_normalised():
    cfg = load_run_config(None, ["ingest.extensions=[.md]", "decide.threshold=1", "pair.k=3.0",
                                 "score.device=0"])
    assert cfg.ingest.extensions == [".md"]
    assert cfg.decide.threshold == 1.0 and isinstance(cfg.decide.threshold, float)
    assert cfg.pair.k == 3 and isinstance(cfg.pair.k, int)
    assert cfg.score.device == "0"


def test_direct_construction_and_train_config_are_checked_too():
    with pytest.raises(ConfigError, match="ingest.max_bytes"):
        IngestConfig(max_bytes=-1)
    with pytest.raises(ConfigError, match=r"train.file_weights\[a\] must be at least 0"):
        load_train_config(None, ["file_weights={a: -1}"])
    with pytest.raises(ConfigError, match="train.train_files must be a list"):
        load_train_config(None, ["train_files=data.jsonl"])
    with pytest.raises(ConfigError, match="train.epochs must be a finite number"):
        TrainConfig(epochs=float("nan"))


def test_tables_name_real_keys_and_defaults_pass():
    """A range or choice for a key that does not exist would never be checked."""
    keys = set()

    def walk(obj, prefix):
        for f in dataclasses.fields(obj):
            v = getattr(obj, f.name)
            if dataclasses.is_dataclass(v):
                walk(v, f"{prefix}{f.name}.")
            else:
                keys.add(f"{prefix}{f.name}")

    walk(RunConfig(), "")
    walk(TrainConfig(), "train.")
    for k in list(RANGES) + list(CHOICES):
        assert k.removesuffix("[]") in keys, k


@pytest.mark.parametrize("override, message", [
    # checked in a section's __post_init__ before it was in the tables: each says its fix now
    ("decide.numeric_tolerance=2", r"decide.numeric_tolerance must be in \[0, 1\]; found: 2.0"),
    ("decide.denial_max_entailment=-0.1", r"decide.denial_max_entailment must be in \[0, 1\]"),
    ("decide.negation_align_similarity=1.5", r"decide.negation_align_similarity must be in \[0, 1\]"),
    ("pair.gate_min_shared=0", "pair.gate_min_shared must be at least 1"),
    ("output.top=-1", "output.top must be at least 0"),
])
def test_section_checks_come_from_the_tables(override, message):
    with pytest.raises(ConfigError, match=message) as info:
        load_run_config(None, [override])
    assert "fix:" in str(info.value) and "(the default)" in str(info.value)


@pytest.mark.parametrize("override, message", [
    ("bias_features=letters", "train.bias_features must be one of words, cues"),
    ("debias_scope=some", "train.debias_scope must be one of all, cues"),
    ("debias=magic", "train.debias must be one of none, poe, reweight"),
    ("negation_balanced=-1", "train.negation_balanced must be at least 0"),
    ("debias_strength=0", "train.debias_strength must be above 0"),
])
def test_train_checks_come_from_the_tables(override, message):
    with pytest.raises(ConfigError, match=message) as info:
        load_train_config(None, [override])
    assert "fix:" in str(info.value)


def test_the_cross_key_checks_still_fire_with_a_fix():
    with pytest.raises(ConfigError, match="knn_min_similarity must be below") as info:
        load_train_config(None, ["knn_min_similarity=0.9", "knn_max_similarity=0.8"])
    assert "fix:" in str(info.value)
    with pytest.raises(ConfigError, match="cross-document pairing is not supported") as info:
        load_run_config(None, ["engine=ray", "pair.cross_document=true"])
    assert "fix:" in str(info.value)
    with pytest.raises(ConfigError, match="output.formats must be a non-empty list"):
        load_run_config(None, ["output.formats=[]"])


@pytest.mark.parametrize("args, message", [
    (["--threshold", "nan"], "decide.threshold must be a finite number"),
    (["--set", "decide.threshold=abc"], "decide.threshold must be a number"),
    (["--set", "pair.min_similarity=high"], "pair.min_similarity must be a number"),
])
def test_cli_exits_1_with_the_message_not_a_traceback(tmp_path, args, message):
    env = dict(os.environ, PYTHONPATH=str(REPO), HF_HUB_OFFLINE="1")
    (tmp_path / "a.txt").write_text("Talks are ongoing, he said.\n")
    p = subprocess.run([sys.executable, "-m", "pipeline.cli", "run", str(tmp_path / "a.txt"),
                        "-o", str(tmp_path / "out.csv"), *args],
                       capture_output=True, text=True, env=env, cwd=REPO, timeout=120)
    assert p.returncode == 1, p.stderr
    assert message in p.stderr and "Traceback" not in p.stderr
    assert not (tmp_path / "out.csv").exists()


def test_the_cli_offers_the_choices_config_checks():
    """--backend, --engine and --method take the str enums whose values config's CHOICES
    hold: one list of choices each, not one in the CLI and another in config."""
    from pipeline import cli, config

    assert (cli.Backend, cli.Engine, cli.Method) == (config.Backend, config.Engine, config.Method)
    for key, enum in (("score.backend", config.Backend), ("topics.backend", config.Backend),
                      ("engine", config.Engine), ("decide.method", config.Method)):
        assert config.CHOICES[key] == tuple(m.value for m in enum), key
