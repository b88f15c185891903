"""Bounded regeneration: ask the teacher again, with a new sampling seed, for every answer that failed.

Synthesis (one case per seed and label) and distillation (one trace per train case) both send a
batch of requests, judge each answer, and send the failures again, up to `max_attempts` in all.
Every item ends either accepted, with the attempt that produced it, or still failing, with the
reasons of each of its attempts and its last raw answer; the counts their reports print come from
here, so both stages count regenerations and rejections the same way. Both stages also end the same
way when too little survives: `check_floor` stops them after their report is written.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..case_validation import reason_code
from ..llm.types import Completion, Generator, Request
from .token_count import TokenCount

# A regeneration's sampling seed is the base seed plus this stride times the attempt number, which
# keeps it clear of the seeds the LLM layer itself uses for its constraint retries (seed + 1, + 2).
SEED_STRIDE = 1000


def attempt_seed(seed: int, attempt: int) -> int:
    """The sampling seed of attempt `attempt` (0-based)."""
    return seed + SEED_STRIDE * attempt


@dataclass
class Attempts:
    """The outcome of every item, by its index in the batch."""

    accepted: dict[int, tuple[Any, int]] = field(default_factory=dict)   # index -> (value, attempts used)
    history: dict[int, list[list[str]]] = field(default_factory=dict)    # index -> reasons of each failed attempt
    last_text: dict[int, str] = field(default_factory=dict)              # index -> last failing answer
    failing: list[int] = field(default_factory=list)                     # indices never accepted
    tokens: TokenCount | None = None

    def rejected_by_reason(self) -> dict[str, int]:
        """Each rejected item once, under the first reason of its last attempt."""
        return dict(sorted(Counter(reason_code(self.history[i][-1][0]) for i in self.failing).items()))

    def failed_attempts_by_reason(self) -> dict[str, int]:
        """Every failed attempt, under its first reason."""
        return dict(sorted(Counter(reason_code(reasons[0]) for failures in self.history.values()
                                   for reasons in failures).items()))

    def regenerated(self) -> int:
        """Requests sent again after a failure (an item rejected at its last attempt was not resent)."""
        return sum(len(tries) for tries in self.history.values()) - len(self.failing)

    def accepted_after_regeneration(self) -> int:
        return sum(used > 1 for _, used in self.accepted.values())


def regenerate(count: int, request: Callable[[int, int], Request],
               judge: Callable[[int, Completion], tuple[Any | None, list[str]]],
               generator: Generator, max_attempts: int, desc: str) -> Attempts:
    """Run `count` items: `request(index, attempt)` builds a request, `judge(index, completion)` gives
    (value, []) to accept or (None, reasons) to try again; at most `max_attempts` requests per item."""
    if max_attempts < 1:
        raise ValueError(f"max_attempts must be at least 1, not {max_attempts}")
    outcome = Attempts(history={i: [] for i in range(count)}, tokens=TokenCount.start(generator))
    pending = list(range(count))
    for attempt in range(max_attempts):
        if not pending:
            break
        completions = generator.generate([request(i, attempt) for i in pending],
                                         desc=f"{desc} (attempt {attempt + 1})")
        failed = []
        for index, completion in zip(pending, completions):
            outcome.tokens.add(completion)
            value, reasons = judge(index, completion)
            if value is None:
                outcome.history[index].append(reasons)
                outcome.last_text[index] = completion.text
                failed.append(index)
            else:
                outcome.accepted[index] = (value, attempt + 1)
        pending = failed
    outcome.failing = pending
    return outcome


def rate(part: int, whole: int) -> float:
    """part / whole to four places; 0 for an empty whole."""
    return round(part / whole, 4) if whole else 0.0


class BelowFloor(RuntimeError):
    """A stage kept less than its configured share: it stops rather than hand a tiny set to the next stage."""


def check_floor(stage: str, kept: int, requested: int, floor: float, key: str,
                rejected_by_reason: dict[str, int], report_path) -> None:
    """Raise BelowFloor when `kept` is none or under `floor` x `requested`; the message carries the
    counts and the reasons, so a job log says as much as the report it points to."""
    share = kept / requested if requested else 0.0
    if kept and share >= floor:
        return
    reasons = ", ".join(f"{code} {n}" for code, n in sorted(rejected_by_reason.items(), key=lambda kv: -kv[1]))
    raise BelowFloor(f"{stage}: kept {kept} of {requested} ({share:.0%}), below {key} = {floor:g}; rejected: "
                     f"{reasons or 'none'}. Report: {report_path} (rejected answers beside it in rejected.jsonl). "
                     "Fix: read the reasons and the teacher's rejected answers; a teacher that cannot do the task "
                     f"needs a stronger model, more max_tokens or max_attempts (lower {key} only knowingly).")
