"""Distillation: trace shape, contradictions rejected and counted, TRL conversational records."""

from __future__ import annotations

import json
import re

import pytest
from benchmark_fakes import ScriptedTeacher, prompt_text, requested_label, seed_records

from safety_compliance.benchmark.benchmark import run_distillation
from safety_compliance.benchmark.distill import (DistillSettings, answer_regex, check_trace, distill,
                                                 distill_request, format_trace, trace_regex)
from safety_compliance.benchmark.regeneration import SEED_STRIDE, BelowFloor
from safety_compliance.config import load_config
from safety_compliance.jsonl import read_jsonl, write_jsonl
from safety_compliance.llm.types import Completion
from safety_compliance.prompts import student_messages

GOOD = ("<think>The clause requires records. The clinic kept none, so the duty was missed.</think>\n"
        "The clinic kept no records of the processing.\n\\boxed{prohibited}")


def answer(text: str, finish: str = "stop") -> Completion:
    return Completion(text=text, finish_reason=finish)


def code(text: str, gold: str = "prohibited", finish: str = "stop") -> str:
    trace, reasons = check_trace(answer(text, finish), gold)
    assert trace is None
    return reasons[0].split(":")[0]


def test_a_good_trace_is_reformatted():
    trace, reasons = check_trace(answer(GOOD), "prohibited")
    assert reasons == []
    assert trace == ("<think>\nThe clause requires records. The clinic kept none, so the duty was missed.\n</think>"
                     "\n\nThe clinic kept no records of the processing.\n\n\\boxed{prohibited}")
    assert format_trace(" a ", " b ", "permitted") == "<think>\na\n</think>\n\nb\n\n\\boxed{permitted}"


def test_failures_are_counted_under_the_right_reason():
    assert code(GOOD, gold="permitted") == "wrong_verdict"
    assert code("The case is prohibited. \\boxed{prohibited}") == "no_think"
    assert code("<think>The clause requires records and the clinic kept none") == "no_think"
    assert code("<think>The clause requires records and", finish="length") == "truncated"
    assert code("<think>ok</think> Summary. \\boxed{prohibited}") == "empty_reasoning"
    assert code(GOOD.replace("\\boxed{prohibited}", "So it is bad.")) == "no_verdict"
    assert code(GOOD.replace("\\boxed{prohibited}", "\\boxed{unsafe}")) == "no_verdict"
    assert code(GOOD.replace("\\boxed{prohibited}", ""), finish="length") == "truncated"
    assert code(GOOD.replace("The clinic kept no records of the processing.", "")) == "no_summary"
    contradicting = GOOD.replace("The clinic kept no records", "The case is permitted: the clinic kept no records")
    assert code(contradicting) == "summary_contradicts"
    # A verdict boxed inside the reasoning does not count; the one after it does.
    inside = GOOD.replace("so the duty was missed", "so \\boxed{permitted} is wrong")
    assert check_trace(answer(inside), "prohibited")[1] == []
    assert code(answer("").text or "", finish="stop") == "no_think"
    failed = Completion(text="", finish_reason="error", error="HTTP 500")
    assert check_trace(failed, "prohibited")[1][0].startswith("generation_error")


def test_regex_fits_good_traces_only():
    pattern = trace_regex()
    assert re.fullmatch(pattern, GOOD, re.DOTALL)
    assert re.fullmatch(pattern, GOOD.replace("prohibited}", "permitted}"), re.DOTALL)   # verdict left free
    assert not re.fullmatch(pattern, GOOD.replace("<think>", ""), re.DOTALL)
    assert not re.fullmatch(pattern, GOOD.replace("\\boxed{prohibited}", "\\boxed{safe}"), re.DOTALL)
    assert "{1,300}" in trace_regex(300)


def test_a_capped_regex_bounds_reasoning_and_summary():
    capped = trace_regex(40)
    short = "<think>" + "r" * 40 + "</think>" + "s" * 40 + "\\boxed{permitted}"
    assert re.fullmatch(capped, short, re.DOTALL)
    assert not re.fullmatch(capped, short.replace("r" * 40, "r" * 41), re.DOTALL)
    assert not re.fullmatch(capped, short.replace("s" * 40, "s" * 41), re.DOTALL)


def test_a_sentence_regex_closes_the_reasoning_after_whole_sentences():
    pattern = trace_regex(30, sentences=2)
    good = "<think>The facts name a shop. It sells data.</think> So it breaches the law.\\boxed{prohibited}"
    assert re.fullmatch(pattern, good, re.DOTALL)
    assert not re.fullmatch(pattern, good.replace(" It sells data.", ""), re.DOTALL)           # one sentence
    assert not re.fullmatch(pattern, good.replace("data.</think>", "data. More.</think>"), re.DOTALL)
    assert not re.fullmatch(pattern, good.replace("data.</think>", "data</think>"), re.DOTALL)  # cut mid-sentence
    assert not re.fullmatch(pattern, good.replace("a shop", "a" + " shop" * 6), re.DOTALL)     # over 30 chars
    assert not re.fullmatch(pattern, good.replace("law.", "law. Twice."), re.DOTALL)          # one summary sentence
    # A sentence is one line: a "Step 1: ... Step 2: ..." list cannot pass as one sentence.
    assert not re.fullmatch(pattern, good.replace("The facts", "Step 1: read\nStep 2: the facts"), re.DOTALL)
    assert re.fullmatch(pattern, good.replace("The facts", "Step 1: the facts"), re.DOTALL)
    with pytest.raises(ValueError, match="at least 1"):
        trace_regex(30, sentences=0)
    cfg = load_config("config/config.yaml", {"distill": {"think_chars": 30, "think_sentences": 2}})
    case = {"law": "gdpr", "factual_background": "A shop sells data.", "label": "prohibited"}
    assert distill_request(case, "Art. 6", DistillSettings.from_config(cfg)).constraint.value == pattern


SEEDS = seed_records(chapters=(2, 3))
CASES = [{"id": f"{s['id']}/{label}", "law": "gdpr", "seed_id": s["id"], "chapter": s["chapter"], "article": 1,
          "label": label, "factual_background": f"Facts of {s['id']}, {label} variant", "split": "train"}
         for s in SEEDS for label in ("prohibited", "permitted")]


def teacher_script(request, call):
    gold, attempt = requested_label(request), request.seed // SEED_STRIDE
    facts = prompt_text(request)
    if "ch02" in facts and gold == "permitted":
        return GOOD                                   # argues for the other verdict, every time
    if "ch03" in facts and gold == "prohibited" and attempt == 0:
        return "I cannot help with that."             # no trace, then a good one
    return GOOD.replace("prohibited}", f"{gold}}}")


def test_distill_counts_and_records():
    teacher = ScriptedTeacher(teacher_script)
    rules = {s["id"]: s["text"] for s in SEEDS}
    records, rejected, report = distill(CASES, rules, teacher, DistillSettings(max_attempts=2))
    assert report["train_cases"] == 4 and report["kept"] == 3 and report["rejected"] == 1
    assert report["rejected_by_reason"] == {"wrong_verdict": 1}
    assert report["failed_attempts_by_reason"] == {"no_think": 1, "wrong_verdict": 2}
    assert report["regenerated"] == 2 and report["kept_after_regeneration"] == 1
    assert rejected[0]["id"] == CASES[1]["id"] and rejected[0]["raw"] == GOOD
    record = next(r for r in records if r["id"] == CASES[0]["id"])
    assert record["case_id"] == CASES[0]["id"]
    assert record["messages"][:-1] == student_messages("gdpr", CASES[0]["factual_background"])
    assert record["messages"][-1]["role"] == "assistant"
    assert record["messages"][-1]["content"].endswith("\\boxed{prohibited}")
    # The teacher saw the regulation, the facts and the gold label; the student prompt holds none but the facts.
    request = teacher.requests[0]
    assert SEEDS[0]["text"] in prompt_text(request) and "PROHIBITED" in prompt_text(request)
    assert request.constraint.kind == "regex"
    student = record["messages"][0]["content"]
    assert SEEDS[0]["text"] not in student and "established" not in student


def test_unknown_seed_is_a_clear_error():
    with pytest.raises(KeyError, match="no seed text"):
        distill(CASES, {}, ScriptedTeacher(teacher_script), DistillSettings())


def test_run_distillation_files(tmp_path):
    write_jsonl(tmp_path / "seeds.jsonl", SEEDS)
    write_jsonl(tmp_path / "train.jsonl", CASES)
    cfg = load_config("config/config.yaml", {"distill": {"max_attempts": 2}})
    report = run_distillation(cfg, "gdpr", tmp_path / "train.jsonl", tmp_path / "seeds.jsonl", tmp_path / "out",
                              generator=ScriptedTeacher(teacher_script))
    sft = read_jsonl(tmp_path / "out" / "sft.jsonl")
    assert len(sft) == report["kept"] == 3 and "attempts" not in sft[0]
    assert [r["id"] for r in sft] == sorted(r["id"] for r in sft)
    assert len(read_jsonl(tmp_path / "out" / "rejected.jsonl")) == 1
    assert (tmp_path / "out" / "distill_report.json").is_file()
    with pytest.raises(FileNotFoundError, match="synthesis stage"):
        run_distillation(cfg, "gdpr", tmp_path / "nope.jsonl", tmp_path / "seeds.jsonl", tmp_path / "o",
                         generator=ScriptedTeacher(teacher_script))


def test_run_distillation_below_its_floor_fails_after_writing_its_report(tmp_path):
    write_jsonl(tmp_path / "seeds.jsonl", SEEDS)
    write_jsonl(tmp_path / "train.jsonl", CASES)
    cfg = load_config("config/config.yaml", {"distill": {"max_attempts": 1, "min_kept_rate": 0.9}})
    with pytest.raises(BelowFloor, match=r"distill gdpr: kept 2 of 4 \(50%\), below distill.min_kept_rate = 0.9; "
                                         r"rejected: no_think 1, wrong_verdict 1"):
        run_distillation(cfg, "gdpr", tmp_path / "train.jsonl", tmp_path / "seeds.jsonl", tmp_path / "out",
                         generator=ScriptedTeacher(teacher_script))
    assert len(read_jsonl(tmp_path / "out" / "sft.jsonl")) == 2
    assert json.loads((tmp_path / "out" / "distill_report.json").read_text())["rejected"] == 2


REASONING = "The clause requires records. The clinic kept none, so the duty was missed."


def thinking(text: str, reasoning: str = REASONING) -> Completion:
    return Completion(text=text, finish_reason="stop", reasoning=reasoning)


def test_a_thinking_teachers_own_reasoning_becomes_the_think_part():
    trace, reasons = check_trace(thinking("The clinic kept no records.\n\\boxed{prohibited}"), "prohibited",
                                 trace_source="teacher_reasoning")
    assert reasons == [] and trace == format_trace(REASONING, "The clinic kept no records.", "prohibited")
    # Tags the model typed as well are dropped: the separate reasoning is the <think> part.
    typed_too = thinking("<think>short</think>The clinic kept no records.\n\\boxed{prohibited}")
    assert check_trace(typed_too, "prohibited", trace_source="teacher_reasoning")[0] == trace
    _, reasons = check_trace(thinking("The clinic kept no records.\n\\boxed{prohibited}", reasoning=""),
                             "prohibited", trace_source="teacher_reasoning")
    assert reasons[0].startswith("no_reasoning: ") and "thinking teacher" in reasons[0]
    _, reasons = check_trace(thinking("Fine.\n\\boxed{permitted}"), "prohibited", trace_source="teacher_reasoning")
    assert reasons[0].startswith("wrong_verdict")


def test_teacher_reasoning_asks_for_the_answer_only_and_constrains_only_it():
    settings = DistillSettings(trace_source="teacher_reasoning", think_chars=300)
    request = distill_request(CASES[0], SEEDS[0]["text"], settings)
    prompt = prompt_text(request)
    assert "own thinking" in prompt and "<think>" not in prompt and "PROHIBITED" in prompt
    assert request.constraint.value == answer_regex(300)
    assert re.fullmatch(answer_regex(300), "The clinic kept no records.\n\\boxed{prohibited}", re.DOTALL)
    typed = distill_request(CASES[0], SEEDS[0]["text"], DistillSettings())
    assert "<think>" in prompt_text(typed) and typed.constraint.value == trace_regex()
    with pytest.raises(ValueError, match="trace_source"):
        DistillSettings(trace_source="thoughts")
