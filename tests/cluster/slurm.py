"""The one-node SLURM cluster of the tests (tests/cluster/setup_slurm.sh) and what a run on it did.

`cluster(config)` installs and starts the daemons and returns a function that stops them (by the PIDs
the script recorded); `submitted(log)` reads which Snakemake jobs went to SLURM under which ids, and
`job_record(id)` asks SLURM what it knows of one (its state, and whether it asked for a GPU).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SETUP = Path(__file__).with_name("setup_slurm.sh")
PROFILE = Path(__file__).with_name("profile")


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


def start_cluster(config):
    """Start the cluster; returns the function that stops it. Skipped (loudly) only where this machine
    cannot have a test cluster: not root, not Debian, or a real cluster already configured."""
    if os.geteuid() != 0:
        loud_skip(config, "not root, so SLURM cannot be installed and its daemons cannot be started")
    if not shutil.which("apt-get") and not shutil.which("slurmctld"):
        loud_skip(config, "no apt-get (not Debian) and no SLURM installed")
    installed = _script("install", timeout=900)
    if installed.returncode != 0:
        # root on Debian can install it, so a failure here is a defect to see, not a machine to skip
        pytest.fail(f"installing slurm-wlm and munge failed: {installed.stderr.strip()[-500:]}")
    started = _script("start", timeout=180)
    if started.returncode == 3:    # refused before starting anything (e.g. a real cluster is running)
        loud_skip(config, f"the test cluster was not started: {started.stderr.strip()[-800:]}")

    def stop() -> None:
        stopped = _script("stop", timeout=60)
        say(config, (stopped.stdout + stopped.stderr).strip())

    if started.returncode != 0:
        stop()
        pytest.fail(f"the SLURM daemons did not start: {started.stderr.strip()[-800:]}")
    say(config, "\n" + started.stdout.strip())
    return stop


def submitted(log: str) -> dict[str, tuple[str, str]]:
    """SLURM job id -> (rule, Snakemake job id) for every job the run submitted."""
    found = {}
    for job, slurm_id in re.findall(r"Job (\d+) has been submitted with SLURM jobid (\d+)", log):
        rule = re.search(rf"rule (\w+):\n(?:    .*\n)*?    jobid: {job}\n", log)
        found[slurm_id] = (rule.group(1) if rule else "?", job)
    return found


def job_record(slurm_id: str) -> dict[str, str]:
    """What `scontrol show job` says of a job: every Key=Value pair (empty once SLURM forgot it)."""
    out = subprocess.run(["scontrol", "show", "job", slurm_id], capture_output=True, text=True).stdout
    return dict(re.findall(r"(\w+)=(\S*)", out))


def asks_for_gpu(record: dict[str, str]) -> bool:
    return any("gpu" in record.get(key, "") for key in ("TRES", "ReqTRES", "TresPerNode", "TresPerJob", "Gres"))
