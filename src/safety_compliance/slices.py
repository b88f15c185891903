"""Which part of the config each job reads: its *slice*, and the runtime settings beside it.

Snakemake reruns a job when a tracked `params` value changes. Each rule therefore passes its job
exactly the config keys that can change what the job makes (`SLICES`, one row per rule, read by
`workflow/rules/common.smk`), plus the registry entries of the models it uses. Keys that cannot change
a result (`RUNTIME`: cache paths, progress bars, timeouts, transport retries, concurrency, prices,
launchers, compute resources) are in no slice: the workflow hands them to every job through the
environment variable `SAFETY_COMPLIANCE_RUNTIME`, so editing them reruns nothing.

A job, a notebook or a CLI command gets its config through `job_config(rule, given)`: `given` is the
workflow's slice (a JSON object) or config files to load, validate and cut the same way, so a
notebook run on its own reads exactly what its workflow job would.

Keys are dotted paths; `{name}` is replaced by the job's wildcard of that name. A model source is a
config key naming one model or a list of them, or a wildcard (`{model}`).
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .config import ConfigError, load_config
from .registry import ModelEntry, resolve_registry, role_model

RUNTIME_ENV = "SAFETY_COMPLIANCE_RUNTIME"
EVERYTHING = "*"   # the whole config but its runtime keys (the reproduction report describes the run)

# Keys no result depends on: where things are kept, how they are shown, how calls are transported
# and jobs launched. Jobs get them from the environment, never through a tracked param.
RUNTIME = (
    "models_file", "shared_data", "compute",
    "llm.cache", "llm.usage_dir", "llm.progress", "llm.max_retries", "llm.backoff_base", "llm.backoff_max",
    "llm.request_timeout", "llm.vllm_python", "llm.vllm_log_dir", "llm.vllm_startup_timeout",
    "llm.vllm_keep_alive",
    "benchmark.min_produced_rate", "distill.min_kept_rate",   # floors decide pass or fail, not content
    "train.launcher", "train.accelerate_config",
    "train.run.save_steps", "train.run.save_total_limit", "train.run.gradient_checkpointing",
    "train.grpo.vllm_gpu_memory_utilization", "train.grpo.vllm_server_url",
)
# Registry fields no answer depends on.
RUNTIME_MODEL_FIELDS = ("concurrency", "price_per_m_input", "price_per_m_output")

# A config key naming a model may be null; then the model is the one this returns.
ROLE_DEFAULTS = {
    "extrapolate.allocator": lambda cfg: role_model(cfg, "allocator"),
    "extrapolate.case_writer": lambda cfg: role_model(cfg, "case_writer"),
}


@dataclass(frozen=True)
class Slice:
    keys: tuple[str, ...]
    models: tuple[str, ...] = ()


LLM_ANSWERS = "llm.max_constraint_retries"   # a retried answer is another answer

# rule -> what its job reads. Notebook rules read what their notebook's standalone run reads too.
SLICES: dict[str, Slice] = {
    "law_tree": Slice(("law",)),
    "synthesize": Slice(("scale", "teacher", "benchmark"), models=("teacher",)),
    "distill": Slice(("scale", "teacher", "distill"), models=("teacher",)),
    "human_eval": Slice(("scale", "laws", "human_eval", LLM_ANSWERS), models=("human_eval.judge",)),
    "sft": Slice(("scale", "laws", "train.run", "train.sft"), models=("{student}",)),
    "grpo": Slice(("scale", "laws", "train.run", "train.grpo"), models=("{student}",)),
    "figure4": Slice(("train.students",)),
    "training_figure": Slice(("scale", "laws", "train.students", "evaluate.models", "evaluate.max_cases",
                              "evaluate.seed"), models=("train.students",)),
    "evaluate": Slice(("evaluate.max_cases", "evaluate.max_tokens", "evaluate.seed", LLM_ANSWERS),
                      models=("{model}",)),
    "evaluate_privaci": Slice(("evaluate.privaci", "evaluate.max_tokens", "evaluate.seed", LLM_ANSWERS),
                              models=("{model}",)),
    "eval_tables": Slice(("scale", "laws", "evaluate", "train.students", LLM_ANSWERS), models=("evaluate.models",)),
    "extrapolate_samples": Slice((
        "extrapolate.data_dir", "extrapolate.samples_per_dataset", "extrapolate.sample_seed",
        "extrapolate.filter.max_categories", "extrapolate.filter.categories.{dataset}",
        "extrapolate.filter.token_cap.{dataset}", "extrapolate.filter.tokenizer",
        "extrapolate.filter.per_class.{dataset}", "extrapolate.filter.seed")),
    "allocate": Slice(("extrapolate.procedure", "extrapolate.max_tokens.allocate", "extrapolate.think_chars",
                       LLM_ANSWERS), models=("extrapolate.allocator",)),
    "extrapolate_cases": Slice(("extrapolate.procedure", "extrapolate.max_tokens.case",
                                "extrapolate.case_field_max_chars", "benchmark.field_chars", LLM_ANSWERS),
                               models=("extrapolate.case_writer",)),
    "extrapolate_classify": Slice(("laws", "extrapolate.datasets", "extrapolate.max_tokens.classify", LLM_ANSWERS),
                                  models=("{model}",)),
    "extrapolate_tables": Slice(("scale", "laws", "extrapolate", "benchmark.field_chars", "train.students",
                                 LLM_ANSWERS),
                                models=("extrapolate.allocator", "extrapolate.case_writer", "extrapolate.classifiers")),
    "law_summary": Slice(("scale", "laws")),
    "reproduction": Slice((EVERYTHING,), models=(
        "teacher", "human_eval.judge", "evaluate.models", "extrapolate.allocator", "extrapolate.case_writer",
        "extrapolate.classifiers", "train.students")),
}


class JobConfig(dict):
    """A slice as a tracked Snakemake param: compared by its repr, written into a command as JSON."""

    def __str__(self) -> str:
        return json.dumps(self, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _split(path: str) -> list[str]:
    return path.split(".")


def _get(cfg: Mapping[str, Any], path: str, default: Any = KeyError) -> Any:
    node: Any = cfg
    for part in _split(path):
        if not isinstance(node, Mapping) or part not in node:
            if default is KeyError:
                raise KeyError(path)
            return default
        node = node[part]
    return node


def _put(cfg: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = _split(path)
    node = cfg
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = copy.deepcopy(value)


def _drop(cfg: dict[str, Any], path: str) -> None:
    *parents, last = _split(path)
    node: Any = cfg
    for part in parents:
        node = node.get(part) if isinstance(node, dict) else None
        if node is None:
            return
    if isinstance(node, dict):
        node.pop(last, None)


def _sorted(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {key: _sorted(value[key]) for key in sorted(value)}
    if isinstance(value, list | tuple):
        return [_sorted(v) for v in value]
    return value


def _model_names(cfg: Mapping[str, Any], source: str, wildcards: Mapping[str, str]) -> list[str]:
    if source.startswith("{"):
        return [wildcards[source.strip("{}")]]
    value = _get(cfg, source, None)
    if value is None and source in ROLE_DEFAULTS:
        value = ROLE_DEFAULTS[source](cfg)
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _entry_dict(entry: ModelEntry) -> dict[str, Any]:
    fields = asdict(entry)
    for name in ("name", *RUNTIME_MODEL_FIELDS):
        fields.pop(name)
    return fields


def _with_bases(names: Iterable[str], registry: Mapping[str, ModelEntry]) -> list[str]:
    """The names, plus the base model a representation guard reads its hidden states from."""
    out: list[str] = []
    for name in names:
        out.append(name)
        base = registry[name].options.get("base") if name in registry else None
        if base and base in registry:
            out.append(base)
    return list(dict.fromkeys(out))


def cut(config: Mapping[str, Any], rule: str, wildcards: Mapping[str, str] | None = None,
        results_dir: str | Path = "results", registry: Mapping[str, ModelEntry] | None = None) -> JobConfig:
    """The slice of `config` that the job of `rule` with these wildcards reads."""
    if rule not in SLICES:
        raise KeyError(f"no config slice is declared for rule '{rule}' (safety_compliance.slices.SLICES)")
    spec, wildcards = SLICES[rule], dict(wildcards or {})
    out: dict[str, Any] = {}
    for key in spec.keys:
        if key == EVERYTHING:
            out = {k: copy.deepcopy(v) for k, v in config.items() if k != "models"}
            continue
        path = key.format(**wildcards)
        if _has(config, path):
            _put(out, path, _get(config, path))
    for runtime_key in RUNTIME:   # a section in a slice keeps its results-neutral keys out too
        _drop(out, runtime_key)
    if spec.models:
        registry = registry if registry is not None else resolve_registry(config, results_dir)
        names: list[str] = []
        for source in spec.models:
            found = _model_names(config, source, wildcards)
            if not source.startswith("{"):
                _put(out, source, found if isinstance(_get(config, source, None), list) else found[0] if found else None)
            names += found
        missing = [n for n in names if n not in registry]
        if missing:
            raise ConfigError(f"rule '{rule}': unknown model(s) {missing}; the registry "
                              f"({config.get('models_file', 'config/models.yaml')}) and train.students have: "
                              f"{', '.join(sorted(registry))}")
        out["models"] = {name: _entry_dict(registry[name]) for name in _with_bases(names, registry)}
    return JobConfig(_sorted(out))


def _has(cfg: Mapping[str, Any], path: str) -> bool:
    try:
        _get(cfg, path)
    except KeyError:
        return False
    return True


def runtime(config: Mapping[str, Any], results_dir: str | Path = "results") -> dict[str, Any]:
    """The runtime settings of `config`: what every job gets beside its slice."""
    out: dict[str, Any] = {}
    for key in RUNTIME:
        if _has(config, key):
            _put(out, key, _get(config, key))
    registry = resolve_registry(config, results_dir)
    out["models"] = {name: {f: getattr(entry, f) for f in RUNTIME_MODEL_FIELDS} for name, entry in registry.items()}
    return _sorted(out)


def with_runtime(slice_: Mapping[str, Any], settings: Mapping[str, Any]) -> dict[str, Any]:
    """A job's config: its slice, with the runtime settings of its models and stages added."""
    cfg = copy.deepcopy(dict(slice_))
    for key in RUNTIME:
        if _has(settings, key):
            _put(cfg, key, _get(settings, key))
    for name, entry in cfg.get("models", {}).items():
        entry.update(settings.get("models", {}).get(name, {}))
    return cfg


def runtime_from_env() -> dict[str, Any]:
    text = os.environ.get(RUNTIME_ENV)
    if not text:
        return {}
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise ConfigError(f"the environment variable {RUNTIME_ENV} holds no JSON object ({err}); "
                          "it is set by the workflow (workflow/rules/common.smk): unset it to use the defaults") from None


def parse_given(given: str | Sequence[str] | Mapping[str, Any]) -> Mapping[str, Any] | list[str]:
    """A slice (a mapping, or JSON object text) or config files (a path, paths, or paths split by spaces)."""
    if isinstance(given, Mapping):
        return given
    if not isinstance(given, str) and len(given) == 1:
        given = given[0]
    if isinstance(given, str):
        text = given.strip()
        if text.startswith("{"):
            try:
                return json.loads(text)
            except json.JSONDecodeError as err:
                raise ConfigError(f"the config slice given is not valid JSON: {err}") from None
        return text.split()
    return [str(g) for g in given]


def job_config(rule: str, given: str | Sequence[str] | Mapping[str, Any], results_dir: str | Path = "results",
               wildcards: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The config a job of `rule` runs with: the slice it was given plus the runtime settings, or
    `given` config files loaded, validated and cut to the same slice."""
    parsed = parse_given(given)
    if isinstance(parsed, Mapping):
        return with_runtime(parsed, runtime_from_env())
    full = load_config(parsed)
    return with_runtime(cut(full, rule, wildcards, results_dir), runtime(full, results_dir))


def add_config_argument(parser) -> None:
    """`--config`, as every stage command takes it."""
    parser.add_argument("--config", nargs="+", default=["config/config.yaml"], metavar="FILE_OR_SLICE",
                        help="config files merged in order (e.g. config/config.yaml config/paper.yaml), or the "
                             "JSON config slice a workflow job passes")
