"""`safety-compliance preflight`: the table of what a config needs, read off the config and the
registry; on the paper config here it names what is missing (keys, gated models, GPUs) and fails,
on the demo config and on an overlay with local stand-ins it passes. The hub is never contacted:
HF_HUB_OFFLINE is set, or its answers come from a double of our Hub class."""

from __future__ import annotations

from pathlib import Path

import pytest

from safety_compliance import preflight as pf
from safety_compliance.cli import main
from safety_compliance.config import deep_merge, load_config
from safety_compliance.preflight import FETCH, MISSING, OK, UNVERIFIED, Check, HubLookup

KEYS = ("DEEPSEEK_API_KEY", "OPENAI_API_KEY", "GEMINI_API_KEY")


@pytest.fixture
def here(monkeypatch, tmp_path):
    """This machine as a new user meets it: no keys, no Hugging Face token, no hub."""
    from huggingface_hub import constants

    for name in (*KEYS, "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_OIDC_RESOURCE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(tmp_path / "no-token"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    monkeypatch.setattr(pf, "local_gpus", lambda: (0, 0))
    monkeypatch.setattr(pf, "slurm_gpus", lambda: None)


def rows_of(text: str) -> dict[str, tuple[str, str]]:
    """what -> (status, fix) from the printed table."""
    statuses = (UNVERIFIED, FETCH, MISSING, OK)
    rows = {}
    for line in text.splitlines()[2:]:
        for status in statuses:
            what, sep, fix = line.partition(f"  {status}  ")
            if sep:
                rows[what.strip()] = (status, fix.strip())
                break
    return rows


def find(rows: dict[str, tuple[str, str]], start: str) -> tuple[str, str]:
    hits = [v for k, v in rows.items() if k.startswith(start)]
    assert len(hits) == 1, f"{start!r} in {list(rows)}"
    return hits[0]


def test_the_demo_config_is_ready(here, capsys):
    assert main(["preflight", "--config", "config/config.yaml"]) == 0
    rows = rows_of(capsys.readouterr().out)
    assert find(rows, "model resources/models/smollm2-135m-instruct")[0] == OK
    assert find(rows, "tool papermill")[0] == OK and find(rows, "tool safety-compliance")[0] == OK
    assert find(rows, "input aegis1 (extrapolate)") == (OK, "present at resources/safety/aegis1_test_359.json")
    assert not any(k.startswith(("GPUs", "API key", "hub model", "vLLM")) for k in rows)


def test_the_paper_config_here_names_what_is_missing(here, capsys):
    assert main(["preflight", "--config", "config/config.yaml", "config/paper.yaml"]) == 1
    out = capsys.readouterr().out
    rows = rows_of(out)
    for key in KEYS:
        status, fix = find(rows, f"API key {key}")
        assert status == MISSING and f"export {key}=" in fix
    for repo in ("meta-llama/Llama-3.1-8B-Instruct", "meta-llama/Llama-Guard-3-8B"):
        status, fix = find(rows, f"hub model {repo}")
        assert status == MISSING and "HF_TOKEN" in fix and f"https://huggingface.co/{repo}" in fix
    status, fix = find(rows, "input aegis2")
    assert status == MISSING and "https://huggingface.co/datasets/nvidia/Aegis-AI-Content-Safety-Dataset-2.0" in fix
    # a hub id no one can check offline is said to be so, not called missing; the guessed ones say so
    assert find(rows, "hub model Qwen/Qwen3-8B (qwen3-8b, sap-qwen3-8b, probe-qwen3-8b)")[0] == UNVERIFIED
    for repo in ("RSafe/RSafe-8B", "HKUST-KnowComp/Context-Reasoner-8B"):
        status, fix = find(rows, f"hub model {repo}")
        assert status == UNVERIFIED and "unconfirmed" in fix
    status, fix = find(rows, "GPUs: 8 per job of grpo, sft")
    assert status == MISSING and "--profile slurm" in fix
    # `make test` builds the vLLM environment, `make test-fast` does not
    vllm_env = Path(".venv-vllm/.installed").is_file()
    assert find(rows, "vLLM interpreter")[0] == (OK if vllm_env else MISSING)
    assert find(rows, "tool accelerate")[0] == OK
    assert find(rows, "input saferlhf")[0] in (FETCH, OK)
    assert out.rstrip().splitlines()[-1].startswith(f"{len(rows)} checks: ")


def test_an_overlay_with_local_stand_ins_passes(here):
    """The checks follow the config: the paper config with every model a local one, no GPU and no
    accelerate (what a rehearsal overlay changes) needs nothing this machine lacks."""
    cfg = load_config(["config/config.yaml", "config/paper.yaml"])
    local = "smollm2-135m-instruct"
    cfg = deep_merge(cfg, {
        "teacher": local, "human_eval": {"judge": local},
        "train": {"students": [local], "launcher": "in_process"},
        "evaluate": {"models": [local, f"{local}-sft", f"{local}-grpo", "sap-smollm2"]},
        "extrapolate": {"datasets": ["aegis1", "openai_mod"], "classifiers": [local],
                        "filter": {"tokenizer": "resources/models/smollm2-135m-instruct"}},
        "compute": {rule: {"gpu": 0} for rule in cfg["compute"]},
    })
    checks = pf.preflight(cfg)
    assert checks and not [c for c in checks if c.status == MISSING]
    assert not any(c.what.startswith("GPUs") for c in checks)


class AnsweringHub(HubLookup):
    """Our HubLookup with the hub's answers given: cached repos, and what the hub says of the rest."""

    def __init__(self, cached=(), answers=None, token=None):
        super().__init__(offline=False)
        self._cached, self.answers, self._token, self.asked = set(cached), answers or {}, token, []

    def token(self):
        return self._token

    def cached(self, repo, revision, filename):
        return repo in self._cached

    def info(self, repo, revision):
        self.asked.append(repo)
        return self.answers.get(repo, ("unreachable", "no route to host"))


def test_hub_models_are_told_apart():
    hub = AnsweringHub(cached={"Qwen/Qwen3-8B"}, token="hf_x",
                       answers={"yueliu1999/GuardReasoner-8B": ("found", object()),
                                "RSafe/RSafe-8B": ("absent", None),
                                "meta-llama/Llama-Guard-3-8B": ("gated", None)})
    assert pf.check_hub_model("Qwen/Qwen3-8B", None, "qwen3-8b", hub) == Check(
        "hub model Qwen/Qwen3-8B (qwen3-8b)", OK, "in the local Hugging Face cache")
    assert pf.check_hub_model("yueliu1999/GuardReasoner-8B", None, "g", hub).status == OK
    absent = pf.check_hub_model("RSafe/RSafe-8B", None, "rsafe-8b", hub)
    assert absent.status == MISSING and "unconfirmed" in absent.fix and "no such repository" in absent.fix
    no_access = pf.check_hub_model("meta-llama/Llama-Guard-3-8B", None, "lg", hub)
    assert no_access.status == MISSING and "has no access yet" in no_access.fix
    far = pf.check_hub_model("Qwen/Qwen2.5-7B-Instruct", "abc", "q", hub)
    assert far.status == UNVERIFIED and "no route to host" in far.fix and far.what.endswith("@abc (q)")
    # a gated model with no token is missing without asking anyone
    hub = AnsweringHub()
    gated = pf.check_hub_model("meta-llama/Llama-3.1-8B-Instruct", None, "llama", hub)
    assert gated.status == MISSING and "HF_TOKEN" in gated.fix and hub.asked == []


def test_a_real_hub_lookup_stops_after_the_first_failure(monkeypatch):
    import huggingface_hub

    calls = []

    class NoRoute:
        def __init__(self, token=None):
            pass

        def model_info(self, repo, revision=None, timeout=None):
            calls.append(repo)
            raise OSError("Network is unreachable")

    monkeypatch.setattr(huggingface_hub, "HfApi", NoRoute)
    hub = HubLookup(offline=False)
    answer, error = hub.info("a/b", None)
    assert answer == "unreachable" and "Network is unreachable" in str(error)
    assert hub.offline and calls == ["a/b"]
    assert hub.info("c/d", None)[0] == "unreachable" and calls == ["a/b"]


def test_the_vllm_interpreter(tmp_path):
    registry = pf.registry_of(load_config(["config/config.yaml", "config/paper.yaml"]))
    cfg = load_config(["config/config.yaml", "config/paper.yaml"])
    found = {"papermill": "/bin/papermill", "safety-compliance": "/bin/sc", "accelerate": "/bin/accelerate"}

    def rows(llm_extra, importable):
        checks = pf.tool_checks(deep_merge(cfg, {"llm": llm_extra}), registry, which=found.get,
                                imports=lambda python, module: (python, module) in importable)
        return {c.what.split(" (")[0]: c for c in checks}

    # the interpreter the vllm backend would start its server from (llm.vllm_python)
    python = tmp_path / "vllm-env/bin/python"
    absent = rows({"vllm_python": str(python)}, set())["vLLM interpreter"]
    assert absent.status == MISSING and str(python) in absent.fix and "make vllm-env" in absent.fix
    python.parent.mkdir(parents=True)
    python.write_text("#!/bin/sh\nexit 3\n")     # answers the probe as an environment without vllm
    python.chmod(0o755)
    broken = rows({"vllm_python": str(python)}, set())["vLLM interpreter"]
    assert broken.status == MISSING and "has no vllm package" in broken.fix
    python.write_text("#!/bin/sh\nexit 0\n")
    assert rows({"vllm_python": str(python)}, set())["vLLM interpreter"].status == OK
    import sys

    deepspeed = rows({}, set())["tool deepspeed"]
    assert deepspeed.status == MISSING and rows({}, {(sys.executable, "deepspeed")})["tool deepspeed"].status == OK


def test_gpus_here_on_a_cluster_or_nowhere():
    cfg = {"compute": {"default": {"mem_mb": 1}, "sft": {"gpu": 8}, "evaluate": {"gpu": 1}}}
    assert pf.gpu_checks(cfg, local=lambda: (8, 8), slurm=lambda: None)[0].status == OK
    on_slurm = pf.gpu_checks(cfg, local=lambda: (0, 0), slurm=lambda: 8)[0]
    assert on_slurm.status == OK and "SLURM" in on_slurm.fix
    cpu_torch = pf.gpu_checks(cfg, local=lambda: (0, 2), slurm=lambda: 4)[0]
    assert cpu_torch.status == MISSING and "CUDA build of torch" in cpu_torch.fix and "up to 4" in cpu_torch.fix
    assert cpu_torch.what == "GPUs: 8 per job of sft (config compute)"
    assert pf.gpu_checks({"compute": {"default": {"mem_mb": 1}}}) == []


def test_slurm_gres_is_read(monkeypatch):
    class Run:
        returncode, stdout = 0, "gpu:h100:8(S:0-1)\n(null)\ngpu:4\n"

    monkeypatch.setattr(pf.shutil, "which", lambda name: "/usr/bin/sinfo")
    monkeypatch.setattr(pf.subprocess, "run", lambda *a, **k: Run)
    assert pf.slurm_gpus() == 8


def test_inputs_a_config_reads(tmp_path, here):
    cfg = load_config(["config/config.yaml"])
    shared = tmp_path / "shared"
    (shared / "safety").mkdir(parents=True)
    (shared / "safety/aegis2_test.json").write_text("[]")
    cfg = deep_merge(cfg, {"shared_data": str(shared), "extrapolate": {"datasets": ["aegis2", "saferlhf"]},
                           "evaluate": {"privaci": {"cases": str(tmp_path / "own-cases")}}})
    rows = {c.what: c for c in pf.input_checks(cfg, token=None)}
    copied = rows["input aegis2 (extrapolate)"]
    assert copied.status == FETCH and f"copies it from {shared}/safety/aegis2_test.json" in copied.fix
    assert rows["input saferlhf (extrapolate)"].status == FETCH
    assert "PKU-Alignment/PKU-SafeRLHF" in rows["input saferlhf (extrapolate)"].fix
    own = rows[f"input {tmp_path}/own-cases/GDPR (evaluate)"]
    assert own.status == MISSING and "no rule makes it" in own.fix
    # a gated dataset with no copy: missing without a token, to fetch with one (whether the account
    # has access, only the hub knows)
    cfg = deep_merge(cfg, {"shared_data": str(tmp_path / "none")})
    gated = {c.what: c for c in pf.input_checks(cfg, token=None)}["input aegis2 (extrapolate)"]
    assert gated.status == MISSING and "HF_TOKEN" in gated.fix and "Aegis-AI-Content-Safety-Dataset-2.0" in gated.fix
    assert {c.what: c for c in pf.input_checks(cfg, token="hf_x")}["input aegis2 (extrapolate)"].status == FETCH


def test_models_the_registry_lacks_are_named(here):
    cfg = deep_merge(load_config(["config/config.yaml"]), {"teacher": "no-such-model"})
    rows = {c.what: c for c in pf.model_checks(cfg, HubLookup(offline=True), env={})}
    assert rows["model no-such-model (teacher)"].status == MISSING
    assert "config/models.yaml" in rows["model no-such-model (teacher)"].fix


def test_the_table_is_one_line_per_check():
    text = pf.table([Check("tool x", OK, "/bin/x"), Check("API key K (m)", MISSING, "export K=...")])
    lines = text.splitlines()
    assert lines[0].split() == ["what", "status", "how", "to", "fix", "/", "where", "found"]
    assert rows_of(text) == {"tool x": (OK, "/bin/x"), "API key K (m)": (MISSING, "export K=...")}
    assert lines[-1] == "2 checks: 1 ok, 1 missing"
