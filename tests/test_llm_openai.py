"""The openai backend against the loopback OpenAI-compatible server, faults included."""

from __future__ import annotations

import time

import pytest

from llm_helpers import ask, llm_cfg
from loopback_openai import LoopbackOpenAI
from safety_compliance.llm import Constraint, make_generator
from safety_compliance.llm.openai_compat import LLMError, retry_after_seconds
from safety_compliance.registry import ModelEntry

FAST = {"backoff_base": 0.02, "backoff_max": 0.2, "request_timeout": 0.5}


def settled(read, want, within: float = 5.0):
    """read() once it equals `want`, or its value after `within` seconds."""
    deadline = time.monotonic() + within
    while read() != want and time.monotonic() < deadline:
        time.sleep(0.05)
    return read()


def remote(server, **kw) -> ModelEntry:
    return ModelEntry(name="remote", model="loop-1", backend="openai", base_url=server.url, **kw)


def test_answers_token_counts_and_cache(tmp_path):
    cfg = llm_cfg(tmp_path, **FAST)
    requests = [ask(f"one two q{i}", max_tokens=8) for i in range(6)] + [ask("cut me short", max_tokens=2)]
    with LoopbackOpenAI() as server:
        with make_generator(remote(server, concurrency=4), cfg, stage="t") as gen:
            out = gen.generate(requests)
        assert [c.text for c in out[:2]] == ["echo: one two q0", "echo: one two q1"]
        assert out[0].prompt_tokens == 3 and out[0].completion_tokens == 4 and out[0].finish_reason == "stop"
        assert out[-1].text == "echo: cut" and out[-1].finish_reason == "length" and out[-1].completion_tokens == 2
        assert server.bodies[0]["model"] == "loop-1" and server.bodies[0]["seed"] == 0
        with make_generator(remote(server, concurrency=4), cfg, stage="t") as gen:
            again = gen.generate(requests)
            assert gen.stats.model_calls == 0
        assert sum(server.attempts.values()) == len(requests)
    assert [c.text for c in again] == [c.text for c in out] and all(c.cached for c in again)


def test_a_regex_is_checked_after_and_retried_where_the_api_cannot_enforce_it(tmp_path):
    with LoopbackOpenAI() as server:
        with make_generator(remote(server), llm_cfg(tmp_path, **FAST), stage="t") as gen:
            good, bad = gen.generate([ask("y", constraint=Constraint("regex", r"echo: \w")),
                                      ask("z", constraint=Constraint("regex", r"\\boxed\{\w+\}"))])
        assert all("structured_outputs" not in b and "extra_body" not in b for b in server.bodies)
    assert good.ok
    # Not enforceable by the API: checked, retried with new seeds, then failed with its reason.
    assert not bad.ok and bad.attempts == 3 and "regex" in bad.error


def test_every_request_completes_exactly_once_under_faults(tmp_path):
    requests = [ask(f"q{i}", max_tokens=4) for i in range(40)]
    with LoopbackOpenAI(fault_rate=0.5, retry_after=0.05, hang=0.8, seed=3) as server:
        with make_generator(remote(server, concurrency=8), llm_cfg(tmp_path, max_retries=4, **FAST), stage="t") as gen:
            out = gen.generate(requests)
        assert all(c.ok for c in out), [c.error for c in out if not c.ok]
        assert [c.text for c in out] == [f"echo: q{i}" for i in range(40)]
        assert set(server.served.values()) == {1} and len(server.served) == 40
        assert set(server.injected) == {"429", "500", "drop", "timeout"}
        # An attempt the client gave up on (a timeout) may reach a busy server's counter a moment
        # after the client has moved on; every one of them must arrive.
        tried = sum(c.attempts for c in out)
        assert settled(lambda: sum(server.attempts.values()), tried) == tried > 40


def test_retry_after_is_honoured(tmp_path):
    with LoopbackOpenAI(fault_rate=1.0, faults=("429",), max_faults_per_request=1, retry_after=0.4) as server:
        with make_generator(remote(server), llm_cfg(tmp_path, **FAST), stage="t") as gen:
            out, = gen.generate([ask("wait")])
        first, second = next(iter(server.times.values()))
    assert out.ok and out.attempts == 2
    assert second - first >= 0.4


def test_retries_run_out_with_the_model_and_the_cause(tmp_path):
    cfg = llm_cfg(tmp_path, max_retries=2, **FAST)
    with LoopbackOpenAI(fault_rate=1.0, faults=("500",), max_faults_per_request=99) as server:
        with make_generator(remote(server), cfg, stage="t") as gen:
            out, = gen.generate([ask("doomed")])
        assert not out.ok and out.finish_reason == "error" and out.attempts == 3
        assert "'remote'" in out.error and "loop-1" in out.error and "HTTP 500: internal failure" in out.error
        assert "gave up after 3 attempts" in out.error
        # A transport failure is not an answer: the next run asks again.
        with make_generator(remote(server), cfg, stage="t") as gen:
            gen.generate([ask("doomed")])
            assert gen.stats.model_calls == 1
    with LoopbackOpenAI(fault_rate=1.0, faults=("drop",), max_faults_per_request=99) as server:
        with make_generator(remote(server), cfg, stage="t") as gen:
            out, = gen.generate([ask("dropped")])
    assert "connection failed" in out.error


def test_the_key_comes_from_the_named_variable_and_never_shows(tmp_path, monkeypatch):
    secret = "fake-test-key-7f3a9c1e5b2d-unique"
    monkeypatch.setenv("SC_UNIT_KEY", secret)
    with LoopbackOpenAI(api_key=secret) as server:
        entry = remote(server, api_key_env="SC_UNIT_KEY")
        assert secret not in repr(entry)
        with make_generator(entry, llm_cfg(tmp_path, **FAST), stage="t") as gen:
            assert gen.generate([ask("hi")])[0].ok
            assert secret not in repr(gen) and secret not in repr(gen.backend)
        assert server.headers[0]["authorization"] == f"Bearer {secret}"
        monkeypatch.setenv("SC_UNIT_KEY", "sk-wrong-key-000")
        calls = len(server.bodies)
        with make_generator(entry, llm_cfg(tmp_path, **FAST), stage="t") as gen:
            with pytest.raises(LLMError, match="HTTP 401.*check the key in \\$SC_UNIT_KEY") as err:
                gen.generate([ask(f"again {i}") for i in range(12)])
        assert "sk-wrong" not in str(err.value) and "'remote'" in str(err.value) and server.url in str(err.value)
        assert len(server.bodies) - calls == 1      # the first call alone: twelve requests, one refusal
    stored = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    assert secret.encode() not in stored
    monkeypatch.delenv("SC_UNIT_KEY")
    with pytest.raises(ValueError, match="SC_UNIT_KEY, which is not set"):
        make_generator(entry, llm_cfg(tmp_path), stage="t")


def test_retry_after_header_forms():
    assert retry_after_seconds({"retry-after": "2"}) == 2.0
    assert retry_after_seconds({"retry-after-ms": "250"}) == 0.25
    assert retry_after_seconds({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0
    assert retry_after_seconds({}) is None


def test_progress_bar_shows_requests_and_tokens_per_second(tmp_path, capsys):
    with LoopbackOpenAI() as server:
        with make_generator(remote(server), llm_cfg(tmp_path, progress=True, **FAST), stage="bar") as gen:
            gen.generate([ask(f"a b c {i}") for i in range(5)], desc="demo")
    err = capsys.readouterr().err
    assert "demo: 100%" in err and "5/5" in err and "req/s" in err and "tok/s" in err
