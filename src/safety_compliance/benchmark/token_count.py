"""Token counts for a stage's report: what the kept answers took, and what this run spent.

The two differ when answers come from the call cache (they cost nothing now) or when the LLM layer
retried a constraint failure on its own (the retries cost tokens the final answer does not show).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..llm.types import Completion, Generator


@dataclass
class TokenCount:
    prompt: int = 0
    completion: int = 0
    answers: int = 0
    cached: int = 0
    generator: Generator | None = None
    baseline: dict[str, int] = field(default_factory=dict)

    @classmethod
    def start(cls, generator: Generator) -> TokenCount:
        return cls(generator=generator, baseline=_stats(generator))

    def add(self, completion: Completion) -> None:
        self.prompt += completion.prompt_tokens
        self.completion += completion.completion_tokens
        self.answers += 1
        self.cached += bool(completion.cached)

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {"answers": self.answers, "answers_from_cache": self.cached,
                               "prompt_tokens": self.prompt, "completion_tokens": self.completion}
        now = _stats(self.generator) if self.generator is not None else {}
        if now:
            # The LLM layer's own tally: model calls made now, its constraint retries included.
            out["this_run"] = {key: now[key] - self.baseline.get(key, 0) for key in now}
        return out


def _stats(generator: Generator | None) -> dict[str, int]:
    stats = getattr(generator, "stats", None)
    if stats is None:
        return {}
    return {key: int(getattr(stats, key)) for key in ("model_calls", "cache_hits", "prompt_tokens",
                                                       "completion_tokens") if hasattr(stats, key)}
