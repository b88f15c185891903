"""Rule-based GRPO rewards as small named units with TRL's signature `(completions, **kwargs)`.

TRL calls every reward function with the batch's completions (plain strings, or conversational lists
of message dicts) and every other dataset column as a keyword list aligned with them (`label`,
`chapter`, ...). Each unit returns one float per completion; GRPOConfig.reward_weights combines them.
The paper's reward is alpha * compliance + (1 - alpha) * format, with compliance gated by format.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from ..chapters import from_roman
from ..verdict import COMPLIANCE_VOCABULARY, boxed_contents, normalise

THINK_OPEN, THINK_CLOSE = "<think>", "</think>"
CHAPTER = re.compile(r"\\chapter\{([^{}]*)\}")
CHAPTER_NUMBER = re.compile(r"^\s*(?:chapter\s+)?([0-9]+|[ivxlcdm]+)\b", re.IGNORECASE)
# What may follow the final box: the end of the answer, perhaps closed by punctuation.
TRAILER = re.compile(r"^[\s.!]*$")
# Math a final box may sit in, the way Qwen-family models often close an answer: $\boxed{x}$,
# $$\boxed{x}$$, \[\boxed{x}\], \(\boxed{x}\). "$$" is tried before "$".
MATH_DELIMITERS = (("$$", "$$"), ("$", "$"), ("\\[", "\\]"), ("\\(", "\\)"))


def completion_text(completion: str | Sequence[dict[str, Any]]) -> str:
    """The generated text of one completion, plain or conversational (`[{"role": ..., "content": ...}]`)."""
    if isinstance(completion, str):
        return completion
    parts = []
    for message in completion:
        content = message.get("content", "")
        if isinstance(content, str):
            parts.append(content)
        else:  # a list of typed parts, as multimodal chat formats write content
            parts.extend(p.get("text", "") for p in content if isinstance(p, dict))
    return "".join(parts)


def is_well_formed(text: str) -> bool:
    """`<think>reasoning</think>`, then a summary, then exactly one `\\boxed{prohibited|permitted}`,
    which ends the answer.

    - The think block opens the answer (after leading whitespace) and occurs once; its reasoning and
      the summary after it are not empty.
    - The box may sit in inline or display math: `$\\boxed{x}$`, `$$ \\boxed{x} $$`, `\\[\\boxed{x}\\]`
      or `\\(\\boxed{x}\\)` (spaces inside the delimiters allowed; the two must match).
    - A box inside <think> makes the completion malformed, whatever follows: the one verdict must be
      the answer's, and the evaluation's parser (verdict.final_verdict) ignores boxes in <think>.
    - Only whitespace, `.` or `!` may follow the box (and its closing delimiter): an answer that goes
      on after its verdict, or boxes twice, is malformed.
    Whatever this accepts, the evaluation's parser reads as the same verdict (tests/test_train_rewards.py).
    """
    body = text.lstrip()
    if not body.startswith(THINK_OPEN) or body.count(THINK_OPEN) != 1 or body.count(THINK_CLOSE) != 1:
        return False
    reasoning, _, answer = body[len(THINK_OPEN):].partition(THINK_CLOSE)
    if not reasoning.strip() or len(boxed_contents(body)) != 1 or len(boxed_contents(answer)) != 1:
        return False
    start = answer.find("\\boxed{")
    box = boxed_contents(answer)[0]
    summary, trailer = _outside_math(answer[:start], answer[start + len("\\boxed{") + len(box) + 1:])
    return bool(summary.strip()) and normalise(box) in COMPLIANCE_VOCABULARY and bool(TRAILER.match(trailer))


def _outside_math(before: str, after: str) -> tuple[str, str]:
    """The text before and after the box without the one pair of math delimiters around it, if any."""
    head, tail = before.rstrip(), after.lstrip()
    for opening, closing in MATH_DELIMITERS:
        if head.endswith(opening) and tail.startswith(closing):
            return head[:-len(opening)], tail[len(closing):]
    return before, after


def verdict_of(text: str) -> str | None:
    """The boxed label of a well-formed completion; None for any malformed one (the paper's gate)."""
    if not is_well_formed(text):
        return None
    return COMPLIANCE_VOCABULARY[normalise(boxed_contents(text)[0])]


def chapter_of(text: str) -> int | None:
    """The chapter a `\\chapter{...}` answer names ("Chapter II", "II", "2", "Chapter 2: title"), or None."""
    found = CHAPTER.findall(text)
    if len(found) != 1:
        return None
    match = CHAPTER_NUMBER.match(found[0])
    if not match:
        return None
    token = match.group(1)
    if token.isdigit():
        return int(token)
    try:
        return from_roman(token)
    except ValueError:
        return None


def _column(kwargs: dict[str, Any], name: str, count: int) -> list[Any]:
    if name not in kwargs:
        raise KeyError(f"reward needs the dataset column '{name}'; columns passed: {sorted(kwargs)}")
    values = list(kwargs[name])
    if len(values) != count:
        raise ValueError(f"column '{name}' has {len(values)} values for {count} completions")
    return values


def format_reward(completions: Sequence, **kwargs) -> list[float]:
    """1.0 for `<think>...</think>` summary `\\boxed{label}` with exactly one final box (bare or in
    math delimiters), else 0.0; see `is_well_formed`."""
    return [float(is_well_formed(completion_text(c))) for c in completions]


def compliance_reward(completions: Sequence, **kwargs) -> list[float]:
    """1.0 when the boxed verdict equals the gold `label` column; 0.0 when wrong or malformed."""
    labels = _column(kwargs, "label", len(completions))
    return [float(verdict_of(completion_text(c)) == gold) for c, gold in zip(completions, labels)]


def chapter_reward(completions: Sequence, **kwargs) -> list[float]:
    """GSPR-style: 1.0 when the single `\\chapter{...}` answer names the case's `chapter` column."""
    chapters = _column(kwargs, "chapter", len(completions))
    return [float(chapter_of(completion_text(c)) == int(gold)) for c, gold in zip(completions, chapters)]


REWARDS: dict[str, Callable[..., list[float]]] = {
    "compliance": compliance_reward,
    "format": format_reward,
    "chapter": chapter_reward,
}


def reward_weights(alpha: float, chapter_weight: float = 0.0) -> dict[str, float]:
    """The paper's combination: alpha on compliance, 1 - alpha on format; the chapter unit only when
    given a positive weight (it is off in the paper)."""
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must lie in [0, 1], got {alpha}")
    if chapter_weight < 0:
        raise ValueError(f"chapter_weight must be >= 0, got {chapter_weight}")
    weights = {"compliance": alpha, "format": 1.0 - alpha}
    if chapter_weight > 0:
        weights["chapter"] = chapter_weight
    return weights


def reward_functions(weights: dict[str, float]) -> tuple[list[Callable[..., list[float]]], list[float]]:
    """The reward units named in `weights` and their weights, in that order, for GRPOTrainer."""
    unknown = sorted(set(weights) - set(REWARDS))
    if unknown:
        raise KeyError(f"unknown reward(s) {unknown}; known: {sorted(REWARDS)}")
    names = list(weights)
    return [REWARDS[n] for n in names], [float(weights[n]) for n in names]
