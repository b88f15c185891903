"""Scoring predictions against the benchmark: accuracy per chapter and overall, F1, intervals, cost.

The paper's "Avg." is the micro-average: correct cases over all test cases (Qwen3-8B on the AI Act:
475 / 842 = 56.41), not the mean of the chapter columns; we report both. An unparsed answer
(verdict null) is wrong, and the share of them is reported beside the accuracy.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from ..law.chapters import CHAPTERS


def chapter_column(number: int) -> str:
    return f"Ch.{number}"


def join(cases: Iterable[dict], predictions: Iterable[dict]) -> pd.DataFrame:
    """One row per test case: its chapter, gold label, predicted verdict, correctness and cost.

    Every case must have a prediction (a missing one would silently raise the accuracy), and every
    prediction must belong to a case.
    """
    by_case = {p["case_id"]: p for p in predictions}
    rows, missing = [], []
    for case in cases:
        pred = by_case.pop(case["id"], None)
        if pred is None:
            missing.append(case["id"])
            continue
        rows.append({
            "case_id": case["id"], "chapter": case.get("chapter"), "label": case["label"],
            "verdict": pred.get("verdict"), "completion_tokens": pred.get("completion_tokens") or 0,
        })
    if missing:
        raise ValueError(f"{len(missing)} case(s) have no prediction, e.g. {missing[:3]}")
    if by_case:
        raise ValueError(f"{len(by_case)} prediction(s) match no test case, e.g. {sorted(by_case)[:3]}")
    frame = pd.DataFrame(rows, columns=["case_id", "chapter", "label", "verdict", "completion_tokens"])
    frame["correct"] = frame["verdict"] == frame["label"]
    return frame


def chapter_accuracy(scored: pd.DataFrame, law: str) -> pd.Series:
    """Accuracy in percent for every chapter of `law` (NaN where the run has no case) and `Avg`."""
    values = {}
    for number, _ in CHAPTERS[law]:
        rows = scored[scored["chapter"] == number]
        values[chapter_column(number)] = 100.0 * rows["correct"].mean() if len(rows) else np.nan
    values["Avg"] = 100.0 * scored["correct"].mean() if len(scored) else np.nan
    return pd.Series(values, dtype=float)


def f1_prohibited(scored: pd.DataFrame) -> float:
    """F1 of the prohibited class in percent; an unparsed answer is never a positive prediction."""
    predicted = scored["verdict"] == "prohibited"
    gold = scored["label"] == "prohibited"
    tp = int((predicted & gold).sum())
    denominator = int(predicted.sum()) + int(gold.sum())
    return 100.0 * 2 * tp / denominator if denominator else np.nan


def bootstrap_interval(correct: np.ndarray, *, samples: int = 1000, level: float = 0.95,
                       seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of the accuracy (percent), resampling cases with replacement."""
    correct = np.asarray(correct, dtype=float)
    if correct.size == 0:
        return (np.nan, np.nan)
    rng = np.random.default_rng(seed)
    means = correct[rng.integers(0, correct.size, size=(samples, correct.size))].mean(axis=1)
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(means, [tail, 1.0 - tail])
    return (100.0 * low, 100.0 * high)


def summary(scored: pd.DataFrame, law: str, *, samples: int = 1000, seed: int = 0) -> dict[str, float]:
    """The headline numbers of one model on one law."""
    per_chapter = chapter_accuracy(scored, law).drop("Avg")
    low, high = bootstrap_interval(scored["correct"].to_numpy(), samples=samples, seed=seed)
    n = len(scored)
    return {
        "n": n,
        "correct": int(scored["correct"].sum()),
        "accuracy": 100.0 * scored["correct"].mean() if n else np.nan,
        "macro_accuracy": per_chapter.mean(skipna=True) if per_chapter.notna().any() else np.nan,
        "f1_prohibited": f1_prohibited(scored),
        "ci_low": low,
        "ci_high": high,
        "unparsed_rate": 100.0 * scored["verdict"].isna().mean() if n else np.nan,
        "tokens_per_verdict": float(scored["completion_tokens"].mean()) if n else np.nan,
    }
