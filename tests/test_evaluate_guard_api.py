"""The guard interface (`ComplianceReasoner`, `safety-compliance judge`) and the prediction records,
on the tiny random model through the real hf backend."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml

from safety_compliance.config import load_config
from safety_compliance.evaluate.guard import ComplianceReasoner, split_answer
from safety_compliance.families import FAMILIES, predict
from safety_compliance.jsonl import read_jsonl, write_jsonl
from safety_compliance.llm.types import Completion


@pytest.fixture()
def config_file(tmp_path, root):
    cfg = load_config(root / "config/config.yaml")
    cfg["llm"].update(cache=str(tmp_path / "llm.sqlite"), usage_dir=str(tmp_path / "usage"), progress=False)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    return path


def test_package_import_stays_light():
    code = ("import sys, safety_compliance; assert 'torch' not in sys.modules; "
            "from safety_compliance import ComplianceReasoner; print(ComplianceReasoner.__name__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ComplianceReasoner"


def test_split_answer():
    text = "<think>Article 5 lists it.\nSo it is banned.</think>\nBanned under Chapter II.\n\\boxed{prohibited}"
    assert split_answer(text) == ("Article 5 lists it.\nSo it is banned.", "Banned under Chapter II.")
    assert split_answer("No reasoning. \\boxed{permitted}") == ("", "No reasoning.")


class ScriptedGenerator:
    """Returns fixed answers: a test double for our own record-building logic."""

    model_id = "scripted"

    def __init__(self, answers):
        self.answers = answers
        self.seen = []

    def generate(self, requests, *, desc=""):
        self.seen.extend(requests)
        return [a if isinstance(a, Completion) else
                Completion(text=a, finish_reason="stop", prompt_tokens=40, completion_tokens=len(a.split()))
                if a is not None else Completion(text="", finish_reason="error", error="timeout")
                for a in self.answers]


def test_prediction_records_follow_the_contract():
    cases = [{"id": f"gdpr/{x}", "factual_background": f"facts {x}"} for x in "abcd"]
    failed = Completion(text="<think>x</think> \\boxed{prohibited}", finish_reason="error",
                        error="constraint not met after 3 attempt(s)")
    generator = ScriptedGenerator(["<think>x</think> Chapter 3 applies. \\boxed{prohibited}", "no box", None, failed])
    records = predict(FAMILIES["compliance"], generator, "gdpr", cases, max_tokens=64)
    assert [set(r) for r in records] == [{"case_id", "model", "raw", "verdict", "chapter_pred", "prompt_tokens",
                                          "completion_tokens"}] * 4
    assert [r["model"] for r in records] == ["scripted"] * 4
    assert [r["verdict"] for r in records] == ["prohibited", None, None, None]
    assert records[0]["chapter_pred"] == 3
    assert records[2]["raw"] == ""
    # a failed request is never read for a verdict, but its text stays, to show what went wrong
    assert records[3]["raw"] == failed.text and records[3]["chapter_pred"] is None
    assert all(r.max_tokens == 64 and r.temperature == 0.0 for r in generator.seen)


def test_guard_reads_verdict_chapter_and_reasoning():
    guard = ComplianceReasoner(ScriptedGenerator(["<think>Art. 9.</think> Chapter II breach. \\boxed{prohibited}"]))
    judgement = guard.judge("A clinic shares diagnoses with an advertiser.", law="gdpr")
    assert (judgement.verdict, judgement.chapter, judgement.reasoning) == ("prohibited", 2, "Art. 9.")
    with pytest.raises(ValueError, match="needs the facts"):
        guard.judge("  ")


@pytest.mark.slow
def test_from_pretrained_on_the_tiny_model(tiny_model, config_file):
    with ComplianceReasoner.from_pretrained(tiny_model, config=load_config(config_file), max_tokens=8) as guard:
        judgement = guard.judge("A provider deploys an emotion recognition system at work.", law="eu_ai_act")
    assert judgement.verdict in (None, "prohibited", "permitted")
    assert judgement.raw


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "safety_compliance.cli", *map(str, args)],
                          capture_output=True, text=True)


@pytest.mark.slow
def test_judge_cli_on_the_tiny_model(tiny_model, config_file, tmp_path):
    single = run_cli("judge", "--model", tiny_model, "--law", "gdpr", "--config", config_file, "--max-tokens", "8",
                     "A shop keeps customer records for ten years without reason.")
    assert single.returncode == 0, single.stderr
    answer = json.loads(single.stdout)
    assert set(answer) == {"verdict", "chapter", "reasoning", "summary", "raw"}
    assert answer["verdict"] in (None, "prohibited", "permitted")

    cases = tmp_path / "cases.jsonl"
    write_jsonl(cases, [{"id": "b", "law": "eu_ai_act", "factual_background": "A social scoring system."},
                        {"id": "a", "factual_background": "A hospital shares records."}])
    out = tmp_path / "verdicts.jsonl"
    batch = run_cli("judge", "--model", tiny_model, "--config", config_file, "--max-tokens", "8",
                    "--input", cases, "--output", out)
    assert batch.returncode == 0, batch.stderr
    rows = read_jsonl(out)
    assert [(r["id"], r["law"]) for r in rows] == [("a", "gdpr"), ("b", "eu_ai_act")]


def test_judge_cli_rejects_bad_input(tmp_path):
    assert "not both and not neither" in run_cli("judge", "--model", "m").stderr
    cases = tmp_path / "cases.jsonl"
    write_jsonl(cases, [{"id": "a", "facts": "wrong field"}])
    result = run_cli("judge", "--model", "m", "--input", cases, "--output", tmp_path / "o.jsonl")
    assert result.returncode == 2 and "no 'factual_background' text" in result.stderr
