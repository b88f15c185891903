"""Running the project's Snakemake workflow from tests: dry runs read as jobs, and real runs in a mirror.

A dry run's printout is what a user sees, so the tests read jobs and their resources from it: each
job is a `rule NAME:` block with a `resources:` line. The printout calls every rule `rule`, local or
not, so which rules are local comes from the rule objects (Snakemake's API) instead.
A mirror is a temporary folder that links every top-level entry of the checkout except the
workflow's outputs, so a test run writes its own results/ and .snakemake/ and never the checkout's.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# What a workflow run writes; everything else in the checkout is shared with the mirror by a link.
OUTPUTS = {"results", "paper_figures", ".snakemake", ".git", ".pytest_cache"}

_JOB_HEAD = re.compile(r"^(?:local)?rule (\w+):$")

# Prints {rule: is it a localrule} for the workflow in the working folder.
_LOCALITY = """
import json, sys
from pathlib import Path
from snakemake.api import SnakemakeApi
from snakemake.settings.types import ConfigSettings, OutputSettings, ResourceSettings
with SnakemakeApi(OutputSettings()) as api:
    workflow = api.workflow(resource_settings=ResourceSettings(), config_settings=ConfigSettings(),
                            snakefile=Path("Snakefile"))._workflow
    local = {r.name: r.name in workflow._localrules or r.norun for r in workflow.rules}
print("LOCALITY " + json.dumps(local))
"""


@dataclass
class Job:
    rule: str
    resources: dict[str, str] = field(default_factory=dict)
    wildcards: dict[str, str] = field(default_factory=dict)
    threads: int = 1
    priority: int = 0


def venv_env() -> dict[str, str]:
    """The environment `make demo` gives the workflow: the venv's Snakemake, started by its path, with
    no venv on PATH; so a job that finds papermill or the CLI only through an activated venv fails here."""
    env = dict(os.environ)
    env.pop("VIRTUAL_ENV", None)
    if sys.prefix != sys.base_prefix:
        venv_bin = str(Path(sys.prefix) / "bin")
        env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep)
                                      if p and os.path.abspath(p) != venv_bin)
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    return env


def snakemake(args: list[str], cwd: Path = ROOT, timeout: int = 600,
              env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """`snakemake ARGS` in `cwd` with the venv's Snakemake; output captured, never raises on failure."""
    cmd = [sys.executable, "-m", "snakemake", *args]
    return subprocess.run(cmd, cwd=cwd, env=env or venv_env(), capture_output=True, text=True, timeout=timeout)


# A researcher holding every API key the paper's registry names: the dry run plans the API models'
# jobs (no call is made), where without the keys they are named and left out of the tables.
HOLDS_KEYS = {**venv_env(), "DEEPSEEK_API_KEY": "dry-run", "OPENAI_API_KEY": "dry-run", "GEMINI_API_KEY": "dry-run"}


def parse_jobs(printout: str) -> list[Job]:
    """The jobs of a dry run's printout, in the order printed."""
    jobs: list[Job] = []
    for line in printout.splitlines():
        head = _JOB_HEAD.match(line.strip())
        if head:
            jobs.append(Job(rule=head.group(1)))
        elif jobs and line.strip().startswith(("resources:", "wildcards:")):
            key, _, rest = line.strip().partition(":")
            pairs = dict(item.strip().split("=", 1) for item in rest.split(", ") if "=" in item)
            setattr(jobs[-1], key, pairs)
        elif jobs and line.strip().startswith(("threads:", "priority:")):
            key, _, rest = line.strip().partition(":")
            setattr(jobs[-1], key, int(rest))
    return jobs


def dry_run(args: list[str], cwd: Path = ROOT, force: bool = True,
            env: dict[str, str] | None = None) -> list[Job]:
    """Every job Snakemake would run for `args`; forced, finished work is listed too.

    Forced dry runs of the checkout are shared by the tests of one session (the DAG does not change
    during a test run, and each dry run costs seconds of CPU).
    """
    key = (tuple(args), str(cwd), tuple(sorted((env or {}).items())))
    if force and key in _DRY_RUNS:
        return list(_DRY_RUNS[key])
    jobs = _dry_run(args, cwd, force, env)
    if force:
        _DRY_RUNS[key] = jobs
    return list(jobs)


_DRY_RUNS: dict[tuple, list[Job]] = {}


def _dry_run(args: list[str], cwd: Path, force: bool, env: dict[str, str] | None) -> list[Job]:
    args = ["-n", *(["--forceall"] if force else []), *args]
    result = snakemake(args, cwd=cwd, env=env)
    if result.returncode != 0:
        raise AssertionError(f"dry run `snakemake {' '.join(args)}` failed:\n"
                             f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    jobs = parse_jobs(result.stdout + "\n" + result.stderr)
    if not jobs:
        raise AssertionError(f"dry run listed no jobs:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    return jobs


@functools.lru_cache(maxsize=None)
def rule_locality(cwd: Path = ROOT) -> dict[str, bool]:
    """Every rule of the workflow -> whether it runs on the submitting host (a localrule)."""
    result = subprocess.run([sys.executable, "-c", _LOCALITY], cwd=cwd, env=venv_env(),
                            capture_output=True, text=True, timeout=300)
    line = next((ln for ln in result.stdout.splitlines() if ln.startswith("LOCALITY ")), None)
    if result.returncode != 0 or line is None:
        raise AssertionError(f"could not load the workflow's rules:\n{result.stderr[-3000:]}")
    return json.loads(line[len("LOCALITY "):])


def fresh_checkout(dest: Path, root: Path = ROOT) -> Path:
    """A copy of the checkout's files as a fresh clone has them (tracked files and files not yet
    committed, nothing git ignores: no resources, results or venv), at `dest`, whose parent must hold
    no `shared` folder. Run it with `clone_env(dest)`, so its jobs import its own package."""
    if (dest.parent / "shared").exists():
        raise AssertionError(f"{dest.parent} holds a shared/ folder; a fresh clone must not find one")
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=root,
                            capture_output=True, text=True, check=True).stdout
    for name in filter(None, listed.split("\0")):
        src = root / name
        if src.is_file() or src.is_symlink():      # a tracked file deleted in the work tree is skipped
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name, follow_symlinks=False)
    return dest


def clone_env(checkout: Path) -> dict[str, str]:
    """venv_env() for a fresh checkout: its own package first on the path, no Hugging Face token."""
    env = venv_env()
    env["PYTHONPATH"] = str(checkout / "src")
    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_OIDC_RESOURCE"):
        env.pop(name, None)
    env["HF_HOME"] = str(checkout / ".hf-home")     # no stored login either
    return env


def make_mirror(dest: Path, root: Path = ROOT) -> Path:
    """A folder that behaves like the checkout but keeps the outputs of a run to itself."""
    dest.mkdir(parents=True, exist_ok=True)
    for entry in root.iterdir():
        if entry.name not in OUTPUTS:
            (dest / entry.name).symlink_to(entry)
    return dest
