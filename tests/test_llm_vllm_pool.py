"""Kept vLLM servers (llm.vllm_keep_alive > 0): jobs on one machine share a server per weights and
engine arguments. The slow tests run real `vllm serve` processes from .venv-vllm, each job a process
of its own; every test keeps its server records in a temp dir of its own (TMPDIR)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from llm_helpers import llm_cfg
from safety_compliance.llm.vllm_backend import VLLMBackend, vllm_python
from safety_compliance.llm.vllm_pool import (Files, Lease, _mark, discard, live_leases, read_state, state_root,
                                             stop_all_kept, usable)
from safety_compliance.llm.vllm_server import VLLMServer
from safety_compliance.registry import ModelEntry, get_model, load_registry

ROOT = Path(__file__).resolve().parents[1]
NAME = "smollm2-135m-instruct-vllm"
KEEP = 30.0   # seconds: longer than a job takes to start up and ask, short enough to wait for
# The prompt as written, with none of SmolLM2's default system prompt: a Llama-Guard-like entry.
TEMPLATE = "<|im_start|>user\n{{ messages[0]['content'] }}<|im_end|>\n<|im_start|>assistant\n"
QUESTION = "What is the capital of France?"

JOB = """
import json, sys, time
from dataclasses import replace
from pathlib import Path
sys.path.insert(0, "tests")
from llm_helpers import ask, llm_cfg
from safety_compliance.llm import make_generator
from safety_compliance.registry import get_model, load_registry
tmp, keep, template, hold = Path(sys.argv[1]), float(sys.argv[2]), sys.argv[3], float(sys.argv[4])
entry = get_model(load_registry("config/models.yaml"), "{name}")
if template:
    entry = replace(entry, name="smollm2-templated-vllm", options={{**entry.options, "chat_template": template}})
cfg = llm_cfg(tmp, cache="none", vllm_log_dir=str(tmp / "logs"), vllm_keep_alive=keep)
gen = make_generator(entry, cfg, stage="t")
t0 = time.monotonic()
done = gen.generate([ask("{question}", max_tokens=8)])[0]
print(json.dumps({{"pid": gen.backend.server.pid, "tokens": done.prompt_tokens, "text": done.text,
                   "seconds": time.monotonic() - t0}}), flush=True)
time.sleep(hold)   # still using the server (holding its lease) until killed or done
gen.close()
"""


def job(tmp: Path, keep: float = KEEP, template: str = "", hold: float = 0.0) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "TMPDIR": str(tmp / "tmp")}
    return subprocess.Popen([sys.executable, "-c", JOB.format(name=NAME, question=QUESTION), str(tmp), str(keep),
                             template, str(hold)], cwd=ROOT, stdout=subprocess.PIPE, text=True, env=env)


def answer(process: subprocess.Popen) -> dict:
    line = process.stdout.readline()
    assert line, f"the job printed nothing (exit status {process.wait()})"
    return json.loads(line)


def pool_root(tmp: Path) -> Path:
    (tmp / "tmp").mkdir(exist_ok=True)
    return state_root(tmp / "tmp")


def running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def ends(pid: int, within: float) -> float | None:
    """Seconds until `pid` ends, None if it still runs after `within`."""
    t0 = time.monotonic()
    while running(pid):
        if time.monotonic() - t0 > within:
            return None
        time.sleep(0.5)
    return time.monotonic() - t0


@pytest.fixture(scope="module")
def entry(resources) -> ModelEntry:
    if not Path(vllm_python({})).is_file():
        pytest.fail("no vLLM environment at .venv-vllm; run `make vllm-env` (make test does it first)")
    return get_model(load_registry(ROOT / "config" / "models.yaml"), NAME)


# --- Without a server: records, leases and the key. ---

def test_entries_differing_only_in_chat_template_share_a_key_but_not_a_cache_identity(entry, tmp_path):
    plain = VLLMBackend(entry, llm_cfg(tmp_path, vllm_keep_alive=60)["llm"])
    templated = VLLMBackend(replace(entry, name="other", options={**entry.options, "chat_template": TEMPLATE}),
                            llm_cfg(tmp_path, vllm_keep_alive=60)["llm"])
    assert plain.server.files.key == templated.server.files.key
    assert plain.entry.model == templated.entry.model == plain.server.spec.served_name
    assert plain.identity != templated.identity and plain.identity.startswith(templated.identity.split("|template")[0])
    assert templated._arguments(ask_plain())["extra_body"]["chat_template"] == TEMPLATE
    assert "chat_template" not in plain._arguments(ask_plain()).get("extra_body", {})
    bigger = VLLMBackend(replace(entry, options={"engine": {**entry.options["engine"], "max_model_len": 2048}}),
                         llm_cfg(tmp_path, vllm_keep_alive=60)["llm"])
    assert bigger.server.files.key != plain.server.files.key


def ask_plain():
    from llm_helpers import ask

    return ask(QUESTION, max_tokens=8)


def test_keep_alive_zero_is_the_jobs_own_server_and_negative_is_refused(entry, tmp_path):
    assert isinstance(VLLMBackend(entry, llm_cfg(tmp_path)["llm"]).server, VLLMServer)
    assert isinstance(VLLMBackend(entry, llm_cfg(tmp_path, vllm_keep_alive=0)["llm"]).server, VLLMServer)
    with pytest.raises(ValueError, match="vllm_keep_alive is -1"):
        VLLMBackend(entry, llm_cfg(tmp_path, vllm_keep_alive=-1)["llm"])


class Models(BaseHTTPRequestHandler):
    served = "someone-else"

    def do_GET(self):
        body = json.dumps({"data": [{"id": self.served}]}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def serve(served: str) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), type("M", (Models,), {"served": served}))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_a_record_is_usable_only_for_its_own_processes_and_served_model(tmp_path):
    me = _mark(os.getpid())
    other = serve("someone-else")
    mine = serve("smollm2-abc")
    try:
        record = {"served": "smollm2-abc", "port": mine.server_port, "log": "x", "watchdog": me, "server": me}
        assert usable(record)
        assert not usable({**record, "port": other.server_port})              # the port serves another model
        assert not usable({**record, "server": [me[0], me[1] + 1]})           # the pid now belongs to another process
        dead = subprocess.Popen(["true"])
        dead.wait()
        assert not usable({**record, "watchdog": [dead.pid, me[1]]})
    finally:
        other.shutdown()
        mine.shutdown()


def test_unreadable_records_are_none(tmp_path):
    files = Files(tmp_path, "k")
    assert read_state(files) is None
    good = {"served": "x", "port": 80, "log": "l", "watchdog": [1, 2], "server": [3, 4]}
    files.state.write_text(json.dumps(good))
    assert read_state(files) == good
    for text in ("{not json", "[]", json.dumps({**good, "port": "80"}), json.dumps({**good, "server": []}),
                 json.dumps({**good, "watchdog": [1, None]})):
        files.state.write_text(text)
        assert read_state(files) is None


def test_discarding_a_stale_record_never_signals_a_process_that_took_its_pid(tmp_path):
    bystander = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        files = Files(tmp_path, "k")
        start = _mark(bystander.pid)[1]
        files.state.write_text(json.dumps({"served": "x", "port": 1, "log": "l",
                                           "watchdog": [bystander.pid, start - 1], "server": [bystander.pid, start + 1]}))
        discard(read_state(files), files)
        assert not files.state.exists() and bystander.poll() is None
    finally:
        bystander.kill()
        bystander.wait()


LEASE = """
import sys, time
from pathlib import Path
from safety_compliance.llm.vllm_pool import Files, Lease
lease = Lease(Files(Path(sys.argv[1]), "k"))
print("leased", flush=True)
time.sleep(600)
"""


def test_a_killed_jobs_lease_is_no_lease(tmp_path):
    files = Files(tmp_path, "k")
    holder = subprocess.Popen([sys.executable, "-c", LEASE, str(tmp_path)], stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    try:
        assert holder.stdout.readline().strip() == "leased"
        mine = Lease(files)
        assert live_leases(files) == 2
        holder.kill()
        holder.wait()
        assert live_leases(files) == 1 and len(list(files.leases.iterdir())) == 1   # the dead one's file is gone
        mine.release()
        assert live_leases(files) == 0 and files.used.exists()
    finally:
        holder.kill()


# --- Real servers. ---

@pytest.mark.slow
def test_entries_with_the_same_weights_share_one_kept_server_until_it_is_idle(entry, tmp_path):
    from transformers import AutoTokenizer

    root = pool_root(tmp_path)
    try:
        first, templated = job(tmp_path), job(tmp_path, template=TEMPLATE)   # at once: one of them starts it
        a, b = answer(first), answer(templated)
        assert first.wait(60) == 0 and templated.wait(60) == 0
        assert a["pid"] == b["pid"] and running(a["pid"])
        assert len(list((tmp_path / "logs").glob("*.log"))) == 1, "two servers were started"
        # The templated entry's prompt is rendered by its own template on the shared server.
        tokenizer = AutoTokenizer.from_pretrained(entry.model)

        def prompt_tokens(**template) -> int:
            text = tokenizer.apply_chat_template([{"role": "user", "content": QUESTION}], tokenize=False,
                                                 add_generation_prompt=True, **template)
            return len(tokenizer(text, add_special_tokens=False)["input_ids"])

        assert a["tokens"] == prompt_tokens() and b["tokens"] == prompt_tokens(chat_template=TEMPLATE) < a["tokens"]
        again = job(tmp_path)
        c = answer(again)
        assert again.wait(60) == 0 and c["pid"] == a["pid"] and c["text"] == a["text"]
        took = ends(a["pid"], within=KEEP + 60)
        assert took is not None, "the kept server was not stopped after it was idle"
        print(f"stopped {took:.0f} s after the last job (keep-alive {KEEP:g} s)")
        assert not list(root.glob("*.json")), "the stopped server's record was left behind"
        later = job(tmp_path)
        d = answer(later)
        assert later.wait(60) == 0 and d["pid"] != a["pid"] and running(d["pid"]) and d["text"] == a["text"]
    finally:
        stop_all_kept(root)
    assert not list(root.glob("*.json"))


@pytest.mark.slow
def test_a_stale_record_is_replaced_and_a_killed_jobs_lease_keeps_no_server(entry, tmp_path):
    root = pool_root(tmp_path)
    key = VLLMBackend(entry, llm_cfg(tmp_path, vllm_keep_alive=KEEP)["llm"]).server.files.key
    bystander = subprocess.Popen(["sleep", "600"], start_new_session=True)
    finished = subprocess.Popen(["true"])
    finished.wait()
    with socket.socket() as silent:   # takes connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        root.mkdir(mode=0o700, parents=True)
        Files(root, key).state.write_text(json.dumps({
            "served": "smollm2-stale", "port": silent.getsockname()[1], "log": "old.log",
            "watchdog": [finished.pid, 1], "server": [bystander.pid, _mark(bystander.pid)[1] + 1]}))
        user = job(tmp_path, hold=600)
        try:
            fresh = answer(user)
            state = read_state(Files(root, key))
            assert state["server"][0] == fresh["pid"] != bystander.pid and state["port"] != silent.getsockname()[1]
            assert bystander.poll() is None, "a process that merely has a recorded pid was signalled"
            assert ends(fresh["pid"], within=KEEP + 5) is None, "the server was stopped while a job used it"
            user.kill()
            user.wait()
            took = ends(fresh["pid"], within=KEEP + 60)
            assert took is not None, "a killed job's lease kept the server alive"
            print(f"stopped {took:.0f} s after the job was killed (keep-alive {KEEP:g} s)")
        finally:
            user.kill()
            bystander.kill()
            stop_all_kept(root)
