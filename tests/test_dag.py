"""The workflow's DAG at both scales: GPUs asked for exactly where the paper's scale needs them.

Read from dry runs (`snakemake -n --forceall`), so the checks follow the rules as stages add them:
the paper-scale DAG comes from the cluster profile (`--profile slurm`), the demo DAG from the
default config.
"""

from __future__ import annotations

import json
import re
import shlex
import sys
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).parent / "cluster"))
from workflow_run import HOLDS_KEYS, ROOT, dry_run, parse_jobs, rule_locality, snakemake  # noqa: E402

from safety_compliance.config import deep_merge  # noqa: E402
from safety_compliance.slices import RUNTIME, SLICES  # noqa: E402

# Rules that train or run open models; at paper scale each must land on a GPU node.
GPU_RULES = ("sft", "grpo", "evaluate", "allocate")


@pytest.fixture(scope="module")
def paper_compute() -> dict:
    demo = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    paper = yaml.safe_load((ROOT / "config" / "paper.yaml").read_text())
    return deep_merge(demo, paper)["compute"]


@pytest.fixture(scope="module")
def locality() -> dict[str, bool]:
    return rule_locality()


@pytest.fixture(scope="module")
def rules(locality) -> set[str]:
    return set(locality)


@pytest.fixture(scope="module")
def paper_jobs():
    return dry_run(["--profile", "slurm", "all"], env=HOLDS_KEYS)


@pytest.fixture(scope="module")
def demo_jobs():
    return dry_run(["--cores", "1", "all"])


def test_profile_reads_the_paper_config():
    """`--profile slurm` puts config/paper.yaml over the default, down to what the notebooks get."""
    law = ["-n", "--forceall", "--printshellcmds", "results/tables/table_seeds.csv"]
    paper = snakemake([*law, "--profile", "slurm"])
    demo = snakemake([*law, "--cores", "1"])
    assert '"scale":"paper"' in paper.stdout and '"scale":"demo"' not in paper.stdout, paper.stderr[-2000:]
    assert '"scale":"demo"' in demo.stdout, demo.stderr[-2000:]


def test_demo_dag_requests_no_gpu(demo_jobs, paper_jobs, capsys):
    with capsys.disabled():     # the job counts belong in the test log
        print(f"\njobs in the DAG: demo {len(demo_jobs)}, paper {len(paper_jobs)}", file=sys.stderr)
    asking = sorted({j.rule for j in demo_jobs if "gpu" in j.resources or "gpu_model" in j.resources})
    assert not asking, f"demo-scale rules ask for a GPU: {asking}"


def test_demo_jobs_take_the_threads_of_their_compute_entry():
    """`compute.{rule}.threads` becomes the job's threads (OMP_NUM_THREADS, SLURM CPUs per task); the
    demo gives both cores to training and one to every other job (on `make demo`'s 2 cores)."""
    compute = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())["compute"]
    jobs = dry_run(["--cores", "2", "all"])
    for job in jobs:
        assert job.threads == compute.get(job.rule, {}).get("threads", 1), job
        assert "threads" not in job.resources, job
    assert {j.rule for j in jobs if j.threads == 2} == {"sft", "grpo"}


def test_the_chain_to_the_trained_students_goes_first(demo_jobs):
    """The longest chain of the DAG (law tree, synthesis, distillation, SFT, GRPO, then the student's
    extrapolation) outranks the rest when cores are short."""
    first = {j.rule for j in demo_jobs if j.priority > 0}
    assert first == {"law_tree", "synthesize", "distill", "sft", "grpo", "allocate", "extrapolate_cases",
                     "extrapolate_classify"}, first


def test_paper_gpu_rules_carry_their_compute(paper_jobs, paper_compute, rules, locality):
    for rule in set(GPU_RULES) & rules:
        spec = paper_compute.get(rule, {})
        assert spec.get("gpu", 0) > 0, f"config/paper.yaml compute gives rule {rule} no GPU"
    for rule, spec in paper_compute.items():
        if rule == "default" or not spec.get("gpu") or rule not in rules:
            continue
        jobs = [j for j in paper_jobs if j.rule == rule]
        assert jobs, f"GPU rule {rule} is not in the paper-scale DAG"
        on_gpu = [j for j in jobs if j.resources.get("gpu") == str(spec["gpu"])]
        assert on_gpu, f"no {rule} job asks for {spec['gpu']} GPU(s): {[j.resources for j in jobs]}"
        assert not locality[rule], f"{rule} is a localrule, so it would never reach a GPU node"
        for job in on_gpu:
            for key in ("cpus_per_gpu", "mem_mb", "runtime"):
                if key in spec:
                    assert job.resources.get(key) == str(spec[key]), (
                        f"{rule}: {key} is {job.resources.get(key)}, config/paper.yaml says {spec[key]}")


def test_local_rules_ask_for_no_gpu(paper_jobs, locality):
    assert not [j.rule for j in paper_jobs if locality[j.rule] and "gpu" in j.resources]


def test_every_rule_is_in_the_paper_dag(paper_jobs, rules):
    # `all` reaches every rule but the ones that only make inputs the paper's config does not read
    # (the demo's stand-in datasets, the embedded model).
    optional = {"embedded_model"} | {r for r in rules if r.startswith("fetch_")}
    missing = rules - {j.rule for j in paper_jobs} - optional
    assert not missing, f"rules no target of `all` needs at paper scale: {sorted(missing)}"


def test_every_job_gets_its_slice_and_never_the_whole_config():
    """Each command carries the JSON slice of its rule (papermill's `config`, the CLI's `--config`),
    and no slice holds a results-neutral key such as `compute` or a cache path."""
    printout = snakemake(["-n", "--forceall", "--printshellcmds", "--cores", "1", "all"])
    assert printout.returncode == 0, printout.stderr[-3000:]
    commands = [line.split(": ", 1)[1] for line in printout.stdout.splitlines() if line.startswith("Shell command: ")]
    sliced = 0
    for command in commands:
        words = shlex.split(command.split(" > ")[0])
        for flag in ("-r", "--config"):
            if flag in words:
                at = words.index(flag) + (2 if flag == "-r" else 1)
                given = json.loads(words[at])
                assert "compute" not in given and "models_file" not in given, command[:300]
                assert "cache" not in given.get("llm", {}) and "progress" not in given.get("llm", {}), command[:300]
                sliced += 1
    jobs = parse_jobs(printout.stdout)
    expected = sum(1 for j in jobs if j.rule in SLICES or j.rule == "evaluate_api")
    assert sliced == expected, f"{sliced} commands carry a config slice, {expected} jobs read config"
    runtime_tops = {key for key in RUNTIME if "." not in key}
    assert runtime_tops == {"models_file", "shared_data", "compute"}


def test_every_rule_that_reads_config_has_a_slice(rules):
    without_config = {r for r in rules if r.startswith("fetch_")} | {"embedded_model", "report_table",
                                                                     "report_figure", "all"}
    assert rules - without_config <= set(SLICES) | {"evaluate_api"}, sorted(rules - without_config - set(SLICES))
