"""Stage 6: Compliance-Reasoner-GRPO, the SFT model trained with GRPO on the train-split cases.

The reward is the paper's: alpha x compliance (gated by format) + (1 - alpha) x format, optionally
plus the GSPR-style chapter unit; TRL logs each unit as `rewards/{name}/mean` for Figure 4.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..registry import ModelEntry, get_model, registry_of
from .data import counts_by_law, drop_long_prompts, fingerprint, grpo_records, train_cases_path
from .model_card import model_card, record_answer_budget
from .rewards import reward_functions, reward_weights
from .runs import RUN_FILE, NoFinalCheckpoint, finish, last_logged, resume_point
from .settings import GRPOSettings, RunSettings, as_dict, world_size
from .students import final_dir, stage_dir

CARD_METRICS = ["rewards/compliance_reward/mean", "rewards/format_reward/mean", "rewards/chapter_reward/mean",
                "reward", "kl", "entropy", "completions/mean_length", "loss", "train_runtime"]


def build_grpo_trainer(model_path: str, dtype: str, records: list[dict[str, Any]], run: RunSettings,
                       settings: GRPOSettings, out: Path):
    """A GRPOTrainer over prompt records with `label` and `chapter` columns, writing to `out`."""
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    funcs, weights = reward_functions(reward_weights(settings.alpha, settings.chapter_weight))
    args = GRPOConfig(output_dir=str(out), model_init_kwargs={"dtype": dtype}, reward_weights=weights,
                      **run.trainer_kwargs(), **settings.trainer_kwargs(world_size()))
    dataset = Dataset.from_list([{k: r[k] for k in ("prompt", "label", "chapter")} for r in records])
    return GRPOTrainer(model=model_path, reward_funcs=funcs, args=args, train_dataset=dataset,
                       callbacks=[NoFinalCheckpoint()])


def train_grpo(cfg: dict[str, Any], student: str, results_dir: str | Path = "results") -> Path:
    """GRPO from results/train/{student}/sft/final on every configured law's train cases; returns
    results/train/{student}/grpo/final. Resumes from the last checkpoint of the same run."""
    from transformers import AutoTokenizer

    run, settings = RunSettings.from_config(cfg), GRPOSettings.from_config(cfg)
    base: ModelEntry = get_model(registry_of(cfg), student)
    sft_model = final_dir(student, "sft", results_dir)
    if not (sft_model / "config.json").is_file():
        raise FileNotFoundError(f"{sft_model} holds no model; run the sft stage for '{student}' first")
    records, dropped = drop_long_prompts(grpo_records(cfg["laws"], results_dir),
                                         AutoTokenizer.from_pretrained(sft_model), settings.max_prompt_length)
    if dropped:
        print(f"dropped {len(dropped)} prompt(s) over {settings.max_prompt_length} tokens: {dropped}")
    out = stage_dir(student, "grpo", results_dir)
    # The SFT run's own fingerprint stands for the starting model: a new SFT run invalidates GRPO checkpoints.
    sft_run = stage_dir(student, "sft", results_dir) / RUN_FILE
    sft_digest = sft_run.read_text(encoding="utf-8") if sft_run.is_file() else ""
    resume = resume_point(out, fingerprint(records, as_dict(run, settings), str(sft_model), sft_digest))
    trainer = build_grpo_trainer(str(sft_model), base.dtype, records, run, settings, out)
    trainer.train(resume_from_checkpoint=resume)
    budget = record_answer_budget(trainer.model, settings.max_completion_length)
    card = model_card(
        stage="grpo", student=student, base=base, base_path=str(sft_model), scale=cfg["scale"],
        data=counts_by_law(records), data_files=[str(train_cases_path(results_dir, law)) for law in cfg["laws"]],
        hyper_parameters=as_dict(run, settings) | {
            "processes": world_size(), "reward weights": reward_weights(settings.alpha, settings.chapter_weight),
            "prompts dropped as too long": len(dropped), "optimizer": "Adam (adamw_torch, weight decay 0)"},
        metrics=last_logged(trainer.state.log_history, CARD_METRICS) | {"global_step": trainer.state.global_step},
        notes=[
            f"Group size G = {settings.num_generations}: the paper's value is lost (GSPR used 5, RSafe 4; "
            "TRL's default is 8).",
            f"alpha = {settings.alpha}: the paper's value is lost (RSafe used 0.9 on accuracy, 0.1 on format).",
            "The compliance reward is 0 whenever the format is wrong (the paper's gate).",
            "global_batch_size counts prompts per optimizer step; each brings G completions.",
            f"{budget} It is the rollout length GRPO trained with.",
        ],
    )
    return finish(trainer, out, card)
