"""Registry entries for the students we train: `{student}-sft` and `{student}-grpo`.

They are derived from the config (`train.students` names base models in the registry), so a new base
model is one registry entry plus one name in the config list, and the evaluation stage finds the
trained checkpoints without anyone writing them into config/models.yaml.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from ..registry import ModelEntry, get_model, load_registry

STAGES = {"sft": "Compliance-Reasoner-SFT", "grpo": "Compliance-Reasoner-GRPO"}


def stage_dir(student: str, stage: str, results_dir: str | Path = "results") -> Path:
    """Where a stage writes checkpoints and its trainer_state.json: results/train/{student}/{stage}."""
    if stage not in STAGES:
        raise KeyError(f"unknown training stage '{stage}'; known: {sorted(STAGES)}")
    return Path(results_dir) / "train" / student / stage


def final_dir(student: str, stage: str, results_dir: str | Path = "results") -> Path:
    """The trained model with its tokenizer and model card."""
    return stage_dir(student, stage, results_dir) / "final"


def student_entries(cfg: dict, results_dir: str | Path = "results") -> dict[str, ModelEntry]:
    """`{student}-sft` and `{student}-grpo` for every base model in `train.students`.

    They keep the base model's backend settings (dtype, device, batch size, engine options) and point
    at the trained folders; group `ours`, family `compliance`. They are served by
    `train.student_backend`: `hf` in process (the CPU demo) or `vllm` (a server, at paper scale).
    """
    registry = load_registry(cfg["models_file"])
    backend = cfg["train"].get("student_backend", "hf")
    if backend not in ("hf", "vllm"):
        raise ValueError(f"train.student_backend is '{backend}'; choose hf or vllm")
    entries = {}
    for student in cfg["train"]["students"]:
        base = get_model(registry, student)
        for stage, title in STAGES.items():
            name = f"{student}-{stage}"
            entries[name] = replace(
                base, name=name, model=str(final_dir(student, stage, results_dir)), backend=backend,
                family="compliance", group="ours", display=f"{title} ({base.label})", revision=None,
            )
    return entries
