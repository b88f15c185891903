"""The regeneration loop synthesis and distillation share: who is asked again, and how it is counted."""

from __future__ import annotations

import pytest
from benchmark_fakes import ScriptedTeacher

from safety_compliance.benchmark.regeneration import SEED_STRIDE, attempt_seed, rate, regenerate
from safety_compliance.llm.types import Request

# Item i is accepted at attempt ACCEPT_AT[i] (0-based); None: never.
ACCEPT_AT = [0, 1, 2, None]


def _request(index: int, attempt: int) -> Request:
    return Request(messages=[{"role": "user", "content": str(index)}], max_tokens=8,
                   seed=attempt_seed(7, attempt))


def _judge(index, completion):
    attempt = (int(completion.text.split("@")[1]) - 7) // SEED_STRIDE
    if ACCEPT_AT[index] is not None and attempt >= ACCEPT_AT[index]:
        return completion.text, []
    return None, ["not_json: attempt failed" if attempt == 0 else "truncated: cut"]


@pytest.fixture()
def run():
    teacher = ScriptedTeacher(lambda request, call: f"{request.messages[0]['content']}@{request.seed}")
    return teacher, regenerate(len(ACCEPT_AT), _request, _judge, teacher, max_attempts=3, desc="test")


def test_only_failures_are_asked_again_with_new_seeds(run):
    teacher, _ = run
    asked = [(r.messages[0]["content"], r.seed) for r in teacher.requests]
    assert asked == [("0", 7), ("1", 7), ("2", 7), ("3", 7),
                     ("1", 1007), ("2", 1007), ("3", 1007), ("2", 2007), ("3", 2007)]


def test_outcome_and_counts(run):
    _, outcome = run
    assert {i: used for i, (_, used) in outcome.accepted.items()} == {0: 1, 1: 2, 2: 3}
    assert outcome.accepted[2][0] == "2@2007"
    assert outcome.failing == [3] and outcome.last_text[3] == "3@2007"
    assert outcome.history[3] == [["not_json: attempt failed"], ["truncated: cut"], ["truncated: cut"]]
    assert outcome.rejected_by_reason() == {"truncated": 1}
    assert outcome.failed_attempts_by_reason() == {"not_json": 3, "truncated": 3}
    # Resent: item 1 once, item 2 twice, item 3 twice (its third failure was not resent).
    assert outcome.regenerated() == 5 and outcome.accepted_after_regeneration() == 2
    assert outcome.tokens.summary()["answers"] == 9


def test_no_attempt_is_an_error():
    with pytest.raises(ValueError, match="max_attempts must be at least 1, not 0"):
        regenerate(1, _request, _judge, ScriptedTeacher(lambda r, c: ""), max_attempts=0, desc="test")


def test_rate_of_nothing_is_zero():
    assert rate(1, 3) == 0.3333 and rate(0, 0) == 0.0
