"""The one comparison with the paper, and the facts about the paper's own numbers behind its caveats."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import pandas as pd
import pytest
import yaml

from safety_compliance.versus_paper import (CHAPTER_COLUMNS, REPEATED_GRPO_ROW, compare, gain_caveat, matched,
                                            norm_label, paper_caveat, summary_lines, wide)

PAPER = yaml.safe_load((Path(__file__).parents[1] / "config" / "paper_results.yaml").read_text())


def test_labels_ignore_case_punctuation_and_a_trailing_parenthesis():
    assert norm_label("Compliance-Reasoner-SFT (Qwen3-8B)") == norm_label("compliance reasoner sft")
    assert norm_label("Compliant-Reasoner-GRPO") == norm_label("Compliance-Reasoner-GRPO")
    assert norm_label("Ch.3 (n=12)") == norm_label("Ch.3")
    assert norm_label("Ch.1") != norm_label("Ch.11")


def test_cells_are_matched_by_labels_and_caveats_replace_the_difference():
    run = pd.DataFrame({"group": ["x", "y"], "Ch.1": [40.0, 70.0], "Avg": [60.0, float("nan")]},
                       index=pd.Index(["GPT-4o-mini", "Compliant-Reasoner-SFT"], name="Model"))
    paper = pd.DataFrame({"group": ["g", "g", "g"], "Avg": [55.0, 63.66, 50.0], "Ch.1": [50.0, 60.31, 1.0]},
                         index=["GPT-4o-mini", "Compliance-Reasoner-SFT", "Qwen3-8B"])
    caveat = lambda row, cell: "chapter" if cell.startswith("Ch.") else None
    found = compare(run, paper, caveats=[caveat], intervals={("GPT-4o-mini", "Avg"): (40.0, 78.0)})
    assert list(found.columns) == ["row", "cell", "this run", "ci_low", "ci_high", "paper", "difference", "note"]
    assert len(found) == 6                                        # every number of the paper, in its row order
    cells = found.set_index(["row", "cell"])
    assert cells.loc[("GPT-4o-mini", "Avg"), "difference"] == 5.0
    assert (cells.loc[("GPT-4o-mini", "Avg"), "ci_low"], cells.loc[("GPT-4o-mini", "Avg"), "ci_high"]) == (40.0, 78.0)
    assert cells.loc[("GPT-4o-mini", "Ch.1"), "note"] == "chapter"
    assert math.isnan(cells.loc[("GPT-4o-mini", "Ch.1"), "difference"])
    assert cells.loc[("Compliant-Reasoner-SFT", "Ch.1"), "paper"] == 60.31     # the two spellings are one row
    assert math.isnan(cells.loc[("Compliance-Reasoner-SFT", "Avg"), "this run"])  # empty in the run: the paper's label
    assert math.isnan(cells.loc[("Qwen3-8B", "Avg"), "this run"])              # a model the run lacks
    assert len(matched(found)) == 3
    assert summary_lines(found) == ["3 of 6 paper cells have a counterpart in this run (a model, dataset or chapter "
                                    "the run did not cover has none).", "2 cell(s) without a difference, chapter."]


def test_two_run_cells_with_one_label_are_an_error():
    run = pd.DataFrame({"Avg": [1.0, 2.0]}, index=["GPT-4o-mini", "gpt 4o mini"])
    with pytest.raises(ValueError, match="two cells share the label"):
        compare(run, pd.DataFrame({"Avg": [1.0]}, index=["GPT-4o-mini"]))


def test_the_side_by_side_layout_keeps_the_runs_rows():
    index = pd.MultiIndex.from_tuples([("alice", "gdpr"), ("bob", "gdpr")], names=["Annotator", "Law"])
    run = pd.DataFrame({"alignment": [90.0, 80.0]}, index=index)
    paper = pd.DataFrame({"alignment": [95.87, 95.87]}, index=index)
    side = wide(compare(run, paper), run.index)
    assert side.loc[("bob", "gdpr"), ("alignment", "diff")] == pytest.approx(80.0 - 95.87, abs=0.01)
    assert list(side.index.names) == ["Annotator", "Law"]


# --- The paper's own numbers, which make some of its cells incomparable -----------------------------

def _avg(key: str) -> dict[str, float]:
    return {norm_label(name): row["Avg"] for name, row in PAPER[key].items()}


def test_the_appendix_grpo_rows_repeat_the_main_tables():
    for main, appendix in (("table3_eu_ai_act_accuracy", "table6_eu_ai_act_qwen25_base"),
                           ("table4_gdpr_accuracy", "table7_gdpr_qwen25_base")):
        repeated = {k: v for k, v in PAPER[appendix]["Compliant-Reasoner-GRPO"].items() if k != "group"}
        assert repeated == {k: v for k, v in PAPER[main]["Compliance-Reasoner-GRPO"].items() if k != "group"}
        assert PAPER[appendix]["Compliant-Reasoner-SFT"]["Avg"] != PAPER[main]["Compliance-Reasoner-SFT"]["Avg"]
    assert paper_caveat("table6", "Compliant-Reasoner-GRPO", "Avg") == REPEATED_GRPO_ROW
    assert paper_caveat("table6", "Compliance-Reasoner-SFT", "Avg") is None
    assert paper_caveat("table3", "Compliance-Reasoner-GRPO", "Avg") is None


def test_the_chapter_columns_cannot_be_the_laws_chapters():
    """The AI Act's Chapter IV is Article 50 alone (7 paragraphs: at most 14 cases, one pair per seed),
    yet every accuracy of the paper's 'Ch.4' column is a count out of 55 test cases."""
    counts = PAPER["implied_test_counts_per_chapter"]
    assert counts["eu_ai_act"]["Ch.4"] == 55 > 14
    for row in PAPER["table3_eu_ai_act_accuracy"].values():
        assert any(round(100 * k / 55, 2) == row["Ch.4"] for k in range(56))
    assert sum(v for k, v in counts["eu_ai_act"].items()) == 842       # the split's size: the counts are real
    assert paper_caveat("table3", "Qwen3-8B", "Ch.4") == CHAPTER_COLUMNS
    assert paper_caveat("table4", "Qwen3-8B", "Ch.10 (n=3)") == CHAPTER_COLUMNS
    assert paper_caveat("table4", "Qwen3-8B", "Avg") is None


def test_the_quoted_gains_and_which_of_them_follow_from_the_tables():
    text = PAPER["text_figures"]
    for law, key in (("eu_ai_act", "table3_eu_ai_act_accuracy"), ("gdpr", "table4_gdpr_accuracy")):
        avg = _avg(key)
        for stage in ("sft", "grpo"):
            derived = avg[norm_label(f"Compliance-Reasoner-{stage}")] - avg[norm_label("Qwen3-8B")]
            assert round(derived, 2) == text["headline_gain_over_qwen3_8b"][law][stage]
        assert gain_caveat(law, "grpo", appendix=False) is None
    table6, table7 = _avg("table6_eu_ai_act_qwen25_base"), _avg("table7_gdpr_qwen25_base")
    # 7.12: the repeated GRPO row minus the Qwen2.5 base
    assert round(table6[norm_label("Compliance-Reasoner-GRPO")] - table6[norm_label("Qwen2.5-7B-Instruct")], 2) == \
        text["appendix_b_gain_qwen25"]["eu_ai_act"] == 7.12
    # 11.64: no difference of two Avg numbers of the paper's GDPR tables gives it
    gdpr = set(table7.values()) | set(_avg("table4_gdpr_accuracy").values())
    assert all(round(a - b, 2) != 11.64 for a, b in itertools.permutations(gdpr, 2))
    assert "11.64" in gain_caveat("gdpr", "grpo", appendix=True)
    assert "repeat" in gain_caveat("eu_ai_act", "grpo", appendix=True)
