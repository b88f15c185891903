"""How a request's constraint reaches an OpenAI-compatible endpoint, by the entry's `structured_output`.

Providers take structured output in different ways, and a request they do not understand is refused
with HTTP 400 (DeepSeek answers a json_schema response format with "This response_format type is
unavailable now"). Each mode sends only what its provider accepts:

- `json_schema`: `response_format` json_schema in strict mode. OpenAI's strict mode accepts a subset
  of JSON Schema (every object closed with additionalProperties false, every property required; for
  strings only pattern and format, for numbers the bounds and multipleOf, for arrays minItems and
  maxItems; no allOf, not, if/then/else, dependent or pattern properties). Keywords outside it that
  only narrow a value (minLength, maxLength, ...) are taken out and restated in the property's
  description, so the server enforces the shape and the model reads the bound; a schema that needs
  more than that (an optional property, an open object, a composition) is sent as in mode
  `json_object` instead. Gemini's OpenAI-compatible endpoint takes the same strict response format.
- `json_object`: JSON mode. The schema goes into the prompt with the word JSON (DeepSeek refuses
  JSON mode without it).
- `none`: the schema goes into the prompt; nothing else is sent. Any endpoint accepts this.
- `vllm`: a vLLM server enforces the whole schema (`response_format` json_schema) and a regex (the
  request's `structured_outputs` field, vLLM >= 0.10) while generating.

In every mode the answer is still checked against the full constraint by the LLM layer
(`constraints.check`), and a non-conforming answer is retried within `llm.max_constraint_retries`.
Regex constraints reach only vLLM; other providers' answers are checked after the fact.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from .types import Constraint

# What OpenAI's strict mode accepts in a schema node (platform docs, Structured Outputs, "Supported schemas").
STRICT_KEYWORDS = {
    "type", "description", "title", "enum", "const", "properties", "required", "additionalProperties",
    "items", "anyOf", "$ref", "$defs", "definitions",
    "pattern", "format",                                                              # strings
    "multipleOf", "maximum", "exclusiveMaximum", "minimum", "exclusiveMinimum",       # numbers
    "minItems", "maxItems",                                                           # arrays
}
# Keywords that only narrow the values a node admits: dropping them widens what the server enforces,
# so they are restated in the description, and the LLM layer's own check of the answer against the
# full schema restores them. Annotations carry no constraint and are simply dropped.
NARROWING_KEYWORDS = {"minLength", "maxLength", "minProperties", "maxProperties", "uniqueItems"}
ANNOTATIONS = {"default", "examples", "$schema", "$id", "$comment"}
SCHEMA_INTRO = "Reply with JSON only: one JSON value that conforms to this JSON schema, with no text around it."


class NotStrict(ValueError):
    """The schema needs JSON-Schema features outside OpenAI's strict subset."""


def strict_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` within OpenAI's strict subset, or NotStrict saying what keeps it out."""
    if not isinstance(schema, dict) or schema.get("type") != "object":
        raise NotStrict("the root of a strict schema must be an object")
    return _strict_node(copy.deepcopy(schema), "")


def _strict_node(node: dict[str, Any], where: str) -> dict[str, Any]:
    dropped = []
    for key in list(node):
        if key in STRICT_KEYWORDS:
            continue
        if key not in NARROWING_KEYWORDS | ANNOTATIONS:
            raise NotStrict(f"'{key}' at {where or '/'} is outside the strict subset")
        value = node.pop(key)
        if key in NARROWING_KEYWORDS:
            dropped.append(f"{key} {json.dumps(value)}")
    if dropped:
        node["description"] = " ".join(filter(None, [node.get("description"), f"({'; '.join(dropped)})"]))
    kinds = node.get("type") if isinstance(node.get("type"), list) else [node.get("type")]
    if "object" in kinds or "properties" in node:
        props = node.get("properties", {})
        if node.get("additionalProperties", False) is not False:
            raise NotStrict(f"the object at {where or '/'} admits additional properties")
        node["additionalProperties"] = False
        if set(node.get("required", [])) != set(props):
            raise NotStrict(f"the object at {where or '/'} has optional properties")
        for name, sub in props.items():
            props[name] = _strict_node(sub, f"{where}/{name}")
    if isinstance(node.get("items"), dict):
        node["items"] = _strict_node(node["items"], f"{where}/items")
    if "anyOf" in node:
        node["anyOf"] = [_strict_node(sub, f"{where}/anyOf") for sub in node["anyOf"]]
    for table in ("$defs", "definitions"):
        for name, sub in node.get(table, {}).items():
            node[table][name] = _strict_node(sub, f"{where}/{table}/{name}")
    return node


def schema_instruction(schema: dict[str, Any]) -> str:
    """The text that carries a schema in the prompt (it contains the word JSON, as JSON mode requires)."""
    return f"{SCHEMA_INTRO}\n```json\n{json.dumps(schema, indent=1, ensure_ascii=False)}\n```"


def with_schema_in_prompt(messages: list[dict[str, str]], schema: dict[str, Any]) -> list[dict[str, str]]:
    """The messages with the schema instruction appended to the last user turn."""
    out = [dict(m) for m in messages]
    last = max((i for i, m in enumerate(out) if m.get("role") == "user"), default=None)
    if last is None:
        out.append({"role": "user", "content": schema_instruction(schema)})
    else:
        out[last]["content"] = f"{out[last]['content']}\n\n{schema_instruction(schema)}"
    return out


def request_fields(mode: str, constraint: Constraint | None,
                   messages: list[dict[str, str]]) -> tuple[list[dict[str, str]], dict[str, Any], dict[str, Any]]:
    """(messages, request fields, extra_body fields) that carry `constraint` in `mode`."""
    if constraint is None:
        return messages, {}, {}
    if constraint.kind == "regex":
        return messages, {}, ({"structured_outputs": {"regex": constraint.value}} if mode == "vllm" else {})
    if constraint.kind != "json_schema":
        raise ValueError(f"unknown constraint kind '{constraint.kind}'; use 'json_schema' or 'regex'")
    schema = constraint.value
    if mode == "vllm":
        return messages, {"response_format": {"type": "json_schema",
                                              "json_schema": {"name": "output", "schema": schema}}}, {}
    if mode == "json_schema":
        try:
            strict = strict_schema(schema)
        except NotStrict:
            mode = "json_object"     # still constrained to JSON by the server, the schema in the prompt
        else:
            return messages, {"response_format": {"type": "json_schema", "json_schema": {
                "name": "output", "strict": True, "schema": strict}}}, {}
    prompted = with_schema_in_prompt(messages, schema)
    if mode == "json_object":
        return prompted, {"response_format": {"type": "json_object"}}, {}
    if mode == "none":
        return prompted, {}, {}
    raise ValueError(f"unknown structured_output '{mode}'")
