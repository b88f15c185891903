"""Extrapolation jobs end to end: samples -> allocation -> cases -> classification -> Figures 2-3 and
Tables 5, 8. With a scripted generator (our own logic) and, marked slow, the real hf backend on the
tiny random model."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest
import yaml

from safety_compliance.config import load_config
from safety_compliance.extrapolate import extrapolate as extrapolation
from safety_compliance.extrapolate.case_writer import (CASE_FIELDS, case_requests, case_schema, generate_cases,
                                                       parse_completion, parse_markdown_case)
from safety_compliance.extrapolate.dataset_tables import table5, table5_cells, table5_intervals, table5_vs_paper
from safety_compliance.extrapolate.extrapolate import write_kit, write_outputs
from safety_compliance.jsonl import read_jsonl
from safety_compliance.llm.types import Completion
from safety_compliance.registry import role_model

GOOD_CASE = {
    "parties_involved": "A retailer (deployer) and its customers.",
    "factual_background": "A retailer runs a chatbot that answers questions about orders and returns; "
                          "it keeps chat logs for ninety days and shows no notice that users talk to a machine.",
    "legal_issues": "Whether Article 50 transparency duties are met.",
    "arguments": "The retailer says users are told; a customer says the notice is hidden.",
    "jurisdiction": "Germany",
}


MARKDOWN_CASE = (f"<think>Draft the case.</think>\n## Parties Involved\n{GOOD_CASE['parties_involved']}\n\n"
                 f"**Factual Background**\n{GOOD_CASE['factual_background']}\n\n## Legal Analysis\n"
                 f"### Legal Issues\n{GOOD_CASE['legal_issues']}\n### Arguments\n{GOOD_CASE['arguments']}\n\n"
                 f"**Jurisdiction:** {GOOD_CASE['jurisdiction']}\n")


class ScriptedGenerator:
    """Answers by prompt kind: a chapter (either procedure), a case (JSON or Markdown, or a broken
    one), or a verdict."""

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
            elif "Which chapter of the" in prompt:       # the paper's procedure: free text, no None offered
                text = ('<think>It is about data.</think> \\boxed{"result": "Chapter III"}' if self.calls % 3
                        else '<think>Hard to say.</think> \\boxed{"result": "Chapter XX"}')
            elif "Write the case in Markdown" in prompt:
                broken = self.broken_every and self.calls % self.broken_every == 0
                text = MARKDOWN_CASE.replace("### Arguments", "### Other") if broken else MARKDOWN_CASE
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
    json_case = lambda text, finish="stop", error=None: parse_completion(
        Completion(text=text, finish_reason=finish, error=error), "constrained")
    assert json_case(json.dumps(GOOD_CASE)) == (GOOD_CASE, None)
    assert json_case('{"a": 1', "length")[1].startswith("truncated:")
    assert json_case("[1]")[1].startswith("not_object:")
    assert json_case("", "error", "boom")[1] == "generation_failed: boom"
    assert parse_completion(Completion(text=MARKDOWN_CASE, finish_reason="stop")) == (GOOD_CASE, None)
    assert parse_completion(Completion(text=MARKDOWN_CASE, finish_reason="length"))[1].startswith("truncated:")
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
                                   validate=validate, procedure="constrained")
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


def test_the_papers_procedure_writes_markdown_from_the_sample_alone():
    samples = [{"id": f"d/{i:05d}", "text": "how to hack a bank", "label": "unsafe" if i % 2 else "safe"}
               for i in range(4)]
    requests = case_requests(samples, {"d/00001": 2}, "gdpr", procedure="paper", max_chars=50)
    assert all(r.constraint is None and r.avoid == () for r in requests)   # decoded freely
    ours = case_requests(samples, {}, "gdpr", procedure="constrained", max_chars=50)
    assert all(r.avoid == ("GDPR", "General Data Protection Regulation", "Regulation (EU) 2016/679", "2016/679")
               for r in ours)
    prompt = "\n".join(m["content"] for m in requests[1].messages)
    assert "how to hack a bank" in prompt and "## Factual Background" in prompt and "### Legal Issues" in prompt
    for hint in ("prohibited", "permitted", "unsafe", "Annotators", "Chapter II", "JSON"):
        assert hint not in prompt                                       # no label, no chapter, no JSON
    cases, report = generate_cases(samples, {"d/00001": 2}, "gdpr", "d", ScriptedGenerator(broken_every=3),
                                   procedure="paper")
    assert report["procedure"] == "paper" and report["requested"] == 4
    assert report["rejected_by_reason"] == {"missing_section": 1} and len(cases) == 3
    case = next(c for c in cases if c["seed_id"] == "d/00001")
    assert {k: case[k] for k in CASE_FIELDS} == GOOD_CASE              # the Markdown, parsed into our record
    assert case["label"] == "prohibited" and case["chapter"] == 2 and case["procedure"] == "paper"


@pytest.mark.parametrize("text, reason", [
    (MARKDOWN_CASE, None),
    ("## Parties Involved\nA bank.\n## Factual Background\nFacts.", "missing_section"),
    (MARKDOWN_CASE + "\n## Jurisdiction\nFrance", "repeated_section"),
    (MARKDOWN_CASE.replace(GOOD_CASE["arguments"], ""), "missing_section"),
    ("The case: a bank hacks itself.", "missing_section"),
])
def test_markdown_cases_are_parsed_or_rejected_with_a_reason(text, reason):
    fields, why = parse_markdown_case(text)
    if reason is None:
        assert why is None and fields == GOOD_CASE
    else:
        assert fields is None and why.startswith(reason + ":")


def test_an_unknown_procedure_is_named():
    with pytest.raises(ValueError, match="extrapolate.procedure must be one of"):
        case_requests([{"id": "x", "text": "t", "label": "safe"}], {}, "gdpr", procedure="free")


def test_the_benchmarks_validation_judges_the_cases():
    """No stand-in here: the benchmark's own leak check and field bounds decide."""
    leaking = {**GOOD_CASE, "factual_background": GOOD_CASE["factual_background"] + " This breaches the GDPR."}

    class Fixed:
        model_id = "fixed"

        def generate(self, requests, *, desc=""):
            texts = [json.dumps(GOOD_CASE), json.dumps(leaking), json.dumps({**GOOD_CASE, "arguments": ""})]
            return [Completion(text=t, finish_reason="stop") for t in texts]

    samples = [{"id": f"d/{i:05d}", "text": "sample", "label": "safe"} for i in range(3)]
    cases, report = generate_cases(samples, {}, "gdpr", "d", Fixed(), procedure="constrained")
    assert [c["seed_id"] for c in cases] == ["d/00000"]
    assert report["rejected_by_reason"] == {"leak_law_name": 1, "empty_field": 1}


SCORES = pd.DataFrame([
    {"law": "eu_ai_act", "group": "general", "model": "Qwen3-8B", "dataset": "aegis1", "n": 4, "correct": 2,
     "acc": 50.0, "ci_low": 15.0, "ci_high": 85.0, "f1_macro": 40.0, "f1_prohibited": 66.67, "unparsed": 0.0},
    {"law": "eu_ai_act", "group": "general", "model": "Qwen3-8B", "dataset": "wildguard", "n": 4, "correct": 3,
     "acc": 75.0, "ci_low": 30.0, "ci_high": 95.0, "f1_macro": 70.0, "f1_prohibited": 80.0, "unparsed": 25.0},
])


def test_table5_layout_with_macro_f1_and_n():
    frame = table5(SCORES, ["aegis1", "wildguard"])
    assert list(frame.columns) == [(d, m) for d in ("Aegis 1.0", "WildGuardTest")
                                   for m in ("n", "Acc", "macro-F1", "F1 prohibited")]
    assert frame.loc[("EU AI Act", "General Purpose Models", "Qwen3-8B")].tolist() == [
        4, 50.0, 40.0, 66.67, 4, 75.0, 70.0, 80.0]
    intervals = table5_intervals(SCORES, ["aegis1", "wildguard"])
    assert intervals.iloc[0].tolist() == ["[15.0, 85.0]", "[30.0, 95.0]"]
    cells = table5_cells(SCORES)
    assert list(cells.columns) == ["law", "model", "dataset", "n", "correct", "accuracy", "ci_low", "ci_high",
                                   "f1_macro", "f1_prohibited", "unparsed"]


def test_table5_beside_the_paper_marks_the_stand_in():
    paper = yaml.safe_load(Path("config/paper_results.yaml").read_text())
    versus = table5_vs_paper(SCORES, paper).set_index(["row", "cell"])
    wild = versus.loc[("EU AI Act / Qwen3-8B", "Wildguard Acc")]
    assert wild["paper"] == 74.93 and wild["difference"] == round(75.0 - 74.93, 2) and wild["ci_low"] == 30.0
    assert versus.loc[("EU AI Act / Qwen3-8B", "Wildguard macro-F1"), "paper"] == 74.22
    aegis = versus.loc[("EU AI Act / Qwen3-8B", "Aegis-2.0 Acc")]
    assert aegis["paper"] == 73.75 and math.isnan(aegis["difference"])
    assert "Aegis 1.0 stands in for the paper's Aegis-2.0" in aegis["note"]
    assert not any(r.startswith("GDPR") for r, _ in versus.index)     # the run had no GDPR rows


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


@pytest.mark.parametrize("procedure", ["constrained", "paper"])
def test_jobs_and_outputs_with_a_scripted_model(tmp_path, root, resources, procedure):
    cfg = _config(tmp_path, root, datasets=["aegis1", "openai_mod"], classifiers=["smollm2-135m-instruct"],
                  procedure=procedure)
    results = tmp_path / "results"
    gen = ScriptedGenerator()
    for dataset in cfg["extrapolate"]["datasets"]:
        report = extrapolation.prepare_samples(cfg, dataset, results)
        assert report["used"] == {"safe": 1, "unsafe": 1}
        for law in cfg["laws"]:
            rows = extrapolation.run_allocation(cfg, dataset, law, results, gen)
            assert len(rows) == 2
            extrapolation.run_cases(cfg, dataset, law, results, gen)
    extrapolation.run_classifier(cfg, "smollm2-135m-instruct", results, gen)
    preds = read_jsonl(results / "extrapolate/aegis1/gdpr/predictions/smollm2-135m-instruct.jsonl")
    assert {p["verdict"] for p in preds} == {"prohibited"}

    out = write_outputs(cfg, results, tmp_path / "figs")
    for name in ("figure2.pdf", "figure2.png", "figure3.pdf", "figure3.png"):
        assert (tmp_path / "figs" / name).stat().st_size > 1000
    t8 = out["table8"].set_index("Dataset")
    assert t8.loc["OpenAI Moderation", "Safe (filtered)"] == 1143          # the config caps at 800 tokens
    assert t8.loc["OpenAI Moderation", "Paper safe"] == 1142
    assert t8.loc["Aegis 1.0", "Paper dataset"] == "Aegis-2.0"
    versus8 = out["table8_vs_paper"].set_index(["row", "cell"])
    assert versus8.loc[("OpenAI Mod", "safe"), "difference"] == 1
    assert "stands in for the paper's Aegis-2.0" in versus8.loc[("Aegis-2.0", "safe"), "note"]
    missing = out["missing"].set_index("Dataset")
    assert set(missing["Paper missing %"]) == {19.86, 16.19}
    if procedure == "constrained":
        assert set(missing["Procedure"]) == {"constrained (ours)"}
        assert all("counts chosen Nones" in note for note in missing["Note"])
    else:
        assert set(missing["Procedure"]) == {"paper"} and missing.loc["OpenAI Moderation", "Note"] == ""
        assert "stands in" in missing.loc["Aegis 1.0", "Note"]
    # the scripted model names no valid chapter on every third call: those count as missing
    all_missing = [r["chapter"] is None for d in ("aegis1", "openai_mod") for law in cfg["laws"]
                   for r in read_jsonl(results / f"extrapolate/{d}/{law}/allocation.jsonl")]
    assert missing["Missing % (both)"].mean() == pytest.approx(
        100 * sum(all_missing) / len(all_missing))
    t5 = out["table5"]
    # the scripted classifier always says prohibited: accuracy is the unsafe share (1 of 2 cases), the
    # macro-F1 the mean of prohibited's 2/3 and permitted's 0
    assert (t5.xs("Acc", axis=1, level=1) == 50.0).all().all()
    assert t5.xs("macro-F1", axis=1, level=1).to_numpy().ravel().tolist() == pytest.approx([100 / 3] * 4)
    assert (t5.xs("n", axis=1, level=1) == 2).all().all()
    for table in ("table5", "table5_vs_paper", "table8", "table8_vs_paper", "extrapolate_missing_rates",
                  "extrapolate_cases"):
        assert (results / "tables" / f"{table}.md").is_file()
    assert "macro-F1" in (results / "tables" / "table5.md").read_text().splitlines()[0]
    cells = pd.read_csv(results / "tables" / "table5_cells.csv")
    assert len(cells) == 4 and set(cells["n"]) == {2} and set(cells["correct"]) == {1}
    kit = write_kit(cfg, results)
    assert kit["sheet"].read_text().count("\n") == 1 + len(read_jsonl(kit["cases"])) == 1 + 8


def test_missing_student_fails_clearly(tmp_path, root):
    cfg = _config(tmp_path, root)
    with pytest.raises(FileNotFoundError, match="no trained model at .*grpo/final"):
        extrapolation.model_entry(cfg, role_model(cfg, "allocator"), tmp_path / "nowhere")


def test_prefetched_sends_one_batch():
    class Counting(ScriptedGenerator):
        batches: list[int] = []

        def generate(self, requests, *, desc=""):
            self.batches.append(len(requests))
            return super().generate(requests, desc=desc)

    inner = Counting()
    batched = extrapolation.Prefetched(inner)
    samples = [{"id": f"d/{i:05d}", "dataset": "d", "text": f"sample {i}", "label": "safe"} for i in range(5)]
    requests = extrapolation.allocation_requests(samples, "gdpr")
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
    extrapolation.run_stage(cfg, results)
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
