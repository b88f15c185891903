"""Stage 5: Compliance-Reasoner-SFT, the base model fine-tuned on the distilled reasoning traces.

Records are prompt-completion pairs, so TRL's SFTTrainer masks the prompt and puts the loss on the
assistant's trace alone (checked in tests/test_train_sft.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..registry import ModelEntry, get_model, registry_of
from .data import counts_by_law, fingerprint, longest_trace_tokens, sft_path, sft_records
from .model_card import model_card, record_answer_budget
from .runs import NoFinalCheckpoint, finish, last_logged, resume_point
from .settings import RunSettings, SFTSettings, as_dict, world_size
from .students import stage_dir

CARD_METRICS = ["loss", "mean_token_accuracy", "entropy", "num_tokens", "train_loss", "train_runtime"]


def build_sft_trainer(model_path: str, dtype: str, records: list[dict[str, Any]], run: RunSettings,
                      settings: SFTSettings, out: Path):
    """An SFTTrainer over prompt-completion `records`, writing checkpoints to `out`."""
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    args = SFTConfig(output_dir=str(out), model_init_kwargs={"dtype": dtype},
                     **run.trainer_kwargs(), **settings.trainer_kwargs(world_size()))
    dataset = Dataset.from_list([{"prompt": r["prompt"], "completion": r["completion"]} for r in records])
    trainer = SFTTrainer(model=model_path, args=args, train_dataset=dataset, callbacks=[NoFinalCheckpoint()])
    if len(trainer.train_dataset) == 0:  # TRL drops records whose trace lies wholly beyond max_length
        raise ValueError(f"all {len(records)} traces start after token {settings.max_length} (their prompts "
                         "fill the whole length); raise train.sft.max_length")
    return trainer


def train_sft(cfg: dict[str, Any], student: str, results_dir: str | Path = "results") -> Path:
    """Fine-tune registry model `student` on every configured law's traces; returns the final folder
    (results/train/{student}/sft/final). Resumes from the last checkpoint of the same run."""
    run, settings = RunSettings.from_config(cfg), SFTSettings.from_config(cfg)
    base: ModelEntry = get_model(registry_of(cfg), student)
    records = sft_records(cfg["laws"], results_dir)
    out = stage_dir(student, "sft", results_dir)
    resume = resume_point(out, fingerprint(records, as_dict(run, settings), base.model, base.dtype))
    trainer = build_sft_trainer(base.model, base.dtype, records, run, settings, out)
    trainer.train(resume_from_checkpoint=resume)
    budget = record_answer_budget(trainer.model, longest_trace_tokens(trainer.processing_class, records))
    card = model_card(
        stage="sft", student=student, base=base, base_path=base.model, scale=cfg["scale"],
        data=counts_by_law(records), data_files=[str(sft_path(results_dir, law)) for law in cfg["laws"]],
        hyper_parameters=as_dict(run, settings) | {"processes": world_size(), "optimizer": "Adam (adamw_torch, "
                                                   "weight decay 0)", "loss": "completion only (trace tokens)"},
        metrics=last_logged(trainer.state.log_history, CARD_METRICS) | {"global_step": trainer.state.global_step},
        notes=[f"{budget} It is the longest trace the model was trained on."],
    )
    return finish(trainer, out, card)
