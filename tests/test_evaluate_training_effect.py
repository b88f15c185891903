"""The training figure: parse and accuracy rates of base, SFT and GRPO with Wilson intervals."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from safety_compliance.jsonl import write_jsonl
from safety_compliance.evaluate.training_effect import (POOLED, collect, effect_table, figure_title, missing_models, plot,
                                            stage_models, wilson)


def wilson_by_hand(k, n, z=1.959963984540054):
    p = k / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return centre - half, centre + half


@pytest.mark.parametrize("k, n", [(8, 10), (0, 6), (6, 6), (1, 3)])
def test_wilson_matches_the_score_interval(k, n):
    rate, low, high = wilson(k, n)
    assert rate == pytest.approx(k / n)
    assert (low, high) == pytest.approx(wilson_by_hand(k, n), abs=1e-9)
    assert 0.0 <= low <= rate <= high <= 1.0


def test_wilson_refuses_no_cases_and_impossible_counts():
    with pytest.raises(ValueError, match="n = 0"):
        wilson(0, 0)
    with pytest.raises(ValueError, match="not a rate"):
        wilson(4, 3)


def frame(verdicts, labels):
    scored = pd.DataFrame({"verdict": verdicts, "label": labels})
    scored["correct"] = scored["verdict"] == scored["label"]
    return scored


def test_effect_table_counts_parsed_and_correct_answers_per_law_and_pooled():
    p, q = "prohibited", "permitted"
    scored = {
        ("stu", "gdpr"): frame([None, None, p, None], [p, q, q, p]),
        ("stu-sft", "gdpr"): frame([p, q, p, p], [p, q, q, p]),
        ("stu-grpo", "gdpr"): frame([p, q, q, None], [p, q, q, p]),
        ("stu", "eu_ai_act"): frame([q, None], [p, q]),
        ("stu-sft", "eu_ai_act"): frame([p, p], [p, q]),
        ("stu-grpo", "eu_ai_act"): frame([p, q], [p, q]),
    }
    table = effect_table(scored, ["stu"], ["eu_ai_act", "gdpr"]).set_index(["law", "stage"])
    assert list(table.index.get_level_values("law").unique()) == ["eu_ai_act", "gdpr", POOLED]
    assert table.loc[("gdpr", "base"), ["n", "parsed", "correct"]].tolist() == [4, 1, 0]
    assert table.loc[("gdpr", "sft"), ["n", "parsed", "correct"]].tolist() == [4, 4, 3]
    assert table.loc[("gdpr", "grpo"), ["n", "parsed", "correct"]].tolist() == [4, 3, 3]
    assert table.loc[(POOLED, "sft"), ["n", "parsed", "correct"]].tolist() == [6, 6, 4]
    assert table.loc[(POOLED, "base"), "format_rate"] == pytest.approx(2 / 6)
    low, high = wilson_by_hand(4, 6)
    assert table.loc[(POOLED, "sft"), ["accuracy_low", "accuracy_high"]].tolist() == pytest.approx([low, high])
    assert table.loc[("eu_ai_act", "grpo"), "model"] == "stu-grpo"


def test_missing_stage_models_are_named():
    assert stage_models("stu") == {"base": "stu", "sft": "stu-sft", "grpo": "stu-grpo"}
    assert missing_models(["stu"], ["stu", "stu-grpo", "other"]) == ["stu-sft"]
    assert missing_models(["stu"], ["stu", "stu-sft", "stu-grpo"]) == []


def test_collect_reads_the_prediction_files_of_the_evaluated_cases(tmp_path):
    cases = [{"id": f"g{i}", "law": "gdpr", "chapter": 2, "label": ("prohibited", "permitted")[i % 2],
              "factual_background": "x"} for i in range(4)]
    write_jsonl(tmp_path / "benchmark" / "gdpr" / "test.jsonl", cases)
    verdicts = {"stu": [None, None, None, "prohibited"], "stu-sft": ["prohibited", "permitted", None, "permitted"],
                "stu-grpo": ["prohibited", "permitted", "prohibited", "permitted"]}
    for model, answers in verdicts.items():
        rows = [{"case_id": c["id"], "verdict": v, "completion_tokens": 5} for c, v in zip(cases, answers)]
        write_jsonl(tmp_path / "eval" / "gdpr" / f"{model}.jsonl", rows, sort_key="case_id")
    cfg = {"laws": ["gdpr"], "models_file": "config/models.yaml", "train": {"students": ["stu"]},
           "evaluate": {"models": ["stu", "stu-sft", "stu-grpo"], "max_cases": None, "seed": 0}}
    table = collect(cfg, tmp_path).set_index(["law", "stage"])
    assert table.loc[("gdpr", "base"), ["parsed", "correct"]].tolist() == [1, 0]
    assert table.loc[("gdpr", "sft"), ["parsed", "correct"]].tolist() == [3, 3]
    assert table.loc[("gdpr", "grpo"), ["parsed", "correct"]].tolist() == [4, 4]
    cfg["evaluate"]["models"] = ["stu", "stu-grpo"]
    with pytest.raises(ValueError, match=r"leaves out \['stu-sft'\]"):
        collect(cfg, tmp_path)


def test_plot_writes_both_files_with_the_scale_in_the_title(tmp_path):
    p = "prohibited"
    scored = {(m, "gdpr"): frame([p, None], [p, p]) for m in ("stu", "stu-sft", "stu-grpo")}
    paths = plot(effect_table(scored, ["stu"], ["gdpr"]), tmp_path / "figure_demo_training", "demo")
    assert [p.name for p in paths] == ["figure_demo_training.pdf", "figure_demo_training.png"]
    assert all(p.stat().st_size > 5000 for p in paths)
    assert "(demo scale)" in figure_title("demo") and "not the method's accuracy" in figure_title("demo")
    assert "(paper scale)" in figure_title("paper") and "not the method's accuracy" not in figure_title("paper")
    with pytest.raises(ValueError, match="no evaluation rows"):
        plot(effect_table({}, [], ["gdpr"]), tmp_path / "empty", "demo")
