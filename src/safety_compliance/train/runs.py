"""The life of a training run on disk: resuming from its last checkpoint, and saving the final model.

A run writes checkpoints to results/train/{student}/{stage}/checkpoint-N. A rerun after a kill picks up
the last of them, but only when it belongs to the same run (same data, settings and base model, as
recorded in run.json); checkpoints of a different run are removed so they are never resumed by mistake.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from accelerate import PartialState
from transformers import TrainerCallback

from ..jsonl import write_json, write_text_atomic

RUN_FILE = "run.json"
TRAINER_STATE = "trainer_state.json"


def _checkpoints(out: Path) -> list[Path]:
    """checkpoint-N folders by step."""
    found = [p for p in out.glob("checkpoint-*") if p.is_dir() and p.name.split("-", 1)[1].isdigit()]
    return sorted(found, key=lambda p: int(p.name.split("-", 1)[1]))


def _complete(checkpoint: Path) -> bool:
    # transformers writes trainer_state.json last, so a run killed mid-save leaves a folder without it.
    return (checkpoint / TRAINER_STATE).is_file()


def resume_point(out: Path, digest: str) -> str | None:
    """The last complete checkpoint of this same run to resume from, or None to start afresh.

    Checkpoints of another run (another fingerprint) and half-written ones are removed first.
    """
    state = PartialState()
    out = Path(out)
    record = out / RUN_FILE
    same_run = record.is_file() and json.loads(record.read_text(encoding="utf-8")).get("fingerprint") == digest
    keep = [c for c in _checkpoints(out) if same_run and _complete(c)]
    if state.is_main_process:
        for checkpoint in _checkpoints(out):
            if checkpoint not in keep:
                why = "it is incomplete" if same_run else "it belongs to a run with other data or settings"
                print(f"removing {checkpoint}: {why}")
                shutil.rmtree(checkpoint)
        write_json(record, {"fingerprint": digest})
    state.wait_for_everyone()
    if keep:
        print(f"resuming from {keep[-1]}")
        return str(keep[-1])
    return None


class NoFinalCheckpoint(TrainerCallback):
    """Skip the checkpoint transformers writes when training ends off the save grid: `finish` saves the
    final model anyway, and a checkpoint with optimizer state is three times the model's size."""

    def on_step_end(self, args, state, control, **kwargs):
        if control.should_training_stop and state.global_step % args.save_steps:
            control.should_save = False
        return control


def finish(trainer, out: Path, card: str) -> Path:
    """Save the trained model with its tokenizer, the trainer state (the curves) and the model card,
    then drop the checkpoints: they exist only so that a killed run can resume."""
    out = Path(out)
    final = out / "final"
    trainer.save_model(str(final))
    trainer.save_state()  # out/trainer_state.json, read by Figure 4
    if trainer.is_world_process_zero():
        shutil.copyfile(out / TRAINER_STATE, final / TRAINER_STATE)
        write_text_atomic(final / "README.md", card)
        for checkpoint in sorted(out.glob("checkpoint-*")):
            shutil.rmtree(checkpoint)
    trainer.accelerator.wait_for_everyone()
    return final


def last_logged(log_history: list[dict[str, Any]], keys: list[str]) -> dict[str, float]:
    """The latest logged value of each key that was logged at all."""
    found: dict[str, float] = {}
    for entry in log_history:
        for key in keys:
            if key in entry:
                found[key] = entry[key]
    return found
