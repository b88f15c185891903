"""A config edit reruns exactly the jobs whose slice it changes, and their descendants; nothing else.

A fixture makes a demo-sized results tree without running a job: a mirror of the checkout with an
empty skeleton of resources/, every output of the demo DAG created empty, then `snakemake --touch`
records each job's metadata (its params, the config slice among them) as a real run would. Each test
then dry-runs the workflow with one overlay file and reads which rules it would run.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).parent / "cluster"))
from workflow_run import ROOT, OUTPUTS, parse_jobs, snakemake  # noqa: E402

pytestmark = pytest.mark.slow

STUDENT_STAGES = {"sft", "grpo", "figure4"}
DOWNSTREAM_OF_STUDENTS = {"evaluate", "evaluate_privaci", "eval_tables", "training_figure", "allocate",
                          "extrapolate_cases", "extrapolate_classify", "extrapolate_tables"}
REPORTS = {"report_table", "report_figure", "reproduction"}


def _skeleton(source: Path, dest: Path) -> None:
    """The folders and (empty) files of `source`: enough for a DAG, with no real input to harm."""
    for path in sorted(source.rglob("*")):
        target = dest / path.relative_to(source)
        if path.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.touch()


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    mirror = tmp_path_factory.mktemp("reruns") / "checkout"
    mirror.mkdir()
    for entry in ROOT.iterdir():
        if entry.name not in OUTPUTS | {"resources"}:
            (mirror / entry.name).symlink_to(entry)
    _skeleton(ROOT / "resources", mirror / "resources")
    listed = snakemake(["-n", "--forceall", "--cores", "1", "all"], cwd=mirror)
    assert listed.returncode == 0, listed.stderr[-3000:]
    outputs = {o.strip() for line in listed.stdout.splitlines() if line.startswith("    output: ")
               for o in line.split(": ", 1)[1].split(",")}
    for out in sorted(outputs):
        path = mirror / out
        if not path.resolve().is_relative_to(mirror):
            raise AssertionError(f"an output outside the mirror would be touched: {out}")
        if Path(out).suffix:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch()
        else:                       # directory() outputs: trained models, the extrapolation kit
            path.mkdir(parents=True, exist_ok=True)
    touched = snakemake(["--touch", "--forceall", "--cores", "1", "all"], cwd=mirror)
    assert touched.returncode == 0, touched.stderr[-3000:]
    return mirror


def planned(tree: Path, overlay: dict | None = None, name: str = "overlay") -> Counter:
    args = ["-n", "--cores", "1", "all"]
    if overlay is not None:
        path = tree / f"{name}.yaml"
        path.write_text(yaml.safe_dump(overlay), encoding="utf-8")
        args += ["--configfile", str(path)]
    done = snakemake(args, cwd=tree)
    assert done.returncode == 0, done.stderr[-3000:]
    return Counter(j.rule for j in parse_jobs(done.stdout) if j.rule != "all")


def test_a_made_tree_needs_nothing(tree):
    assert planned(tree) == Counter()


@pytest.mark.parametrize("name, overlay", [
    ("compute", {"compute": {"default": {"mem_mb": 8000, "runtime": 30}}}),
    ("progress", {"llm": {"progress": False, "request_timeout": 30.0, "max_retries": 2}}),
    ("checkpoints", {"train": {"run": {"save_steps": 10, "save_total_limit": 1}, "launcher": "accelerate"}}),
])
def test_result_neutral_edits_rerun_nothing(tree, name, overlay):
    assert planned(tree, overlay, name) == Counter()


def test_a_benchmark_key_reruns_the_benchmark_and_everything_after_it(tree):
    rules = set(planned(tree, {"benchmark": {"seeds_per_law": 7}}))
    assert rules == ({"synthesize", "distill", "human_eval"} | STUDENT_STAGES | DOWNSTREAM_OF_STUDENTS | REPORTS)


def test_a_distill_key_spares_synthesis_and_the_human_evaluation(tree):
    rules = planned(tree, {"distill": {"think_chars": 300}})
    assert set(rules) == {"distill"} | STUDENT_STAGES | DOWNSTREAM_OF_STUDENTS | REPORTS
    # only the students' evaluations: 2 students x 2 laws of the 10 evaluate jobs, their 4 PrivaCI jobs;
    # every classifier, because the GRPO student writes the extrapolated cases they classify
    assert rules["evaluate"] == 4 and rules["evaluate_privaci"] == 4 and rules["extrapolate_classify"] == 3


def test_a_training_key_retrains_but_keeps_the_traces(tree):
    rules = planned(tree, {"train": {"sft": {"max_steps": 5}}})
    assert set(rules) == STUDENT_STAGES | DOWNSTREAM_OF_STUDENTS | REPORTS


def test_an_evaluate_key_reruns_the_evaluation_and_its_tables(tree):
    rules = planned(tree, {"evaluate": {"max_cases": 6}})
    # the training figure reads the evaluated students' predictions, and the report shows it
    assert rules == Counter({"evaluate": 10, "eval_tables": 1, "training_figure": 1, "report_figure": 1,
                             "reproduction": 1, "report_table": rules["report_table"]})
    assert rules["report_table"] >= 3   # tables 3 and 4 and the summary


def test_an_extrapolate_key_reruns_the_extrapolation_only(tree):
    rules = set(planned(tree, {"extrapolate": {"think_chars": 100}}))
    assert rules == {"allocate", "extrapolate_cases", "extrapolate_classify", "extrapolate_tables"} | REPORTS


def test_one_datasets_filter_reruns_that_dataset(tree):
    rules = planned(tree, {"extrapolate": {"filter": {"token_cap": {"openai_mod": 700}}}})
    assert rules["extrapolate_samples"] == 1 and rules["allocate"] == 2 and rules["extrapolate_cases"] == 2


def test_a_registry_entry_reruns_the_jobs_of_that_model(tree, tmp_path):
    registry = yaml.safe_load((ROOT / "config" / "models.yaml").read_text())
    registry["sap-smollm2"]["options"]["facets"] = 4
    changed = tmp_path / "models.yaml"
    changed.write_text(yaml.safe_dump(registry))
    rules = planned(tree, {"models_file": str(changed)}, "registry")
    assert rules == Counter({"evaluate": 2, "eval_tables": 1, "reproduction": 1,
                             "report_table": rules["report_table"]})
    # the same change as a config overlay
    assert planned(tree, {"registry_overrides": {"sap-smollm2": {"options": {**registry["sap-smollm2"]["options"]}}}},
                   "override") == rules


def test_a_models_concurrency_or_price_reruns_nothing(tree, tmp_path):
    registry = yaml.safe_load((ROOT / "config" / "models.yaml").read_text())
    registry["smollm2-135m-instruct"].update(concurrency=2, price_per_m_input=1.0)
    changed = tmp_path / "models.yaml"
    changed.write_text(yaml.safe_dump(registry))
    assert planned(tree, {"models_file": str(changed)}, "neutral_registry") == Counter()


def test_a_bad_overlay_names_the_key(tree):
    for overlay, named in (({"benchmark": {"seeds_per_lw": 7}}, ("'seeds_per_lw' was unexpected", "['benchmark']")),
                           ({"evaluate": {"max_cases": "six"}}, ("'six' is not of type", "['evaluate']['max_cases']"))):
        path = tree / "bad.yaml"
        path.write_text(yaml.safe_dump(overlay))
        done = snakemake(["-n", "--cores", "1", "all", "--configfile", str(path)], cwd=tree)
        said = done.stdout + done.stderr
        assert done.returncode != 0 and all(part in said for part in named), said[-2000:]
