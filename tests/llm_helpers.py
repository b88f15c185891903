"""Small helpers shared by the LLM layer's tests."""

from __future__ import annotations

from pathlib import Path

from safety_compliance.llm import Request


def llm_cfg(tmp: Path, **extra) -> dict:
    return {"llm": {"cache": str(tmp / "cache" / "llm.sqlite"), "usage_dir": str(tmp / "usage"),
                    "max_constraint_retries": 2, "progress": False, **extra}}


def ask(text: str, **kw) -> Request:
    return Request(messages=({"role": "user", "content": text},), **kw)
