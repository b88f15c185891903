"""The paper-vs-run report on small hand-made runs."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml

from safety_compliance.cli import main
from safety_compliance.report.reproduction import (NOT_PRODUCED, build, match_cells, norm_label,
                                                   to_html_document, to_markdown_document, write_reproduction)

PAPER = {
    "table3_eu_ai_act_accuracy": {
        "Qwen3-8B": {"group": "General Purpose Models", "Ch.1": 60.0, "Avg": 66.86},
        "Compliance-Reasoner-SFT": {"group": "Ours", "Ch.1": 70.0, "Avg": 74.11},
        "GPT-4o-mini": {"group": "General Purpose Models", "Ch.1": 50.0, "Avg": 55.0},
    },
    "table1_human_eval": {"Average": {"alignment": {"eu_ai_act": 95.6, "gdpr": 95.87}}},
    "table8_seed_safety_data": {"Aegis-2.0": {"split": "test", "safe": 889, "unsafe": 547}},
    "text_figures": {
        "seeds": {"eu_ai_act": 842, "gdpr": 506},
        "benchmark_cases": {"eu_ai_act": 1684, "gdpr": 1012},
        "train_test_split": "50:50 random",
        "headline_gain_over_qwen3_8b": {"eu_ai_act": {"sft": 7.25, "grpo": 10.45}},
        "chapter_missing_rate_percent": {"aegis2": 19.86},
    },
}
CFG = {"scale": "demo", "laws": ["eu_ai_act", "gdpr"], "teacher": "smollm2-135m-instruct",
       "models_file": "config/models.yaml", "law": {"seed_source": "official"},
       "train": {"students": ["qwen3-8b"]}}


def _lines(path, n):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps({"id": f"x{i}"}) + "\n" for i in range(n)))


@pytest.fixture
def run(tmp_path):
    """A run that made the AI Act's seeds and cases and table 3, and nothing for the GDPR."""
    results = tmp_path / "results"
    _lines(results / "law" / "eu_ai_act" / "seeds.jsonl", 5)
    _lines(results / "benchmark" / "eu_ai_act" / "cases.jsonl", 10)
    _lines(results / "benchmark" / "eu_ai_act" / "train.jsonl", 5)
    _lines(results / "benchmark" / "eu_ai_act" / "test.jsonl", 5)
    _lines(results / "eval" / "eu_ai_act" / "smollm2-135m-instruct.jsonl", 1)
    (results / "tables").mkdir()
    # The evaluation stage's layout: Model, group, Ch.1..., Avg; the base student by its display name.
    pd.DataFrame([
        {"Model": "Qwen3-8B", "group": "General Purpose Models", "Ch.1": 50.0, "Avg": 60.0},
        {"Model": "Compliance-Reasoner-SFT", "group": "Our Models", "Ch.1": 80.0, "Avg": 72.5},
    ]).to_csv(results / "tables" / "table3.csv", index=False)
    pd.DataFrame([{"model": "x", "acc": 1.0}]).to_csv(results / "tables" / "table_privaci.csv", index=False)
    pd.DataFrame([{"model": "x", "Avg run": 1.0}]).to_csv(results / "tables" / "table3_vs_paper.csv", index=False)
    pd.DataFrame([{"Dataset": "Aegis 1.0", "Missing % (both)": 25.0, "Paper missing %": 19.86}]).to_csv(
        results / "tables" / "extrapolate_missing_rates.csv", index=False)
    return results


def _figures(sections):
    frame = next(s for s in sections if s.title.startswith("Figures")).blocks[0]
    return frame.set_index("figure")


def test_labels_ignore_case_punctuation_and_the_base_model():
    assert norm_label("Compliance-Reasoner-SFT (Qwen3-8B)") == norm_label("compliance reasoner sft")
    assert norm_label("Compliant-Reasoner-GRPO") == norm_label("Compliance-Reasoner-GRPO")
    assert norm_label("EU AI Act") == norm_label("eu_ai_act")
    assert norm_label("Ch.1") != norm_label("Ch.11")


def test_cells_are_matched_by_labels_not_position():
    run = pd.DataFrame([{"Avg": 70.0, "model": "GPT-4o-mini", "Ch.1": 40.0}])
    cells = match_cells(PAPER["table3_eu_ai_act_accuracy"], run).set_index("cell")
    assert cells.loc["GPT-4o-mini / Ch.1", "this run"] == 40.0
    assert cells.loc["GPT-4o-mini / Ch.1", "difference"] == -10.0
    assert cells.loc["GPT-4o-mini / Avg", "difference"] == 15.0
    assert pd.isna(cells.loc["Qwen3-8B / Avg", "this run"])        # a model the run did not evaluate
    assert "GPT-4o-mini / group" not in cells.index                  # text is a label, never a value


def test_ambiguous_cells_are_left_unmatched():
    run = pd.DataFrame([{"model": "GPT-4o-mini", "law": "a", "Avg": 1.0},
                        {"model": "GPT-4o-mini", "law": "b", "Avg": 2.0}])
    cells = match_cells(PAPER["table3_eu_ai_act_accuracy"], run).set_index("cell")
    assert pd.isna(cells.loc["GPT-4o-mini / Avg", "this run"])


def test_text_figures_beside_the_run(run, root, monkeypatch):
    monkeypatch.chdir(root)
    title, sections = build(CFG, PAPER, run)
    figures = _figures(sections)
    assert figures.loc["seeds, EU AI Act", "this run"] == 5
    assert figures.loc["seeds, EU AI Act", "difference"] == 5 - 842
    assert figures.loc["seeds, GDPR", "this run"] == NOT_PRODUCED
    assert figures.loc["benchmark cases, EU AI Act", "this run"] == 10
    assert figures.loc["train:test split, EU AI Act", "this run"] == "50:50"
    gain = figures.loc["SFT gain over the base student Qwen3-8B (Avg), EU AI Act"]
    assert gain["this run"] == 12.5 and gain["paper"] == 7.25 and gain["difference"] == 5.25
    assert figures.loc["GRPO gain over the base student Qwen3-8B (Avg), EU AI Act", "this run"] == NOT_PRODUCED
    # Aegis 1.0 stands in for the paper's Aegis 2.0 (the extrapolation stage's dataset registry says so).
    assert figures.loc["chapter missing rate %, aegis2", "this run"] == 25.0
    assert figures.loc["chapter missing rate %, aegis2", "difference"] == round(25.0 - 19.86, 2)


def test_scale_is_stated_first_and_absent_parts_are_listed(run, root, monkeypatch):
    monkeypatch.chdir(root)
    title, sections = build(CFG, PAPER, run)
    text = to_markdown_document(title, sections)
    assert "demo scale" in title
    assert sections[0].title == "Scale of this run"
    assert text.index("demo-scale run") < text.index("Figures quoted")
    assert "| models evaluated | smollm2-135m-instruct |" in text
    absent = sections[-1].blocks[0]
    assert "Table 1 (human eval): results/tables/table1.csv" in absent
    assert "seeds, GDPR" in absent and "seeds, EU AI Act" not in absent
    assert "table_privaci (this run only" in text
    assert "table3_vs_paper" not in text and "extrapolate_missing_rates (this run only" not in text
    assert "4 of 6 paper cells have a counterpart" in text     # Qwen3-8B and ours, Ch.1 and Avg


def test_paper_scale_run_carries_no_warning(run):
    title, sections = build({**CFG, "scale": "paper"}, PAPER, run)
    assert "demo-scale" not in to_markdown_document(title, sections)


def test_html_matches_markdown(run):
    title, sections = build(CFG, PAPER, run)
    page = to_html_document(title, sections)
    assert page.count("<table") == sum(isinstance(b, pd.DataFrame) for s in sections for b in s.blocks)
    assert "class='warning'" in page and "<li>" in page


def test_empty_run_does_not_fail(tmp_path, root, monkeypatch):
    monkeypatch.chdir(root)      # the registry path in the config is relative to the checkout
    (tmp_path / "nothing" / "tables").mkdir(parents=True)
    (tmp_path / "nothing" / "tables" / "table1.csv").write_text("")     # a stage with nothing to show
    out = tmp_path / "reproduction.md"
    write_reproduction(CFG, PAPER, tmp_path / "nothing", out, tmp_path / "reproduction.html")
    assert out.read_text().count(NOT_PRODUCED) >= 4
    assert (tmp_path / "reproduction.html").is_file()


def test_cli_writes_both_files(run, tmp_path, root, monkeypatch):
    monkeypatch.chdir(root)
    paper = tmp_path / "paper.yaml"
    paper.write_text(yaml.safe_dump(PAPER))
    out, page = tmp_path / "r.md", tmp_path / "r.html"
    assert main(["report", "reproduction", "--paper-results", str(paper), "--results", str(run),
                 "--out", str(out), "--html", str(page)]) == 0
    assert "Scale of this run" in out.read_text() and "<h2>" in page.read_text()


def test_table_page_shows_caption_and_numbers(run, tmp_path):
    from safety_compliance.report.pages import table_page

    (run / "tables" / "table3.md").write_text("**Table 3: accuracy (demo scale)**\n\n| x |\n")
    page = table_page(run / "tables" / "table3.csv")
    assert "<h3>Table 3: accuracy (demo scale)</h3>" in page and "72.50" in page
    (tmp_path / "empty.csv").write_text("")
    assert "empty table" in table_page(tmp_path / "empty.csv")


def test_provenance_is_written_first_and_shown_in_the_report(run, tmp_path, root, monkeypatch):
    monkeypatch.chdir(root)
    paper = tmp_path / "paper.yaml"
    paper.write_text(yaml.safe_dump(PAPER))
    out, record = tmp_path / "r.md", run / "provenance.json"
    assert main(["report", "reproduction", "--paper-results", str(paper), "--results", str(run),
                 "--out", str(out), "--provenance", str(record)]) == 0
    made = json.loads(record.read_text())
    assert set(made) == {"written", "source", "packages", "machine", "config", "models"}
    assert len(made["source"]["commit"]) == 40 and isinstance(made["source"]["dirty"], bool)
    assert made["packages"]["torch"] and made["packages"]["snakemake"]
    # the config as the run used it: its results-affecting keys and its runtime settings
    assert made["config"]["scale"] == "demo" and made["config"]["llm"]["cache"] == "results/cache/llm.sqlite"
    assert "smollm2-135m-instruct" in made["models"]
    assert f"- commit: {made['source']['commit'][:12]}" in out.read_text()
