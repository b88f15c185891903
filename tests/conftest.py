"""Shared fixtures: the project root, the real data folder, and the tiny random model."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from tiny_model import build_tiny_model  # noqa: E402

sys.path.insert(0, str(ROOT / "tests" / "cluster"))


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def resources() -> Path:
    """The real inputs, as `make setup` provides them."""
    path = ROOT / "resources"
    if not (path / "law").is_dir():
        pytest.fail("resources/ is not set up; run `make setup` (make test does it first)")
    return path


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "tiny-qwen3")


@pytest.fixture(scope="session")
def smollm2(resources) -> Path:
    path = resources / "models" / "smollm2-135m-instruct"
    if not (path / "config.json").is_file():
        pytest.fail("the embedded model is missing; run `make setup`")
    return path


@pytest.fixture(scope="session", autouse=True)
def cluster_up_from_the_start(request):
    """Where the session has a cluster test, the test cluster starts before the first test, not at it.

    Snakemake's SLURM plugin asks `scontrol show config` when it is imported, and where SLURM's client
    is installed but no controller answers, that call waits 9 s: every Snakemake start of the suite
    (dozens of dry runs and workflow runs) paid it once the first session had installed SLURM. A
    cluster that cannot start stops only the tests that ask for it (they get its skip or failure)."""
    if not any("slurm_cluster" in item.fixturenames for item in request.session.items):
        return
    try:
        request.getfixturevalue("slurm_cluster")
    except (pytest.skip.Exception, pytest.fail.Exception):
        pass


@pytest.fixture(scope="session")
def slurm_cluster(pytestconfig):
    """A running one-node SLURM cluster, shared by the session's cluster tests; its daemons are
    stopped (by PID) however the tests end."""
    from slurm import start_cluster

    stop = start_cluster(pytestconfig)
    try:
        yield
    finally:
        stop()
