"""The command line as users start it: `safety-compliance`, `python -m safety_compliance`, --version."""

from __future__ import annotations

import subprocess
import sys

import safety_compliance


def test_python_dash_m_and_version():
    run = subprocess.run([sys.executable, "-m", "safety_compliance", "--version"], capture_output=True, text=True)
    assert run.returncode == 0 and run.stdout.strip() == f"safety-compliance {safety_compliance.__version__}"
    listed = subprocess.run([sys.executable, "-m", "safety_compliance", "--help"], capture_output=True, text=True)
    assert listed.returncode == 0 and "benchmark" in listed.stdout and "judge" in listed.stdout


def test_judge_endpoint_options_are_for_the_openai_backend():
    run = subprocess.run([sys.executable, "-m", "safety_compliance", "judge", "--model", "m", "--base-url",
                          "http://127.0.0.1:9/v1", "facts"], capture_output=True, text=True)
    assert run.returncode == 2 and "--base-url and --api-key-env are for --backend openai" in run.stderr
