"""The openai backend against loopback servers that behave like DeepSeek, OpenAI and vLLM: how each
`structured_output` mode sends a constraint, what a refusal does, reasoning_content, and the
OPENAI_BASE_URL / OPENAI_API_KEY conventions."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time

import jsonschema
import pytest

from llm_helpers import ask, llm_cfg
from loopback_openai import LoopbackOpenAI, fetch_stats, prompt_schema, scripted_answer
from safety_compliance.case import case_schema
from safety_compliance.case_validation import validate_case
from safety_compliance.llm import Constraint, make_generator
from safety_compliance.llm.openai_compat import LLMError
from safety_compliance.llm.structured_output import NotStrict, request_fields, strict_schema
from safety_compliance.registry import ModelEntry, load_registry

FAST = {"backoff_base": 0.02, "backoff_max": 0.2, "request_timeout": 5.0}
CASE = Constraint("json_schema", case_schema({"parties_involved": (10, 2000), "factual_background": (300, 6000),
                                              "legal_issues": (10, 3000), "arguments": (10, 4000),
                                              "jurisdiction": (2, 300)}))


def entry(server, mode=None, **kw) -> ModelEntry:
    return ModelEntry(name="api-model", model=kw.pop("model", "m-1"), backend="openai", base_url=server.url,
                      structured_output=mode, **kw)


def body_of(server, text: str) -> dict:
    return next(b for b in server.bodies if text in b["messages"][-1]["content"])


# --- How each mode sends a JSON schema ---------------------------------------------------------------

def test_strict_schema_moves_narrowing_keywords_into_the_description():
    strict = strict_schema(CASE.value)
    facts = strict["properties"]["factual_background"]
    assert "minLength" not in facts and "maxLength" not in facts
    assert facts["description"] == "(minLength 300; maxLength 6000)"
    assert strict["additionalProperties"] is False and strict["required"] == list(strict["properties"])
    assert CASE.value["properties"]["factual_background"]["minLength"] == 300     # the original is untouched
    optional = {"type": "object", "properties": {"a": {"type": "string"}}, "required": [],
                "additionalProperties": False}
    with pytest.raises(NotStrict, match="optional"):
        strict_schema(optional)
    with pytest.raises(NotStrict, match="allOf"):
        strict_schema({"type": "object", "allOf": [], "properties": {}, "required": []})
    # A schema outside the strict subset still reaches the model: JSON mode with the schema in the prompt.
    messages, fields, extra = request_fields("json_schema", Constraint("json_schema", optional),
                                             [{"role": "user", "content": "q"}])
    assert fields == {"response_format": {"type": "json_object"}} and extra == {}
    assert prompt_schema(messages[-1]["content"]) == optional


def test_openai_mode_sends_a_strict_schema_the_server_accepts(tmp_path):
    with LoopbackOpenAI(provider="openai") as server:
        with make_generator(entry(server, "json_schema"), llm_cfg(tmp_path, **FAST), stage="t") as gen:
            done, = gen.generate([ask("write a case", max_tokens=2000, constraint=CASE)])
        sent = server.bodies[0]
    assert server.refused == {}
    fmt = sent["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["strict"] is True
    assert fmt["json_schema"]["schema"]["properties"]["factual_background"] == {
        "type": "string", "description": "(minLength 300; maxLength 6000)"}
    assert sent["messages"][-1]["content"] == "write a case"         # nothing added to the prompt
    assert done.ok and validate_case(json.loads(done.text), "gdpr", {k: (v["minLength"], 10**6) for k, v in
                                                                     CASE.value["properties"].items()}) == []


def test_openai_refuses_what_strict_mode_does_not_take(tmp_path):
    """The fixture's own oracle: a schema sent unchanged with strict true is refused, in OpenAI's words."""
    server = LoopbackOpenAI(provider="openai")
    body = {"model": "m", "messages": [{"role": "user", "content": "x"}],
            "response_format": {"type": "json_schema", "json_schema": {"name": "o", "strict": True, "schema": CASE.value}}}
    status, words = server.refusal(body)
    assert status == 400 and "'minLength' is not permitted" in words
    assert server.refusal({**body, "repetition_penalty": 1.2})[1] == "Unrecognized request argument supplied: repetition_penalty"


def test_deepseek_mode_puts_the_schema_and_the_word_json_in_the_prompt(tmp_path):
    with LoopbackOpenAI(provider="deepseek") as server:
        with make_generator(entry(server, "json_object"), llm_cfg(tmp_path, **FAST), stage="t") as gen:
            done, = gen.generate([ask("write a case", max_tokens=2000, constraint=CASE)])
        sent = server.bodies[0]
    assert server.refused == {}
    assert sent["response_format"] == {"type": "json_object"}
    prompt = sent["messages"][-1]["content"]
    assert prompt.startswith("write a case\n\n") and "JSON" in prompt
    assert prompt_schema(prompt) == CASE.value                       # the whole schema, minLength included
    assert done.ok
    jsonschema.validate(json.loads(done.text), CASE.value)


def test_mode_none_sends_no_response_format(tmp_path):
    with LoopbackOpenAI(provider="openai") as server:
        with make_generator(entry(server), llm_cfg(tmp_path, **FAST), stage="t") as gen:
            done, = gen.generate([ask("write a case", max_tokens=2000, constraint=CASE)])
        sent = server.bodies[0]
    assert "response_format" not in sent and prompt_schema(sent["messages"][-1]["content"]) == CASE.value
    assert done.ok


def test_vllm_mode_has_the_server_enforce_schema_and_regex(tmp_path):
    regex = r"<think>[^<>]+</think>[^<>\\]+\\boxed\{(prohibited|permitted)\}"
    with LoopbackOpenAI(provider="vllm") as server:
        with make_generator(entry(server, "vllm"), llm_cfg(tmp_path, **FAST), stage="t") as gen:
            js, rx = gen.generate([ask("a case", max_tokens=2000, constraint=CASE),
                                   ask("Experts have established that this case is PERMITTED. \\boxed{}",
                                       max_tokens=400, constraint=Constraint("regex", regex), repetition_penalty=1.2)])
        case_body, trace_body = body_of(server, "a case"), body_of(server, "Experts")
    assert case_body["response_format"]["json_schema"]["schema"] == CASE.value   # whole, not the strict subset
    assert case_body["messages"][-1]["content"] == "a case"
    assert trace_body["structured_outputs"] == {"regex": regex} and trace_body["repetition_penalty"] == 1.2
    assert js.ok and rx.ok and rx.text.endswith("\\boxed{permitted}")


def test_a_repetition_penalty_never_reaches_a_provider_api(tmp_path):
    with LoopbackOpenAI(provider="openai") as server:
        with make_generator(entry(server, "json_schema"), llm_cfg(tmp_path, **FAST), stage="t") as gen:
            with pytest.raises(ValueError, match="repetition_penalty.*vLLM"):
                gen.generate([ask("x", repetition_penalty=1.2)])
        assert server.bodies == []


# --- Refusals stop the stage -------------------------------------------------------------------------

def test_a_refused_response_format_stops_after_one_call_naming_entry_endpoint_words_and_fix(tmp_path):
    with LoopbackOpenAI(provider="deepseek") as server:
        with make_generator(entry(server, "json_schema", concurrency=8), llm_cfg(tmp_path, **FAST), stage="t") as gen:
            with pytest.raises(LLMError) as err:
                gen.generate([ask(f"case {i}", constraint=CASE) for i in range(24)])
        assert sum(server.attempts.values()) == 1 and server.refused == {400: 1}
    message = str(err.value)
    for part in ("'api-model'", server.url, "HTTP 400", "This response_format type is unavailable now",
                 "set `structured_output: json_object`", "config/models.yaml"):
        assert part in message, part


def test_json_mode_without_the_word_json_is_refused_by_deepseek(tmp_path):
    server = LoopbackOpenAI(provider="deepseek")
    body = {"model": "deepseek-chat", "messages": [{"role": "user", "content": "a case please"}],
            "response_format": {"type": "json_object"}}
    assert server.refusal(body)[0] == 400
    body["messages"][0]["content"] += " as json"
    assert server.refusal(body) is None


def test_other_client_errors_stop_too_but_transient_ones_are_retried(tmp_path):
    def reply(ask_):
        return "fine", ""

    class NotFound(LoopbackOpenAI):
        def refusal(self, body):
            return (404, "Model Not Exist") if body["model"] == "missing" else None

    with NotFound(reply=reply) as server:
        with make_generator(entry(server, model="missing"), llm_cfg(tmp_path, **FAST), stage="t") as gen:
            with pytest.raises(LLMError, match="HTTP 404: Model Not Exist. Fix: check `model: missing`"):
                gen.generate([ask("x")])
    with LoopbackOpenAI(fault_rate=1.0, faults=("429",), max_faults_per_request=1, reply=reply) as server:
        with make_generator(entry(server), llm_cfg(tmp_path, **FAST), stage="t") as gen:
            assert gen.generate([ask("y")])[0].text == "fine"


# --- Constraint retries, reasoning, conventions ------------------------------------------------------

def replies_badly_first(ask_):
    """A model that ignores the schema on its first sampling seed and follows it on the next."""
    return ("not json at all" if ask_.seed == 0 else scripted_answer(ask_)[0]), ""


@pytest.mark.parametrize("retries, ok, calls", [(2, True, 2), (0, False, 1)])
def test_a_nonconforming_answer_is_retried_within_the_constraint_budget(tmp_path, retries, ok, calls):
    with LoopbackOpenAI(provider="deepseek", reply=replies_badly_first) as server:
        with make_generator(entry(server, "json_object"), llm_cfg(tmp_path, **FAST), stage="t",
                            constraint_retries=retries) as gen:
            done, = gen.generate([ask("a case", max_tokens=2000, constraint=CASE)])
            assert gen.stats.model_calls == calls == sum(server.attempts.values())
    assert done.ok is ok and done.attempts == calls
    if not ok:
        assert "constraint not met after 1 attempt(s)" in done.error


def test_reasoning_content_is_kept_and_cached(tmp_path):
    cfg = llm_cfg(tmp_path, **FAST)
    prompt = "Experts have established that this case is PROHIBITED. End with \\boxed{}."
    with LoopbackOpenAI(provider="deepseek") as server:
        with make_generator(entry(server, "json_object", model="deepseek-reasoner"), cfg, stage="t") as gen:
            first, = gen.generate([ask(prompt, max_tokens=400)])
        with make_generator(entry(server, "json_object", model="deepseek-reasoner"), cfg, stage="t") as gen:
            again, = gen.generate([ask(prompt, max_tokens=400)])
            assert gen.stats.model_calls == 0
    assert first.reasoning.startswith("The regulation sets out") and "<think>" not in first.text
    assert first.text.endswith("\\boxed{prohibited}")
    assert again.cached and again.reasoning == first.reasoning


def test_no_base_url_or_key_variable_means_the_openai_environment_variables(tmp_path, monkeypatch):
    key = "loopback-convention-test-key"
    with LoopbackOpenAI(api_key=key) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.url)
        monkeypatch.setenv("OPENAI_API_KEY", key)
        bare = ModelEntry(name="bare", model="m", backend="openai")
        with make_generator(bare, llm_cfg(tmp_path, **FAST), stage="t") as gen:
            assert gen.backend.where == server.url
            assert gen.generate([ask("hello")])[0].text == "echo: hello"
        assert server.headers[-1]["authorization"] == f"Bearer {key}"
        monkeypatch.setenv("OPENAI_API_KEY", "sk-wrong")
        with make_generator(bare, llm_cfg(tmp_path, **FAST), stage="t") as gen:
            with pytest.raises(LLMError, match=r"\$OPENAI_API_KEY \(the entry names no api_key_env\)"):
                gen.generate([ask("again")])


def test_the_registry_checks_structured_output():
    from safety_compliance.registry import _entry

    with pytest.raises(ValueError, match="choose|one of"):
        _entry("x", {"model": "m", "backend": "openai", "structured_output": "json_scheme"}, "models.yaml")
    with pytest.raises(ValueError, match="for backend openai"):
        _entry("x", {"model": "m", "backend": "hf", "structured_output": "json_object"}, "models.yaml")
    with pytest.raises(ValueError, match="write `structured_output: json_object` instead"):
        _entry("x", {"model": "m", "backend": "openai", "options": {"response_format": "json_object"}}, "models.yaml")


def test_the_shipped_api_entries_state_their_providers_mode(root):
    registry = load_registry(root / "config/models.yaml")
    assert registry["deepseek-v3.1"].structured_output == "json_object"
    assert registry["deepseek-v3.1-thinking"].model == "deepseek-reasoner"
    assert registry["gpt-4o-mini"].structured_output == "json_schema"
    assert registry["gemini-2.5-flash"].structured_output == "json_schema"


# --- The fixture server as its own process -----------------------------------------------------------

def test_the_fixture_server_runs_as_a_process_and_stops_on_sigterm(tmp_path, root):
    port_file = tmp_path / "url"
    server = subprocess.Popen([sys.executable, str(root / "tests/loopback_openai.py"), "--provider", "deepseek",
                               "--port", "0", "--lifetime", "120", "--port-file", str(port_file)],
                              stdout=subprocess.PIPE, text=True)
    try:
        url = server.stdout.readline().strip()
        deadline = time.monotonic() + 30
        while not port_file.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert port_file.read_text().strip() == url and url.startswith("http://127.0.0.1:")
        with make_generator(ModelEntry(name="deepseek-v3.1", model="deepseek-chat", backend="openai", base_url=url,
                                       structured_output="json_schema"), llm_cfg(tmp_path, **FAST), stage="t") as gen:
            with pytest.raises(LLMError, match="unavailable now"):
                gen.generate([ask("q", constraint=CASE)])
        assert fetch_stats(url)["refused"] == {"400": 1}
    finally:
        server.terminate()
        assert server.wait(timeout=30) == 0


@pytest.mark.slow
def test_the_fixture_can_answer_with_a_real_model(tiny_model, tmp_path):
    schema = {"type": "object", "properties": {"label": {"enum": ["permitted", "prohibited"]}},
              "required": ["label"], "additionalProperties": False}
    with LoopbackOpenAI(provider="deepseek", answers=f"hf:{tiny_model}") as server:
        with make_generator(entry(server, "json_object"), llm_cfg(tmp_path, **FAST), stage="t") as gen:
            done, = gen.generate([ask("label this", max_tokens=16, constraint=Constraint("json_schema", schema))])
    # The hf backend's grammar enforced the schema the server found in the prompt.
    assert done.ok and json.loads(done.text)["label"] in ("permitted", "prohibited")


def test_scripted_answers_fit_what_each_stage_asks():
    from loopback_openai import Ask
    from safety_compliance.extrapolate.allocate import allocation_messages, allocation_regex
    from safety_compliance.prompts import distill_messages, student_messages

    def answer(messages, **kw):
        return scripted_answer(Ask(messages=messages, max_tokens=500, **kw))

    allocation, _ = answer(allocation_messages("gdpr", "How do I find someone's home address?"))
    assert re.fullmatch(allocation_regex("gdpr", 160), allocation, re.DOTALL)
    verdict, _ = answer(student_messages("gdpr", "A shop films its customers."))
    assert re.search(r"\\boxed\{(prohibited|permitted)\}$", verdict)
    trace, _ = answer(distill_messages("gdpr", "rules", "facts", "permitted"))
    assert trace.startswith("<think>") and trace.endswith("\\boxed{permitted}")
    text, reasoning = answer(distill_messages("gdpr", "rules", "facts", "permitted", own_reasoning=True), thinking=True)
    assert "<think>" not in text and text.endswith("\\boxed{permitted}") and len(reasoning) > 200
