"""Verifier families: how each kind of model is asked for a verdict and how its answer is read.

A family is a prompt builder (`messages(law, facts)`) and an output parser (`parse(text)` ->
"prohibited" | "permitted" | None), plus the completion budget the family needs and, where its
format names one, the chapter it blames (`chapter(text, law)`). Baselines differ only in family, so
adding a model of a known kind is one registry entry. The prompts are our wording of each model's
published input format; the parsers accept exactly the answer shape that format asks for, so an
answer in any other shape counts as unparsed (and wrong) instead of being guessed.

`predict` asks a family's model about cases and reads its answers; the evaluation, the
extrapolation's classifiers and the guard all go through it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .chapters import chapters_of, from_roman
from .laws import get_law
from .llm.types import Completion, Generator, Request
from .prompts import render, student_messages
from .verdict import COMPLIANCE_VOCABULARY, after_think, boxed_contents, final_verdict, normalise

Messages = list[dict[str, str]]


@dataclass(frozen=True)
class Family:
    name: str
    messages: Callable[[str, str], Messages]
    parse: Callable[[str], str | None]
    max_tokens: int                      # enough for the family's full answer, reasoning included
    chapter: Callable[[str, str], int | None]
    note: str                            # how the family's answer maps onto our two labels


def _law_name(law: str) -> str:
    return get_law(law).title


def _policy(law: str) -> str:
    """The law's chapters as a numbered category list, the taxonomy every guard is given."""
    return "\n".join(f"S{number}: {title}." for number, title in chapters_of(law))


CHAPTER_MENTION = re.compile(r"\bChapter\s+([IVXLC]+|\d+)\b", re.IGNORECASE)


def chapter_in_text(text: str, law: str) -> int | None:
    """The first chapter of `law` named in the answer after the reasoning ("Chapter III", "chapter 3")."""
    valid = {number for number, _ in chapters_of(law)}
    for match in CHAPTER_MENTION.finditer(after_think(text)):
        token = match.group(1)
        try:
            number = int(token) if token.isdigit() else from_roman(token)
        except ValueError:
            continue
        if number in valid:
            return number
    return None


# --- compliance: general models and our students -------------------------------------------------

def compliance_parse(text: str) -> str | None:
    return final_verdict(text, COMPLIANCE_VOCABULARY)


COMPLIANCE = Family(
    name="compliance",
    messages=student_messages,
    parse=compliance_parse,
    max_tokens=4096,
    chapter=chapter_in_text,
    note="the last \\boxed{prohibited|permitted} after </think>",
)


# --- Llama Guard: safe / unsafe on the first line, violated categories on the second ------------

LLAMA_GUARD_CATEGORY = re.compile(r"^S(\d+)$", re.IGNORECASE)


def llama_guard_messages(law: str, facts: str) -> Messages:
    return render("family_llama_guard", law_name=_law_name(law), policy=_policy(law), facts=facts)


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.strip().splitlines() if line.strip()]


def llama_guard_parse(text: str) -> str | None:
    lines = _lines(text)
    if not lines:
        return None
    first = lines[0].rstrip(".").lower()
    return {"unsafe": "prohibited", "safe": "permitted"}.get(first)


def llama_guard_chapter(text: str, law: str) -> int | None:
    lines = _lines(text)
    if llama_guard_parse(text) != "prohibited" or len(lines) < 2:
        return None
    valid = {number for number, _ in chapters_of(law)}
    for code in lines[1].split(","):
        match = LLAMA_GUARD_CATEGORY.match(code.strip())
        if match and int(match.group(1)) in valid:
            return int(match.group(1))
    return None


LLAMA_GUARD = Family(
    name="llama_guard",
    messages=llama_guard_messages,
    parse=llama_guard_parse,
    max_tokens=24,
    chapter=llama_guard_chapter,
    note="first line 'unsafe' -> prohibited, 'safe' -> permitted; category S<n> is chapter n. The "
         "backend must send the prompt as written (the model's own chat template inserts its default "
         "categories), see the registry entry's chat_template option",
)


# --- GuardReasoner: step-by-step reasoning, then an 'Answers:' block ------------------------------

GUARDREASONER_REQUEST = re.compile(r"Request:\s*\**\s*(unharmful|harmful)\b", re.IGNORECASE)


def guardreasoner_messages(law: str, facts: str) -> Messages:
    messages = render("family_guardreasoner", law_name=_law_name(law), facts=facts)
    # GuardReasoner's input closes the empty AI-assistant slot with a line break, which a rendered
    # template (stripped at both ends) cannot end with.
    return [{**messages[-1], "content": messages[-1]["content"] + "\n"}]


def guardreasoner_parse(text: str) -> str | None:
    # Only the 'Answers:' block counts; the reasoning steps may quote the labels while weighing them.
    start = text.rfind("Answers:")
    if start < 0:
        return None
    found = GUARDREASONER_REQUEST.findall(text[start:])
    if not found:
        return None
    return "prohibited" if found[0].lower() == "harmful" else "permitted"


GUARDREASONER = Family(
    name="guardreasoner",
    messages=guardreasoner_messages,
    parse=guardreasoner_parse,
    max_tokens=2048,
    chapter=lambda text, law: None,
    note="'Request: harmful' in the Answers block -> prohibited, 'unharmful' -> permitted",
)


# --- RSafe: reasoning, then \boxed{safe|unsafe} ---------------------------------------------------

RSAFE_VOCABULARY = {"unsafe": "prohibited", "safe": "permitted"}


def rsafe_messages(law: str, facts: str) -> Messages:
    return render("family_rsafe", law_name=_law_name(law), policy=_policy(law), facts=facts)


def rsafe_parse(text: str) -> str | None:
    return final_verdict(text, RSAFE_VOCABULARY)


RSAFE = Family(
    name="rsafe",
    messages=rsafe_messages,
    parse=rsafe_parse,
    max_tokens=2048,
    chapter=chapter_in_text,
    note="the last \\boxed{unsafe} after </think> -> prohibited, \\boxed{safe} -> permitted",
)


# --- Context-Reasoner: a three-way choice ---------------------------------------------------------

CONTEXT_REASONER_CHOICES = {
    "a": "prohibited", "prohibited": "prohibited", "a prohibited": "prohibited",
    "b": "permitted", "permitted": "permitted", "b permitted": "permitted",
    "c": "permitted", "not related": "permitted", "c not related": "permitted",
}
ANSWER_TAG = re.compile(r"<answer>(.*?)</answer>", re.DOTALL | re.IGNORECASE)


def context_reasoner_messages(law: str, facts: str) -> Messages:
    return render("family_context_reasoner", law_name=_law_name(law), facts=facts)


def context_reasoner_parse(text: str) -> str | None:
    # The model was trained to box its choice; some releases wrap it in <answer> tags instead.
    tail = after_think(text)
    answers = boxed_contents(tail) or ANSWER_TAG.findall(tail)
    if not answers:
        return None
    return CONTEXT_REASONER_CHOICES.get(normalise(answers[-1]))


CONTEXT_REASONER = Family(
    name="context_reasoner",
    messages=context_reasoner_messages,
    parse=context_reasoner_parse,
    max_tokens=2048,
    chapter=chapter_in_text,
    note="(A) prohibited -> prohibited; (B) permitted and (C) not related -> permitted: a case the "
         "model finds unrelated to the law is one the law does not forbid",
)


FAMILIES: dict[str, Family] = {f.name: f for f in (COMPLIANCE, LLAMA_GUARD, GUARDREASONER, RSAFE, CONTEXT_REASONER)}


def get_family(name: str) -> Family:
    try:
        return FAMILIES[name]
    except KeyError:
        raise KeyError(f"unknown verifier family '{name}'; known: {', '.join(sorted(FAMILIES))}") from None


# --- asking a family and reading its answer: the one way evaluation, extrapolation and the guard do it

def family_requests(family: Family, law: str, facts: list[str], max_tokens: int | None = None) -> list[Request]:
    """Greedy requests (a verdict should not depend on a sampling seed) within the family's budget,
    capped by `max_tokens` where a run sets one."""
    budget = family.max_tokens if max_tokens is None else min(family.max_tokens, max_tokens)
    return [Request(messages=tuple(family.messages(law, f)), max_tokens=budget, temperature=0.0) for f in facts]


def read_answer(family: Family, completion: Completion, law: str) -> dict[str, Any]:
    """The answer (`raw`) and what the family reads from it (`verdict`, `chapter_pred`). A failed request
    gives neither verdict nor chapter, but keeps whatever text it returned, to show what went wrong."""
    raw = completion.text
    readable = completion.ok and bool(raw)
    return {"raw": raw, "verdict": family.parse(raw) if readable else None,
            "chapter_pred": family.chapter(raw, law) if readable else None}


def predict(family: Family, generator: Generator, law: str, cases: list[dict[str, Any]],
            max_tokens: int | None = None) -> list[dict[str, Any]]:
    """One prediction record per case, asked and read the family's way: `case_id`, `model` (the
    generator's), `raw`, `verdict`, `chapter_pred` and the tokens. Each case needs `id` and
    `factual_background`."""
    requests = family_requests(family, law, [c["factual_background"] for c in cases], max_tokens)
    completions = generator.generate(requests, desc=f"{generator.model_id} on {law}")
    if len(completions) != len(cases):
        raise RuntimeError(f"{generator.model_id}: {len(completions)} completions for {len(cases)} requests")
    return [{"case_id": case["id"], "model": generator.model_id, **read_answer(family, done, law),
             "prompt_tokens": done.prompt_tokens, "completion_tokens": done.completion_tokens}
            for case, done in zip(cases, completions)]
