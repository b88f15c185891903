"""The model registry (config/models.yaml): baselines, teachers and the students we train.

Adding a model is one entry: its backend, where its weights or API live, how to ask it for a verdict
(its verifier family) and which group of the paper's tables it belongs to. A config may change
entries (`registry_overrides`, e.g. a rehearsal's stand-in weights), and every base model in
`train.students` adds two entries, `{base}-sft` and `{base}-grpo`, pointing at the trained folders.
A job's config slice carries the resolved entries of the models it uses (`models`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import yaml

from .config import deep_merge

BACKENDS = ("hf", "openai", "vllm", "representation")
GROUPS = ("general", "guardrail", "ours")
# How an OpenAI-compatible endpoint takes a JSON-schema constraint (see llm/openai_compat.py):
#   json_schema  response_format json_schema in OpenAI's strict mode (OpenAI, Gemini's compatible endpoint)
#   json_object  JSON mode: the schema goes into the prompt, the answer is validated (DeepSeek)
#   none         the schema goes into the prompt, the answer is validated (any endpoint)
#   vllm         a vLLM server: JSON schema and regex are enforced by the server
STRUCTURED_OUTPUTS = ("json_schema", "json_object", "none", "vllm")


@dataclass(frozen=True)
class ModelEntry:
    name: str
    model: str                               # local folder, hub id, or API model name
    backend: str = "hf"
    family: str = "compliance"               # verifier family: prompt builder + output parser
    group: str = "general"
    display: str = ""                        # the name in the paper's tables
    revision: str | None = None
    dtype: str = "float32"
    device: str = "auto"
    batch_size: int = 16
    base_url: str | None = None
    api_key_env: str | None = None           # the *name* of the environment variable holding the key
    concurrency: int = 8
    structured_output: str | None = None     # openai backend: one of STRUCTURED_OUTPUTS (None: "none")
    price_per_m_input: float | None = None   # USD per million prompt tokens
    price_per_m_output: float | None = None
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return self.display or self.name


def _entry(name: str, spec: dict[str, Any], source: str) -> ModelEntry:
    known = {f.name for f in fields(ModelEntry)}
    unknown = sorted(set(spec) - known)
    if unknown:
        raise ValueError(f"{source}: model '{name}' has unknown key(s) {unknown}; known: {sorted(known - {'name'})}")
    if "model" not in spec:
        raise ValueError(f"{source}: model '{name}' names no 'model' (path, hub id or API model)")
    if spec.get("backend", "hf") not in BACKENDS:
        raise ValueError(f"{source}: model '{name}' has backend '{spec['backend']}'; choose one of {BACKENDS}")
    if spec.get("group", "general") not in GROUPS:
        raise ValueError(f"{source}: model '{name}' has group '{spec['group']}'; choose one of {GROUPS}")
    if "response_format" in (spec.get("options") or {}):
        raise ValueError(f"{source}: model '{name}' sets options.response_format, which is now the entry's own "
                         f"field: write `structured_output: {spec['options']['response_format']}` instead")
    mode = spec.get("structured_output")
    if mode is not None and (mode not in STRUCTURED_OUTPUTS or spec.get("backend", "hf") not in ("openai", "vllm")):
        raise ValueError(f"{source}: model '{name}' has structured_output '{mode}'; it is for backend openai "
                         f"(or vllm) and one of {STRUCTURED_OUTPUTS}")
    return ModelEntry(name=name, **spec)


def load_registry(path: str | Path) -> dict[str, ModelEntry]:
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    return {name: _entry(name, spec or {}, str(path)) for name, spec in raw.items()}


STUDENT_STAGES = {"sft": "Compliance-Reasoner-SFT", "grpo": "Compliance-Reasoner-GRPO"}


def student_model_dir(student: str, stage: str, results_dir: str | Path = "results") -> Path:
    """The trained model of a stage, with its tokenizer and card: results/train/{student}/{stage}/final."""
    if stage not in STUDENT_STAGES:
        raise KeyError(f"unknown training stage '{stage}'; known: {sorted(STUDENT_STAGES)}")
    return Path(results_dir) / "train" / student / stage / "final"


def student_bases(cfg: Mapping[str, Any]) -> list[str]:
    """The base models of `train.students`, in order (the first is the paper's Qwen3-8B position)."""
    return list((cfg.get("train") or {}).get("students", []))


def student_stage(name: str, bases: list[str]) -> tuple[str, str] | None:
    """(base, stage) when `name` is one of our students (`{base}-sft`, `{base}-grpo`)."""
    for base in bases:
        for stage in STUDENT_STAGES:
            if name == f"{base}-{stage}":
                return base, stage
    return None


def evaluated_students(cfg: Mapping[str, Any]) -> list[str]:
    """The trained students among `evaluate.models` (the PrivaCI-Bench check runs on them)."""
    bases = student_bases(cfg)
    return [m for m in (cfg.get("evaluate") or {}).get("models", []) if student_stage(m, bases)]


def role_model(cfg: Mapping[str, Any], role: str) -> str:
    """The model playing `extrapolate.{role}` (allocator, case_writer); null is the first student's GRPO
    model, the paper's choice."""
    name = (cfg.get("extrapolate") or {}).get(role)
    if name:
        return name
    students = student_bases(cfg)
    if not students:
        raise KeyError(f"extrapolate.{role} is null and train.students names no student to take it from")
    return f"{students[0]}-grpo"


STUDENT_BACKENDS = ("hf", "vllm")


def student_entries(base_registry: Mapping[str, ModelEntry], students: list[str],
                    results_dir: str | Path = "results", backend: str = "hf") -> dict[str, ModelEntry]:
    """`{student}-sft` and `{student}-grpo` for every base model in `students`: the base model's
    settings (dtype, device, batch size, engine options), pointing at the trained folders, served by
    `backend` (`train.student_backend`: hf in process on the CPU demo, a vLLM server at paper scale);
    group `ours`, family `compliance`."""
    if backend not in STUDENT_BACKENDS:
        raise ValueError(f"train.student_backend is '{backend}'; choose one of {STUDENT_BACKENDS}")
    entries = {}
    for student in students:
        base = get_model(dict(base_registry), student)
        for stage, title in STUDENT_STAGES.items():
            name = f"{student}-{stage}"
            entries[name] = replace(base, name=name, model=str(student_model_dir(student, stage, results_dir)),
                                    backend=backend, family="compliance", group="ours",
                                    display=f"{title} ({base.label})", revision=None)
    return entries


def resolve_registry(cfg: Mapping[str, Any], results_dir: str | Path = "results") -> dict[str, ModelEntry]:
    """Every model a config can name: the registry file, changed by `registry_overrides` (merged into
    each entry, `options` key by key), plus the trained students of `train.students`."""
    source = cfg.get("models_file", "config/models.yaml")
    registry = load_registry(source)
    for name, changes in (cfg.get("registry_overrides") or {}).items():
        if name not in registry:
            raise ValueError(f"registry_overrides names model '{name}', which {source} does not have")
        spec = {f.name: getattr(registry[name], f.name) for f in fields(ModelEntry) if f.name != "name"}
        registry[name] = _entry(name, deep_merge(spec, changes), f"registry_overrides of {source}")
    # A student whose base model is not registered gets no entries here; the jobs that train or use it
    # name it as an unknown model (a config for one stage need not register another stage's models).
    train = cfg.get("train") or {}
    students = [s for s in train.get("students") or [] if s in registry]
    registry.update(student_entries(registry, students, results_dir, train.get("student_backend", "hf")))
    return registry


def registry_of(cfg: Mapping[str, Any], results_dir: str | Path = "results") -> dict[str, ModelEntry]:
    """The models a job may use: the entries of its config slice (`models`), or, for a whole config,
    the resolved registry."""
    if "models" in cfg:
        return {name: _entry(name, dict(spec), "the job's config slice") for name, spec in cfg["models"].items()}
    return resolve_registry(cfg, results_dir)


def get_model(registry: dict[str, ModelEntry], name: str) -> ModelEntry:
    try:
        return registry[name]
    except KeyError:
        raise KeyError(f"unknown model '{name}'; the registry has: {', '.join(sorted(registry))}") from None
