"""The one protocol every model in the project is reached through: `generate(requests) -> completions`."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol


@dataclass(frozen=True)
class Constraint:
    """An output constraint: a JSON schema (dict) or a regular expression (str)."""

    kind: Literal["json_schema", "regex"]
    value: Any


@dataclass(frozen=True)
class Request:
    messages: tuple[dict[str, str], ...] | list[dict[str, str]]
    max_tokens: int = 512
    temperature: float = 0.0
    top_p: float = 1.0
    repetition_penalty: float = 1.0
    seed: int = 0
    stop: tuple[str, ...] = ()
    constraint: Constraint | None = None
    # Phrases the answer must not contain (a law's names in a case). Local and vLLM backends ban them
    # while decoding; other APIs cannot, and the caller's own check of the answer still decides.
    avoid: tuple[str, ...] = ()

    def canonical(self) -> str:
        """A stable text of the whole request, the cache key's request part."""
        payload = asdict(self)
        payload["messages"] = [dict(m) for m in self.messages]
        payload["stop"] = list(self.stop)
        # Requests without phrases to avoid keep the keys they had before the field existed.
        if self.avoid:
            payload["avoid"] = list(self.avoid)
        else:
            del payload["avoid"]
        return json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))

    def digest(self) -> str:
        return hashlib.sha256(self.canonical().encode("utf-8")).hexdigest()


@dataclass
class Completion:
    text: str
    finish_reason: str                 # "stop" | "length" | "error"
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached: bool = False
    error: str | None = None           # why a request failed (constraint never met, retries spent)
    attempts: int = 1
    reasoning: str = ""                # reasoning the provider returned beside the answer (reasoning_content)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None


class Generator(Protocol):
    """A model behind any backend. `model_id` names it in caches, usage files and predictions."""

    model_id: str

    def generate(self, requests: Sequence[Request], *, desc: str = "") -> list[Completion]:
        """One completion per request, in order; a failed request is a Completion with `error` set."""
        ...
