"""Training library pieces without training: student entries, settings, data, resuming, curves."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from train_fixtures import train_config, write_inputs

from safety_compliance.config import ConfigError, deep_merge, load_config, validate
from safety_compliance.train.curves import PANELS, curves
from safety_compliance.train.data import drop_long_prompts, grpo_records, sft_records
from safety_compliance.train.runs import resume_point
from safety_compliance.train.settings import GRPOSettings, SFTSettings, gradient_accumulation
from safety_compliance.registry import resolve_registry
from safety_compliance.slices import cut


def student_entries(cfg: dict) -> dict:
    return {name: entry for name, entry in resolve_registry(cfg).items() if entry.group == "ours"}


def paper_config() -> dict:
    cfg = deep_merge(load_config(), yaml.safe_load(Path("config/paper.yaml").read_text()))
    validate(cfg)
    return cfg


def test_student_entries_point_at_the_trained_folders(tmp_path):
    cfg = train_config(tmp_path, Path("/models/base"))
    entries = student_entries(cfg)
    assert sorted(entries) == ["stu-grpo", "stu-sft"]
    sft = entries["stu-sft"]
    assert sft.model == "results/train/stu/sft/final" and sft.backend == "hf"
    assert (sft.group, sft.family, sft.display) == ("ours", "compliance", "Compliance-Reasoner-SFT (Tiny)")
    assert entries["stu-grpo"].display == "Compliance-Reasoner-GRPO (Tiny)"


def test_unknown_student_is_named(tmp_path):
    cfg = train_config(tmp_path, Path("/m"))
    cfg["train"]["students"] = ["nope"]
    assert student_entries(cfg) == {}
    with pytest.raises(ConfigError, match="nope"):
        cut(cfg, "sft", {"student": "nope"})


def test_paper_settings_give_the_paper_batches_on_one_and_eight_gpus():
    cfg = paper_config()
    sft, grpo = SFTSettings.from_config(cfg), GRPOSettings.from_config(cfg)
    assert sft.trainer_kwargs(1)["gradient_accumulation_steps"] == 8
    assert sft.trainer_kwargs(8)["gradient_accumulation_steps"] == 1
    one = grpo.trainer_kwargs(1)
    assert (one["learning_rate"], one["repetition_penalty"], one["max_completion_length"]) == (5e-7, 1.2, 2048)
    assert one["per_device_train_batch_size"] * one["gradient_accumulation_steps"] == 8 * grpo.num_generations
    assert grpo.trainer_kwargs(8)["gradient_accumulation_steps"] == grpo.num_generations
    assert one["loss_type"] == "grpo"


def test_paper_students_are_registered():
    cfg = paper_config()
    assert set(student_entries(cfg)) == {f"{s}-{t}" for s in cfg["train"]["students"] for t in ("sft", "grpo")}


def test_indivisible_batch_is_a_clear_error():
    with pytest.raises(ValueError, match="not a multiple"):
        gradient_accumulation(8, 1, 3, "train.sft")


def test_schema_rejects_unknown_train_keys():
    with pytest.raises(ConfigError, match="train/sft"):
        load_config("config/config.yaml", {"train": {"sft": {"lr": 1}}})


def test_sft_records_are_prompt_completion_pairs(tmp_path):
    write_inputs(tmp_path)
    records = sft_records(["eu_ai_act", "gdpr"], tmp_path)
    assert len(records) == 4 and {r["law"] for r in records} == {"eu_ai_act", "gdpr"}
    first = records[0]
    assert [m["role"] for m in first["prompt"]] == ["user"]
    assert first["completion"][0]["role"] == "assistant" and "\\boxed{" in first["completion"][0]["content"]


def test_missing_or_bad_inputs_name_the_problem(tmp_path):
    with pytest.raises(FileNotFoundError, match="distill"):
        sft_records(["gdpr"], tmp_path)
    write_inputs(tmp_path)
    path = tmp_path / "distill" / "gdpr" / "sft.jsonl"
    row = json.loads(path.read_text().splitlines()[0])
    row["messages"] = row["messages"][:-1]
    path.write_text(json.dumps(row) + "\n")
    with pytest.raises(ValueError, match="assistant"):
        sft_records(["gdpr"], tmp_path)
    cases = tmp_path / "benchmark" / "gdpr" / "train.jsonl"
    case = json.loads(cases.read_text().splitlines()[0]) | {"label": "unsafe"}
    cases.write_text(json.dumps(case) + "\n")
    with pytest.raises(ValueError, match="unsafe"):
        grpo_records(["gdpr"], tmp_path)


def test_grpo_records_carry_label_and_chapter_and_long_prompts_are_dropped(tmp_path, tiny_model):
    from transformers import AutoTokenizer

    write_inputs(tmp_path)
    records = grpo_records(["eu_ai_act", "gdpr"], tmp_path)
    assert {r["label"] for r in records} == {"prohibited", "permitted"} and {r["chapter"] for r in records} == {2}
    assert "Provider 0 scores people" in records[0]["prompt"][-1]["content"]
    records[1] = records[1] | {"prompt": [{"role": "user", "content": "long " * 3000}]}
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    kept, dropped = drop_long_prompts(records, tokenizer, 2000)
    assert dropped == [records[1]["id"]] and len(kept) == 3
    with pytest.raises(ValueError, match="max_prompt_length"):
        drop_long_prompts(records, tokenizer, 5)


def _checkpoint(out: Path, step: int, complete: bool = True) -> Path:
    folder = out / f"checkpoint-{step}"
    folder.mkdir(parents=True)
    if complete:
        (folder / "trainer_state.json").write_text("{}")
    return folder


def test_resume_picks_the_last_complete_checkpoint_of_the_same_run(tmp_path, capsys):
    assert resume_point(tmp_path, "run-a") is None
    _checkpoint(tmp_path, 2)
    _checkpoint(tmp_path, 10)
    half = _checkpoint(tmp_path, 12, complete=False)
    assert resume_point(tmp_path, "run-a") == str(tmp_path / "checkpoint-10")
    assert not half.exists()


def test_checkpoints_of_another_run_are_removed_not_resumed(tmp_path):
    resume_point(tmp_path, "run-a")
    _checkpoint(tmp_path, 4)
    assert resume_point(tmp_path, "run-b") is None
    assert not list(tmp_path.glob("checkpoint-*"))


def test_curves_read_the_trl_keys_and_fail_loudly_on_missing_ones():
    entry = {"step": 1, "rewards/compliance_reward/mean": 0.5, "rewards/format_reward/mean": 1.0, "loss": 0.1,
             "kl": 0.0, "entropy": 2.0, "completions/mean_length": 40.0}
    history = [entry, entry | {"step": 2, "kl": 0.01}, {"step": 2, "train_runtime": 3.0, "train_loss": 0.1}]
    frame = curves({"stu": history}, PANELS)
    assert frame["panel"].nunique() == 6 and set(frame["step"]) == {1, 2}
    assert frame.loc[frame.key == "loss", "panel"].iloc[0].startswith("Policy loss (loss")
    with pytest.raises(KeyError, match="kl"):
        curves({"stu": [{k: v for k, v in entry.items() if k != "kl"}]}, PANELS)


@pytest.mark.parametrize("name, processes", [("single_gpu", 1), ("multi_gpu_zero3", 8), ("multi_node", 16)])
def test_accelerate_configs_load_and_name_the_zero3_file(name, processes):
    from accelerate.commands.config.config_args import load_config_from_file

    launch = load_config_from_file(f"config/accelerate/{name}.yaml")
    assert launch.num_processes == processes
    if launch.deepspeed_config:
        ds = json.loads(Path(launch.deepspeed_config["deepspeed_config_file"]).read_text())
        assert ds["zero_optimization"]["stage"] == 3
        assert ds["zero_optimization"]["stage3_gather_16bit_weights_on_model_save"]  # final/ gets whole weights
