# Helpers shared by every stage's rules.
import json
import os
import shlex
import sys
from pathlib import Path

import yaml

from safety_compliance.law.build import OFFICIAL
from safety_compliance.notebook_params import nbval_overrides

# Jobs call the tools of the environment Snakemake runs in (papermill, safety-compliance, accelerate)
# whether or not it is activated: `make demo` starts .venv/bin/snakemake by its path, and every
# SLURM job re-reads this file under the same interpreter.
os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"

# Each stage appends the files `rule all` must make.
TARGETS = []

LAWS = config["laws"]
RESULTS = "results"
NOTEBOOK_OUT = f"{RESULTS}/notebooks"

# Where each law's official text lives, as the law stage's parsers expect it.
LAW_SOURCES = {law: path for law, (path, _parser) in OFFICIAL.items()}
EMBEDDED_MODEL = "resources/models/smollm2-135m-instruct"


def notebook(name, out, log, **params):
    """The shell command that runs notebooks/{name}.ipynb with papermill into `out`.

    Every notebook gets the resolved config (`overrides`) so that `--configfile config/paper.yaml`
    reaches it, and writes under results/ instead of its standalone default. Its nbval-sized
    `*_overrides` defaults are cleared, so the job runs at the config's scale.
    """
    cleared = {param: {} for param in nbval_overrides(f"notebooks/{name}.ipynb")}
    params = {**cleared, "overrides": config, "results_dir": RESULTS, **params}
    return (
        f"papermill notebooks/{name}.ipynb {shlex.quote(str(out))} "
        f"-y {shlex.quote(yaml.safe_dump(params, sort_keys=True))} "
        f"--no-progress-bar > {shlex.quote(str(log))} 2>&1"
    )


def compute(rule_name):
    """The resources a rule asks the scheduler for, from the config's `compute` block.

    A rule with no entry gets `default`. GPU keys are left out when no GPU is wanted, so a demo run
    never asks SLURM for a generic resource the node does not have.
    """
    spec = dict(config["compute"]["default"])
    spec.update(config["compute"].get(rule_name, {}))
    if not spec.get("gpu"):
        spec.pop("gpu", None)
        spec.pop("cpus_per_gpu", None)
    return spec
