# Helpers shared by every stage's rules.
#
# How config reaches a job: each rule declares `params: config=config_slice("RULE")`, exactly the
# config keys (and registry entries) its job reads, from the table `SLICES` in
# src/safety_compliance/slices.py. Snakemake tracks that value, so editing a key reruns exactly the
# jobs whose slice holds it, and their descendants. Keys that cannot change a result (compute
# resources, cache paths, progress, timeouts, launchers) reach every job through the environment
# variable the slices module names instead, so editing them reruns nothing. Notebook jobs get the
# slice as papermill's `config` parameter, CLI jobs as `--config`; both read it with
# `safety_compliance.slices.job_config`.
import json
import os
import sys
from pathlib import Path

from safety_compliance.config import check_laws
from safety_compliance.laws import get_law, law_names
from safety_compliance.registry import resolve_registry
from safety_compliance.slices import RUNTIME_ENV, cut, runtime

# Jobs call the tools of the environment Snakemake runs in (papermill, safety-compliance, accelerate)
# whether or not it is activated: `make demo` starts .venv/bin/snakemake by its path, and every
# SLURM job re-reads this file under the same interpreter.
os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"

# Each stage appends the files `rule all` must make.
TARGETS = []

LAWS = check_laws(config)     # the schema knows laws are strings; the law registry knows which
RESULTS = "results"
NOTEBOOK_OUT = f"{RESULTS}/notebooks"

# Where each law's official text lives (the law registry's), as the law stage's parsers expect it.
LAW_SOURCES = {law: get_law(law).text_path for law in law_names()}
EMBEDDED_MODEL = "resources/models/smollm2-135m-instruct"

# Every model the config can name (the registry file, its overrides, the trained students).
REGISTRY = resolve_registry(config, RESULTS)
os.environ[RUNTIME_ENV] = json.dumps(runtime(config, RESULTS))


def config_slice(rule):
    """The tracked `config` param of `rule`: the part of the config its job reads."""
    return lambda wildcards: cut(config, rule, dict(wildcards.items()), RESULTS, REGISTRY)


def papermill(name, args="", log="log"):
    """The shell command that runs notebooks/{name}.ipynb into the rule's `notebook` output, with the
    job's config slice as its `config` parameter; `args` adds papermill parameters. Cell output
    reaches the log (`log`: the rule's log, or one of its named logs) while the notebook runs
    (--log-output), so a long cell shows its progress."""
    return (f"papermill notebooks/{name}.ipynb {{output.notebook}} -r config {{params.config:q}} "
            f"-p results_dir {RESULTS} {args} --log-output --no-progress-bar > {{{log}}} 2>&1")


UNAVAILABLE_ENV = "SAFETY_COMPLIANCE_UNAVAILABLE"


def runnable(names):
    """The models of `names` that can run here (weights local, made by a rule or on the hub; API keys
    set). The others are named on stderr and left out of the tables' inputs, so a table is written
    with the models that can run and names the rest, instead of no table at all. Worked out once on
    the submitting host and handed to cluster jobs through the environment."""
    from safety_compliance.preflight import unavailable_models

    known = json.loads(os.environ.get(UNAVAILABLE_ENV) or "{}")
    todo = [n for n in names if n not in known.get("checked", [])]
    if todo:
        known.setdefault("missing", {}).update(unavailable_models(config, todo, RESULTS))
        known["checked"] = sorted({*known.get("checked", []), *todo})
        for name in todo:
            if name in known["missing"]:
                print(f"{name} cannot run here and is left out of the tables: {known['missing'][name]}", file=sys.stderr)
        os.environ[UNAVAILABLE_ENV] = json.dumps(known)
    return [n for n in names if n not in known["missing"]]


def local_model_inputs(names):
    """The model folders this workflow makes among `names` (the embedded model, trained students,
    the base of a representation guard); hub and API models need nothing local."""
    paths = []
    for name in names:
        if not name:
            continue
        entry = REGISTRY[name]
        base = entry.options.get("base") if entry.backend == "representation" else None
        path = str(REGISTRY[base].model if base in REGISTRY else base or entry.model)
        if path.startswith(("resources/", f"{RESULTS}/")):
            paths.append(path)
    return paths


# The law tree, synthesis, distillation, SFT and GRPO form the longest chain of the DAG, and the
# extrapolation behind the trained student (allocation, case writing, classification) continues it;
# when cores are short they go first, so the many small jobs fill the gaps instead of delaying the
# chain (in the demo, evaluations ran first and left the last case writer alone on one core).
CRITICAL_PATH = 10


def compute_entry(rule_name):
    """The rule's `compute` entry over `default`: the one place both functions below read."""
    return {**config["compute"]["default"], **config["compute"].get(rule_name, {})}


def compute(rule_name):
    """The resources a rule asks the scheduler for, from the config's `compute` block.

    A rule with no entry gets `default`. GPU keys are left out when no GPU is wanted, so a demo run
    never asks SLURM for a generic resource the node does not have. `threads` is not a resource
    (see `compute_threads`).
    """
    spec = compute_entry(rule_name)
    spec.pop("threads", None)
    if not spec.get("gpu"):
        spec.pop("gpu", None)
        spec.pop("cpus_per_gpu", None)
    return spec


def compute_threads(rule_name):
    """The cores a rule's job uses (Snakemake's `threads`, which sets OMP_NUM_THREADS and, on SLURM,
    the CPUs per task), from the same `compute` entries; 1 unless set."""
    return int(compute_entry(rule_name).get("threads", 1))
