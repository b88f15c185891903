"""A compliance case as the teacher writes it: a flat JSON object of five string fields."""

from __future__ import annotations

import json
from typing import Any

CASE_FIELDS = ("parties_involved", "factual_background", "legal_issues", "arguments", "jurisdiction")

# Characters each field may hold: a floor that rules out a stub answer, a ceiling that rules out a
# rambling one. The config (`benchmark.field_chars`) overrides these per scale.
DEFAULT_BOUNDS: dict[str, tuple[int, int]] = {
    "parties_involved": (10, 2000),
    "factual_background": (80, 6000),
    "legal_issues": (10, 3000),
    "arguments": (10, 4000),
    "jurisdiction": (2, 300),
}


def case_schema(bounds: dict[str, tuple[int, int]] | None = None) -> dict[str, Any]:
    """The JSON schema the teacher's answer is constrained to: each field's floor and ceiling.

    With the ceiling in the grammar a small teacher's rambling field is closed at its bound, so the
    object still ends within the token budget instead of being cut off and regenerated. xgrammar
    0.2.9 compiles such a schema in about 0.02 s; 0.2.8 (which vLLM pins) took 5 s for the demo's
    bounds and 12 s for these defaults, once per job and schema.
    """
    bounds = bounds or DEFAULT_BOUNDS
    return {
        "type": "object",
        "properties": {name: {"type": "string", "minLength": int(bounds[name][0]),
                              "maxLength": int(bounds[name][1])} for name in CASE_FIELDS},
        "required": list(CASE_FIELDS),
        "additionalProperties": False,
    }


def parse_case(text: str) -> tuple[dict[str, Any] | None, str | None]:
    """The JSON object in `text`, or (None, reason) when the text is not one."""
    try:
        value = json.loads(text.strip(), strict=False)
    except json.JSONDecodeError as err:
        return None, f"not_json: {err.msg} at char {err.pos}"
    if not isinstance(value, dict):
        return None, f"not_object: the answer is a JSON {type(value).__name__}, not an object"
    return value, None
