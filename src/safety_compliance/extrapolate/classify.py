"""Re-evaluation (Table 5): baselines classify the generated cases through their verifier families."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from ..families import get_family
from .. import metrics
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


SCORE_COLUMNS = ["n", "correct", "acc", "ci_low", "ci_high", "f1_macro", "f1_prohibited", "unparsed"]


def scores(cases: Sequence[dict[str, Any]], predictions: Sequence[dict[str, Any]]) -> dict[str, float]:
    """n, correct, accuracy with its 95 % Wilson interval, macro-F1, F1 of prohibited and the unparsed
    share, in percent (the evaluation's own statistics); an unparsed answer is wrong. NaN with no case."""
    scored = metrics.join(cases, predictions)
    numbers = metrics.summary(scored)
    return {"n": numbers["n"], "correct": numbers["correct"], "acc": numbers["accuracy"],
            "ci_low": numbers["ci_low"], "ci_high": numbers["ci_high"], "f1_macro": numbers["f1_macro"],
            "f1_prohibited": numbers["f1_prohibited"], "unparsed": numbers["unparsed_rate"]}


def score_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Long scores (law, group, model, dataset and SCORE_COLUMNS) as a frame, for Table 5."""
    return pd.DataFrame(rows, columns=["law", "group", "model", "dataset", *SCORE_COLUMNS])
