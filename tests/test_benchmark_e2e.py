"""The whole stage (synthesis -> split -> distillation -> kit, judge and Table 1) on the real hf
backend with the tiny random model as teacher and judge: every request ends up counted."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml
from benchmark_fakes import seed_records

from safety_compliance.benchmark.benchmark import run_distillation, run_human_eval, run_synthesis
from safety_compliance.benchmark.regeneration import BelowFloor
from safety_compliance.config import load_config
from safety_compliance.jsonl import read_jsonl, write_jsonl


@pytest.mark.slow
def test_stage_end_to_end_on_the_tiny_model(tiny_model, tmp_path):
    models = tmp_path / "models.yaml"
    models.write_text(yaml.safe_dump({"tiny": {"model": str(tiny_model), "backend": "hf", "batch_size": 8}}))
    loose = {name: [1, 5000] for name in ("parties_involved", "factual_background", "legal_issues", "arguments",
                                         "jurisdiction")}
    cfg = load_config("config/config.yaml", {
        "models_file": str(models), "teacher": "tiny",
        "llm": {"cache": str(tmp_path / "cache.sqlite"), "usage_dir": str(tmp_path / "usage"), "progress": False},
        "benchmark": {"seeds_per_law": 2, "max_tokens": 96, "max_attempts": 2, "field_chars": loose,
                      "min_produced_rate": 0.0},
        "distill": {"max_tokens": 32, "max_attempts": 1, "min_reasoning_chars": 1, "min_kept_rate": 0.0},
        "human_eval": {"judge": "tiny", "judge_max_tokens": 24, "cases_per_law": 2,
                       "ratings_dir": str(tmp_path / "no-sheets")}})
    law = "gdpr"
    write_jsonl(tmp_path / "law" / law / "seeds.jsonl", seed_records(law, chapters=(1, 2, 3, 4)))
    bench = tmp_path / "benchmark" / law
    try:
        report = run_synthesis(cfg, law, tmp_path / "law" / law / "seeds.jsonl", bench)
    except BelowFloor:   # a random teacher rarely writes a valid pair; the stage stops, its report written
        report = json.loads((bench / "synthesis_report.json").read_text())

    assert report["teacher"] == "tiny" and report["seeds"] == 2 and report["requested"] == 4
    assert report["produced"] + report["rejected"] == report["requested"]
    assert sum(report["rejected_by_reason"].values()) == report["rejected"]
    # Only the stage's own loop retries: one model call per answer it judged, none hidden inside.
    assert report["tokens"]["this_run"]["model_calls"] == report["tokens"]["answers"] >= report["requested"]
    rejected = read_jsonl(bench / "rejected.jsonl")
    assert len(rejected) == report["rejected"] + report["unpaired"]
    cases = read_jsonl(bench / "cases.jsonl")
    assert len(cases) == 2 * report["pairs"] == report["produced"] - report["unpaired"]
    usage = json.loads((tmp_path / "usage" / "synthesize.json").read_text())
    assert usage["models"]["tiny"]["completion_tokens"] > 0

    # Distillation reads the train split; the random teacher rarely argues for the gold label, and
    # whatever it does is counted.
    train = read_jsonl(bench / "train.jsonl")
    if not train:   # no pair survived: distil the hand-written cases of the same seeds instead
        train = [{"id": f"{s['id']}/permitted", "law": law, "seed_id": s["id"], "chapter": s["chapter"],
                  "article": s["article"], "label": "permitted", "factual_background": "A shop films its visitors.",
                  "split": "train"} for s in read_jsonl(tmp_path / "law" / law / "seeds.jsonl")[:2]]
        write_jsonl(bench / "train.jsonl", train)
        cases = train
        write_jsonl(bench / "cases.jsonl", cases)
    try:
        distilled = run_distillation(cfg, law, bench / "train.jsonl", tmp_path / "law" / law / "seeds.jsonl",
                                     tmp_path / "distill" / law)
    except BelowFloor:
        distilled = json.loads((tmp_path / "distill" / law / "distill_report.json").read_text())
    assert distilled["kept"] + distilled["rejected"] == len(train)
    assert distilled["tokens"]["this_run"]["model_calls"] == distilled["tokens"]["answers"]
    for record in read_jsonl(tmp_path / "distill" / law / "sft.jsonl"):
        assert [m["role"] for m in record["messages"]] == ["user", "assistant"]
        assert record["messages"][1]["content"].startswith("<think>")

    human = run_human_eval(cfg, [law], tmp_path, tmp_path / "tables")
    assert human["human_annotators"] == [] and human["model_raters"] in ([], ["model: tiny"])
    assert human["judge"]["cases"] == min(2, len(cases))
    table = pd.read_csv(tmp_path / "tables" / "table1.csv")
    assert set(table["Annotator"]) <= {"model: tiny"}
    assert "LLM judge only" in (tmp_path / "tables" / "table1.md").read_text() or table.empty
    assert (tmp_path / "human_eval" / "kit" / "annotate.html").is_file()
