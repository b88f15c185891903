"""Training the Compliance Reasoner: SFT on distilled traces, then GRPO with rule-based rewards.

Modules: `train` (the stage's entry: what each rule runs), `data` (datasets from the distilled and
benchmark files), `rewards` (named reward units), `settings` (dataclass configs from the config dict),
`sft`, `grpo`, `runs` (checkpoints and resuming), `curves` (Figure 4's panels), `students` (where a
student's stages write), `model_card`, `cli` / `__main__` (accelerate entry). Heavy imports (torch,
TRL) live in `sft` / `grpo` only, so the rest stays cheap to import.
"""
