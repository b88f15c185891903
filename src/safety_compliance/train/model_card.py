"""The model card (README.md) saved beside each trained student."""

from __future__ import annotations

from typing import Any

from ..registry import ModelEntry
from ..registry import STUDENT_STAGES


def record_answer_budget(model, tokens: int) -> str:
    """Make `tokens` the model's default completion budget (`max_new_tokens` in the generation_config.json
    saved beside the weights), so that a guard asking it, or any transformers or vLLM caller, stops where
    training stopped rather than at a general default; returns the card line saying so."""
    if tokens < 1:
        raise ValueError(f"an answer budget must be at least one token, not {tokens}")
    model.generation_config.max_new_tokens = int(tokens)
    return (f"Answer budget: {int(tokens)} tokens, stored as `max_new_tokens` in generation_config.json "
            "(the default of `safety-compliance judge`; `--max-tokens` overrides it).")


def _table(rows: dict[str, Any], head: tuple[str, str]) -> list[str]:
    lines = [f"| {head[0]} | {head[1]} |", "|---|---|"]
    lines += [f"| {key} | {value:.6g} |" if isinstance(value, float) else f"| {key} | {value} |"
              for key, value in rows.items()]
    return lines


def model_card(*, stage: str, student: str, base: ModelEntry, base_path: str, scale: str,
               data: dict[str, int], data_files: list[str], hyper_parameters: dict[str, Any],
               metrics: dict[str, Any], notes: list[str]) -> str:
    """Markdown with Hugging Face front matter: what was trained from what, on which data, how, and the
    last logged metrics."""
    title = f"{STUDENT_STAGES[stage]} ({base.label})"
    lines = [
        "---", f"base_model: {base.model}", "library_name: transformers",
        "tags: [safety-compliance, " + "".join(f"{law.replace('_', '-')}, " for law in data) + "trl, " + stage + "]",
        "---", "",
        f"# {title}", "",
        f"Stage {'5 (supervised fine-tuning)' if stage == 'sft' else '6 (GRPO)'} of the rebuild of \"Safety "
        "Compliance: Rethinking LLM Safety Reasoning through the Lens of Compliance\" (arXiv:2509.22250). "
        "Given a law's name and the facts of a case, the model reasons inside `<think>...</think>`, "
        "summarises, and answers `\\boxed{prohibited}` or `\\boxed{permitted}`.", "",
        f"Scale: **{scale}**" + (" (a tiny demo run: its numbers say nothing about the method)."
                                 if scale != "paper" else "."), "",
        "## Base model", "", f"`{student}` ({base.label}), loaded from `{base_path}`.", "",
        "## Data", "",
        *_table({law: n for law, n in data.items()} | {"total": sum(data.values())}, ("law", "records")), "",
        "Files: " + ", ".join(f"`{f}`" for f in data_files) + ".", "",
        "## Hyper-parameters", "", *_table(hyper_parameters, ("setting", "value")), "",
        "## Final metrics", "", *_table(metrics, ("metric", "last logged value")), "",
    ]
    if notes:
        lines += ["## Notes", "", *[f"- {note}" for note in notes], ""]
    return "\n".join(lines)
