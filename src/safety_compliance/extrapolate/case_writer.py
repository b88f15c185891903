"""Case generation: each safety sample becomes a compliance case under each law.

An unsafe sample becomes a *prohibited* case and a safe one a *permitted* case. Two procedures
(config `extrapolate.procedure`, as for the chapter allocation):
- `paper`, the paper's: the model sees the sample alone (no label, no chapter) and writes a Markdown
  case, the facts and a legal analysis under fixed headings, decoded freely; the headings are then
  parsed into the benchmark's five fields.
- `constrained`, ours: the model is told the verdict the case must reach and the allocated chapter,
  and writes the five fields as JSON under a JSON-schema constraint where the backend can enforce it,
  kept from writing the law's names (`Request.avoid`) where the backend can ban them.
Either way the benchmark's own validation (including its leak check on the facts) decides which
cases are kept.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from ..case import CASE_FIELDS, parse_case
from ..case import case_schema as benchmark_case_schema
from ..case_validation import reason_code, validate_case
from ..chapters import chapter_title, roman
from ..laws import get_law
from ..llm.types import Completion, Constraint, Generator, Request
from ..prompts import render
from ..safety_datasets import SAFE, UNSAFE, Record
from ..verdict import after_think
from .allocate import check_procedure

VERDICT_OF = {UNSAFE: "prohibited", SAFE: "permitted"}

Validator = Callable[[dict[str, Any], str], list[str]]
Bounds = dict[str, tuple[int, int]]


def case_schema(max_chars: int | None = None, bounds: Bounds | None = None) -> dict[str, Any]:
    """The benchmark's case schema; `max_chars` lowers each field's ceiling (never below its floor) so
    that a small model under the constraint still closes the object within its token budget."""
    schema = benchmark_case_schema(bounds)
    if max_chars:
        for spec in schema["properties"].values():
            spec["maxLength"] = min(spec["maxLength"], max(max_chars, spec["minLength"]))
    return schema


def case_messages(law: str, text: str, label: str, chapter: int | None,
                  procedure: str = "paper") -> list[dict[str, str]]:
    """The case writer's prompt; under the paper's procedure it holds the law and the sample only."""
    if label not in VERDICT_OF:
        raise ValueError(f"a sample labelled {label!r} cannot become a case; expected 'safe' or 'unsafe'")
    if check_procedure(procedure) == "paper":
        return render("extrapolate_case_paper", law_name=get_law(law).title, sample=text)
    ch = {"numeral": roman(chapter), "title": chapter_title(law, chapter)} if chapter else None
    return render("extrapolate_case", law_name=get_law(law).title, sample=text, chapter=ch,
                  verdict=VERDICT_OF[label], safety_label=label)


# The Markdown case's headings (as the paper-procedure prompt asks for them) and the field each fills;
# "Legal Analysis" only groups "Legal Issues" and "Arguments".
SECTIONS = {"parties involved": "parties_involved", "factual background": "factual_background",
            "legal issues": "legal_issues", "arguments": "arguments", "jurisdiction": "jurisdiction"}
GROUPING = "legal analysis"
# A heading: `## Factual Background`, `**Factual Background**`, `2. Factual Background:` alone on its
# line, or a label with its text after a colon (`**Jurisdiction:** Germany`).
HEADING = re.compile(r"^\s*(?:#{1,6}\s*)?(?:\d+[.)]\s*)?(?:\*\*|__)?\s*(?P<name>"
                     + "|".join([*SECTIONS, GROUPING]) + r")\s*(?P<sep>(?:\*\*|__|:|\s)*)(?P<rest>.*)$",
                     re.IGNORECASE)


def parse_markdown_case(text: str) -> tuple[dict[str, str] | None, str | None]:
    """The five fields of a Markdown case (after any <think> block), or None and the reason.

    Each field is the text under its heading up to the next heading. A missing or empty section is a
    rejection (`missing_section`), as is a repeated one (`repeated_section`); the benchmark's
    validation then judges the fields' lengths and leaks."""
    fields: dict[str, list[str]] = {}
    current: str | None = None
    for line in after_think(text or "").splitlines():
        match = HEADING.match(line)
        if match and (not match["rest"] or ":" in match["sep"]):
            name = " ".join(match["name"].lower().split())
            current = SECTIONS.get(name)
            if current in fields:
                return None, f"repeated_section: the heading '{match['name']}' appears twice"
            if current is not None:
                fields[current] = [match["rest"]]
        elif current is not None:
            fields[current].append(line)
    values = {name: "\n".join(lines).strip() for name, lines in fields.items()}
    absent = [name for name in SECTIONS.values() if not values.get(name)]
    if absent:
        return None, f"missing_section: no text under the heading(s) for {', '.join(absent)}"
    return values, None


def parse_completion(completion: Completion, procedure: str = "paper") -> tuple[dict[str, Any] | None, str | None]:
    """The case fields of a completion (JSON under our procedure, Markdown under the paper's), or
    None and the reason (`code: detail`) there are none."""
    if completion.finish_reason == "length":
        return None, "truncated: the answer was cut at the token limit"
    if not completion.ok:
        return None, f"generation_failed: {completion.error}"
    if check_procedure(procedure) == "paper":
        return parse_markdown_case(completion.text)
    return parse_case(completion.text)


def case_requests(samples: Sequence[Record], allocations: dict[str, int | None], law: str, *,
                  max_tokens: int = 1024, max_chars: int | None = None, bounds: Bounds | None = None,
                  procedure: str = "paper") -> list[Request]:
    """One request per sample; only our constrained procedure carries the JSON-schema constraint
    (`max_chars`, `bounds` shape it)."""
    constrained = check_procedure(procedure) == "constrained"
    constraint = Constraint("json_schema", case_schema(max_chars, bounds)) if constrained else None
    # Ours also keeps the law's names out while decoding; the paper's decodes freely.
    avoid = get_law(law).names if constrained else ()
    return [Request(messages=case_messages(law, s["text"], s["label"], allocations.get(s["id"]), procedure),
                    max_tokens=max_tokens, constraint=constraint, avoid=avoid) for s in samples]


def generate_cases(samples: Sequence[Record], allocations: dict[str, int | None], law: str, dataset: str,
                   generator: Generator, *, max_tokens: int = 1024, max_chars: int | None = None,
                   bounds: Bounds | None = None, validate: Validator | None = None,
                   procedure: str = "paper") -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The valid cases (benchmark record shape) and a report of produced / rejected with reasons.

    `allocations` maps a sample id to its allocated chapter (None: missing); the chapter is stored
    with the case (so the cases can be scored per chapter like the benchmark's) and, under our
    constrained procedure only, steers the case.
    `bounds` are the benchmark's per-field character bounds (its defaults when None); `validate`
    defaults to the benchmark's whole-case validation under them.
    """
    validate = validate or (lambda case, law: validate_case(case, law, bounds))
    requests = case_requests(samples, allocations, law, max_tokens=max_tokens, max_chars=max_chars, bounds=bounds,
                             procedure=procedure)
    completions = generator.generate(requests, desc=f"cases {dataset} {law}")
    cases, rejected, n_rejected = [], Counter(), 0
    tokens = {"prompt": 0, "completion": 0}
    for sample, completion in zip(samples, completions, strict=True):
        tokens["prompt"] += completion.prompt_tokens
        tokens["completion"] += completion.completion_tokens
        fields, reason = parse_completion(completion, procedure)
        if fields is None:
            rejected[reason_code(reason)] += 1
            n_rejected += 1
            continue
        chapter = allocations.get(sample["id"])
        case = {
            "id": f"{sample['id']}/{law}", "law": law, "dataset": dataset, "seed_id": sample["id"],
            "chapter": chapter, "article": None, "label": VERDICT_OF[sample["label"]],
            "source_label": sample["label"], "source_category": sample.get("category"),
            "split": "test", "model": generator.model_id, "procedure": procedure,
            **{name: fields[name].strip() if isinstance(fields.get(name), str) else fields.get(name)
               for name in CASE_FIELDS if name in fields},
        }
        reasons = validate(case, law)
        if reasons:
            rejected.update(reason_code(r) for r in reasons)   # a case may fail several checks; each counts
            n_rejected += 1
            continue
        cases.append(case)
    report = {"dataset": dataset, "law": law, "model": generator.model_id, "procedure": procedure,
              "requested": len(samples),
              "produced": len(cases), "rejected": n_rejected,
              "rejected_by_reason": dict(sorted(rejected.items())), "tokens": tokens}
    return sorted(cases, key=lambda c: c["id"]), report
