"""Metrics against hand computations and scipy, including the paper's micro-averaged "Avg."."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import binomtest
from sklearn.metrics import f1_score

from safety_compliance import metrics

# Qwen3-8B on the AI Act test split (Table 3): correct / cases per chapter, 475 / 842 in all.
QWEN3_AI_ACT = {1: (177, 320), 2: (64, 125), 3: (37, 67), 4: (33, 55), 5: (53, 88), 6: (28, 47), 7: (10, 17),
                8: (27, 40), 9: (22, 42), 10: (4, 6), 11: (8, 12), 12: (7, 15), 13: (5, 8)}
PAPER_ROW = {1: 55.31, 2: 51.2, 3: 55.22, 4: 60.0, 5: 60.23, 6: 59.57, 7: 58.82, 8: 67.5, 9: 52.38,
             10: 66.67, 11: 66.67, 12: 46.67, 13: 62.5}


def synthetic_run(counts):
    """Cases and predictions with `correct` right answers out of `total` in each chapter."""
    cases, predictions = [], []
    for chapter, (correct, total) in counts.items():
        for i in range(total):
            label = "prohibited" if i % 2 else "permitted"
            wrong = "permitted" if label == "prohibited" else "prohibited"
            case_id = f"eu_ai_act/ch{chapter:02d}/{i:04d}"
            cases.append({"id": case_id, "chapter": chapter, "label": label})
            predictions.append({"case_id": case_id, "verdict": label if i < correct else wrong, "completion_tokens": 10})
    return cases, predictions


def test_the_papers_avg_is_the_micro_average():
    scored = metrics.join(*synthetic_run(QWEN3_AI_ACT))
    row = metrics.chapter_accuracy(scored, "eu_ai_act")
    assert round(row["Avg"], 2) == 56.41 == round(100 * 475 / 842, 2)
    for chapter, value in PAPER_ROW.items():
        assert round(row[f"Ch.{chapter}"], 2) == value
    summary = metrics.summary(scored, "eu_ai_act")
    assert summary["correct"] == 475 and summary["n"] == 842
    # the macro average (mean of the chapter columns) is a different number, reported separately
    assert summary["macro_accuracy"] == pytest.approx(np.mean([100 * c / t for c, t in QWEN3_AI_ACT.values()]))
    assert round(summary["macro_accuracy"], 2) != 56.41


def test_hand_made_set():
    cases = [
        {"id": "a", "chapter": 1, "label": "prohibited"},
        {"id": "b", "chapter": 1, "label": "prohibited"},
        {"id": "c", "chapter": 1, "label": "permitted"},
        {"id": "d", "chapter": 3, "label": "permitted"},
        {"id": "e", "chapter": 3, "label": "prohibited"},
    ]
    predictions = [
        {"case_id": "a", "verdict": "prohibited", "completion_tokens": 100},   # TP
        {"case_id": "b", "verdict": None, "completion_tokens": 300},           # unparsed: wrong, FN
        {"case_id": "c", "verdict": "prohibited", "completion_tokens": 50},    # FP
        {"case_id": "d", "verdict": "permitted", "completion_tokens": 50},     # TN
        {"case_id": "e", "verdict": "prohibited", "completion_tokens": 0},     # TP
    ]
    scored = metrics.join(cases, predictions)
    row = metrics.chapter_accuracy(scored, "gdpr")
    assert row["Ch.1"] == pytest.approx(100 / 3)
    assert row["Ch.3"] == 100.0
    assert math.isnan(row["Ch.2"])                     # no case in this run: empty, not 0
    assert row["Avg"] == 60.0
    summary = metrics.summary(scored, "gdpr")
    # prohibited: TP 2 (a, e), FP 1 (c), FN 1 (b, unparsed) -> F1 = 2*2 / (3 + 3) = 2/3
    assert summary["f1_prohibited"] == pytest.approx(200 / 3)
    # permitted: TP 1 (d), FP 0, FN 1 (c) -> F1 = 2*1 / (1 + 2) = 2/3; macro = (2/3 + 2/3) / 2
    assert summary["f1_macro"] == pytest.approx(200 / 3)
    assert summary["unparsed_rate"] == 20.0
    assert summary["tokens_per_verdict"] == 100.0
    assert summary["macro_accuracy"] == pytest.approx((100 / 3 + 100) / 2)
    assert summary["ci_low"] <= 60.0 <= summary["ci_high"]


def test_macro_f1_by_hand_and_as_scikit_learn_counts_it():
    """An unbalanced set where the two F1s differ: the macro-F1 is their plain mean."""
    labels = ["prohibited"] * 3 + ["permitted"] * 7
    verdicts = ["prohibited", "permitted", None, "permitted", "permitted", "permitted", "permitted", "permitted",
                "prohibited", "prohibited"]
    scored = pd.DataFrame({"label": labels, "verdict": verdicts})
    # prohibited: TP 1, FP 2, FN 2 -> F1 = 2 / (3 + 3) = 1/3; permitted: TP 5, FP 1, FN 2 -> 10 / (6 + 7) = 10/13
    assert metrics.f1_prohibited(scored) == pytest.approx(100 / 3)
    assert metrics.f1_macro(scored) == pytest.approx(100 * (1 / 3 + 10 / 13) / 2)
    as_strings = [v or "unparsed" for v in verdicts]
    assert metrics.f1_macro(scored) == pytest.approx(
        100 * f1_score(labels, as_strings, labels=["prohibited", "permitted"], average="macro"))
    # a label with neither a gold case nor a prediction is left out of the mean, as scikit-learn does
    one_class = pd.DataFrame({"label": ["permitted"] * 2, "verdict": ["permitted", None]})
    assert metrics.f1_macro(one_class) == pytest.approx(100 * f1_score(["permitted"] * 2, ["permitted", "x"],
                                                                      labels=["permitted"], average="macro"))


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=1, max_value=2000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_every_interval_is_wilsons_for_its_n_and_correct_count(pair):
    correct, n = pair
    expected = binomtest(correct, n).proportion_ci(confidence_level=0.95, method="wilson")
    low, high = metrics.wilson_interval(correct, n)
    assert low == pytest.approx(100 * expected.low) and high == pytest.approx(100 * expected.high)
    assert 0.0 <= low <= 100 * correct / n <= high <= 100.0


def test_chapter_cells_carry_n_correct_and_the_interval():
    scored = metrics.join(*synthetic_run(QWEN3_AI_ACT))
    cells = metrics.chapter_cells(scored, "eu_ai_act")
    assert list(cells.columns) == ["n", "correct", "accuracy", "ci_low", "ci_high"]
    assert list(cells.index) == [f"Ch.{n}" for n in range(1, 14)] + ["Avg"]
    assert (cells.loc["Ch.4", "n"], cells.loc["Ch.4", "correct"]) == (55, 33)
    assert (cells.loc["Avg", "n"], cells.loc["Avg", "correct"]) == (842, 475)
    assert cells.loc["Ch.10", "ci_high"] - cells.loc["Ch.10", "ci_low"] > 50     # 4 of 6: a wide interval
    empty = metrics.chapter_cells(scored[scored["chapter"] != 13], "eu_ai_act").loc["Ch.13"]
    assert empty["n"] == 0 and math.isnan(empty["accuracy"]) and math.isnan(empty["ci_low"])
    with pytest.raises(ValueError, match="correct must lie"):
        metrics.wilson_interval(5, 4)


def _scored(flags, prefix="c"):
    return pd.DataFrame({"case_id": [f"{prefix}{i}" for i in range(len(flags))], "correct": flags})


def test_paired_gain_is_mcnemars_exact_test_on_the_discordant_cases():
    # 20 cases: both right on 8, both wrong on 4, only "after" right on 6, only "before" right on 2
    before = [True] * 8 + [False] * 4 + [False] * 6 + [True] * 2
    after = [True] * 8 + [False] * 4 + [True] * 6 + [False] * 2
    gain = metrics.paired_gain(_scored(before), _scored(after).iloc[::-1], resamples=2000, seed=3)
    assert gain["n"] == 20 and gain["before"] == 50.0 and gain["after"] == 70.0 and gain["gain"] == 20.0
    assert (gain["after_only_right"], gain["before_only_right"]) == (6, 2)
    assert gain["p_value"] == pytest.approx(binomtest(6, 8, 0.5).pvalue)       # 0.289
    assert gain["ci_low"] < 20.0 < gain["ci_high"]
    assert gain == metrics.paired_gain(_scored(before), _scored(after), resamples=2000, seed=3)   # seeded
    assert metrics.gain_reading(gain).startswith("not distinguishable from zero at n = 20 (McNemar exact p = 0.289")
    strong = metrics.paired_gain(_scored([False] * 12 + [True] * 8), _scored([True] * 20), resamples=500)
    assert strong["p_value"] == pytest.approx(2 * 0.5 ** 12)
    assert metrics.gain_reading(strong).startswith("distinguishable from zero: a gain")
    # no case changed: nothing to test, and a bootstrap interval of [0, 0] would overstate what 4 cases show
    same = metrics.paired_gain(_scored([True, False] * 2), _scored([True, False] * 2), resamples=200)
    assert same["p_value"] == 1.0 and same["gain"] == 0.0 and math.isnan(same["ci_low"]) and math.isnan(same["ci_high"])
    assert metrics.gain_reading(same) == ("not distinguishable from zero at n = 4: no case changed between the two "
                                          "models, so there is nothing to test and no interval")


def test_paired_gain_needs_the_same_cases():
    with pytest.raises(ValueError, match="same cases"):
        metrics.paired_gain(_scored([True, False]), _scored([True, False], prefix="d"))
    one = metrics.paired_gain(_scored([True]), _scored([False]))
    assert one["gain"] == -100.0 and math.isnan(one["ci_low"])            # no interval from one case


def test_missing_or_stray_predictions_are_errors():
    cases = [{"id": "a", "chapter": 1, "label": "permitted"}, {"id": "b", "chapter": 1, "label": "permitted"}]
    with pytest.raises(ValueError, match="1 case\\(s\\) have no prediction"):
        metrics.join(cases, [{"case_id": "a", "verdict": "permitted"}])
    with pytest.raises(ValueError, match="match no test case"):
        metrics.join(cases[:1], [{"case_id": "a", "verdict": "permitted"}, {"case_id": "z", "verdict": None}])


def test_f1_without_positives_is_undefined_not_zero():
    scored = pd.DataFrame({"label": ["permitted"], "verdict": ["permitted"]})
    assert math.isnan(metrics.f1_prohibited(scored))
