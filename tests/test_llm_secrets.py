"""No API key ever lands in results/, logs or executed notebooks: real stage runs with a fake key.

A stage runs under Snakemake in a scratch copy of the project with an extra config in which its
model (the synthesis teacher; the chapter allocator of the extrapolation stage) is an openai-backend
registry entry pointing at the loopback server. The key lives only in the environment variable the
entry names; afterwards every file the run wrote is searched for it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import yaml

from loopback_openai import LoopbackOpenAI

sys.path.insert(0, str(Path(__file__).parent / "cluster"))
from workflow_run import venv_env  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
LINKED = ("Snakefile", "workflow", "config", "notebooks", "resources")


def has_rule(name: str) -> bool:
    return any(f"rule {name}:" in p.read_text(encoding="utf-8") for p in (ROOT / "workflow/rules").glob("*.smk"))


def run_with_key(tmp_path: Path, target: str, extra: dict) -> None:
    """Run Snakemake on `target` in a scratch project whose registry adds `loopback-teacher` (an
    openai entry keyed by $SC_TEST_API_KEY), then search every file the run wrote for the key."""
    secret = f"sk-sc-test-{uuid.uuid4().hex}"
    project = tmp_path / "project"
    project.mkdir()
    for name in LINKED:
        (project / name).symlink_to(ROOT / name)
    with LoopbackOpenAI(api_key=secret, lifetime=1200) as server:
        # The project's registry (other stages' rules read it at parse time) plus the teacher.
        registry = yaml.safe_load((ROOT / "config/models.yaml").read_text(encoding="utf-8"))
        registry["loopback-teacher"] = {"model": "loopback-teacher", "backend": "openai", "base_url": server.url,
                                        "api_key_env": "SC_TEST_API_KEY", "concurrency": 4}
        (project / "teacher.yaml").write_text(yaml.safe_dump(registry))
        (project / "extra.yaml").write_text(yaml.safe_dump({
            "laws": ["eu_ai_act"], "models_file": "teacher.yaml",
            "llm": {"cache": "results/cache/llm.sqlite", "usage_dir": "results/usage", "max_retries": 1,
                    "backoff_base": 0.05, "request_timeout": 30.0},
            **extra,
        }))
        env = {**venv_env(), "SC_TEST_API_KEY": secret, "SAFETY_COMPLIANCE_ROOT": str(project)}
        run = subprocess.run([sys.executable, "-m", "snakemake", target, "--cores", "1", "--configfile", "extra.yaml"],
                             cwd=project, env=env, capture_output=True, text=True, timeout=1500)
        calls_with_key = sum(h.get("authorization") == f"Bearer {secret}" for h in server.headers)
    assert run.returncode == 0, run.stderr[-3000:]
    assert calls_with_key > 0, "the stage never called the teacher, so the check proves nothing"
    assert secret not in run.stdout and secret not in run.stderr
    # os.walk does not follow the links into the shared checkout: only what the run wrote is read.
    written = [Path(folder) / name for folder, _, names in os.walk(project) for name in names
               if not (Path(folder) / name).is_symlink()]
    assert any("logs" in p.parts for p in written) and any(p.name == "llm.sqlite" for p in written)
    leaks = [str(p.relative_to(project)) for p in written if secret.encode() in p.read_bytes()]
    assert leaks == [], f"the API key was written to {leaks}"


@pytest.mark.slow
def test_synthesis_with_an_api_teacher_leaves_the_key_nowhere(tmp_path):
    if not has_rule("synthesize"):
        pytest.skip("rule `synthesize` (the benchmark stage) is not in the workflow yet")
    run_with_key(tmp_path, "results/benchmark/eu_ai_act/cases.jsonl", {"teacher": "loopback-teacher"})


@pytest.mark.slow
def test_chapter_allocation_with_an_api_model_leaves_the_key_nowhere(tmp_path):
    if not has_rule("allocate"):
        pytest.skip("rule `allocate` (the extrapolation stage) is not in the workflow yet")
    run_with_key(tmp_path, "results/extrapolate/aegis1/eu_ai_act/allocation.jsonl",
                 {"extrapolate": {**yaml.safe_load((ROOT / "config/config.yaml").read_text())["extrapolate"],
                                  "allocator": "loopback-teacher", "datasets": ["aegis1"], "samples_per_dataset": 2}})
