"""The training stage: SFT, then GRPO, of each student, and Figure 4. The rules, the CLI
(`safety-compliance train ...`, `python -m safety_compliance.train` under accelerate) and notebooks 05-06
call these functions:

    rule     function                    files
    sft      run_stage("sft", ...)       results/train/{student}/sft/final/ (model, tokenizer, card),
                                         results/train/{student}/sft/trainer_state.json
    grpo     run_stage("grpo", ...)      results/train/{student}/grpo/final/, .../grpo/trainer_state.json
    figure4  write_figure4               paper_figures/figure4.{pdf,png}, figure4_sft_loss.{pdf,png}

`run_stage` trains as `train.launcher` says: here (`train_stage`, which the notebooks call with their
config), or under `accelerate launch`. The launcher, the accelerate config and the GPU count are
runtime settings (they decide how a run uses the machine, not what it learns: the global batch is the
config's on any number of processes), so the workflow passes them outside the job's config slice and
changing them retrains nothing.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

LAUNCHERS = ("in_process", "accelerate")


def accelerate_command(stage: str, student: str, config: Sequence[str], results_dir: str | Path,
                       cfg: dict[str, Any]) -> list[str]:
    """`accelerate launch` of the same stage, in process on every rank. GPUs asked of the scheduler
    (`compute.{stage}.gpu`) set the process count; without GPUs the accelerate config's own count holds
    (a CPU rehearsal runs several processes on one machine)."""
    train = cfg["train"]
    command = ["accelerate", "launch", "--config_file", str(train["accelerate_config"])]
    gpus = int(((cfg.get("compute") or {}).get(stage) or {}).get("gpu", 0) or 0)
    if gpus > 0:
        command += ["--num_processes", str(gpus)]
    return command + ["-m", "safety_compliance.train", stage, "--student", student, "--results-dir",
                      str(results_dir), "--launcher", "in_process", "--config", *config]


def run_stage(stage: str, student: str, config: Sequence[str], results_dir: str | Path = "results",
              launcher: str | None = None) -> Path:
    """Train `stage` ("sft" or "grpo") of `student`; returns the final model folder."""
    from ..slices import job_config
    from .students import final_dir

    cfg = job_config(stage, config, results_dir, {"student": student})
    launcher = launcher or cfg["train"].get("launcher", "in_process")
    if launcher not in LAUNCHERS:
        raise ValueError(f"train.launcher is '{launcher}'; choose one of {LAUNCHERS}")
    if launcher == "accelerate":
        command = accelerate_command(stage, student, config, results_dir, cfg)
        print("$", " ".join(command[:6]), "...", flush=True)
        done = subprocess.run(command, stdout=sys.stdout, stderr=sys.stderr)
        if done.returncode != 0:
            raise RuntimeError(f"accelerate launch of {stage} for '{student}' failed (exit {done.returncode}); "
                               "its output is above")
        return final_dir(student, stage, results_dir)
    return train_stage(cfg, stage, student, results_dir)


def train_stage(cfg: dict[str, Any], stage: str, student: str, results_dir: str | Path = "results") -> Path:
    """Train `stage` of `student` in this process under the job's config; returns the final model folder."""
    if stage == "sft":
        from .sft import train_sft

        return train_sft(cfg, student, results_dir)
    if stage == "grpo":
        from .grpo import train_grpo

        return train_grpo(cfg, student, results_dir)
    raise ValueError(f"unknown training stage '{stage}'; known: sft, grpo")


def write_figure4(students: list[str], results_dir: str | Path = "results",
                  out_dir: str | Path = "paper_figures") -> list[Path]:
    """paper_figures/figure4.{pdf,png} (GRPO, six panels) and figure4_sft_loss.{pdf,png}."""
    from .curves import PANELS, SFT_PANEL, curves, log_history, plot

    out_dir = Path(out_dir)
    grpo = curves({s: log_history(s, "grpo", results_dir) for s in students}, PANELS)
    sft = curves({s: log_history(s, "sft", results_dir) for s in students}, dict([SFT_PANEL]))
    return plot(grpo, out_dir / "figure4", columns=3) + plot(sft, out_dir / "figure4_sft_loss", columns=1)

