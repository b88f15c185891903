"""An optional LLM judge that fills the annotation sheet like an annotator would.

Its sheet is marked as a model's (annotator "model: <name>"), so Table 1 shows it in rows of its own
and never in the human average or the agreement. An answer that is not three ratings 1-5 leaves
that case's cells blank, and the count of such answers is reported.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from ..annotation_kit import CRITERIA, SCORES, SHEET_COLUMNS
from ..case import CASE_FIELDS
from ..llm.types import Constraint, Generator, Request
from ..prompts import judge_messages
from .ratings import model_rater

JUDGE_SCHEMA = {
    "type": "object",
    "properties": {name: {"type": "integer", "enum": list(SCORES)} for name in CRITERIA},
    "required": list(CRITERIA),
    "additionalProperties": False,
}


def case_text(case: dict[str, Any]) -> str:
    return "\n".join(f"{name}: {case[name]}" for name in CASE_FIELDS if case.get(name))


def judge_request(case: dict[str, Any], rules: str, max_tokens: int) -> Request:
    return Request(messages=judge_messages(case["law"], rules, case["label"], case_text(case), CRITERIA),
                   max_tokens=max_tokens, temperature=0.0, constraint=Constraint("json_schema", JUDGE_SCHEMA))


def parse_ratings(text: str) -> tuple[dict[str, int] | None, str | None]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return None, "not_json"
    if not isinstance(value, dict):
        return None, "not_object"
    if any(name not in value for name in CRITERIA):
        return None, "missing_field"
    if any(value[name] not in SCORES or isinstance(value[name], bool) for name in CRITERIA):
        return None, "out_of_range"
    return {name: int(value[name]) for name in CRITERIA}, None


def judge_cases(cases: Sequence[dict[str, Any]], rules: Mapping[str, str], generator: Generator,
                max_tokens: int = 64) -> tuple[str, dict[str, Any]]:
    """(the judge's filled sheet as CSV text, a report of how many answers were usable)."""
    requests = [judge_request(c, rules.get(c.get("seed_id"), c.get("seed_text", "")), max_tokens) for c in cases]
    completions = generator.generate(requests, desc=f"judge {getattr(generator, 'model_id', '')}")
    rater = model_rater(getattr(generator, "model_id", "judge"))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=SHEET_COLUMNS, lineterminator="\n")
    writer.writeheader()
    failures = Counter()
    for case, completion in zip(cases, completions):
        scores, problem = parse_ratings(completion.text)
        if scores is None:
            failures[problem] += 1
            scores = {}
        writer.writerow({"case_id": case["id"], "law": case["law"], "annotator": rater, **scores,
                         "comment": "" if problem is None else f"unusable answer ({problem})"})
    report = {"judge": rater, "cases": len(cases), "rated": len(cases) - sum(failures.values()),
              "unusable_by_reason": dict(sorted(failures.items()))}
    return out.getvalue(), report
