"""Issue 29 item 14: messages that say what was found (inf, a folder as --config, a model
path that does not exist), and the auto backend's ONNX export kept out of the model folder."""

from __future__ import annotations

import pytest

from pipeline.config import load_run_config
from pipeline.errors import ConfigError, ModelError


@pytest.mark.parametrize("value, found", [("inf", "'inf'"), ("-inf", "'-inf'"), (".inf", "inf"),
                                          ("nan", "'nan'")])
def test_a_threshold_that_is_not_finite_is_reported_as_written(value, found):
    with pytest.raises(ConfigError, match="must be a finite number") as err:
        load_run_config(None, [f"decide.threshold={value}"])
    assert f"found: {found};" in str(err.value)


def test_the_cli_threshold_inf_is_reported_as_inf(tmp_path):
    from typer.testing import CliRunner

    from pipeline.cli import app

    (tmp_path / "a.txt").write_text("Talks are ongoing, he said.")
    r = CliRunner().invoke(app, ["run", str(tmp_path / "a.txt"), "-o", str(tmp_path / "f.csv"),
                                 "--threshold", "inf"])
    assert isinstance(r.exception, ConfigError)
    assert "found: 'inf'" in str(r.exception) and "nan" not in str(r.exception)


def test_a_folder_as_config_is_called_a_folder(tmp_path):
    with pytest.raises(ConfigError, match="is a folder, not a YAML file") as err:
        load_run_config(tmp_path)
    assert "not found" not in str(err.value) and "fix: pass a YAML file" in str(err.value)


@pytest.mark.parametrize("name", ["/nonexistent", "./no/such/model", "../x", "~/nope-model",
                                  "models/nli-none/sub"])
def test_a_model_path_that_does_not_exist_is_called_a_missing_folder(name):
    from pipeline.nli.model import check_model

    with pytest.raises(ModelError, match="model folder not found") as err:
        check_model(name)
    msg = str(err.value)
    assert "Repo id" not in msg and "repo_id" not in msg and "fix:" in msg


def test_a_hub_id_is_still_a_hub_id():
    from pipeline.nli.model import resolve_model_path

    assert resolve_model_path("cross-encoder/nli-MiniLM2-L6-H768") == "cross-encoder/nli-MiniLM2-L6-H768"
