"""Case generation: each safety sample becomes a compliance case under each law.

An unsafe sample becomes a *prohibited* case and a safe one a *permitted* case; the model writes the
same five fields as the benchmark's cases (a JSON schema constrains it where the backend can), and the
benchmark's own validation (including its leak check on the facts) decides which cases are kept.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from .. import LAW_NAMES
from ..benchmark.case import CASE_FIELDS, parse_case
from ..benchmark.case import case_schema as benchmark_case_schema
from ..benchmark.validation import reason_code, validate_case
from ..law.chapters import chapter_title, roman
from ..llm.types import Completion, Constraint, Generator, Request
from ..prompts import render
from .datasets import SAFE, UNSAFE, Record

VERDICT_OF = {UNSAFE: "prohibited", SAFE: "permitted"}

Validator = Callable[[dict[str, Any], str], list[str]]
Bounds = dict[str, tuple[int, int]]


def case_schema(max_chars: int | None = None, bounds: Bounds | None = None) -> dict[str, Any]:
    """The benchmark's case schema (its field floors); `max_chars` adds a ceiling to each field so
    that a small model under the constraint still closes the object within its token budget."""
    schema = benchmark_case_schema(bounds)
    if max_chars:
        for spec in schema["properties"].values():
            spec["maxLength"] = max(max_chars, spec.get("minLength", 0))
    return schema


def case_messages(law: str, text: str, label: str, chapter: int | None) -> list[dict[str, str]]:
    if label not in VERDICT_OF:
        raise ValueError(f"a sample labelled {label!r} cannot become a case; expected 'safe' or 'unsafe'")
    ch = {"numeral": roman(chapter), "title": chapter_title(law, chapter)} if chapter else None
    return render("extrapolate_case", law_name=LAW_NAMES[law], sample=text, chapter=ch,
                  verdict=VERDICT_OF[label], safety_label=label)


def parse_completion(completion: Completion) -> tuple[dict[str, Any] | None, str | None]:
    """The JSON object of a completion, or None and the reason (`code: detail`) it is not one."""
    if completion.finish_reason == "length":
        return None, "truncated: the answer was cut at the token limit"
    if not completion.ok:
        return None, f"generation_failed: {completion.error}"
    return parse_case(completion.text)


def case_requests(samples: Sequence[Record], allocations: dict[str, int | None], law: str, *,
                  max_tokens: int = 1024, max_chars: int | None = None, bounds: Bounds | None = None) -> list[Request]:
    constraint = Constraint("json_schema", case_schema(max_chars, bounds))
    return [Request(messages=case_messages(law, s["text"], s["label"], allocations.get(s["id"])),
                    max_tokens=max_tokens, constraint=constraint) for s in samples]


def generate_cases(samples: Sequence[Record], allocations: dict[str, int | None], law: str, dataset: str,
                   generator: Generator, *, max_tokens: int = 1024, max_chars: int | None = None,
                   bounds: Bounds | None = None, validate: Validator | None = None) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The valid cases (benchmark record shape) and a report of produced / rejected with reasons.

    `allocations` maps a sample id to its allocated chapter (None: missing); the chapter steers the
    case and is stored with it, so the cases can be scored per chapter like the benchmark's.
    `bounds` are the benchmark's per-field character bounds (its defaults when None); `validate`
    defaults to the benchmark's whole-case validation under them.
    """
    validate = validate or (lambda case, law: validate_case(case, law, bounds))
    requests = case_requests(samples, allocations, law, max_tokens=max_tokens, max_chars=max_chars, bounds=bounds)
    completions = generator.generate(requests, desc=f"cases {dataset} {law}")
    cases, rejected, n_rejected = [], Counter(), 0
    tokens = {"prompt": 0, "completion": 0}
    for sample, completion in zip(samples, completions, strict=True):
        tokens["prompt"] += completion.prompt_tokens
        tokens["completion"] += completion.completion_tokens
        fields, reason = parse_completion(completion)
        if fields is None:
            rejected[reason_code(reason)] += 1
            n_rejected += 1
            continue
        chapter = allocations.get(sample["id"])
        case = {
            "id": f"{sample['id']}/{law}", "law": law, "dataset": dataset, "seed_id": sample["id"],
            "chapter": chapter, "article": None, "label": VERDICT_OF[sample["label"]],
            "source_label": sample["label"], "source_category": sample.get("category"),
            "split": "test", "model": generator.model_id,
            **{name: fields[name].strip() if isinstance(fields.get(name), str) else fields.get(name)
               for name in CASE_FIELDS if name in fields},
        }
        reasons = validate(case, law)
        if reasons:
            rejected.update(reason_code(r) for r in reasons)   # a case may fail several checks; each counts
            n_rejected += 1
            continue
        cases.append(case)
    report = {"dataset": dataset, "law": law, "model": generator.model_id, "requested": len(samples),
              "produced": len(cases), "rejected": n_rejected,
              "rejected_by_reason": dict(sorted(rejected.items())), "tokens": tokens}
    return sorted(cases, key=lambda c: c["id"]), report
