"""Checking a completion against its constraint, leniently, for backends that cannot enforce it.

A model that was not forced to emit bare JSON often wraps it in prose or a code fence; we accept the
first JSON value in the text that satisfies the schema, and report why when none does.
"""

from __future__ import annotations

import json
import re

import jsonschema

from .types import Constraint

FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL)


def check(text: str, constraint: Constraint | None) -> tuple[str, str | None]:
    """(text to return, failure reason or None). For JSON, the text is the JSON value found."""
    if constraint is None:
        return text, None
    if constraint.kind == "regex":
        if re.fullmatch(constraint.value, text.strip(), flags=re.DOTALL):
            return text.strip(), None
        return text, f"output does not match the regex {constraint.value!r}"
    if constraint.kind == "json_schema":
        return _check_json(text, constraint.value)
    raise ValueError(f"unknown constraint kind '{constraint.kind}'; use 'json_schema' or 'regex'")


def _check_json(text: str, schema: dict) -> tuple[str, str | None]:
    validator = jsonschema.Draft202012Validator(schema)
    last_reason = "output holds no JSON value"
    for candidate in _json_candidates(text):
        try:
            # strict=False admits raw control characters inside strings, which grammars let through.
            value = json.loads(candidate, strict=False)
        except json.JSONDecodeError as err:
            last_reason = f"output is not valid JSON ({err.msg} at char {err.pos})"
            continue
        error = jsonschema.exceptions.best_match(validator.iter_errors(value))
        if error is None:
            return candidate, None
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        last_reason = f"JSON does not match the schema at {where}: {error.message}"
    return text, last_reason


def _json_candidates(text: str):
    """The whole text, fenced blocks, then every balanced {...} or [...] span, in order."""
    yield text.strip()
    for block in FENCE.findall(text):
        yield block.strip()
    decoder = json.JSONDecoder()
    for match in re.finditer(r"[{\[]", text):
        try:
            _, end = decoder.raw_decode(text, match.start())
        except json.JSONDecodeError:
            continue
        yield text[match.start():end]
