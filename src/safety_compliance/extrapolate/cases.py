"""Case generation: each safety sample becomes a compliance case under each law.

An unsafe sample becomes a *prohibited* case and a safe one a *permitted* case; the model writes the
same five fields as the benchmark's cases (a JSON schema constrains it where the backend can), and the
benchmark's own validation (including its leak check on the facts) decides which cases are kept.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from .. import LAW_NAMES
from ..law.chapters import chapter_title, roman
from ..llm.types import Completion, Constraint, Generator, Request
from ..prompts import render
from .datasets import SAFE, UNSAFE, Record

CASE_FIELDS = ("parties_involved", "factual_background", "legal_issues", "arguments", "jurisdiction")
VERDICT_OF = {UNSAFE: "prohibited", SAFE: "permitted"}

Validator = Callable[[dict[str, Any], str], list[str]]


def case_schema(max_chars: int | None = None) -> dict[str, Any]:
    """The five string fields, all required, nothing else; `max_chars` bounds each field so that a
    small model under the constraint still closes the object within its token budget."""
    field = {"type": "string", **({"maxLength": max_chars} if max_chars else {})}
    return {"type": "object", "properties": {name: dict(field) for name in CASE_FIELDS},
            "required": list(CASE_FIELDS), "additionalProperties": False}


def case_messages(law: str, text: str, label: str, chapter: int | None) -> list[dict[str, str]]:
    if label not in VERDICT_OF:
        raise ValueError(f"a sample labelled {label!r} cannot become a case; expected 'safe' or 'unsafe'")
    ch = {"numeral": roman(chapter), "title": chapter_title(law, chapter)} if chapter else None
    return render("extrapolate_case", law_name=LAW_NAMES[law], sample=text, chapter=ch,
                  verdict=VERDICT_OF[label], safety_label=label)


def parse_case(completion: Completion) -> tuple[dict[str, str] | None, str | None]:
    """The five fields, or None and the reason the completion is not a usable case."""
    if not completion.ok:
        return None, f"generation failed: {completion.error}"
    text = completion.text.strip()
    if text.startswith("```"):
        text = text.strip("`").removeprefix("json").strip()
    try:
        obj = json.loads(text)
    except json.JSONDecodeError:
        return None, "truncated at the token limit" if completion.finish_reason == "length" else "not valid JSON"
    if not isinstance(obj, dict):
        return None, "not a JSON object"
    for name in CASE_FIELDS:
        if not isinstance(obj.get(name), str) or not obj[name].strip():
            return None, f"field '{name}' missing or empty"
    return {name: obj[name].strip() for name in CASE_FIELDS}, None


def _benchmark_validation(case: dict[str, Any], law: str) -> list[str]:
    from ..benchmark.validation import validate_case

    return validate_case(case, law)


def generate_cases(samples: Sequence[Record], allocations: dict[str, int | None], law: str, dataset: str,
                   generator: Generator, *, max_tokens: int = 1024, max_chars: int | None = None,
                   validate: Validator = _benchmark_validation) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The valid cases (benchmark record shape) and a report of produced / rejected with reasons.

    `allocations` maps a sample id to its allocated chapter (None: missing); the chapter steers the
    case and is stored with it, so the cases can be scored per chapter like the benchmark's.
    """
    constraint = Constraint("json_schema", case_schema(max_chars))
    requests = [Request(messages=case_messages(law, s["text"], s["label"], allocations.get(s["id"])),
                        max_tokens=max_tokens, constraint=constraint) for s in samples]
    completions = generator.generate(requests, desc=f"cases {dataset} {law}")
    cases, rejected, n_rejected = [], Counter(), 0
    tokens = {"prompt": 0, "completion": 0}
    for sample, completion in zip(samples, completions, strict=True):
        tokens["prompt"] += completion.prompt_tokens
        tokens["completion"] += completion.completion_tokens
        fields, reason = parse_case(completion)
        if fields is None:
            rejected[reason] += 1
            n_rejected += 1
            continue
        chapter = allocations.get(sample["id"])
        case = {
            "id": f"{sample['id']}/{law}", "law": law, "dataset": dataset, "seed_id": sample["id"],
            "chapter": chapter, "article": None, "label": VERDICT_OF[sample["label"]],
            "source_label": sample["label"], "source_category": sample.get("category"),
            "split": "test", "model": generator.model_id, **fields,
        }
        reasons = validate(case, law)
        if reasons:
            rejected.update(reasons)             # a case may fail several checks; each is counted
            n_rejected += 1
            continue
        cases.append(case)
    report = {"dataset": dataset, "law": law, "model": generator.model_id, "requested": len(samples),
              "produced": len(cases), "rejected": n_rejected,
              "rejected_by_reason": dict(sorted(rejected.items())), "tokens": tokens}
    return sorted(cases, key=lambda c: c["id"]), report
