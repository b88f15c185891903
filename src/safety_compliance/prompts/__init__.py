"""Prompt templates (files beside this module) and their rendering into chat messages.

A template file holds one or more messages, each introduced by a line `### system`, `### user` or
`### assistant`; the text is a Jinja2 template. Keeping prompts in files lets snapshot tests pin
their rendered text and lets a reader see every prompt without reading code.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import jinja2

from .. import LABELS
from ..laws import get_law

TEMPLATES = Path(__file__).parent / "templates"
HEADER = re.compile(r"^### (system|user|assistant)\s*$", re.MULTILINE)
ENV = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=False,
                         autoescape=False)


@lru_cache(maxsize=None)
def _load(name: str) -> list[tuple[str, jinja2.Template]]:
    path = TEMPLATES / f"{name}.md"
    if not path.is_file():
        known = sorted(p.stem for p in TEMPLATES.glob("*.md"))
        raise KeyError(f"no prompt template '{name}'; known: {known}")
    parts = HEADER.split(path.read_text(encoding="utf-8"))
    if parts[0].strip():
        raise ValueError(f"{path}: text before the first '### role' line")
    return [(role, ENV.from_string(body.strip("\n"))) for role, body in zip(parts[1::2], parts[2::2])]


def render(name: str, **variables) -> list[dict[str, str]]:
    """The chat messages of template `name` with `variables` filled in (a missing one is an error)."""
    return [{"role": role, "content": template.render(**variables).strip()} for role, template in _load(name)]


def _law_name(law: str) -> str:
    return get_law(law).title


def _label(label: str) -> str:
    if label not in LABELS:
        raise ValueError(f"label must be one of {LABELS}, not {label!r}")
    return label


def student_messages(law: str, facts: str) -> list[dict[str, str]]:
    """What the verifier sees: the law's name and the case facts, never the answer."""
    return render("student", law_name=_law_name(law), facts=facts)


def synthesis_messages(law: str, rules: str, label: str) -> list[dict[str, str]]:
    """The teacher's request for one case that is `label` under the seed's chain of rules."""
    return render("synthesis", law_name=_law_name(law), rules=rules, label=_label(label))


def distill_messages(law: str, rules: str, facts: str, label: str, own_reasoning: bool = False) -> list[dict[str, str]]:
    """The teacher's request for a step-by-step argument that the case is `label` (the gold verdict):
    typed between <think> tags, or, with `own_reasoning`, in a thinking model's own reasoning."""
    return render("distill", law_name=_law_name(law), rules=rules, facts=facts, label=_label(label),
                  own_reasoning=own_reasoning)


def judge_messages(law: str, rules: str, label: str, case: str, criteria: dict[str, str]) -> list[dict[str, str]]:
    """An LLM judge's request to rate one case 1-5 on the human-evaluation criteria."""
    return render("judge", law_name=_law_name(law), rules=rules, label=_label(label), case=case, criteria=criteria)
