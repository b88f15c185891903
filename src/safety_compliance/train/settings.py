"""The training hyper-parameters as typed, documented dataclasses built from the config's `train` block.

The config holds the paper's values (config/paper.yaml) or the demo's (config/config.yaml); these
classes turn them into what TRL needs, deriving gradient accumulation from the global batch, the
micro-batch and the number of processes, so one config serves one GPU, eight, or several nodes.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field, fields
from typing import Any


def world_size() -> int:
    """Processes taking part in training (set by `accelerate launch`; 1 in-process)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def gradient_accumulation(global_batch: int, micro_batch: int, processes: int, what: str) -> int:
    """Accumulation steps so that micro_batch x processes x steps == global_batch, exactly."""
    per_step = micro_batch * processes
    if global_batch % per_step:
        raise ValueError(f"{what}: global batch {global_batch} is not a multiple of micro-batch {micro_batch} "
                         f"x {processes} process(es); change train.*.global_batch_size or the GPU count")
    return global_batch // per_step


def _from_block(cls, block: dict[str, Any], where: str):
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(block) - known)
    if unknown:
        raise KeyError(f"{where}: unknown key(s) {unknown}; known: {sorted(known)}")
    missing = sorted(n for n in known if n not in block)
    if missing:
        raise KeyError(f"{where}: missing key(s) {missing}")
    return cls(**block)


@dataclass(frozen=True)
class RunSettings:
    """What every training run shares: seeding, precision, checkpointing, logging."""

    seed: int = field(metadata={"help": "Seed for data order, initialisation of heads and sampling."})
    bf16: bool = field(metadata={"help": "bf16 mixed precision (GPUs); false on the CPU."})
    gradient_checkpointing: bool = field(metadata={"help": "Recompute activations to save memory."})
    save_steps: int = field(metadata={"help": "Checkpoint every this many optimizer steps; a rerun resumes "
                                              "from the last checkpoint of the same run."})
    save_total_limit: int = field(metadata={"help": "Checkpoints kept on disk (older ones are deleted)."})
    logging_steps: int = field(metadata={"help": "Log metrics (the Figure 4 curves) every this many steps."})

    @classmethod
    def from_config(cls, cfg: dict[str, Any]) -> RunSettings:
        return _from_block(cls, cfg["train"]["run"], "train.run")

    def trainer_kwargs(self) -> dict[str, Any]:
        """The transformers TrainingArguments these settings fill in."""
        from transformers import TrainingArguments

        # transformers 5.20 renamed gradient_checkpointing; an environment with vLLM in it (GRPO
        # rollouts on vLLM) has an older one, since vLLM 0.32 caps transformers below 5.20.
        names = {f.name for f in fields(TrainingArguments)}
        checkpointing = "activation_checkpointing" if "activation_checkpointing" in names else "gradient_checkpointing"
        return {
            "seed": self.seed, "bf16": self.bf16, checkpointing: self.gradient_checkpointing,
            "save_strategy": "steps", "save_steps": self.save_steps, "save_total_limit": self.save_total_limit,
            "logging_steps": self.logging_steps, "logging_first_step": True, "report_to": "none",
            # Adam as the paper says (AdamW without weight decay); the paper names no schedule, so the
            # rate stays constant rather than decaying by an unstated rule.
            "optim": "adamw_torch", "weight_decay": 0.0, "lr_scheduler_type": "constant",
            "disable_tqdm": True,
        }


@dataclass(frozen=True)
class SFTSettings:
    """Stage 5: supervised fine-tuning on the distilled traces (completion-only loss)."""

    learning_rate: float = field(metadata={"help": "Adam learning rate (paper: 1e-5)."})
    global_batch_size: int = field(metadata={"help": "Sequences per optimizer step over all processes (paper: 8)."})
    micro_batch_size: int = field(metadata={"help": "Sequences per process per forward pass (paper: 1)."})
    max_length: int = field(metadata={"help": "Tokens per sequence, prompt and trace together (paper: 4096); "
                                              "longer ones are truncated at the end."})
    epochs: float = field(metadata={"help": "Passes over the traces (paper: 10)."})
    max_steps: int = field(metadata={"help": "Stop after this many optimizer steps; -1 runs all epochs."})

    @classmethod
    def from_config(cls, cfg: dict[str, Any]) -> SFTSettings:
        return _from_block(cls, cfg["train"]["sft"], "train.sft")

    def trainer_kwargs(self, processes: int) -> dict[str, Any]:
        return {
            "learning_rate": self.learning_rate, "per_device_train_batch_size": self.micro_batch_size,
            "gradient_accumulation_steps": gradient_accumulation(
                self.global_batch_size, self.micro_batch_size, processes, "train.sft"),
            "max_length": self.max_length, "num_train_epochs": self.epochs, "max_steps": self.max_steps,
            # Prompt-completion records: the loss covers the assistant's trace only.
            "completion_only_loss": True,
        }


@dataclass(frozen=True)
class GRPOSettings:
    """Stage 6: GRPO from the SFT model with the rule-based format and compliance rewards."""

    learning_rate: float = field(metadata={"help": "Adam learning rate (paper: 5e-7)."})
    global_batch_size: int = field(metadata={"help": "Prompts per optimizer step over all processes (paper: 8); "
                                                     "each brings num_generations completions."})
    micro_batch_size: int = field(metadata={"help": "Completions per process per forward pass (paper: 1)."})
    num_generations: int = field(metadata={"help": "Group size G, completions per prompt (lost in the paper; "
                                                   "TRL's default is 8)."})
    max_prompt_length: int = field(metadata={"help": "Prompts longer than this many tokens are dropped before "
                                                     "training (paper: 1024); TRL 1.x has no prompt-length option."})
    max_completion_length: int = field(metadata={"help": "Tokens per rollout (paper: 2048)."})
    repetition_penalty: float = field(metadata={"help": "Rollout repetition penalty (paper: 1.2)."})
    temperature: float = field(metadata={"help": "Rollout sampling temperature."})
    beta: float = field(metadata={"help": "KL coefficient against the SFT model (0 loads no reference model)."})
    alpha: float = field(metadata={"help": "Weight of the compliance reward; the format reward gets 1 - alpha "
                                           "(lost in the paper; RSafe used 0.9)."})
    chapter_weight: float = field(metadata={"help": "Weight of the GSPR-style chapter reward; 0 leaves it out."})
    epochs: float = field(metadata={"help": "Passes over the training prompts (paper: 3)."})
    max_steps: int = field(metadata={"help": "Stop after this many optimizer steps; -1 runs all epochs."})
    use_vllm: bool = field(metadata={"help": "Roll out with vLLM through TRL's vLLM mode (vllm must be importable "
                                             "in the training environment: requirements-train-cuda.lock)."})
    vllm_mode: str = field(metadata={"help": "colocate: vLLM inside each training process, sharing its GPU; "
                                             "server: a `trl vllm-serve` already running on GPUs of its own."})
    vllm_server_url: str | None = field(metadata={"help": "Server mode: the URL of that `trl vllm-serve`."})
    vllm_gpu_memory_utilization: float = field(metadata={"help": "GPU memory share vLLM may take (colocate)."})

    @classmethod
    def from_config(cls, cfg: dict[str, Any]) -> GRPOSettings:
        return _from_block(cls, cfg["train"]["grpo"], "train.grpo")

    def trainer_kwargs(self, processes: int) -> dict[str, Any]:
        completions = self.global_batch_size * self.num_generations
        kwargs = {
            "learning_rate": self.learning_rate, "per_device_train_batch_size": self.micro_batch_size,
            "gradient_accumulation_steps": gradient_accumulation(
                completions, self.micro_batch_size, processes, "train.grpo (prompts x num_generations)"),
            "num_generations": self.num_generations, "max_completion_length": self.max_completion_length,
            "repetition_penalty": self.repetition_penalty, "temperature": self.temperature, "beta": self.beta,
            "num_train_epochs": self.epochs, "max_steps": self.max_steps, "use_vllm": self.use_vllm,
            # The paper trains with GRPO proper (per-sequence mean); TRL 1.x defaults to DAPO's aggregation.
            "loss_type": "grpo",
        }
        if self.use_vllm and self.vllm_mode == "colocate":
            kwargs.update(vllm_mode="colocate", vllm_gpu_memory_utilization=self.vllm_gpu_memory_utilization)
        elif self.use_vllm and self.vllm_mode == "server":
            if not self.vllm_server_url:
                raise ValueError("train.grpo.vllm_mode is server but vllm_server_url is not set; start "
                                 "`trl vllm-serve --model <sft model>` on GPUs of its own and give its URL")
            kwargs.update(vllm_mode="server", vllm_server_base_url=self.vllm_server_url)
        elif self.use_vllm:
            raise ValueError(f"train.grpo.vllm_mode is '{self.vllm_mode}'; choose colocate or server")
        return kwargs


def as_dict(*settings) -> dict[str, Any]:
    """Every hyper-parameter of the given settings, for the model card and the run fingerprint."""
    merged: dict[str, Any] = {}
    for item in settings:
        merged.update(asdict(item))
    return merged
