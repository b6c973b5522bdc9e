"""Threads and default-model lookup: settings that decide how and with what a run goes."""

from __future__ import annotations

import os

import pytest

from pipeline import threads
from pipeline.config import ConfigError, default_model_dir, load_run_config


def test_threads_default_to_the_affinity_mask(monkeypatch):
    monkeypatch.delenv("CONTRADICT_THREADS", raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert threads.resolve_threads(0) == len(os.sched_getaffinity(0))
    assert threads.resolve_threads(3) == 3


def test_threads_follow_the_environment_but_not_beyond_the_cores(monkeypatch):
    monkeypatch.delenv("CONTRADICT_THREADS", raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # what Ray gives a 1-CPU actor
    assert threads.resolve_threads(0) == 1
    monkeypatch.setenv("CONTRADICT_THREADS", "1000")
    assert threads.resolve_threads(0) == threads.available_cores()


def test_ort_session_options_take_the_setting():
    pytest.importorskip("onnxruntime")
    opts = threads.ort_session_options(1)
    assert opts.intra_op_num_threads == 1 and opts.inter_op_num_threads == 1
    assert opts.get_session_config_entry("session.intra_op.allow_spinning") == "0"


def test_threads_setting_is_validated():
    assert load_run_config(None, ["threads=2"]).threads == 2
    with pytest.raises(ConfigError, match="threads"):
        load_run_config(None, ["threads=-1"])


def test_default_model_from_the_environment(tmp_path, monkeypatch):
    (tmp_path / "config.json").write_text("{}")
    monkeypatch.setenv("CONTRADICT_MODEL", str(tmp_path))
    assert default_model_dir() == tmp_path
    assert load_run_config().score.resolved_model() == str(tmp_path)
    monkeypatch.setenv("CONTRADICT_MODEL", str(tmp_path / "nope"))
    with pytest.raises(ConfigError, match="CONTRADICT_MODEL"):
        default_model_dir()


def test_default_model_search_and_its_error(tmp_path, monkeypatch):
    from pipeline import config

    monkeypatch.delenv("CONTRADICT_MODEL", raising=False)
    first, second = tmp_path / "beside" / "nli-minilm-l6", tmp_path / "share" / "nli-minilm-l6"
    monkeypatch.setattr(config, "model_search_path", lambda: [first, second])
    with pytest.raises(ConfigError) as err:
        default_model_dir()
    assert str(first) in str(err.value) and str(second) in str(err.value)
    assert "--model" in str(err.value) and "CONTRADICT_MODEL" in str(err.value)
    second.mkdir(parents=True)
    (second / "config.json").write_text("{}")
    assert default_model_dir() == second
    first.mkdir(parents=True)
    (first / "config.json").write_text("{}")
    assert default_model_dir() == first


def test_search_path_starts_beside_the_package():
    from pathlib import Path

    import pipeline
    from pipeline import config

    paths = config.model_search_path()
    assert paths[0] == Path(pipeline.__file__).resolve().parent.parent / "models" / "nli-minilm-l6"
    assert "share" in paths[1].parts and "contradict" in paths[1].parts
