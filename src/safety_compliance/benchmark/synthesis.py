"""Benchmark synthesis: for each seed and each label, the teacher writes one case as constrained JSON.

A case that fails validation (not JSON, a field missing or out of bounds, facts that leak the law
or the verdict) is asked for again with a new sampling seed, up to `max_attempts` in all; a case
still failing then is rejected with the reasons of its last attempt. Every request ends up either
in `cases` or in `rejected`, and the report counts both. The teacher is asked to leave the law's
names out of its answer (`Request.avoid`): local and vLLM teachers cannot write them, so the
leak check no longer costs them a round; an API teacher's names are still caught by the check.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .. import LABELS
from ..case import CASE_FIELDS, DEFAULT_BOUNDS, case_schema, parse_case
from ..case_validation import reason_code, validate_case
from ..laws import get_law
from ..llm.types import Completion, Constraint, Generator, Request
from ..prompts import synthesis_messages
from .regeneration import Attempts, attempt_seed, rate, regenerate


@dataclass(frozen=True)
class SynthesisSettings:
    max_tokens: int = 1024
    temperature: float = 0.7
    max_attempts: int = 3
    seed: int = 0
    bounds: dict[str, tuple[int, int]] = field(default_factory=lambda: dict(DEFAULT_BOUNDS))
    min_produced_rate: float = 0.5

    @classmethod
    def from_config(cls, cfg: dict[str, Any]) -> SynthesisSettings:
        bench = cfg["benchmark"]
        bounds = {name: (int(low), int(high)) for name, (low, high) in bench["field_chars"].items()}
        return cls(max_tokens=int(bench["max_tokens"]), temperature=float(bench["temperature"]),
                   max_attempts=int(bench["max_attempts"]), seed=int(bench["seed"]), bounds=bounds,
                   min_produced_rate=float(bench["min_produced_rate"]))

    def __post_init__(self):
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, not {self.max_attempts}")
        if not 0 <= self.min_produced_rate <= 1:
            raise ValueError(f"benchmark.min_produced_rate must be within [0, 1], not {self.min_produced_rate}")
        missing = [name for name in CASE_FIELDS if name not in self.bounds]
        if missing:
            raise ValueError(f"field_chars lacks bounds for {missing}")
        for name, (low, high) in self.bounds.items():
            if not 0 < low <= high:
                raise ValueError(f"field_chars.{name} must be [min, max] with 0 < min <= max, not [{low}, {high}]")


@dataclass
class SynthesisResult:
    cases: list[dict[str, Any]]
    rejected: list[dict[str, Any]]
    report: dict[str, Any]


def case_id(seed_id: str, label: str) -> str:
    return f"{seed_id}/{label}"


def synthesis_request(seed: dict[str, Any], label: str, law: str, settings: SynthesisSettings,
                      attempt: int = 0) -> Request:
    return Request(messages=synthesis_messages(law, seed["text"], label), max_tokens=settings.max_tokens,
                   temperature=settings.temperature, seed=attempt_seed(settings.seed, attempt),
                   constraint=Constraint("json_schema", case_schema(settings.bounds)),
                   avoid=get_law(law).names)


def judge_answer(completion: Completion, law: str,
                 bounds: dict[str, tuple[int, int]]) -> tuple[dict[str, str] | None, list[str]]:
    """The case in a teacher's answer, or (None, reasons) when it cannot enter the benchmark."""
    if completion.finish_reason == "error":
        return None, [f"generation_error: {completion.error or 'the backend gave no answer'}"]
    value, problem = parse_case(completion.text)
    if problem is not None:
        if completion.finish_reason == "length":
            return None, [f"truncated: the answer reached max_tokens before the JSON closed ({problem})"]
        return None, [problem]
    reasons = validate_case(value, law, bounds)
    if reasons:
        return None, reasons
    return {name: value[name].strip() for name in CASE_FIELDS}, []


def synthesize(seeds: Sequence[dict[str, Any]], law: str, generator: Generator,
               settings: SynthesisSettings) -> SynthesisResult:
    """One case per seed and label (prohibited, permitted), with bounded regeneration."""
    slots = [(seed, label) for seed in seeds for label in LABELS]
    outcome = regenerate(
        len(slots), lambda i, attempt: synthesis_request(slots[i][0], slots[i][1], law, settings, attempt),
        lambda i, completion: judge_answer(completion, law, settings.bounds),
        generator, settings.max_attempts, f"synthesize {law}")
    cases = []
    for index, (case, attempts) in sorted(outcome.accepted.items()):
        seed, label = slots[index]
        cases.append({"id": case_id(seed["id"], label), "law": law, "seed_id": seed["id"],
                      "chapter": seed["chapter"], "article": seed["article"], "label": label,
                      **case, "attempts": attempts})
    rejected = [{"id": case_id(slots[i][0]["id"], slots[i][1]), "law": law, "seed_id": slots[i][0]["id"],
                 "chapter": slots[i][0]["chapter"], "label": slots[i][1], "stage": "validation",
                 "reasons": outcome.history[i][-1], "attempts": len(outcome.history[i]),
                 "history": outcome.history[i], "raw": outcome.last_text[i]} for i in outcome.failing]
    return SynthesisResult(cases, rejected, synthesis_report(law, generator, settings, seeds, cases,
                                                             rejected, outcome))


def synthesis_report(law: str, generator: Generator, settings: SynthesisSettings, seeds, cases, rejected,
                     outcome: Attempts) -> dict[str, Any]:
    requested = len(seeds) * len(LABELS)
    primary = outcome.rejected_by_reason()
    # `rejected_reasons_all` counts every reason any last attempt gave, not only the first.
    every = Counter(reason_code(reason) for r in rejected for reason in r["reasons"])
    return {
        "law": law,
        "teacher": getattr(generator, "model_id", "?"),
        "seeds": len(seeds),
        "requested": requested,
        "produced": len(cases),
        "rejected": len(rejected),
        "regenerated": outcome.regenerated(),
        "produced_after_regeneration": outcome.accepted_after_regeneration(),
        "rejected_by_reason": primary,
        "rejected_reasons_all": dict(sorted(every.items())),
        "failed_attempts_by_reason": outcome.failed_attempts_by_reason(),
        "rates": {"produced": rate(len(cases), requested), "rejected": rate(len(rejected), requested),
                  **{f"rejected_{code}": rate(n, requested) for code, n in primary.items()}},
        "settings": {"max_tokens": settings.max_tokens, "temperature": settings.temperature,
                     "max_attempts": settings.max_attempts, "seed": settings.seed,
                     "min_produced_rate": settings.min_produced_rate,
                     "field_chars": {k: list(v) for k, v in settings.bounds.items()}},
        "tokens": outcome.tokens.summary(),
    }
