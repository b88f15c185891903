"""Scoring predictions against the benchmark: the statistics of every cell the tables show.

One place for the numbers every stage table reports:
- a *cell* (a chapter, a dataset, a whole split) is n cases of which `correct` were answered right;
  its accuracy comes with the 95 % Wilson score interval of correct / n (scipy's binomtest), which
  stays inside [0, 100] and is honest at the handful of cases a chapter column often holds;
- F1 is the macro-F1 over the two labels (the paper's Table 5 numbers fit it, not a one-class F1);
  the F1 of the prohibited class is kept beside it;
- a *gain* (one model against another on the same cases) is the paired difference of accuracies,
  with a paired bootstrap interval and McNemar's exact test on the discordant cases.

The paper's "Avg." is the micro-average: correct cases over all test cases (Qwen3-8B on the AI Act:
475 / 842 = 56.41), not the mean of the chapter columns; we report both. An unparsed answer
(verdict null) is wrong, and the share of them is reported beside the accuracy.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from . import LABELS
from .chapters import chapters_of

LEVEL = 0.95                      # every interval in the tables is a 95 % one
ALPHA = 1.0 - LEVEL               # the test level behind "distinguishable from zero"
CELL_COLUMNS = ["n", "correct", "accuracy", "ci_low", "ci_high"]
GAIN_COLUMNS = ["n", "before", "after", "gain", "ci_low", "ci_high", "after_only_right", "before_only_right",
                "p_value"]


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


# ---------------------------------------------------------------------------------------------------
# One cell: n, correct, accuracy and its Wilson interval.

def wilson_interval(correct: int, n: int, level: float = LEVEL) -> tuple[float, float]:
    """The Wilson score interval of correct / n, in percent; (NaN, NaN) when there is no case."""
    if n == 0:
        return (np.nan, np.nan)
    if not 0 <= correct <= n:
        raise ValueError(f"correct must lie in [0, n]; got {correct} of {n}")
    from scipy import stats   # here, not at the top: most jobs import this module and never call it (0.6 s)

    interval = stats.binomtest(int(correct), int(n)).proportion_ci(confidence_level=level, method="wilson")
    return (100.0 * interval.low, 100.0 * interval.high)


def cell(correct: Sequence[bool] | pd.Series) -> dict[str, float]:
    """n, correct, accuracy (%) and its 95 % Wilson interval for one cell's correctness flags."""
    flags = np.asarray(correct, dtype=bool)
    n, right = int(flags.size), int(flags.sum())
    low, high = wilson_interval(right, n)
    return {"n": n, "correct": right, "accuracy": 100.0 * right / n if n else np.nan, "ci_low": low, "ci_high": high}


def chapter_cells(scored: pd.DataFrame, law: str) -> pd.DataFrame:
    """One row per chapter of `law` (`Ch.1` ...; n = 0 and NaN where the run has no case) and `Avg`
    (the micro-average over the whole split), with the columns of CELL_COLUMNS."""
    rows = {chapter_column(number): cell(scored.loc[scored["chapter"] == number, "correct"])
            for number, _ in chapters_of(law)}
    rows["Avg"] = cell(scored["correct"])
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=CELL_COLUMNS)
    frame.index.name = "chapter"
    return frame


def chapter_accuracy(scored: pd.DataFrame, law: str) -> pd.Series:
    """Accuracy in percent for every chapter of `law` (NaN where the run has no case) and `Avg`."""
    return chapter_cells(scored, law)["accuracy"].astype(float)


# ---------------------------------------------------------------------------------------------------
# F1.

def f1_of(scored: pd.DataFrame, label: str) -> float:
    """F1 (percent) of class `label`; an unparsed answer is never a prediction of any class. NaN
    when the class has neither a gold case nor a prediction (0 / 0)."""
    predicted = scored["verdict"] == label
    gold = scored["label"] == label
    tp = int((predicted & gold).sum())
    denominator = int(predicted.sum()) + int(gold.sum())
    return 100.0 * 2 * tp / denominator if denominator else np.nan


def f1_prohibited(scored: pd.DataFrame) -> float:
    """F1 of the prohibited class in percent; an unparsed answer is never a positive prediction."""
    return f1_of(scored, "prohibited")


def f1_macro(scored: pd.DataFrame) -> float:
    """Macro-F1 (percent): the mean of the two labels' F1, each label that occurs among the gold
    labels or the predictions counted once (scikit-learn's `f1_score(average="macro")` convention).
    On a balanced split it rewards a verifier for both kinds of case, which a one-class F1 does not."""
    values = [f1_of(scored, label) for label in LABELS]
    defined = [v for v in values if not np.isnan(v)]
    return float(np.mean(defined)) if defined else np.nan


# ---------------------------------------------------------------------------------------------------
# A model's headline numbers, and a paired gain between two models.

def summary(scored: pd.DataFrame, law: str | None = None) -> dict[str, float]:
    """The headline numbers of one model on one law's cases; the macro accuracy (mean of the chapter
    columns) needs the `law` that names the chapters, and is NaN without it."""
    per_chapter = chapter_accuracy(scored, law).drop("Avg") if law else pd.Series(dtype=float)
    n = len(scored)
    return {
        **cell(scored["correct"]),
        "macro_accuracy": per_chapter.mean(skipna=True) if per_chapter.notna().any() else np.nan,
        "f1_macro": f1_macro(scored),
        "f1_prohibited": f1_prohibited(scored),
        "unparsed_rate": 100.0 * scored["verdict"].isna().mean() if n else np.nan,
        "tokens_per_verdict": float(scored["completion_tokens"].mean()) if n else np.nan,
    }


def paired_gain(before: pd.DataFrame, after: pd.DataFrame, *, resamples: int = 1000, seed: int = 0,
                level: float = LEVEL) -> dict[str, float]:
    """`after`'s accuracy minus `before`'s on the same cases (percentage points), paired case by case.

    The interval is a percentile bootstrap that resamples cases, keeping each case's two answers
    together (scipy.stats.bootstrap, paired); the test is McNemar's exact test, a two-sided binomial
    test of the discordant cases (right after and wrong before, against the reverse) at p = 1/2.
    With no discordant case every resample gives 0, an interval that would claim a certainty the
    few cases do not hold, so the interval is left undefined (NaN) then; with a handful of discordant
    cases the bootstrap interval is still too narrow, which is why the reading follows the test.
    Both frames are `join` frames; they must score exactly the same cases.
    """
    if set(before["case_id"]) != set(after["case_id"]) or len(before) != len(after):
        raise ValueError("a paired gain needs both models scored on the same cases; "
                         f"{len(before)} and {len(after)} cases, {len(set(before['case_id']) ^ set(after['case_id']))} "
                         "not shared (rerun the evaluation of both on the current test selection)")
    from scipy import stats   # see wilson_interval

    paired = before.set_index("case_id")["correct"].to_frame("before").join(
        after.set_index("case_id")["correct"].rename("after"))
    was, now = paired["before"].to_numpy(dtype=float), paired["after"].to_numpy(dtype=float)
    n = len(paired)
    after_only = int(((now == 1) & (was == 0)).sum())
    before_only = int(((now == 0) & (was == 1)).sum())
    discordant = after_only + before_only
    p_value = stats.binomtest(after_only, discordant, 0.5).pvalue if discordant else 1.0
    low = high = np.nan
    if discordant and n >= 2:
        interval = stats.bootstrap((now, was), lambda a, b, axis: a.mean(axis) - b.mean(axis), paired=True,
                                   vectorized=True, n_resamples=resamples, confidence_level=level,
                                   method="percentile", rng=np.random.default_rng(seed)).confidence_interval
        low, high = 100.0 * float(interval.low), 100.0 * float(interval.high)
    return {"n": n, "before": 100.0 * was.sum() / n if n else np.nan, "after": 100.0 * now.sum() / n if n else np.nan,
            "gain": 100.0 * (after_only - before_only) / n if n else np.nan, "ci_low": low, "ci_high": high,
            "after_only_right": after_only, "before_only_right": before_only, "p_value": float(p_value)}


def gain_reading(gain: dict[str, float], alpha: float = ALPHA) -> str:
    """In words: is the gain distinguishable from zero at this n (McNemar's exact test at `alpha`)?"""
    n, p = int(gain["n"]), gain["p_value"]
    discordant = int(gain["after_only_right"] + gain["before_only_right"])
    if n == 0:
        return "no shared case: no test"
    if discordant == 0:
        return (f"not distinguishable from zero at n = {n}: no case changed between the two models, so "
                "there is nothing to test and no interval")
    if p < alpha:
        direction = "a gain" if gain["gain"] > 0 else "a loss"
        return (f"distinguishable from zero: {direction} (McNemar exact p = {p:.3g} < {alpha:g}; "
                f"{discordant} of {n} cases discordant)")
    return (f"not distinguishable from zero at n = {n} (McNemar exact p = {p:.3g}; "
            f"{discordant} of {n} cases discordant)")
