"""Training the Compliance Reasoner: SFT on distilled traces, then GRPO with rule-based rewards.

Modules: `data` (datasets from the distilled and benchmark files), `rewards` (named reward units),
`settings` (dataclass configs from the config dict), `sft`, `grpo`, `curves` (Figure 4), `students`
(registry entries of the trained models), `card` (model cards), `cli` / `__main__` (accelerate entry).
Heavy imports (torch, TRL) live in `sft` / `grpo` only, so the rest stays cheap to import.
"""
