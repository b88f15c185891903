"""SFT then GRPO on the tiny random model, end to end: masking, learning, logging, resuming, Figure 4."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from train_fixtures import train_config, write_inputs

from safety_compliance.train.data import sft_records
from safety_compliance.train.settings import RunSettings, SFTSettings
from safety_compliance.train.sft import build_sft_trainer
from safety_compliance.train.train import train_stage, write_figure4

ROOT = Path(__file__).resolve().parents[1]
# Enough SFT for the tiny model to learn the answer format, so GRPO groups get different rewards
# (with all-equal rewards the advantages, and so the updates, would be zero).
TINY = {
    "run": {"save_steps": 100},
    "sft": {"learning_rate": 1.0e-2, "max_steps": 25, "epochs": 100, "max_length": 700,
            "global_batch_size": 2, "micro_batch_size": 2},
    "grpo": {"learning_rate": 1.0e-3, "max_steps": 2, "num_generations": 4, "max_completion_length": 40,
             "max_prompt_length": 1024, "repetition_penalty": 1.0},
}


def weights(folder: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(folder / "model.safetensors")


def changed(before: dict, after: dict) -> bool:
    return any(not before[name].equal(after[name]) for name in before)


def test_sft_masks_the_prompt_and_trains_on_the_trace(tmp_path, tiny_model):
    from transformers import AutoTokenizer

    cfg = train_config(tmp_path, tiny_model, **TINY)
    records = sft_records(cfg["laws"], write_inputs(tmp_path / "results"))
    trainer = build_sft_trainer(str(tiny_model), "float32", records, RunSettings.from_config(cfg),
                                SFTSettings.from_config(cfg), tmp_path / "out")
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    for record, row in zip(records, trainer.train_dataset):
        prompt = tokenizer.apply_chat_template(record["prompt"], add_generation_prompt=True, tokenize=True,
                                               return_dict=True)["input_ids"]
        labels, ids = row["labels"], row["input_ids"]
        assert ids[:len(prompt)] == prompt
        assert set(labels[:len(prompt)]) == {-100}
        assert labels[len(prompt):] == ids[len(prompt):]
        # The trace and the end-of-turn token are learned, so the model learns to stop.
        assert tokenizer.decode(labels[len(prompt):]).strip() == record["completion"][0]["content"] + "<|im_end|>"


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_model):
    tmp = tmp_path_factory.mktemp("train")
    results = write_inputs(tmp / "results")
    cfg = train_config(tmp, tiny_model, **TINY)
    return cfg, results, train_stage(cfg, "sft", "stu", results), train_stage(cfg, "grpo", "stu", results)


@pytest.mark.slow
def test_sft_then_grpo_change_the_weights_and_write_cards(trained, tiny_model):
    cfg, results, sft, grpo = trained
    base = weights(tiny_model)
    assert changed(base, weights(sft)) and changed(weights(sft), weights(grpo))
    for folder, title in ((sft, "Compliance-Reasoner-SFT (Tiny)"), (grpo, "Compliance-Reasoner-GRPO (Tiny)")):
        assert (folder / "tokenizer.json").is_file() and (folder / "trainer_state.json").is_file()
        card = (folder / "README.md").read_text()
        assert title in card and "## Final metrics" in card and "| eu_ai_act | 2 |" in card
        assert not list(folder.parent.glob("checkpoint-*"))
    assert "G = 4: the paper's value is lost" in (grpo / "README.md").read_text()


@pytest.mark.slow
def test_each_student_records_the_answer_budget_it_was_trained_for(trained):
    from transformers import AutoTokenizer

    from safety_compliance.evaluate.guard import trained_budget

    cfg, results, sft, grpo = trained
    tokenizer = AutoTokenizer.from_pretrained(sft)
    longest = max(len(tokenizer(r["completion"][0]["content"], add_special_tokens=False)["input_ids"])
                  for r in sft_records(cfg["laws"], results))
    assert trained_budget(sft) == longest + 1       # the longest trace and its end-of-turn token
    assert trained_budget(grpo) == TINY["grpo"]["max_completion_length"]
    assert f"Answer budget: {longest + 1} tokens" in (sft / "README.md").read_text()


@pytest.mark.slow
def test_grpo_logs_the_reward_units_and_learns_from_them(trained):
    _, results, _, _ = trained
    state = json.loads((results / "train/stu/grpo/trainer_state.json").read_text())
    steps = [e for e in state["log_history"] if "train_runtime" not in e]
    assert state["global_step"] == 2 and len(steps) == 2
    for key in ("rewards/compliance_reward/mean", "rewards/format_reward/mean", "reward", "kl", "entropy",
                "completions/mean_length", "loss"):
        assert all(key in e for e in steps), key
    # SFT taught the format, so some rollouts are well formed and the groups' rewards differ.
    assert max(e["rewards/format_reward/mean"] for e in steps) > 0
    assert any(e["loss"] != 0 for e in steps)


@pytest.mark.slow
def test_figure4_is_drawn_from_the_real_log_history(trained, tmp_path):
    _, results, _, _ = trained
    paths = write_figure4(["stu"], results, tmp_path)
    assert sorted(p.name for p in paths) == ["figure4.pdf", "figure4.png", "figure4_sft_loss.pdf",
                                             "figure4_sft_loss.png"]
    assert all(p.stat().st_size > 1000 for p in paths)


@pytest.mark.slow
def test_a_killed_run_resumes_from_its_last_checkpoint(tmp_path, tiny_model, capsys):
    overrides = {"run": {"save_steps": 2},
                 "sft": {"learning_rate": 1.0e-3, "max_steps": 10, "max_length": 700, "epochs": 100}}
    cfg = train_config(tmp_path, tiny_model, **overrides)
    results = write_inputs(tmp_path / "results")
    out = results / "train" / "stu" / "sft"
    overlay = tmp_path / "overlay.yaml"
    overlay.write_text(yaml.safe_dump({"models_file": cfg["models_file"], "train": cfg["train"]}))
    command = [sys.executable, "-m", "safety_compliance.train", "sft", "--student", "stu", "--results-dir",
               str(results), "--config", "config/config.yaml", str(overlay)]
    child = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             env=os.environ | {"TOKENIZERS_PARALLELISM": "false"})
    deadline = time.monotonic() + 600
    while not (out / "checkpoint-2" / "trainer_state.json").is_file():
        assert child.poll() is None, f"training ended before its first checkpoint: {child.stderr.read()[-2000:]}"
        assert time.monotonic() < deadline, "no checkpoint within 10 minutes"
        time.sleep(0.1)
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert child.returncode == -signal.SIGKILL, "the run finished before it could be killed"

    complete = sorted(int(c.name.split("-")[1]) for c in out.glob("checkpoint-*")
                      if (c / "trainer_state.json").is_file())
    last = complete[-1]
    assert last < 10
    # Mark the checkpoint's history: a rerun that resumes carries the mark, one that starts over does not.
    state_file = out / f"checkpoint-{last}" / "trainer_state.json"
    state = json.loads(state_file.read_text())
    state["log_history"].append({"step": last, "killed_run_marker": True})
    state_file.write_text(json.dumps(state))

    train_stage(cfg, "sft", "stu", results)
    assert f"resuming from {out / f'checkpoint-{last}'}" in capsys.readouterr().out
    history = json.loads((out / "trainer_state.json").read_text())["log_history"]
    marker = next(i for i, e in enumerate(history) if e.get("killed_run_marker"))
    after = [e["step"] for e in history[marker + 1:]]
    assert after and min(after) > last and max(after) == 10
