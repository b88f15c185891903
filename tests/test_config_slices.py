"""Each job's slice of the config: what it holds, what it leaves out, and how a job reads it back."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml

from safety_compliance.config import ConfigError, load_config
from safety_compliance.registry import registry_of, resolve_registry
from safety_compliance.slices import (RUNTIME, RUNTIME_ENV, SLICES, JobConfig, cut, job_config, runtime,
                                      with_runtime)


@pytest.fixture(scope="module")
def demo(root) -> dict:
    return load_config(root / "config/config.yaml")


def _paths(tree: dict, prefix: str = "") -> set[str]:
    out = set()
    for key, value in tree.items():
        path = f"{prefix}{key}"
        out.add(path)
        if isinstance(value, dict):
            out |= _paths(value, f"{path}.")
    return out


def test_a_slice_holds_its_keys_and_no_others(demo):
    synth = cut(demo, "synthesize")
    assert set(synth) == {"scale", "teacher", "benchmark", "models"}
    # the floor decides whether the job passes, not what it writes: a runtime setting
    assert synth["benchmark"] == {k: v for k, v in demo["benchmark"].items() if k != "min_produced_rate"}
    assert list(synth["models"]) == [demo["teacher"]]
    assert "concurrency" not in synth["models"][demo["teacher"]]


def test_sections_in_a_slice_leave_their_runtime_keys_out(demo):
    sft = cut(demo, "sft", {"student": "smollm2-135m-instruct"})
    assert "save_steps" not in sft["train"]["run"] and "gradient_checkpointing" not in sft["train"]["run"]
    assert sft["train"]["run"]["seed"] == demo["train"]["run"]["seed"]
    assert "launcher" not in sft["train"]
    every = cut(demo, "reproduction")
    for key in RUNTIME:
        assert key not in _paths(every), f"runtime key {key} is in the reproduction slice"


def test_wildcards_pick_the_model_and_the_dataset(demo):
    sap = cut(demo, "evaluate", {"model": "sap-smollm2", "law": "gdpr"})
    # a representation guard reads its base model's hidden states, so the base entry is part of the slice
    assert set(sap["models"]) == {"sap-smollm2", "smollm2-135m-instruct"}
    samples = cut(demo, "extrapolate_samples", {"dataset": "openai_mod"})
    assert samples["extrapolate"]["filter"]["token_cap"] == {"openai_mod": 800}
    assert "saferlhf" not in json.dumps(cut(demo, "extrapolate_samples", {"dataset": "aegis1"}))


def test_a_null_role_is_resolved_into_the_slice(demo):
    assert demo["extrapolate"]["allocator"] is None
    allocate = cut(demo, "allocate", {"dataset": "aegis1", "law": "gdpr"})
    assert allocate["extrapolate"]["allocator"] == "smollm2-135m-instruct-grpo"
    assert allocate["models"]["smollm2-135m-instruct-grpo"]["model"] == "results/train/smollm2-135m-instruct/grpo/final"


def test_every_config_key_is_read_by_some_job_or_is_runtime(root):
    """A key in no slice and not runtime would be a setting no rerun ever follows."""
    paper = load_config([root / "config/config.yaml", root / "config/paper.yaml"])
    every = _paths(cut(paper, "reproduction"))
    for key in _paths({k: v for k, v in paper.items() if k != "models"}):
        covered = key in every or any(key == r or key.startswith(f"{r}.") for r in RUNTIME)
        assert covered, f"config key {key} is in no job's slice and not in slices.RUNTIME"
    read = set()
    for rule in SLICES:
        if rule != "reproduction":
            read |= {k.split(".{")[0] for k in SLICES[rule].keys}
    for top in paper:
        if top in ("models_file", "shared_data", "compute", "registry_overrides"):
            continue
        assert any(k == top or k.startswith(f"{top}.") for k in read), f"no job reads config section '{top}'"


def test_job_config_from_files_equals_the_workflow_slice_plus_runtime(root, demo):
    given = cut(demo, "human_eval")
    from_files = job_config("human_eval", [str(root / "config/config.yaml")])
    assert from_files == with_runtime(given, runtime(demo))
    assert from_files["llm"]["cache"] == demo["llm"]["cache"]   # runtime keys are back for the job


def test_job_config_from_a_slice_reads_runtime_from_the_environment(monkeypatch, demo):
    text = str(cut(demo, "evaluate", {"model": "smollm2-135m-instruct"}))
    monkeypatch.setenv(RUNTIME_ENV, json.dumps({"llm": {"cache": "/tmp/x.sqlite"},
                                                "models": {"smollm2-135m-instruct": {"concurrency": 3}}}))
    cfg = job_config("evaluate", text)
    assert cfg["llm"] == {"cache": "/tmp/x.sqlite", "max_constraint_retries": 2}
    assert registry_of(cfg)["smollm2-135m-instruct"].concurrency == 3
    monkeypatch.setenv(RUNTIME_ENV, "not json")
    with pytest.raises(ConfigError, match=RUNTIME_ENV):
        job_config("evaluate", text)


def test_the_slice_is_json_in_a_command_and_its_repr_is_stable(demo):
    one, two = cut(demo, "distill"), cut(demo, "distill")
    assert isinstance(one, JobConfig) and repr(one) == repr(two)
    assert json.loads(str(one)) == dict(one)


def test_a_slice_that_is_not_json_is_named(demo):
    with pytest.raises(ConfigError, match="not valid JSON"):
        job_config("distill", "{broken")


def test_registry_overrides_change_the_entry_and_its_slices(root, demo, tmp_path):
    cfg = load_config(root / "config/config.yaml",
                      {"registry_overrides": {"smollm2-135m-instruct": {"batch_size": 4}}})
    assert resolve_registry(cfg)["smollm2-135m-instruct"].batch_size == 4
    assert cut(cfg, "distill") != cut(demo, "distill")
    bad = load_config(root / "config/config.yaml", {"registry_overrides": {"nope": {"batch_size": 4}}})
    with pytest.raises(ValueError, match="'nope'"):
        resolve_registry(bad)
    unknown_field = load_config(root / "config/config.yaml",
                                {"registry_overrides": {"smollm2-135m-instruct": {"batchsize": 4}}})
    with pytest.raises(ValueError, match="batchsize"):
        resolve_registry(unknown_field)


def test_unknown_model_in_a_slice_is_named(root):
    cfg = load_config(root / "config/config.yaml", {"teacher": "no-such-model"})
    with pytest.raises(ConfigError, match="no-such-model"):
        cut(cfg, "synthesize")


def test_load_config_merges_overlays_in_order_and_names_a_missing_file(root, tmp_path):
    overlay = tmp_path / "overlay.yaml"
    overlay.write_text(yaml.safe_dump({"benchmark": {"seeds_per_law": 3}}))
    cfg = load_config([root / "config/config.yaml", root / "config/test.yaml", overlay])
    assert cfg["scale"] == "test" and cfg["benchmark"]["seeds_per_law"] == 3
    assert cfg["benchmark"]["max_attempts"] == 4 and cfg["evaluate"]["max_cases"] == 2
    with pytest.raises(ConfigError, match="nowhere.yaml"):
        load_config([root / "config/config.yaml", tmp_path / "nowhere.yaml"])


def test_cli_takes_files_or_a_slice(root, tmp_path):
    """`--config` of every stage command: overlay files, or the JSON slice a workflow job passes."""
    out = tmp_path / "gdpr"
    slice_text = str(cut(load_config(root / "config/config.yaml"), "law_tree"))
    for config in (["config/config.yaml", "config/test.yaml"], [slice_text]):
        done = subprocess.run([sys.executable, "-m", "safety_compliance.cli", "law", "build", "--law", "gdpr",
                               "--out", str(out), "--config", *config], cwd=root, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-2000:]
        assert json.loads(done.stdout)["seeds"] > 600


def test_the_readme_table_names_every_rule_with_a_slice(root):
    text = (root / "README.md").read_text(encoding="utf-8")
    table = text[text.index("| rule | config it reads |"):]
    table = table[:table.index("\n\n")]
    for rule in SLICES:
        assert f"`{rule}`" in table, f"README's slice table has no row for rule {rule}"
