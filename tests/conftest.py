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
