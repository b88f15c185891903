"""Where a student's training stages write: checkpoints, trainer_state.json and the final model.

The students' registry entries (`{student}-sft`, `{student}-grpo`) come from the registry itself
(`safety_compliance.registry.student_entries`), so a new base model is one registry entry plus one
name in `train.students`.
"""

from __future__ import annotations

from pathlib import Path

from ..registry import student_model_dir


def stage_dir(student: str, stage: str, results_dir: str | Path = "results") -> Path:
    """Where a stage writes checkpoints and its trainer_state.json: results/train/{student}/{stage}."""
    return student_model_dir(student, stage, results_dir).parent


def final_dir(student: str, stage: str, results_dir: str | Path = "results") -> Path:
    """The trained model with its tokenizer and model card."""
    return student_model_dir(student, stage, results_dir)
