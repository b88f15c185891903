"""Metrics against hand computations, including the paper's micro-averaged "Avg."."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from safety_compliance.evaluate import metrics

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
    summary = metrics.summary(scored, "eu_ai_act", samples=200)
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
    summary = metrics.summary(scored, "gdpr", samples=500)
    # precision 2/3, recall 2/3 -> F1 2/3
    assert summary["f1_prohibited"] == pytest.approx(200 / 3)
    assert summary["unparsed_rate"] == 20.0
    assert summary["tokens_per_verdict"] == 100.0
    assert summary["macro_accuracy"] == pytest.approx((100 / 3 + 100) / 2)
    assert summary["ci_low"] <= 60.0 <= summary["ci_high"]


def test_bootstrap_interval_is_seeded_and_bounded():
    correct = np.array([1] * 70 + [0] * 30)
    low, high = metrics.bootstrap_interval(correct, samples=2000, seed=1)
    assert (low, high) == metrics.bootstrap_interval(correct, samples=2000, seed=1)
    assert 60 < low < 70 < high < 80
    assert metrics.bootstrap_interval(np.ones(20)) == (100.0, 100.0)


def test_missing_or_stray_predictions_are_errors():
    cases = [{"id": "a", "chapter": 1, "label": "permitted"}, {"id": "b", "chapter": 1, "label": "permitted"}]
    with pytest.raises(ValueError, match="1 case\\(s\\) have no prediction"):
        metrics.join(cases, [{"case_id": "a", "verdict": "permitted"}])
    with pytest.raises(ValueError, match="match no test case"):
        metrics.join(cases[:1], [{"case_id": "a", "verdict": "permitted"}, {"case_id": "z", "verdict": None}])


def test_f1_without_positives_is_undefined_not_zero():
    scored = pd.DataFrame({"label": ["permitted"], "verdict": ["permitted"]})
    assert math.isnan(metrics.f1_prohibited(scored))
