"""Extrapolation jobs end to end: samples -> allocation -> cases -> classification -> Figures 2-3 and
Tables 5, 8. With a scripted generator (our own logic) and, marked slow, the real hf backend on the
tiny random model."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from safety_compliance.config import load_config
from safety_compliance.extrapolate import jobs
from safety_compliance.extrapolate.cases import CASE_FIELDS, case_schema, generate_cases, parse_completion
from safety_compliance.extrapolate.summary import write_kit, write_outputs
from safety_compliance.extrapolate.tables import table5
from safety_compliance.jsonl import read_jsonl
from safety_compliance.llm.types import Completion

GOOD_CASE = {
    "parties_involved": "A retailer (deployer) and its customers.",
    "factual_background": "A retailer runs a chatbot that answers questions about orders and returns; "
                          "it keeps chat logs for ninety days and shows no notice that users talk to a machine.",
    "legal_issues": "Whether Article 50 transparency duties are met.",
    "arguments": "The retailer says users are told; a customer says the notice is hidden.",
    "jurisdiction": "Germany",
}


class ScriptedGenerator:
    """Answers by prompt kind: a chapter, a case (or a broken one), or a verdict."""

    model_id = "scripted"

    def __init__(self, broken_every: int = 0):
        self.broken_every = broken_every
        self.calls = 0

    def generate(self, requests, *, desc=""):
        out = []
        for request in requests:
            prompt = request.messages[-1]["content"]
            self.calls += 1
            if "Which one chapter" in prompt:
                text = '<think>short</think>\\boxed{"result": "Chapter II"}' if self.calls % 3 else "no idea"
            elif "five string fields" in prompt:
                broken = self.broken_every and self.calls % self.broken_every == 0
                text = '{"parties_involved": "A"' if broken else json.dumps(GOOD_CASE)
                out.append(Completion(text=text, finish_reason="length" if broken else "stop",
                                      prompt_tokens=10, completion_tokens=20))
                continue
            else:
                text = "<think>hm</think> Summary. \\boxed{prohibited}"
            out.append(Completion(text=text, finish_reason="stop", prompt_tokens=10, completion_tokens=5))
        return out


def test_parse_completion_reasons():
    assert parse_completion(Completion(text=json.dumps(GOOD_CASE), finish_reason="stop")) == (GOOD_CASE, None)
    assert parse_completion(Completion(text='{"a": 1', finish_reason="length"))[1].startswith("truncated:")
    assert parse_completion(Completion(text="[1]", finish_reason="stop"))[1].startswith("not_object:")
    assert parse_completion(Completion(text="", finish_reason="error", error="boom"))[1] == "generation_failed: boom"
    schema = case_schema(50)
    assert schema["required"] == list(CASE_FIELDS)
    assert schema["properties"]["jurisdiction"]["maxLength"] == 50
    # a ceiling never undercuts the benchmark's floor
    floor = schema["properties"]["factual_background"]["minLength"]
    assert case_schema(10)["properties"]["factual_background"]["maxLength"] == floor


def test_generate_cases_labels_and_rejections():
    samples = [{"id": f"d/{i:05d}", "text": "how to hack a bank", "label": "unsafe" if i % 2 else "safe"}
               for i in range(6)]
    chapters = {"d/00001": 2, "d/00002": None}
    seen = []

    def validate(case, law):
        seen.append(case["id"])
        return ["leak_law_name: the facts name the law"] if case["seed_id"] == "d/00005" else []

    cases, report = generate_cases(samples, chapters, "eu_ai_act", "d", ScriptedGenerator(broken_every=4),
                                   validate=validate)
    labels = {c["seed_id"]: c["label"] for c in cases}
    assert all(labels[s["id"]] == ("prohibited" if s["label"] == "unsafe" else "permitted")
               for s in samples if s["id"] in labels)
    assert report["requested"] == 6 and report["produced"] == len(cases) == 4
    assert report["rejected"] == 2
    assert report["rejected_by_reason"] == {"leak_law_name": 1, "truncated": 1}
    assert next(c for c in cases if c["seed_id"] == "d/00001")["chapter"] == 2
    assert all(c["law"] == "eu_ai_act" and c["split"] == "test" for c in cases)
    with pytest.raises(ValueError, match="labelled None"):
        generate_cases([{"id": "x", "text": "t", "label": None}], {}, "gdpr", "d", ScriptedGenerator())


def test_the_benchmarks_validation_judges_the_cases():
    """No stand-in here: the benchmark's own leak check and field bounds decide."""
    leaking = {**GOOD_CASE, "factual_background": GOOD_CASE["factual_background"] + " This breaches the GDPR."}

    class Fixed:
        model_id = "fixed"

        def generate(self, requests, *, desc=""):
            texts = [json.dumps(GOOD_CASE), json.dumps(leaking), json.dumps({**GOOD_CASE, "arguments": ""})]
            return [Completion(text=t, finish_reason="stop") for t in texts]

    samples = [{"id": f"d/{i:05d}", "text": "sample", "label": "safe"} for i in range(3)]
    cases, report = generate_cases(samples, {}, "gdpr", "d", Fixed())
    assert [c["seed_id"] for c in cases] == ["d/00000"]
    assert report["rejected_by_reason"] == {"leak_law_name": 1, "empty_field": 1}


def test_table5_layout_beside_paper():
    rows = pd.DataFrame([
        {"law": "eu_ai_act", "group": "general", "model": "M", "dataset": "aegis1", "n": 4, "acc": 50.0, "f1": 40.0,
         "unparsed": 0.0},
        {"law": "eu_ai_act", "group": "general", "model": "M", "dataset": "wildguard", "n": 4, "acc": 75.0,
         "f1": 70.0, "unparsed": 0.0},
    ])
    paper = yaml.safe_load(Path("config/paper_results.yaml").read_text())
    frame = table5(rows, ["aegis1", "wildguard"], paper)
    assert list(frame.columns) == [("Aegis 1.0", "Acc"), ("Aegis 1.0", "F1"), ("WildGuardTest", "Acc"),
                                   ("WildGuardTest", "F1")]
    assert frame.loc[("EU AI Act", "this run", "General Purpose Models", "M")].tolist() == [50.0, 40.0, 75.0, 70.0]
    # the paper's Aegis column is Aegis 2.0; only the EU AI Act rows come along (the run had no GDPR)
    qwen = frame.loc[("EU AI Act", "paper", "General Purpose Models", "Qwen3-8B")]
    assert qwen.tolist() == [73.75, 72.79, 74.93, 74.22]
    assert "GDPR" not in frame.index.get_level_values("Law")


def _config(tmp_path: Path, root: Path, registry: dict | None = None, **extrapolate) -> dict:
    overrides = {"llm": {"cache": str(tmp_path / "cache.sqlite"), "usage_dir": str(tmp_path / "usage"),
                         "progress": False},
                 "extrapolate": {"samples_per_dataset": 2, **extrapolate}}
    if registry is not None:
        models = tmp_path / "models.yaml"
        models.write_text(yaml.safe_dump(registry))
        overrides["models_file"] = str(models)
        overrides["train"] = {"students": [next(iter(registry))]}
    return load_config(root / "config/config.yaml", overrides, root=root)


def test_jobs_and_outputs_with_a_scripted_model(tmp_path, root, resources):
    cfg = _config(tmp_path, root, datasets=["aegis1", "openai_mod"], classifiers=["smollm2-135m-instruct"])
    results = tmp_path / "results"
    gen = ScriptedGenerator()
    for dataset in cfg["extrapolate"]["datasets"]:
        report = jobs.prepare_samples(cfg, dataset, results)
        assert report["used"] == {"safe": 1, "unsafe": 1}
        for law in cfg["laws"]:
            rows = jobs.run_allocation(cfg, dataset, law, results, gen)
            assert len(rows) == 2
            jobs.run_cases(cfg, dataset, law, results, gen)
    jobs.run_classifier(cfg, "smollm2-135m-instruct", results, gen)
    preds = read_jsonl(results / "extrapolate/aegis1/gdpr/predictions/smollm2-135m-instruct.jsonl")
    assert {p["verdict"] for p in preds} == {"prohibited"}

    out = write_outputs(cfg, results, tmp_path / "figs")
    for name in ("figure2.pdf", "figure2.png", "figure3.pdf", "figure3.png"):
        assert (tmp_path / "figs" / name).stat().st_size > 1000
    t8 = out["table8"].set_index("Dataset")
    assert t8.loc["OpenAI Moderation", "Safe (filtered)"] == 1143          # the config caps at 800 tokens
    assert t8.loc["OpenAI Moderation", "Paper safe"] == 1142
    assert t8.loc["Aegis 1.0", "Paper dataset"] == "Aegis-2.0"
    missing = out["missing"].set_index("Dataset")
    assert set(missing["Paper missing %"]) == {19.86, 16.19}
    # the scripted model answers "no idea" on every third call: those count as missing
    all_missing = [r["chapter"] is None for d in ("aegis1", "openai_mod") for law in cfg["laws"]
                   for r in read_jsonl(results / f"extrapolate/{d}/{law}/allocation.jsonl")]
    assert missing["Missing % (both)"].mean() == pytest.approx(
        100 * sum(all_missing) / len(all_missing))
    t5 = out["table5"]
    run = t5.xs("this run", level="Source")
    # the scripted classifier always says prohibited: accuracy is the unsafe share (1 of 2 cases)
    assert (run.xs("Acc", axis=1, level=1) == 50.0).all().all()
    for table in ("table5", "table8", "extrapolate_missing_rates", "extrapolate_cases"):
        assert (results / "tables" / f"{table}.md").is_file()
    kit = write_kit(cfg, results)
    assert kit["sheet"].read_text().count("\n") == 1 + len(read_jsonl(kit["cases"])) == 1 + 8


def test_missing_student_fails_clearly(tmp_path, root):
    cfg = _config(tmp_path, root)
    with pytest.raises(FileNotFoundError, match="no trained model at .*grpo/final"):
        jobs.model_entry(cfg, jobs.role_model(cfg, "allocator"), tmp_path / "nowhere")


def test_prefetched_sends_one_batch():
    class Counting(ScriptedGenerator):
        batches: list[int] = []

        def generate(self, requests, *, desc=""):
            self.batches.append(len(requests))
            return super().generate(requests, desc=desc)

    inner = Counting()
    batched = jobs.Prefetched(inner)
    samples = [{"id": f"d/{i:05d}", "dataset": "d", "text": f"sample {i}", "label": "safe"} for i in range(5)]
    requests = jobs.allocation_requests(samples, "gdpr")
    batched.prefetch(requests + requests[:2])                    # duplicates are asked once
    first = batched.generate(requests[:3])
    rest = batched.generate(requests[3:])
    assert inner.batches == [5]
    assert [c.text for c in first + rest] == [c.text for c in batched.generate(requests)]


@pytest.mark.slow
def test_the_stage_on_the_tiny_model(tmp_path, root, resources, tiny_model):
    """The real hf backend end to end (allocation, cases, classification, figures, tables): the regex
    constraint holds even for a random model, and the benchmark's validation judges the cases."""
    registry = {"tiny": {"model": str(tiny_model), "backend": "hf", "family": "compliance", "batch_size": 8}}
    cfg = _config(tmp_path, root, registry, datasets=["wildguard"], allocator="tiny", case_writer="tiny",
                  classifiers=["tiny"], max_tokens={"allocate": 48, "case": 160, "classify": 16}, think_chars=0,
                  case_field_max_chars=8)
    results = tmp_path / "results"
    jobs.run_stage(cfg, results)
    for law, last in (("eu_ai_act", 13), ("gdpr", 11)):
        rows = read_jsonl(results / f"extrapolate/wildguard/{law}/allocation.jsonl")
        assert len(rows) == 2
        for row in rows:
            # a finished answer under the regex names one of the law's chapters or None
            assert row["chapter"] is None or 1 <= row["chapter"] <= last
            if row["error"] is None:
                assert row["answer"] is not None
        report = json.loads((results / f"extrapolate/wildguard/{law}/case_report.json").read_text())
        assert report["requested"] == 2 and report["produced"] + report["rejected"] == 2
        cases = read_jsonl(results / f"extrapolate/wildguard/{law}/cases.jsonl")
        assert all(set(CASE_FIELDS) <= set(c) and c["label"] in ("prohibited", "permitted") for c in cases)
        preds = read_jsonl(results / f"extrapolate/wildguard/{law}/predictions/tiny.jsonl")
        assert [p["case_id"] for p in preds] == [c["id"] for c in cases]
    out = write_outputs(cfg, results, tmp_path / "figs")
    assert {p.name for p in out["figures"]} == {"figure2.pdf", "figure2.png", "figure3.pdf", "figure3.png"}
    assert out["table8"].loc[0, "Safe (used)"] == 1
