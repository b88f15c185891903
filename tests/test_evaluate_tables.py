"""The evaluation stage on a fixture benchmark: prediction files, Tables 3/4 (6/7) and the comparison
with the paper, and one end-to-end run of the real hf backend and the SaP guard on the tiny model."""

from __future__ import annotations

import math
import shutil

import pandas as pd
import pytest
import yaml

from safety_compliance.config import load_config
from safety_compliance.evaluate import run
from safety_compliance.evaluate.paper_tables import load_paper_results, paper_table, table_specs
from safety_compliance.jsonl import read_jsonl, write_jsonl


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
    for i, case in enumerate(run.test_cases(cfg, law, results)):
        wrong = "permitted" if case["label"] == "prohibited" else "prohibited"
        verdict = case["label"] if i % right_every == 0 else wrong
        rows.append({"case_id": case["id"], "model": model, "raw": "", "verdict": None if i == 1 else verdict,
                     "chapter_pred": None, "prompt_tokens": 5, "completion_tokens": 3})
    write_jsonl(run.predictions_path(results, law, model), rows, sort_key="case_id")


def test_case_selection_is_seeded_and_shared():
    cases = fixture_cases("gdpr", "test", 20)
    first = run.select_cases(cases, 5, seed=3)
    assert first == run.select_cases(list(reversed(cases)), 5, seed=3)
    assert [c["id"] for c in first] == sorted(c["id"] for c in first)
    assert run.select_cases(cases, None) == sorted(cases, key=lambda c: c["id"])


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
    made = run.build_tables(cfg, results, tmp_path / "tables", load_paper_results(root / "config/paper_results.yaml"))
    assert set(made) == {"table3", "table4", "table6", "table7", "table3_vs_paper", "table4_vs_paper",
                         "table6_vs_paper", "table7_vs_paper", "eval_summary"}
    for stem in ("table3", "table3_vs_paper", "table7", "eval_summary"):
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
    versus = made["table3_vs_paper"]
    assert versus.loc["Llama-Guard-3-8B", "Avg diff"] == pytest.approx(
        table3.loc["Llama-Guard-3-8B", "Avg"] - 48.34)
    assert "Tiny" not in versus.index                          # no paper row to compare with
    summary = made["eval_summary"]
    assert summary.loc[("gdpr", "tiny"), "unparsed_rate"] == pytest.approx(100 / 6)
    assert summary.loc[("gdpr", "tiny"), "n"] == 6


def test_tables_refuse_a_partial_prediction_file(project, tmp_path, root):
    cfg, results = project
    cfg["evaluate"]["models"] = ["tiny"]
    for law in cfg["laws"]:
        write_fake_predictions(cfg, results, "tiny", law, 1)
    path = run.predictions_path(results, "gdpr", "tiny")
    write_jsonl(path, read_jsonl(path)[:-1], sort_key="case_id")
    with pytest.raises(ValueError, match="have no prediction"):
        run.build_tables(cfg, results, tmp_path / "tables", load_paper_results(root / "config/paper_results.yaml"))


@pytest.mark.slow
def test_evaluate_end_to_end_on_the_tiny_model(project):
    cfg, results = project
    for model in ("tiny-sft", "tiny-guard", "sap-tiny"):
        out = run.evaluate_model(cfg, model, "gdpr", results)
        rows = read_jsonl(out)
        assert out == run.predictions_path(results, "gdpr", model)
        assert [r["case_id"] for r in rows] == [c["id"] for c in run.test_cases(cfg, "gdpr", results)]
        assert all(r["model"] == model and r["verdict"] in (None, "prohibited", "permitted") for r in rows)
    generated = read_jsonl(run.predictions_path(results, "gdpr", "tiny-sft"))
    assert all(0 < r["completion_tokens"] <= 8 and r["prompt_tokens"] > 0 for r in generated)
    summary = run.summary_table({**cfg, "evaluate": {**cfg["evaluate"], "models": ["tiny-sft"]}},
                                ["tiny-sft"], ["gdpr"], results)
    assert isinstance(summary, pd.DataFrame) and summary.loc[("gdpr", "tiny-sft"), "n"] == 6


def test_stale_prediction_files_are_redone(project, monkeypatch):
    cfg, results = project
    cfg["evaluate"]["models"] = ["tiny"]
    write_fake_predictions(cfg, results, "tiny", "gdpr", 1)
    redone = []
    monkeypatch.setattr(run, "evaluate_model", lambda cfg, model, law, results_dir: redone.append(law))
    assert run.ensure_predictions(cfg, ["tiny"], ["gdpr"], results) == []      # covers the selection
    cfg["evaluate"]["max_cases"] = 5                                           # the sample changed
    run.ensure_predictions(cfg, ["tiny"], ["gdpr"], results)
    assert redone == ["gdpr"]
