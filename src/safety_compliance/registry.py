"""The model registry (config/models.yaml): baselines, teachers and the students we train.

Adding a model is one entry: its backend, where its weights or API live, how to ask it for a verdict
(its verifier family) and which group of the paper's tables it belongs to.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

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


def get_model(registry: dict[str, ModelEntry], name: str) -> ModelEntry:
    try:
        return registry[name]
    except KeyError:
        raise KeyError(f"unknown model '{name}'; the registry has: {', '.join(sorted(registry))}") from None
