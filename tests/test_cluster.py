"""The workflow on a real (one-node) SLURM cluster, through snakemake-executor-plugin-slurm.

tests/cluster/setup_slurm.sh installs Debian's slurm-wlm and munge and starts the daemons; the test
then runs the law stage of the demo DAG as sbatch jobs with tests/cluster/profile (its table and
figure, localrules, on the submitting host), and prints each job's SLURM id and state. Every daemon the script started is
stopped by its PID when the module's tests end, pass or fail.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "cluster"))
from workflow_run import ROOT, dry_run, make_mirror, rule_locality, snakemake  # noqa: E402

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

SETUP = ROOT / "tests" / "cluster" / "setup_slurm.sh"
PROFILE = ROOT / "tests" / "cluster" / "profile"
LAWS = ("eu_ai_act", "gdpr")
# What the cluster makes: the law stage (CPU only, one sbatch job per law), then its seeds-per-chapter
# table and figure, a localrule that runs on the submitting host.
TARGETS = [f"results/law/{law}/{name}" for law in LAWS for name in ("tree.json", "seeds.jsonl", "stats.json")]
TARGETS += ["results/tables/table_seeds.csv", "paper_figures/figure_seeds.png"]
RUN_TIMEOUT = 900      # seconds; the plugin would wait forever on a job SLURM lost


def say(config, text: str) -> None:
    """A line in the test log whether or not pytest captures output (the CI log must show it)."""
    capture = config.pluginmanager.get_plugin("capturemanager")
    if capture is None:
        print(text, file=sys.stderr, flush=True)
        return
    with capture.global_and_fixture_disabled():
        print(text, file=sys.stderr, flush=True)


def loud_skip(config, reason: str) -> None:
    """Skip, but make sure a reader of the CI log sees why the cluster was not tested."""
    say(config, f"\n*** CLUSTER TEST SKIPPED: {reason} ***")
    pytest.skip(f"CLUSTER TEST SKIPPED: {reason}")


def _script(action: str, timeout: int) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(SETUP), action], capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def slurm_cluster(pytestconfig):
    """A running one-node cluster; its daemons are stopped (by PID) however the tests end."""
    if os.geteuid() != 0:
        loud_skip(pytestconfig, "not root, so SLURM cannot be installed and its daemons cannot be started")
    if not shutil.which("apt-get") and not shutil.which("slurmctld"):
        loud_skip(pytestconfig, "no apt-get (not Debian) and no SLURM installed")
    installed = _script("install", timeout=900)
    if installed.returncode != 0:
        loud_skip(pytestconfig, f"installing slurm-wlm and munge failed: {installed.stderr.strip()[-500:]}")
    started = _script("start", timeout=180)
    if started.returncode == 3:    # refused before starting anything (e.g. a real cluster is running)
        loud_skip(pytestconfig, f"the test cluster was not started: {started.stderr.strip()[-800:]}")
    try:
        if started.returncode != 0:
            loud_skip(pytestconfig, f"the SLURM daemons did not start: {started.stderr.strip()[-800:]}")
        say(pytestconfig, "\n" + started.stdout.strip())
        yield
    finally:
        stopped = _script("stop", timeout=60)
        say(pytestconfig, (stopped.stdout + stopped.stderr).strip())


def test_demo_requests_no_gpu_and_paper_profile_does():
    """A GPU request on this GPU-less node would fail at submission (sbatch: Invalid generic resource)."""
    demo = dry_run(["--cores", "1", "all"])      # the demo config, as test_dag.py reads it (one dry run)
    assert not [j.rule for j in demo if "gpu" in j.resources], "the demo DAG asks for a GPU"
    rules = set(rule_locality())
    gpu_rules = {"sft", "grpo", "evaluate", "allocate"} & rules
    if not gpu_rules:
        pytest.skip(f"no GPU rule is in the workflow yet (rules: {sorted(rules)})")
    paper = dry_run(["--profile", "slurm", "all"])
    with_gpu = {j.rule for j in paper if int(j.resources.get("gpu", 0)) > 0}
    assert gpu_rules <= with_gpu, f"paper-scale rules without a GPU: {sorted(gpu_rules - with_gpu)}"


def test_law_stage_runs_as_slurm_jobs(slurm_cluster, tmp_path, pytestconfig):
    locality = rule_locality()
    mirror = make_mirror(tmp_path / "checkout")
    # Only what is missing runs, and the mirror's results/ is empty: the whole law stage runs.
    planned = [j for j in dry_run(["--profile", str(PROFILE), *TARGETS], cwd=mirror, force=False)
               if not locality[j.rule]]
    assert {j.rule for j in planned} >= {"law_tree"}, f"law_tree would not be submitted: {planned}"

    start = time.monotonic()
    run = snakemake(["--profile", str(PROFILE), *TARGETS], cwd=mirror, timeout=RUN_TIMEOUT)
    wall = time.monotonic() - start
    log = run.stdout + run.stderr

    submitted = dict(re.findall(r"Job (\d+) has been submitted with SLURM jobid (\d+)", log))
    states = {}
    for jobid in submitted.values():
        out = subprocess.run(["scontrol", "show", "job", jobid], capture_output=True, text=True).stdout
        state = re.search(r"JobState=(\S+)", out)
        states[jobid] = state.group(1) if state else "gone (older than MinJobAge)"
    say(pytestconfig, f"\ncluster run: {len(submitted)} sbatch jobs in {wall:.0f} s wall time")
    for snakemake_job, slurm_id in sorted(submitted.items(), key=lambda kv: int(kv[1])):
        rule = re.search(rf"rule (\w+):\n(?:    .*\n)*?    jobid: {snakemake_job}\n", log)
        say(pytestconfig, f"  SLURM job {slurm_id}  rule {rule.group(1) if rule else '?'}  state {states[slurm_id]}")

    assert run.returncode == 0, f"snakemake on SLURM failed:\n{log[-5000:]}"
    assert len(submitted) == len(planned), (
        f"{len(planned)} jobs planned but {len(submitted)} submitted to SLURM:\n{log[-3000:]}")
    assert set(states.values()) == {"COMPLETED"}, f"SLURM job states: {states}"
    for target in TARGETS:
        path = mirror / target
        assert path.is_file() and path.stat().st_size > 0, f"{target} was not made"
