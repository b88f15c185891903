"""The guard's default completion budget: the one a trained student's folder records."""

from __future__ import annotations

import json

import pytest

from safety_compliance.evaluate.guard import ComplianceReasoner, trained_budget
from safety_compliance.train.model_card import record_answer_budget


class Recorder:
    """A generator that answers every request with a fixed verdict and keeps the requests."""
    model_id = "recorder"

    def __init__(self):
        self.seen = []

    def generate(self, requests, *, desc=""):
        from safety_compliance.llm.types import Completion

        self.seen.extend(requests)
        return [Completion(text="<think>r</think> s \\boxed{permitted}", finish_reason="stop") for _ in requests]


def test_trained_budget_reads_max_new_tokens(tmp_path):
    assert trained_budget(tmp_path) is None                                  # no generation_config.json
    (tmp_path / "generation_config.json").write_text(json.dumps({"eos_token_id": 2}))
    assert trained_budget(tmp_path) is None                                  # a base model's: no budget
    (tmp_path / "generation_config.json").write_text(json.dumps({"max_new_tokens": 96}))
    assert trained_budget(tmp_path) == 96
    (tmp_path / "generation_config.json").write_text(json.dumps({"max_new_tokens": "lots"}))
    with pytest.raises(ValueError, match="positive integer"):
        trained_budget(tmp_path)


def test_record_answer_budget_sets_the_generation_default():
    from transformers import GenerationConfig

    class Model:
        generation_config = GenerationConfig()

    line = record_answer_budget(Model, 120)
    assert Model.generation_config.max_new_tokens == 120 and "120 tokens" in line
    with pytest.raises(ValueError, match="at least one token"):
        record_answer_budget(Model, 0)


def test_from_pretrained_defaults_to_the_recorded_budget(tmp_path, monkeypatch):
    import safety_compliance.llm as llm

    recorder = Recorder()
    monkeypatch.setattr(llm, "make_generator", lambda entry, config, stage: recorder)
    (tmp_path / "generation_config.json").write_text(json.dumps({"max_new_tokens": 96}))
    config = {"llm": {}}
    ComplianceReasoner.from_pretrained(tmp_path, config=config).judge("A shop sells data.", law="gdpr")
    ComplianceReasoner.from_pretrained(tmp_path, config=config, max_tokens=12).judge("A shop sells data.")
    assert [r.max_tokens for r in recorder.seen] == [96, 12]
