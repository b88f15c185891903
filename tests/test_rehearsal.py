"""The paper-scale rehearsal: config/paper.yaml's own DAG, end to end, through the SLURM executor on the
one-node test cluster, with only weights, endpoints, data this machine cannot have, sizes and GPUs
swapped for stand-ins (config/rehearsal.yaml says which).

Loopback servers stand in for DeepSeek, OpenAI and Gemini (each with its provider's behaviour), the
embedded SmolLM2 for every open model (on vLLM where the paper config uses vLLM), and accelerate trains
both students with 2 CPU processes. The test checks that every target of `rule all` was made, that
Tables 3-8 have a row per configured model, that every submitted job completed and that none asked
SLURM for a GPU; it prints the wall time and the job counts beside the paper DAG's.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import pandas as pd
import pytest
import yaml

sys.path.insert(0, str(Path(__file__).parent / "cluster"))
from slurm import PROFILE, asks_for_gpu, job_record, say, submitted  # noqa: E402
from workflow_run import HOLDS_KEYS, ROOT, dry_run, make_mirror, rule_locality, snakemake, venv_env  # noqa: E402

from safety_compliance.config import load_config  # noqa: E402
from safety_compliance.evaluate.accuracy_tables import models_in, row_of, table_specs  # noqa: E402
from safety_compliance.registry import resolve_registry  # noqa: E402

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

OVERLAYS = ["config/config.yaml", "config/paper.yaml", "config/rehearsal.yaml"]
PAPER = ["config/config.yaml", "config/paper.yaml"]
KEY = "rehearsal-key"          # what the loopback providers accept; the real variables' names are the paper's
RUN_TIMEOUT = 3600             # seconds; the executor would wait forever on a job SLURM lost
PROVIDER_OF = {"deepseek-v3.1": "deepseek", "gpt-4o-mini": "openai", "gemini-2.5-flash": "openai"}


@pytest.fixture(scope="module")
def config() -> dict:
    return load_config([ROOT / f for f in OVERLAYS])


@pytest.fixture(scope="module")
def providers(config, tmp_path_factory):
    """One loopback server per API model, on the port config/rehearsal.yaml gives it."""
    registry, started = resolve_registry(config), []
    folder = tmp_path_factory.mktemp("providers")
    for name, provider in PROVIDER_OF.items():
        port = urllib.parse.urlparse(registry[name].base_url).port
        url_file = folder / f"{name}.url"
        log = open(folder / f"{name}.log", "w")
        started.append((subprocess.Popen(
            [sys.executable, str(ROOT / "tests" / "loopback_openai.py"), "--provider", provider, "--port", str(port),
             "--api-key", KEY, "--lifetime", str(RUN_TIMEOUT + 600), "--port-file", str(url_file)],
            stdout=log, stderr=subprocess.STDOUT), url_file, log, name))
    try:
        deadline = time.monotonic() + 60
        for process, url_file, _, name in started:
            while not url_file.is_file():
                assert process.poll() is None, f"the {name} stand-in did not start: {(folder / f'{name}.log').read_text()}"
                assert time.monotonic() < deadline, f"the {name} stand-in is not listening after 60 s"
                time.sleep(0.2)
        yield {registry[name].api_key_env: KEY for name in PROVIDER_OF}
    finally:
        for process, _, log, _ in started:
            process.terminate()
            process.wait(timeout=30)
            log.close()


def expected_rows(config: dict) -> dict[str, list[str]]:
    """Table stem -> the row names its configured models give (students as Compliance-Reasoner-*)."""
    registry = resolve_registry(config)
    bases = config["train"]["students"]
    rows = {f"table{spec.number}": [row_of(registry[m], bases)[0]
                                    for m in models_in(spec, config["evaluate"]["models"], bases)]
            for spec in table_specs(config["laws"], bases)}
    rows["table5"] = [registry[m].label for m in config["extrapolate"]["classifiers"]]
    return rows


def test_the_paper_dag_runs_end_to_end_on_the_test_cluster(slurm_cluster, providers, config, tmp_path, pytestconfig):
    mirror = make_mirror(tmp_path / "checkout")
    env = {**venv_env(), **providers}
    configfiles = ["--configfile", *OVERLAYS]

    check = subprocess.run([sys.executable, "-m", "safety_compliance", "preflight", "--config", *OVERLAYS],
                           cwd=mirror, env=env, capture_output=True, text=True, timeout=600)
    assert check.returncode == 0, f"preflight on the rehearsal config:\n{check.stdout[-3000:]}{check.stderr[-2000:]}"

    paper_jobs = dry_run(["--cores", "1", "all", "--configfile", *PAPER], env=HOLDS_KEYS)
    planned = dry_run(["--profile", str(PROFILE), "all", *configfiles], cwd=mirror, force=False, env=env)
    locality = rule_locality()
    to_submit = [j for j in planned if not locality[j.rule]]

    start = time.monotonic()
    try:
        run = snakemake(["--profile", str(PROFILE), "all", *configfiles], cwd=mirror, timeout=RUN_TIMEOUT, env=env)
    finally:     # the kept vLLM servers would otherwise outlive the run by llm.vllm_keep_alive
        subprocess.run([sys.executable, "-m", "safety_compliance.llm.vllm_pool", "stop"], env=env, timeout=120)
    wall = time.monotonic() - start
    log = run.stdout + run.stderr
    (ROOT / "results").mkdir(exist_ok=True)
    (ROOT / "results" / "rehearsal.log").write_text(log, encoding="utf-8")   # for a person to read after CI

    jobs = submitted(log)
    records = {slurm_id: job_record(slurm_id) for slurm_id in jobs}
    say(pytestconfig, f"\nrehearsal: {len(planned)} jobs ({len(to_submit)} to SLURM, the rest local) in "
                      f"{wall / 60:.1f} min wall time; the paper config's own DAG here has {len(paper_jobs)} jobs")
    for slurm_id, (rule, _) in sorted(jobs.items(), key=lambda kv: int(kv[0])):
        say(pytestconfig, f"  SLURM job {slurm_id}  rule {rule}  state {records[slurm_id].get('JobState', 'gone')}")

    assert run.returncode == 0, f"the rehearsal failed:\n{log[-6000:]}"
    assert len(jobs) == len(to_submit), f"{len(to_submit)} jobs planned for SLURM, {len(jobs)} submitted"
    states = {r.get("JobState", "gone (older than MinJobAge)") for r in records.values()}
    assert states <= {"COMPLETED", "gone (older than MinJobAge)"}, f"SLURM job states: {states}"
    assert not [jobs[i] for i, r in records.items() if asks_for_gpu(r)], "a job asked SLURM for a GPU"
    assert {j.rule for j in paper_jobs} - {j.rule for j in planned} <= {r for r in locality if r.startswith("fetch_")}

    # every target of `rule all` is made, and a second look finds nothing to do
    again = snakemake(["-n", "--cores", "1", "all", *configfiles], cwd=mirror, env=env)
    assert "Nothing to be done" in again.stdout + again.stderr, again.stdout[-3000:]

    tables = mirror / "results" / "tables"
    for stem, rows in expected_rows(config).items():
        frame = pd.read_csv(tables / f"{stem}.csv")
        found = set(frame[frame.columns[0]].astype(str)) | set(frame.get("Model", pd.Series(dtype=str)).astype(str))
        assert set(rows) <= found, f"{stem} lacks rows for {sorted(set(rows) - found)}"
    table8 = pd.read_csv(tables / "table8.csv")
    assert len(table8) >= len(config["extrapolate"]["datasets"])
    assert yaml.safe_load((mirror / "results" / "provenance.json").read_text())["config"]["scale"] == "rehearsal"
    assert os.path.getsize(mirror / "results" / "reproduction.md") > 0
