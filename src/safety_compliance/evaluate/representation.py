"""Representation-space guards as verifiers: the Safety Polytope and its simpler control, a linear probe.

A registry entry with backend `representation` names the base model whose hidden states are read
(`options.base`: a registry name or a folder), the `layer` (null: the middle one), the `method`
(`polytope` or `probe`) and the method's settings. The guard is trained on the law's train split and
predicts the test split; it writes the same prediction records as a generating model, with no
completion tokens (it reads the prompt and answers without writing).
"""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import numpy as np

from ..families import get_family
from ..registry import ModelEntry
from .features import hidden_features
from .polytope import PolytopeConfig, polytope_scores, save_polytope, train_polytope

METHODS = ("polytope", "probe")
ENTRY_OPTIONS = {"base", "layer", "method", "batch_size", "max_length", "probe_c"}


def base_model_path(entry: ModelEntry, registry: dict[str, ModelEntry]) -> str:
    base = entry.options.get("base")
    if not base:
        raise ValueError(f"representation guard '{entry.name}' names no options.base (a registry model or folder)")
    return registry[base].model if base in registry else base


def _check_options(entry: ModelEntry) -> tuple[str, PolytopeConfig]:
    polytope_keys = {f.name for f in fields(PolytopeConfig)}
    unknown = sorted(set(entry.options) - ENTRY_OPTIONS - polytope_keys)
    if unknown:
        raise ValueError(f"representation guard '{entry.name}' has unknown option(s) {unknown}; "
                         f"known: {sorted(ENTRY_OPTIONS | polytope_keys)}")
    method = entry.options.get("method", "polytope")
    if method not in METHODS:
        raise ValueError(f"representation guard '{entry.name}' has method '{method}'; choose one of {METHODS}")
    return method, PolytopeConfig(**{k: v for k, v in entry.options.items() if k in polytope_keys})


def fit_probe(hidden: np.ndarray, unsafe: np.ndarray, c: float = 1.0, seed: int = 0):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=2000, random_state=seed)).fit(hidden, unsafe)


def run_representation_guard(entry: ModelEntry, registry: dict[str, ModelEntry], law: str,
                             train_cases: list[dict], test_cases: list[dict], *,
                             cache_dir: str | Path, guard_dir: str | Path | None = None) -> list[dict]:
    """Train the guard on `train_cases`, then one prediction record per test case."""
    method, polytope_config = _check_options(entry)
    family = get_family(entry.family)
    path = base_model_path(entry, registry)
    read = dict(layer=entry.options.get("layer"), batch_size=int(entry.options.get("batch_size", 8)),
                max_length=int(entry.options.get("max_length", 2048)), cache_dir=cache_dir,
                device=entry.device, dtype=entry.dtype)

    def encode(cases):
        return hidden_features(path, [family.messages(law, c["factual_background"]) for c in cases], **read)

    unsafe = np.array([c["label"] == "prohibited" for c in train_cases])
    if unsafe.all() or not unsafe.any():
        raise ValueError(f"representation guard '{entry.name}': the {law} train split has only "
                         f"{'prohibited' if unsafe.any() else 'permitted'} cases; it needs both labels to learn from")
    train_x, _ = encode(train_cases)
    test_x, test_tokens = encode(test_cases)
    if method == "polytope":
        guard = train_polytope(train_x, unsafe, polytope_config)
        scores = polytope_scores(guard, test_x)          # largest facet violation; > 0 is unsafe
        if guard_dir is not None:
            Path(guard_dir).mkdir(parents=True, exist_ok=True)
            save_polytope(guard, Path(guard_dir) / f"{entry.name}.{law}.pt")
    else:
        probe = fit_probe(train_x, unsafe, c=float(entry.options.get("probe_c", 1.0)), seed=polytope_config.seed)
        scores = probe.decision_function(test_x)         # log-odds of unsafe; > 0 is unsafe
    return [{
        "case_id": case["id"], "model": entry.name, "raw": f"{method} score {score:.6f}",
        "verdict": "prohibited" if score > 0 else "permitted", "chapter_pred": None,
        "prompt_tokens": int(tokens), "completion_tokens": 0,
    } for case, score, tokens in zip(test_cases, scores, test_tokens)]
