"""Asking a verifier for a verdict on every test case: the rows of results/eval/{law}/{model}.jsonl.

A generating model is reached through the LLM layer (its cache makes a rerun free); its family
builds the prompt and reads the answer. A representation guard is trained and applied instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..llm.types import Completion, Generator, Request
from ..registry import ModelEntry
from ..families import Family, get_family


def prediction_record(case_id: str, model: str, completion: Completion, family: Family, law: str) -> dict[str, Any]:
    raw = completion.text if completion.ok else ""
    return {
        "case_id": case_id,
        "model": model,
        "raw": raw,
        "verdict": family.parse(raw) if raw else None,
        "chapter_pred": family.chapter(raw, law) if raw else None,
        "prompt_tokens": completion.prompt_tokens,
        "completion_tokens": completion.completion_tokens,
    }


def family_requests(family: Family, law: str, facts: list[str], max_tokens: int | None = None) -> list[Request]:
    """Greedy requests (a verdict should not depend on a sampling seed) within the family's budget,
    capped by `max_tokens` where a run sets one."""
    budget = family.max_tokens if max_tokens is None else min(family.max_tokens, max_tokens)
    return [Request(messages=tuple(family.messages(law, f)), max_tokens=budget, temperature=0.0) for f in facts]


def predict_with_generator(generator: Generator, name: str, family: Family, law: str, cases: list[dict],
                           max_tokens: int | None = None) -> list[dict[str, Any]]:
    requests = family_requests(family, law, [c["factual_background"] for c in cases], max_tokens)
    completions = generator.generate(requests, desc=f"{name} on {law}")
    if len(completions) != len(cases):
        raise RuntimeError(f"{name}: {len(completions)} completions for {len(cases)} requests")
    return [prediction_record(c["id"], name, done, family, law) for c, done in zip(cases, completions)]


def predict(entry: ModelEntry, registry: dict[str, ModelEntry], cfg: dict, law: str, test_cases: list[dict],
            *, train_cases: list[dict] | None = None, results_dir: str | Path = "results") -> list[dict[str, Any]]:
    """The prediction records of `entry` on `test_cases` (sorted by case id by the writer)."""
    settings = cfg.get("evaluate", {})
    if entry.backend == "representation":
        from .representation import run_representation_guard

        if not train_cases:
            raise ValueError(f"representation guard '{entry.name}' needs the train split to learn from")
        return run_representation_guard(entry, registry, law, train_cases, test_cases,
                                        cache_dir=Path(results_dir) / "eval" / "features",
                                        guard_dir=Path(results_dir) / "eval" / "guards")
    from ..llm import make_generator

    with make_generator(entry, cfg, stage="evaluate") as generator:
        return predict_with_generator(generator, entry.name, get_family(entry.family), law, test_cases,
                                      settings.get("max_tokens"))
