"""Cold-start distillation: the teacher argues for each train case's gold verdict, step by step.

The teacher sees the seed's regulation, the facts and the gold label. Its answer must have the shape
the student will learn: reasoning inside `<think>...</think>`, a short summary, then the verdict in
`\\boxed{...}`. Where the backend can, a regular-expression constraint enforces that shape, leaving
the verdict free (prohibited or permitted), so a teacher that argues its way to the other verdict is
caught and rejected rather than silently corrected. An answer that fails is regenerated with a new
sampling seed up to `max_attempts`, then rejected with its reason.

Where the reasoning comes from (`distill.trace_source`):
- `typed`: the teacher writes the `<think>` part itself, as the prompt asks (any model).
- `teacher_reasoning`: a thinking teacher (DeepSeek's thinking mode, a vLLM server with a reasoning
  parser) reasons in its own channel, returned as `reasoning_content`; that becomes the `<think>`
  part, and the answer (summary and verdict) follows it.

A run that keeps fewer than `distill.min_kept_rate` of the train cases stops after writing its report.

Output (results/distill/{law}/sft.jsonl): TRL's conversational format, the student prompt as the
user turn and the reformatted trace as the assistant turn.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .. import LABELS
from ..llm.types import Completion, Constraint, Generator, Request
from ..prompts import distill_messages, student_messages
from ..verdict import COMPLIANCE_VOCABULARY, boxed_contents, final_verdict
from .regeneration import attempt_seed, rate, regenerate

THINK_OPEN, THINK_CLOSE = "<think>", "</think>"
TRACE_SOURCES = ("typed", "teacher_reasoning")


def trace_regex(think_chars: int | None = None, sentences: int | None = None) -> str:
    """The shape of a trace, for xgrammar: `<think>` reasoning `</think>` summary `\\boxed{label}`.

    Reasoning and summary exclude angle brackets (so neither can open or close a tag) and the summary
    excludes backslashes (so it cannot box an answer of its own). `think_chars` caps the reasoning
    and the summary alike, so that a small teacher reaches its verdict within `max_tokens`; a bounded
    repetition compiles into a larger grammar (a second or two for a few hundred characters), so None
    leaves both open and relies on `max_tokens`.

    `sentences` (a count) makes the reasoning exactly that many sentences and the summary one, each
    on one line, ending in a full stop and capped at `think_chars`: the trace then closes after a
    sentence, a point a small student can learn to find, rather than wherever a character cap cut the
    teacher off.
    """
    reach = "+" if think_chars is None else "{1,%d}" % int(think_chars)
    if sentences is None:
        return rf"<think>[^<>]{reach}</think>{answer_regex(think_chars)}"
    if sentences < 1:
        raise ValueError(f"distill.think_sentences must be at least 1 (or null), not {sentences}")
    return rf"<think>({_sentence(reach)}){{{int(sentences)}}}</think>{answer_regex(think_chars, sentences)}"


def answer_regex(think_chars: int | None = None, sentences: int | None = None) -> str:
    """The part of a trace after the reasoning: summary (one sentence when `sentences` is set), then
    `\\boxed{label}` (the whole answer of a thinking teacher, whose reasoning comes separately)."""
    reach = "+" if think_chars is None else "{1,%d}" % int(think_chars)
    summary = _sentence(reach) if sentences is not None else rf"[^<>\\]{reach}"
    return rf"{summary}\\boxed\{{({'|'.join(LABELS)})\}}"


def _sentence(reach: str) -> str:
    # One line: a sentence that may span lines lets a teacher write a whole "Step 1: ... Step 4:" list
    # as one sentence, and a small student trained on such lists goes on enumerating past its budget.
    return rf"[^<>.\\\n]{reach}\."


@dataclass(frozen=True)
class DistillSettings:
    max_tokens: int = 2048
    temperature: float = 0.7
    max_attempts: int = 3
    seed: int = 0
    constrain: bool = True
    think_chars: int | None = None
    think_sentences: int | None = None
    min_reasoning_chars: int = 20
    trace_source: str = "typed"
    min_kept_rate: float = 0.5

    @classmethod
    def from_config(cls, cfg: dict[str, Any]) -> DistillSettings:
        d = cfg["distill"]
        return cls(max_tokens=int(d["max_tokens"]), temperature=float(d["temperature"]),
                   max_attempts=int(d["max_attempts"]), seed=int(d["seed"]), constrain=bool(d["constrain"]),
                   think_chars=d.get("think_chars"), think_sentences=d.get("think_sentences"),
                   min_reasoning_chars=int(d["min_reasoning_chars"]),
                   trace_source=d["trace_source"], min_kept_rate=float(d["min_kept_rate"]))

    def __post_init__(self):
        if self.max_attempts < 1:
            raise ValueError(f"distill.max_attempts must be at least 1, not {self.max_attempts}")
        if self.trace_source not in TRACE_SOURCES:
            raise ValueError(f"distill.trace_source is '{self.trace_source}'; choose one of {TRACE_SOURCES}")
        if not 0 <= self.min_kept_rate <= 1:
            raise ValueError(f"distill.min_kept_rate must be within [0, 1], not {self.min_kept_rate}")

    @property
    def own_reasoning(self) -> bool:
        return self.trace_source == "teacher_reasoning"

    @property
    def constraint(self) -> Constraint | None:
        if not self.constrain:
            return None
        regex = (answer_regex(self.think_chars, self.think_sentences) if self.own_reasoning
                 else trace_regex(self.think_chars, self.think_sentences))
        return Constraint("regex", regex)


def distill_request(case: dict[str, Any], rules: str, settings: DistillSettings, attempt: int = 0) -> Request:
    return Request(messages=distill_messages(case["law"], rules, case["factual_background"], case["label"],
                                             own_reasoning=settings.own_reasoning),
                   max_tokens=settings.max_tokens, temperature=settings.temperature,
                   seed=attempt_seed(settings.seed, attempt), constraint=settings.constraint)


def with_teacher_reasoning(completion: Completion) -> Completion | str:
    """The completion with its separate reasoning put in front of the answer as `<think>...</think>`,
    or the reason it has none."""
    if not completion.reasoning.strip():
        return ("no_reasoning: the teacher returned no separate reasoning (reasoning_content); "
                "distill.trace_source teacher_reasoning needs a thinking teacher")
    answer = completion.text.rsplit(THINK_CLOSE, 1)[-1]    # drop tags a thinking model typed as well
    return dataclasses.replace(completion, text=f"{THINK_OPEN}\n{completion.reasoning.strip()}\n{THINK_CLOSE}\n{answer}")


def format_trace(reasoning: str, summary: str, label: str) -> str:
    """The assistant turn the student learns (Qwen3's layout)."""
    return f"{THINK_OPEN}\n{reasoning.strip()}\n{THINK_CLOSE}\n\n{summary.strip()}\n\n\\boxed{{{label}}}"


def check_trace(completion: Completion, gold: str, min_reasoning_chars: int = 20,
                trace_source: str = "typed") -> tuple[str | None, list[str]]:
    """(formatted trace, []) when the answer has the trace's shape and concludes `gold`, else (None, reasons)."""
    if completion.finish_reason == "error" and not completion.text:
        return None, [f"generation_error: {completion.error or 'the backend gave no answer'}"]
    if trace_source == "teacher_reasoning":
        completion = with_teacher_reasoning(completion)
        if isinstance(completion, str):
            return None, [completion]
    text = completion.text.strip()
    cut = completion.finish_reason == "length"
    if not text.startswith(THINK_OPEN) or THINK_CLOSE not in text:
        if cut:
            return None, ["truncated: the answer reached max_tokens before the reasoning closed"]
        return None, ["no_think: the answer does not open with <think> and close it with </think>"]
    reasoning, rest = text[len(THINK_OPEN):].split(THINK_CLOSE, 1)
    reasoning = reasoning.strip()
    if len(reasoning) < min_reasoning_chars:
        return None, [f"empty_reasoning: {len(reasoning)} characters of reasoning, fewer than {min_reasoning_chars}"]
    boxes = boxed_contents(rest)
    if not boxes:
        if cut:
            return None, ["truncated: the answer reached max_tokens before the boxed verdict"]
        return None, ["no_verdict: no \\boxed{...} after the reasoning"]
    verdict = final_verdict(text, COMPLIANCE_VOCABULARY)
    if verdict is None:
        return None, [f"no_verdict: the boxed answer {boxes[-1]!r} is not a label"]
    if verdict != gold:
        return None, [f"wrong_verdict: the teacher concluded {verdict}, the gold label is {gold}"]
    summary = rest[:rest.rfind("\\boxed")].strip()
    if not summary:
        return None, ["no_summary: nothing between </think> and the boxed verdict"]
    other = next(label for label in LABELS if label != gold)
    if re.search(rf"\b{other}\b", summary, re.IGNORECASE) and not re.search(rf"\b{gold}\b", summary, re.IGNORECASE):
        return None, [f"summary_contradicts: the summary calls the case {other}, the box says {gold}"]
    return format_trace(reasoning, summary, gold), []


def sft_record(case: dict[str, Any], trace: str) -> dict[str, Any]:
    return {"id": case["id"], "case_id": case["id"], "law": case["law"], "label": case["label"],
            "chapter": case["chapter"],
            "messages": [*student_messages(case["law"], case["factual_background"]),
                         {"role": "assistant", "content": trace}]}


def distill(cases: Sequence[dict[str, Any]], rules: Mapping[str, str], generator: Generator,
            settings: DistillSettings) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]:
    """(SFT records, rejected, report) for `cases`; `rules` maps a seed id to its regulation text."""
    unknown = sorted({c["seed_id"] for c in cases} - set(rules))
    if unknown:
        raise KeyError(f"no seed text for {len(unknown)} case seed(s), e.g. {unknown[0]!r}; "
                       "is the seed pool the one the benchmark was built from?")
    outcome = regenerate(
        len(cases), lambda i, attempt: distill_request(cases[i], rules[cases[i]["seed_id"]], settings, attempt),
        lambda i, completion: check_trace(completion, cases[i]["label"], settings.min_reasoning_chars,
                                          settings.trace_source),
        generator, settings.max_attempts, "distill")
    records = [{**sft_record(cases[i], trace), "attempts": attempts}
               for i, (trace, attempts) in sorted(outcome.accepted.items())]
    rejected = [{"id": cases[i]["id"], "law": cases[i]["law"], "label": cases[i]["label"],
                 "reasons": outcome.history[i][-1], "attempts": len(outcome.history[i]),
                 "history": outcome.history[i], "raw": outcome.last_text[i]} for i in outcome.failing]
    primary = outcome.rejected_by_reason()
    report = {
        "teacher": getattr(generator, "model_id", "?"),
        "train_cases": len(cases),
        "kept": len(records),
        "rejected": len(rejected),
        "regenerated": outcome.regenerated(),
        "kept_after_regeneration": outcome.accepted_after_regeneration(),
        "rejected_by_reason": primary,
        "failed_attempts_by_reason": outcome.failed_attempts_by_reason(),
        "rates": {"kept": rate(len(records), len(cases)), "rejected": rate(len(rejected), len(cases)),
                  **{f"rejected_{code}": rate(n, len(cases)) for code, n in primary.items()}},
        "kept_by_label": {label: sum(r["label"] == label for r in records) for label in LABELS},
        "settings": {"max_tokens": settings.max_tokens, "temperature": settings.temperature,
                     "max_attempts": settings.max_attempts, "seed": settings.seed,
                     "trace_source": settings.trace_source, "min_kept_rate": settings.min_kept_rate,
                     "constraint": settings.constraint.value if settings.constraint else None},
        "tokens": outcome.tokens.summary(),
    }
    return records, rejected, report
