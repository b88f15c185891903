"""Crash safety of the call cache: SIGKILL and resume, a warm rerun, two writers at once."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from safety_compliance.llm import Completion
from safety_compliance.llm.cache import CallCache

from llm_helpers import ask, mini_stage

ROOT = Path(__file__).resolve().parents[1]

# The stage in miniature (llm_helpers.mini_stage) in its own process, so it can be killed.
WORKER = r"""
import json, sys
sys.path.insert(0, "tests")
from llm_helpers import mini_stage
print(json.dumps({"model_calls": mini_stage(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]),
                                            float(sys.argv[5]))}), flush=True)
"""
N = 12


def start(model, cache, out, pause=0.0):
    return subprocess.Popen([sys.executable, "-c", WORKER, str(model), str(cache), str(out), str(N), str(pause)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)


def finish(proc) -> dict:
    stdout, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, stdout
    return json.loads(stdout.strip().splitlines()[-1])


def stored(cache: Path) -> int:
    if not cache.exists():
        return 0
    with sqlite3.connect(cache, timeout=30) as db:
        try:
            return db.execute("SELECT COUNT(*) FROM calls").fetchone()[0]
        except sqlite3.OperationalError:   # the table is not created yet
            return 0


@pytest.mark.slow
def test_sigkill_then_resume_gives_the_same_bytes_and_repeats_no_stored_call(tiny_model, tmp_path):
    assert mini_stage(str(tiny_model), str(tmp_path / "a.sqlite"), str(tmp_path / "a.jsonl"), N) == N

    cache = tmp_path / "b.sqlite"
    victim = start(tiny_model, cache, tmp_path / "b.jsonl", pause=0.5)
    deadline = time.monotonic() + 300
    while stored(cache) < 4 and time.monotonic() < deadline and victim.poll() is None:
        time.sleep(0.05)
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait()
    kept = stored(cache)
    assert 4 <= kept < N, f"the kill should land mid-run ({kept} of {N} stored)"
    assert not (tmp_path / "b.jsonl").exists()

    resumed = finish(start(tiny_model, cache, tmp_path / "b.jsonl"))
    assert resumed["model_calls"] == N - kept
    assert (tmp_path / "b.jsonl").read_bytes() == (tmp_path / "a.jsonl").read_bytes()

    assert mini_stage(str(tiny_model), str(cache), str(tmp_path / "c.jsonl"), N) == 0
    assert (tmp_path / "c.jsonl").read_bytes() == (tmp_path / "a.jsonl").read_bytes()


WRITER = r"""
import sys
sys.path.insert(0, "tests")
from llm_helpers import ask, mini_stage
from safety_compliance.llm import Completion
from safety_compliance.llm.cache import CallCache

cache, who, n = CallCache(sys.argv[1]), sys.argv[2], int(sys.argv[3])
for i in range(n):
    # Both writers store the shared keys too: the same answer, written twice, stays one row.
    key = f"shared {i}" if i % 4 == 0 else f"{who} {i}"
    cache.put_many("model", [(ask(key), Completion(text=f"answer to {key}", finish_reason="stop"))])
cache.close()
"""


def test_two_processes_write_one_cache_without_corrupting_it(tmp_path):
    path = tmp_path / "shared.sqlite"
    CallCache(path).close()
    n = 150
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), who, str(n)], cwd=ROOT)
               for who in ("left", "right")]
    assert [w.wait(timeout=300) for w in writers] == [0, 0]
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    cache = CallCache(path)
    keys = {f"shared {i}" if i % 4 == 0 else f"{who} {i}" for who in ("left", "right") for i in range(n)}
    assert cache.count("model") == len(keys)
    hits = cache.get_many("model", [ask(k) for k in sorted(keys)])
    assert [hits[i].text for i in range(len(keys))] == [f"answer to {k}" for k in sorted(keys)]
    cache.close()


def test_a_cached_answer_comes_back_whole(tmp_path):
    cache = CallCache(tmp_path / "c.sqlite")
    original = Completion(text="ü {json}", finish_reason="length", prompt_tokens=3, completion_tokens=5,
                          error="why", attempts=2, extra={"raw": "x"})
    cache.put_many("m", [(ask("q", temperature=0.5, seed=4), original)])
    back = cache.get_many("m", [ask("q", temperature=0.5, seed=4), ask("q", temperature=0.5, seed=5)])
    assert list(back) == [0] and back[0].cached
    assert (back[0].text, back[0].error, back[0].attempts, back[0].extra) == ("ü {json}", "why", 2, {"raw": "x"})
    assert cache.get_many("other model", [ask("q", temperature=0.5, seed=4)]) == {}
    cache.close()
