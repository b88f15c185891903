"""Loading and validating the workflow configuration outside Snakemake (notebooks, CLI, tests)."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from .paths import project_root

SCHEMA = Path("workflow/schemas/config.schema.yaml")


class ConfigError(ValueError):
    """A configuration that does not match the schema; the message names the offending key."""


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in (override or {}).items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def validate(config: dict[str, Any], root: Path | None = None) -> None:
    """The schema's checks, then `check_laws` (the schema only knows that laws are named by strings)."""
    schema = yaml.safe_load((Path(root or project_root()) / SCHEMA).read_text(encoding="utf-8"))
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(config), key=lambda e: list(e.path))
    if errors:
        lines = []
        for err in errors:
            where = "/".join(str(p) for p in err.absolute_path) or "(top level)"
            lines.append(f"  {where}: {err.message}")
        raise ConfigError("invalid configuration:\n" + "\n".join(lines))
    check_laws(config)


def check_laws(config: dict[str, Any]) -> list[str]:
    """The config's `laws`, each a law of the registry (safety_compliance.laws); ConfigError naming the
    unknown ones and the known ones otherwise. The workflow calls it beside the schema's validation."""
    from .laws import law_names

    laws = list(config.get("laws") or [])
    unknown = [law for law in laws if law not in law_names()]
    if unknown:
        raise ConfigError(f"invalid configuration:\n  laws: unknown law(s) {', '.join(map(repr, unknown))}; the law "
                          f"registry (safety_compliance.laws) has {', '.join(law_names())}")
    return laws


def load_config(path: str | Path | Sequence[str | Path] = "config/config.yaml",
                overrides: dict[str, Any] | None = None, root: Path | None = None) -> dict[str, Any]:
    """The config file at `path`, or several merged in order (as `snakemake --configfile A B` does),
    with `overrides` merged last, validated against the schema."""
    root = Path(root or project_root())
    paths = [path] if isinstance(path, str | Path) else list(path)
    if not paths:
        raise ConfigError("no config file given")
    config: dict[str, Any] = {}
    for each in map(Path, paths):
        file = each if each.is_absolute() else root / each
        if not file.is_file():
            raise ConfigError(f"config file {each} does not exist (looked in {file.parent})")
        layer = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
        if not isinstance(layer, dict):
            raise ConfigError(f"config file {each} holds a {type(layer).__name__}, not a mapping of keys")
        config = deep_merge(config, layer)
    config = deep_merge(config, overrides or {})
    validate(config, root)
    return config

