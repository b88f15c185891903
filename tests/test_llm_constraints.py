"""Structured outputs: xgrammar-enforced on hf, lenient parse-and-retry where nothing enforces them."""

from __future__ import annotations

import json
import re

import jsonschema
import pytest

from llm_helpers import ask, llm_cfg
from safety_compliance.llm import Completion, Constraint, make_generator
from safety_compliance.llm.cache import CallCache
from safety_compliance.llm.client import CachedGenerator
from safety_compliance.llm.constraints import check
from safety_compliance.registry import ModelEntry

SCHEMA = {
    "type": "object",
    "properties": {
        "label": {"enum": ["prohibited", "permitted"]},
        "chapter": {"type": "integer", "minimum": 1, "maximum": 13},
        "certain": {"type": "boolean"},
        "note": {"type": "string", "maxLength": 6},
    },
    "required": ["label", "chapter", "certain", "note"],
    "additionalProperties": False,
}


def test_random_model_meets_a_json_schema_every_time(tiny_model, tmp_path):
    entry = ModelEntry(name="tiny", model=str(tiny_model), batch_size=8)
    requests = [ask(f"case {i}", max_tokens=96, temperature=1.0, seed=i, constraint=Constraint("json_schema", SCHEMA))
                for i in range(8)]
    with make_generator(entry, llm_cfg(tmp_path), stage="t") as gen:
        out = gen.generate(requests)
    for completion in out:
        assert completion.ok, completion.error
        assert completion.finish_reason == "stop"     # ended by EOS, which the grammar allowed only at the end
        jsonschema.validate(json.loads(completion.text, strict=False), SCHEMA)
    assert len({c.text for c in out}) > 1             # sampled, not one forced answer


def test_random_model_meets_a_regex(tiny_model, tmp_path):
    pattern = r"\\boxed\{(prohibited|permitted)\} chapter [1-9]"
    entry = ModelEntry(name="tiny", model=str(tiny_model), batch_size=4)
    requests = [ask(f"r{i}", max_tokens=32, temperature=1.0, seed=i, constraint=Constraint("regex", pattern))
                for i in range(4)]
    with make_generator(entry, llm_cfg(tmp_path), stage="t") as gen:
        out = gen.generate(requests)
    assert all(c.ok and re.fullmatch(pattern, c.text) for c in out), [c.text for c in out]


def test_truncation_by_max_tokens_is_a_failure_with_its_reason(tiny_model, tmp_path):
    entry = ModelEntry(name="tiny", model=str(tiny_model))
    greedy = ask("g", max_tokens=3, constraint=Constraint("json_schema", SCHEMA))
    sampled = ask("s", max_tokens=3, temperature=1.0, seed=1, constraint=Constraint("json_schema", SCHEMA))
    with make_generator(entry, llm_cfg(tmp_path), stage="t") as gen:
        g, s = gen.generate([greedy, sampled])
    assert not g.ok and "max_tokens=3" in g.error and g.finish_reason == "length"
    assert g.attempts == 1          # greedy on a local model would only repeat itself
    assert not s.ok and s.attempts == 3 and "after 3 attempt(s)" in s.error
    assert "tiny" in s.error


def test_lenient_parse_finds_json_in_prose_and_fences():
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}
    c = Constraint("json_schema", schema)
    assert check('{"a": 1}', c) == ('{"a": 1}', None)
    assert check('Sure! ```json\n{"a": 2}\n``` done', c) == ('{"a": 2}', None)
    assert check('first {"b": 0} then {"a": 3} end', c) == ('{"a": 3}', None)
    text, reason = check('{"a": "x"}', c)
    assert "schema" in reason and "a" in reason
    assert "not valid JSON" in check('{"a": ', c)[1]
    assert check("  permitted ", Constraint("regex", "permitted|prohibited")) == ("permitted", None)
    assert "regex" in check("maybe", Constraint("regex", "permitted|prohibited"))[1]
    with pytest.raises(ValueError, match="unknown constraint kind"):
        check("x", Constraint("grammar", "x"))


class Scripted:
    """A test double of a backend that answers each request from a script, one answer per attempt."""

    model_id = "scripted"
    identity = "scripted|v1"

    def __init__(self, answers: dict[str, list[str]], deterministic: bool = False):
        self.answers = answers
        self.deterministic = deterministic
        self.calls = 0

    def run(self, requests, on_results):
        for index, request in enumerate(requests):
            self.calls += 1
            script = self.answers[request.messages[0]["content"]]
            text = script.pop(0) if len(script) > 1 else script[0]
            on_results([(index, Completion(text=text, finish_reason="stop"))])


def test_parse_and_retry_is_bounded_and_never_drops_a_request(tmp_path):
    schema = Constraint("json_schema", {"type": "object", "required": ["a"]})
    backend = Scripted({"fixed": ["no", "still no", '{"a": 1}'], "never": ["nope"], "plain": ["hello"]})
    gen = CachedGenerator(backend, stage="t", cache=CallCache(tmp_path / "c.sqlite"), usage_dir=str(tmp_path),
                          max_constraint_retries=2, progress=False)
    fixed, never, plain = gen.generate([ask("fixed", constraint=schema, temperature=0.7),
                                        ask("never", constraint=schema, temperature=0.7), ask("plain")])
    assert fixed.ok and fixed.text == '{"a": 1}' and fixed.attempts == 3
    assert not never.ok and never.attempts == 3 and "not valid JSON" in never.error
    assert plain.ok and plain.text == "hello"
    assert backend.calls == 7
    # The failure is an answer too: a rerun asks for nothing.
    again = gen.generate([ask("never", constraint=schema, temperature=0.7)])
    assert again[0].cached and again[0].error == never.error and backend.calls == 7
    gen.close()


def test_a_request_repeated_in_one_call_is_sent_once(tmp_path):
    backend = Scripted({"a": ["first", "second"], "b": ["bee"]})
    gen = CachedGenerator(backend, stage="t", cache=None, usage_dir=str(tmp_path), progress=False)
    out = gen.generate([ask("a", temperature=1.0), ask("b"), ask("a", temperature=1.0)])
    assert [c.text for c in out] == ["first", "bee", "first"] and backend.calls == 2
    assert out[0] is not out[2]
    assert gen.stats.requests == 3 and gen.stats.model_calls == 2
