"""Re-evaluation (Table 5): baselines classify the generated cases through their verifier families."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from ..evaluate.families import get_family
from ..evaluate.metrics import f1_prohibited, join
from ..llm.types import Generator, Request
from ..registry import ModelEntry


def classify_requests(cases: Sequence[dict[str, Any]], law: str, entry: ModelEntry, *,
                      max_tokens: int | None = None) -> list[Request]:
    """The model sees the case facts only, asked the way its family asks; `max_tokens` caps the
    family's own budget (demo scale)."""
    family = get_family(entry.family)
    budget = min(family.max_tokens, max_tokens) if max_tokens else family.max_tokens
    return [Request(messages=family.messages(law, c["factual_background"]), max_tokens=budget) for c in cases]


def classify(cases: Sequence[dict[str, Any]], law: str, entry: ModelEntry, generator: Generator, *,
             max_tokens: int | None = None) -> list[dict[str, Any]]:
    """One prediction per case in the evaluation stage's record shape (`case_id`, `verdict`, ...)."""
    family = get_family(entry.family)
    requests = classify_requests(cases, law, entry, max_tokens=max_tokens)
    completions = generator.generate(requests, desc=f"classify {law} {entry.name}")
    return [{"case_id": c["id"], "model": entry.name, "raw": comp.text,
             "verdict": family.parse(comp.text) if comp.ok else None,
             "chapter_pred": family.chapter(comp.text, law) if comp.ok else None,
             "prompt_tokens": comp.prompt_tokens, "completion_tokens": comp.completion_tokens}
            for c, comp in zip(cases, completions, strict=True)]


def scores(cases: Sequence[dict[str, Any]], predictions: Sequence[dict[str, Any]]) -> dict[str, float]:
    """Accuracy and F1 (prohibited class) in percent; an unparsed answer is wrong. NaN with no case."""
    scored = join(cases, predictions)
    if scored.empty:
        return {"n": 0, "acc": float("nan"), "f1": float("nan"), "unparsed": float("nan")}
    return {"n": len(scored), "acc": 100.0 * scored["correct"].mean(), "f1": f1_prohibited(scored),
            "unparsed": 100.0 * scored["verdict"].isna().mean()}


def score_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Long scores (law, group, model, dataset, n, acc, f1, unparsed) as a frame, for Table 5."""
    return pd.DataFrame(rows, columns=["law", "group", "model", "dataset", "n", "acc", "f1", "unparsed"])
