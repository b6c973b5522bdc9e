"""Training tests on a tiny generated set with a tiny random model (no ../shared)."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

from pipeline.config import TrainConfig
from pipeline.errors import ConfigError, DataError
from pipeline.nli.model import NLIModel
from pipeline.nli.data import canonical_label, read_jsonl
from pipeline.nli.train import mix, train


def _write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _toy_rows(n, seed=0):
    """A learnable toy task: 'not' in the hypothesis means contradiction, a repeat is
    entailment, anything else neutral."""
    rng = random.Random(seed)
    words = ["talks", "aid", "jobs", "doses", "turnout", "factory", "workers", "vote"]
    rows = []
    for _ in range(n):
        w = rng.choice(words)
        kind = rng.choice(["entailment", "neutral", "contradiction"])
        prem = f"the {w} was open"
        hyp = {"entailment": f"the {w} was open", "neutral": f"the {rng.choice(words)} was big",
               "contradiction": f"the {w} was not open"}[kind]
        rows.append({"premise": prem, "hypothesis": hyp, "label": kind, "source": "toy"})
    return rows


def _cfg(tmp_path, tiny_model, **kw):
    train_file = _write(tmp_path / "train.jsonl", _toy_rows(192))
    dev_file = _write(tmp_path / "dev.jsonl", _toy_rows(48, seed=1))
    base = dict(base_model=str(tiny_model), train_files=[str(train_file)], dev_files=[str(dev_file)],
                epochs=4, learning_rate=3e-3, batch_size=16, eval_batch_size=32, eval_steps=12,
                save_steps=12, logging_steps=4, label_smoothing=0.0, warmup_ratio=0.0, max_length=32,
                fp16_weights=False)
    base.update(kw)
    return TrainConfig(**base)


@pytest.mark.slow  # trains 4 epochs: 278 s with --durations on the loaded 2-core machine, well over 20 s alone
def test_training_makes_the_loss_fall_and_saves_a_loadable_model(tmp_path, tiny_model):
    out = tmp_path / "out"
    train(_cfg(tmp_path, tiny_model), output=str(out))
    log = [json.loads(line) for line in (out / "train.log").read_text().splitlines()]
    losses = [r["loss"] for r in log if "loss" in r and "eval_loss" not in r]
    assert len(losses) >= 2 and losses[-1] < losses[0]
    cfg = json.loads((out / "config.json").read_text())
    assert set(cfg["id2label"].values()) == {"entailment", "neutral", "contradiction"}
    assert json.loads((out / "train_config.json").read_text())["base_model"] == str(tiny_model)
    # save and reload: identical predictions
    pairs = [("the aid was open", "the aid was not open"), ("the vote was open", "the vote was open")]
    p1 = NLIModel(str(out)).predict(pairs)
    from pipeline.nli.model import get_model

    p2 = NLIModel(str(out)).predict(pairs)
    assert np.array_equal(p1, p2)
    assert get_model(str(out)) is get_model(str(out))  # one load per process


def test_refuses_to_overwrite_and_resumes(tmp_path, tiny_model):
    out = tmp_path / "out"
    out.mkdir()
    (out / "something").write_text("x")
    with pytest.raises(ConfigError, match="not empty"):
        train(_cfg(tmp_path, tiny_model, epochs=1), output=str(out))
    # --overwrite replaces it; --resume continues from the last checkpoint
    train(_cfg(tmp_path, tiny_model, epochs=1), output=str(out), overwrite=True)
    assert not (out / "something").exists()
    # one epoch of the toy rows: 12 steps, one checkpoint at its end
    assert sorted(p.name for p in (out / "checkpoints").glob("checkpoint-*")) == ["checkpoint-12"]
    train(_cfg(tmp_path, tiny_model, epochs=2), output=str(out), resume=True)
    log = (out / "train.log").read_text()
    assert log.count('"event": "done"') == 2


def test_data_errors_name_file_and_line(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"premise": "a", "hypothesis": "b", "label": "entailment"}\n'
                   '{"premise": "a", "label": "neutral"}\n')
    with pytest.raises(DataError, match=r"bad.jsonl:2: missing column\(s\) hypothesis"):
        read_jsonl(bad)
    bad.write_text('{"premise": "a", "hypothesis": "b", "label": "maybe"}\n')
    with pytest.raises(DataError, match=r"bad.jsonl:1: unknown label 'maybe'"):
        read_jsonl(bad)
    bad.write_text("\n")
    with pytest.raises(DataError, match="empty split"):
        read_jsonl(bad)
    bad.write_text('{"premise": "a", "hypothesis": "b", "label": "maybe"}\n')
    assert read_jsonl(bad, {"maybe": "neutral"})[0].label == "neutral"


def test_label_names_and_ids():
    assert canonical_label(0) == "entailment" and canonical_label("2") == "contradiction"
    assert canonical_label("CONTRADICTION") == "contradiction"
    assert canonical_label(1, {"1": "contradiction"}) == "contradiction"
    assert canonical_label("unknown") is None


def test_mix_weights():
    from pipeline.nli.data import NLIExample

    files = {"a": [NLIExample(str(i), "h", "neutral", "a") for i in range(10)],
             "b": [NLIExample(str(i), "h", "neutral", "b") for i in range(10)]}
    rows = mix(files, {"a": 2.5, "b": 0.5}, seed=0)
    assert sum(r.source == "a" for r in rows) == 25
    assert sum(r.source == "b" for r in rows) == 5


def test_soup_averages_the_runs_weights_and_refits_the_temperature_on_dev(tmp_path):
    """`contradict soup`: the soup's tensors are the runs' element-wise mean, it loads and scores,
    its temperature is refitted on the dev rows, and incompatible runs are refused."""
    import torch
    from safetensors.torch import load_file, save_file

    from conftest import build_tiny_model
    from pipeline.errors import ModelError
    from pipeline.nli.data import NLIExample
    from pipeline.nli.soup import average_models

    a = build_tiny_model(tmp_path / "a")
    b = build_tiny_model(tmp_path / "b")
    sb = load_file(str(b / "model.safetensors"))
    g = torch.Generator().manual_seed(1)
    sb = {k: v + torch.randn(v.shape, generator=g) if v.is_floating_point() else v for k, v in sb.items()}
    save_file(sb, str(b / "model.safetensors"), metadata={"format": "pt"})
    sa = load_file(str(a / "model.safetensors"))
    dev = [NLIExample(premise=r["premise"], hypothesis=r["hypothesis"], label=canonical_label(r["label"]), source="toy")
           for r in _toy_rows(60, seed=3)]
    info = average_models([a, b], tmp_path / "soup", dev_rows=dev)
    soup = load_file(str(tmp_path / "soup" / "model.safetensors"))
    for k, v in soup.items():
        if v.is_floating_point():
            assert torch.allclose(v, (sa[k] + sb[k]) / 2, atol=1e-6), k
            assert not torch.allclose(v, sa[k]), k  # b is a plus noise: the mean is neither
    assert [i["path"] for i in info["ingredients"]] == [str(a), str(b)]
    assert set(info["dev"]) == {"soup", str(a), str(b)} and info["dev"]["soup"]["n"] == 60
    cal = json.loads((tmp_path / "soup" / "calibration.json").read_text())
    assert cal["n"] == 60 and cal["nll_after"] <= cal["nll_before"] + 1e-9
    summary = json.loads((tmp_path / "soup" / "train_summary.json").read_text())
    assert summary["dev_metrics"]["eval_accuracy"] == info["dev"]["soup"]["eval_accuracy"]
    probs = NLIModel(str(tmp_path / "soup"), backend="torch").predict([("Aid was sent.", "Aid was not sent.")])
    assert probs.shape == (1, 3) and abs(float(probs.sum()) - 1) < 1e-5

    other = build_tiny_model(tmp_path / "c", {0: "contradiction", 1: "entailment", 2: "neutral"})
    with pytest.raises(ModelError, match="does not match"):
        average_models([a, other], tmp_path / "bad")
    with pytest.raises(ModelError, match="is one of the runs"):
        average_models([a, b], a)
    with pytest.raises(ModelError, match="not empty"):
        average_models([a, b], tmp_path / "soup")
