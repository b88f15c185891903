"""The evaluation stage on a fixture benchmark: prediction files, Tables 3/4 (6/7) and the comparison
with the paper, and one end-to-end run of the real hf backend and the SaP guard on the tiny model."""

from __future__ import annotations

import math
import shutil

import pandas as pd
import pytest
import yaml
from scipy.stats import binomtest

from safety_compliance.config import load_config
from safety_compliance.evaluate import evaluate as evaluation
from safety_compliance.evaluate.accuracy_tables import paper_table, table_specs
from safety_compliance.jsonl import read_jsonl, write_jsonl
from safety_compliance.versus_paper import load_paper_results


def fixture_cases(law, split, n):
    """n cases in chapters 1 and 2 only, labels alternating."""
    return [{"id": f"{law}/{split}/{i:03d}", "law": law, "seed_id": f"{law}/ch0{1 + i % 2}/art001", "chapter": 1 + i % 2,
             "article": 1, "label": "prohibited" if i % 4 < 2 else "permitted", "split": split,
             "factual_background": f"Case {i}: a provider {'hides' if i % 4 < 2 else 'documents'} its system."}
            for i in range(n)]


@pytest.fixture()
def project(tmp_path, root, tiny_model):
    """A results folder with both laws' splits, a registry naming the tiny model, and a config."""
    results = tmp_path / "results"
    for law in ("eu_ai_act", "gdpr"):
        write_jsonl(results / "benchmark" / law / "test.jsonl", fixture_cases(law, "test", 8))
        write_jsonl(results / "benchmark" / law / "train.jsonl", fixture_cases(law, "train", 8))
    for base in ("tiny", "tiny2"):
        for stage in ("sft", "grpo"):
            shutil.copytree(tiny_model, results / "train" / base / stage / "final")
    registry = {
        "tiny": {"model": str(tiny_model), "display": "Tiny", "group": "general", "batch_size": 8},
        "tiny2": {"model": str(tiny_model), "display": "Qwen2.5-7B-Instruct", "group": "general"},
        "tiny-guard": {"model": str(tiny_model), "display": "Llama-Guard-3-8B", "family": "llama_guard",
                       "group": "guardrail"},
        "sap-tiny": {"model": str(tiny_model), "backend": "representation", "display": "SaP (Tiny)",
                     "group": "guardrail", "options": {"base": "tiny", "method": "polytope", "epochs": 30}},
    }
    (tmp_path / "models.yaml").write_text(yaml.safe_dump(registry), encoding="utf-8")
    cfg = load_config(root / "config/config.yaml")
    cfg["models_file"] = str(tmp_path / "models.yaml")
    cfg["llm"].update(cache=str(tmp_path / "llm.sqlite"), usage_dir=str(tmp_path / "usage"), progress=False)
    cfg["train"]["students"] = ["tiny", "tiny2"]
    cfg["evaluate"].update(models=["tiny", "tiny-guard", "tiny2", "sap-tiny", "tiny-sft", "tiny-grpo",
                                   "tiny2-sft", "tiny2-grpo"], max_cases=6, max_tokens=8, bootstrap=50)
    return cfg, results


def write_fake_predictions(cfg, results, model, law, right_every):
    """Predictions that are right on every `right_every`-th selected case; one unparsed answer."""
    rows = []
    for i, case in enumerate(evaluation.test_cases(cfg, law, results)):
        wrong = "permitted" if case["label"] == "prohibited" else "prohibited"
        verdict = case["label"] if i % right_every == 0 else wrong
        rows.append({"case_id": case["id"], "model": model, "raw": "", "verdict": None if i == 1 else verdict,
                     "chapter_pred": None, "prompt_tokens": 5, "completion_tokens": 3})
    write_jsonl(evaluation.predictions_path(results, law, model), rows, sort_key="case_id")


def test_case_selection_is_seeded_and_shared():
    cases = fixture_cases("gdpr", "test", 20)
    first = evaluation.select_cases(cases, 5, seed=3)
    assert first == evaluation.select_cases(list(reversed(cases)), 5, seed=3)
    assert [c["id"] for c in first] == sorted(c["id"] for c in first)
    assert evaluation.select_cases(cases, None) == sorted(cases, key=lambda c: c["id"])


def test_table_specs():
    assert [(s.number, s.law) for s in table_specs(["eu_ai_act", "gdpr"], ["qwen3-8b"])] == [(3, "eu_ai_act"), (4, "gdpr")]
    specs = table_specs(["eu_ai_act", "gdpr"], ["qwen3-8b", "qwen2.5-7b-instruct"])
    assert [(s.number, s.base, s.appendix) for s in specs] == [
        (3, "qwen3-8b", False), (4, "qwen3-8b", False),
        (6, "qwen2.5-7b-instruct", True), (7, "qwen2.5-7b-instruct", True)]


def test_paper_tables_read_in_the_run_layout(root):
    paper = load_paper_results(root / "config/paper_results.yaml")
    table3 = paper_table(paper, "table3_eu_ai_act_accuracy", "eu_ai_act")
    assert list(table3.columns) == ["group"] + [f"Ch.{n}" for n in range(1, 14)] + ["Avg"]
    assert table3.loc["Qwen3-8B", "Avg"] == 56.41
    table6 = paper_table(paper, "table6_eu_ai_act_qwen25_base", "eu_ai_act")
    assert "Compliance-Reasoner-SFT" in table6.index          # the appendix's spelling is aligned


def test_tables_from_prediction_files(project, tmp_path, root):
    cfg, results = project
    for law in cfg["laws"]:
        for model, every in zip(cfg["evaluate"]["models"], (1, 2, 3, 1, 1, 2, 1, 2)):
            write_fake_predictions(cfg, results, model, law, every)
    made = evaluation.build_tables(cfg, results, tmp_path / "tables", load_paper_results(root / "config/paper_results.yaml"))
    assert set(made) == {f"table{n}{part}" for n in (3, 4, 6, 7) for part in ("", "_cells", "_vs_paper")} | {
        "eval_summary", "eval_gains"}
    for stem in ("table3", "table3_vs_paper", "table7", "eval_summary", "eval_gains"):
        for ext in ("csv", "tex", "md"):
            assert (tmp_path / "tables" / f"{stem}.{ext}").is_file()
    table3 = made["table3"]
    # the second base's students live in Tables 6 / 7 only; ours are named as in the paper
    assert list(table3.index) == ["Tiny", "Qwen2.5-7B-Instruct", "Llama-Guard-3-8B", "SaP (Tiny)",
                                  "Compliance-Reasoner-SFT", "Compliance-Reasoner-GRPO"]
    assert list(table3["group"].unique()) == ["General Purpose Models", "LLM Safety Guardrails",
                                              "Representation-Space Guards", "Our Models"]
    # six cases, case 1 unparsed: the "always right" model gets 5 / 6
    assert table3.loc["Tiny", "Avg"] == pytest.approx(500 / 6)
    assert math.isnan(table3.loc["Tiny", "Ch.3"])             # no test case in chapter 3: empty
    assert ",," in (tmp_path / "tables" / "table3.csv").read_text()
    assert list(made["table6"].index) == ["Qwen2.5-7B-Instruct", "Compliance-Reasoner-SFT", "Compliance-Reasoner-GRPO"]
    summary = made["eval_summary"]
    assert summary.loc[("gdpr", "tiny"), "unparsed_rate"] == pytest.approx(100 / 6)
    assert summary.loc[("gdpr", "tiny"), "n"] == 6


def test_cells_beside_each_table_hold_wilson_intervals(project, tmp_path, root):
    cfg, results = project
    for law in cfg["laws"]:
        for model, every in zip(cfg["evaluate"]["models"], (1, 2, 3, 1, 1, 2, 1, 2)):
            write_fake_predictions(cfg, results, model, law, every)
    made = evaluation.build_tables(cfg, results, tmp_path / "tables", load_paper_results(root / "config/paper_results.yaml"))
    cells = pd.read_csv(tmp_path / "tables" / "table3_cells.csv")
    assert list(cells.columns) == ["model", "chapter", "n", "correct", "accuracy", "ci_low", "ci_high"]
    assert len(cells) == 6 * 14                                # every row x (13 chapters + Avg)
    for record in cells[cells["n"] > 0].itertuples():
        expected = binomtest(record.correct, record.n).proportion_ci(method="wilson")
        assert (record.ci_low, record.ci_high) == pytest.approx((100 * expected.low, 100 * expected.high), abs=1e-4)
        assert record.accuracy == pytest.approx(100 * record.correct / record.n, abs=1e-4)
    tiny = cells[(cells["model"] == "Tiny") & (cells["chapter"] == "Avg")].iloc[0]
    assert (tiny["n"], tiny["correct"]) == (6, 5) and tiny["accuracy"] == pytest.approx(made["table3"].loc["Tiny", "Avg"])
    # the reader's copies: n in the header row, then the intervals in the table's own layout
    markdown = (tmp_path / "tables" / "table3.md").read_text()
    chapter_one = int((cells[(cells["chapter"] == "Ch.1")]["n"]).iloc[0])
    assert f"| Ch.1 (n={chapter_one}) |" in markdown and "| Ch.3 (n=0) |" in markdown and "| Avg (n=6) |" in markdown
    low, high = binomtest(5, 6).proportion_ci(method="wilson")
    assert "95 % Wilson score intervals" in markdown and f"[{100 * low:.1f}, {100 * high:.1f}]" in markdown
    assert "Avg (n=6)" in (tmp_path / "tables" / "table3.tex").read_text()
    assert "Ch.1," in (tmp_path / "tables" / "table3.csv").read_text()        # the data keeps plain names


def test_the_comparison_with_the_paper_marks_what_the_paper_makes_incomparable(project, tmp_path, root):
    cfg, results = project
    for law in cfg["laws"]:
        for model, every in zip(cfg["evaluate"]["models"], (1, 2, 3, 1, 1, 2, 1, 2)):
            write_fake_predictions(cfg, results, model, law, every)
    made = evaluation.build_tables(cfg, results, tmp_path / "tables", load_paper_results(root / "config/paper_results.yaml"))
    table3, versus = made["table3"], made["table3_vs_paper"].set_index(["row", "cell"])
    avg = versus.loc[("Llama-Guard-3-8B", "Avg")]
    assert avg["difference"] == pytest.approx(round(table3.loc["Llama-Guard-3-8B", "Avg"] - 48.34, 2))
    assert avg["note"] == "" and avg["ci_low"] < avg["this run"] < avg["ci_high"]
    chapter = versus.loc[("Llama-Guard-3-8B", "Ch.1")]
    assert math.isnan(chapter["difference"]) and "not the law's chapters" in chapter["note"]
    assert chapter["paper"] == 47.19 and chapter["this run"] == pytest.approx(table3.loc["Llama-Guard-3-8B", "Ch.1"])
    assert "Tiny" not in versus.index.get_level_values("row")        # no paper row to compare with
    appendix = made["table6_vs_paper"].set_index(["row", "cell"])
    assert "repeats" in appendix.loc[("Compliance-Reasoner-GRPO", "Avg"), "note"]
    assert appendix.loc[("Compliance-Reasoner-SFT", "Avg"), "note"] == ""
    assert appendix.loc[("Qwen2.5-7B-Instruct", "Avg"), "paper"] == 59.74


def test_gains_are_paired_per_law_and_overall(project, tmp_path, root):
    cfg, results = project
    for law in cfg["laws"]:
        for model, every in zip(cfg["evaluate"]["models"], (1, 2, 3, 1, 1, 2, 1, 2)):
            write_fake_predictions(cfg, results, model, law, every)
    gains = evaluation.gains_table(cfg, results)
    assert set(gains["comparison"]) == {"SFT vs base", "GRPO vs SFT", "GRPO vs base"}
    assert set(gains["law"]) == {"EU AI Act", "GDPR", "both laws"}
    assert len(gains) == 2 * 3 * 3                                  # two bases, three gains, three scopes
    pick = lambda comparison, law: gains[(gains["base"] == "Tiny") & (gains["comparison"] == comparison)
                                         & (gains["law"] == law)].iloc[0]
    # tiny and tiny-sft are right on every case but the unparsed one; tiny-grpo on every other case
    base = evaluation.scored(cfg, "tiny", "gdpr", results)["correct"].to_numpy()
    grpo = evaluation.scored(cfg, "tiny-grpo", "gdpr", results)["correct"].to_numpy()
    row = pick("GRPO vs base", "GDPR")
    assert row["n"] == 6 and row["gain"] == pytest.approx(100 * (grpo.sum() - base.sum()) / 6)
    discordant = (int((grpo & ~base).sum()), int((base & ~grpo).sum()))
    assert discordant == (0, 2) and (row["after_only_right"], row["before_only_right"]) == discordant
    assert row["p_value"] == pytest.approx(binomtest(0, 2, 0.5).pvalue)
    assert row["reading"].startswith("not distinguishable from zero at n = 6")
    same = pick("SFT vs base", "GDPR")
    assert same["gain"] == 0.0 and same["p_value"] == 1.0                 # no discordant case: nothing to test
    assert pick("GRPO vs base", "both laws")["n"] == 12


def test_tables_refuse_a_partial_prediction_file(project, tmp_path, root):
    cfg, results = project
    cfg["evaluate"]["models"] = ["tiny"]
    for law in cfg["laws"]:
        write_fake_predictions(cfg, results, "tiny", law, 1)
    path = evaluation.predictions_path(results, "gdpr", "tiny")
    write_jsonl(path, read_jsonl(path)[:-1], sort_key="case_id")
    with pytest.raises(ValueError, match="have no prediction"):
        evaluation.build_tables(cfg, results, tmp_path / "tables", load_paper_results(root / "config/paper_results.yaml"))


@pytest.mark.slow
def test_evaluate_end_to_end_on_the_tiny_model(project):
    cfg, results = project
    for model in ("tiny-sft", "tiny-guard", "sap-tiny"):
        out = evaluation.evaluate_model(cfg, model, "gdpr", results)
        rows = read_jsonl(out)
        assert out == evaluation.predictions_path(results, "gdpr", model)
        assert [r["case_id"] for r in rows] == [c["id"] for c in evaluation.test_cases(cfg, "gdpr", results)]
        assert all(r["model"] == model and r["verdict"] in (None, "prohibited", "permitted") for r in rows)
    generated = read_jsonl(evaluation.predictions_path(results, "gdpr", "tiny-sft"))
    assert all(0 < r["completion_tokens"] <= 8 and r["prompt_tokens"] > 0 for r in generated)
    summary = evaluation.summary_table({**cfg, "evaluate": {**cfg["evaluate"], "models": ["tiny-sft"]}},
                                ["tiny-sft"], ["gdpr"], results)
    assert isinstance(summary, pd.DataFrame) and summary.loc[("gdpr", "tiny-sft"), "n"] == 6


def test_stale_prediction_files_are_redone(project, monkeypatch):
    cfg, results = project
    cfg["evaluate"]["models"] = ["tiny"]
    write_fake_predictions(cfg, results, "tiny", "gdpr", 1)
    redone = []
    monkeypatch.setattr(evaluation, "evaluate_model", lambda cfg, model, law, results_dir: redone.append(law))
    assert evaluation.ensure_predictions(cfg, ["tiny"], ["gdpr"], results) == []      # covers the selection
    cfg["evaluate"]["max_cases"] = 5                                           # the sample changed
    evaluation.ensure_predictions(cfg, ["tiny"], ["gdpr"], results)
    assert redone == ["gdpr"]


def test_privaci_table_reports_macro_f1_and_wilson_cells():
    from safety_compliance.metrics import join
    from safety_compliance.evaluate.privaci_cases import privaci_table

    cases = [{"id": f"p{i}", "chapter": None, "label": "prohibited" if i < 2 else "permitted"} for i in range(4)]
    verdicts = ["prohibited", None, "prohibited", "permitted"]          # 2 of 4 right, one unparsed
    frame = join(cases, [{"case_id": f"p{i}", "verdict": v} for i, v in enumerate(verdicts)])
    table, cells = privaci_table({("tiny-grpo", "gdpr"): frame}, {"tiny-grpo": "Compliance-Reasoner-GRPO"})
    row = table.loc["Compliance-Reasoner-GRPO"]
    assert row["GDPR acc"] == 50.0 and row["GDPR unparsed"] == 25.0
    # prohibited: TP 1, FP 1, FN 1 -> 1/2; permitted: TP 1, FP 0, FN 1 -> 2/3
    assert row["GDPR F1 prohibited"] == pytest.approx(50.0)
    assert row["GDPR macro-F1"] == pytest.approx(100 * (1 / 2 + 2 / 3) / 2)
    cell = cells.iloc[0]
    assert (cell["model"], cell["law"], cell["n"], cell["correct"]) == ("Compliance-Reasoner-GRPO", "gdpr", 4, 2)
    expected = binomtest(2, 4).proportion_ci(method="wilson")
    assert (cell["ci_low"], cell["ci_high"]) == pytest.approx((100 * expected.low, 100 * expected.high))
