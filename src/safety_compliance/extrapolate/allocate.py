"""Chapter allocation: which chapter of a law does a safety sample relate to?

Two procedures (config `extrapolate.procedure`):
- `paper`, the paper's: the model is asked which chapter the sample relates to and answers freely,
  `\\boxed{"result": "Chapter <n>"}` after its reasoning. An answer naming no valid chapter of the law
  (no box, no chapter, a chapter the law lacks) is missing; the share of missing answers is the
  paper's missing rate (15.7-19.9 %).
- `constrained`, ours: the prompt also offers `"None"` for a sample no chapter fits, and where the
  backend can enforce it a regular expression lets the model reason inside <think> first and then
  admits only the law's own chapters or None. Its "missing" share is then mostly chosen Nones, a
  different quantity from the paper's, and is labelled so wherever it is compared.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

from ..chapters import chapter_title, chapters_of, from_roman, roman
from ..laws import get_law
from ..llm.types import Constraint, Generator, Request
from ..prompts import render
from ..safety_datasets import Record
from ..verdict import after_think, boxed_contents

# "Chapter III", "chapter 3", "CHAPTER iii: Rights of ...": the number is the word after "chapter".
_CHAPTER = re.compile(r"\bchapter\s+([0-9]+|[ivxlcdm]+)\b", re.IGNORECASE)


def allocation_regex(law: str, think_chars: int | None = None) -> str:
    """The whole answer: reasoning inside <think> of at most `think_chars` characters (None: any
    length, 0: none), then the boxed JSON naming one of the law's chapters or None."""
    numerals = "|".join(roman(n) for n, _ in sorted(chapters_of(law), reverse=True))
    answer = r'\\boxed\{"result": "(Chapter (' + numerals + r')|None)"\}'
    if think_chars == 0:
        return answer
    length = "*" if think_chars is None else "{0,%d}" % think_chars
    return r"(<think>[^<]" + length + r"</think>\s*)?" + answer


PROCEDURES = ("paper", "constrained")
TEMPLATES = {"paper": "extrapolate_allocate_paper", "constrained": "extrapolate_allocate"}


def check_procedure(procedure: str) -> str:
    if procedure not in PROCEDURES:
        raise ValueError(f"extrapolate.procedure must be one of {PROCEDURES}, not {procedure!r}")
    return procedure


def allocation_messages(law: str, text: str, procedure: str = "paper") -> list[dict[str, str]]:
    listed = [{"numeral": roman(n), "title": title} for n, title in chapters_of(law)]
    return render(TEMPLATES[check_procedure(procedure)], law_name=get_law(law).title, chapters=listed, sample=text)


def parse_chapter(answer: str, law: str) -> int | None:
    """The chapter number an answer names (Roman or Arabic), or None when it names none of the law's
    chapters: no "Chapter <n>", a malformed numeral, or a number outside the law's range."""
    match = _CHAPTER.search(answer or "")
    if not match:
        return None
    token = match.group(1)
    try:
        number = int(token) if token.isdigit() else from_roman(token)
    except ValueError:
        return None
    return number if any(n == number for n, _ in chapters_of(law)) else None


def boxed_answer(text: str) -> str | None:
    """The `result` of the last boxed answer after the reasoning (the raw box when it is not JSON)."""
    boxes = boxed_contents(after_think(text or ""))
    if not boxes:
        return None
    body = boxes[-1].strip()
    try:
        value = json.loads("{" + body + "}" if not body.startswith("{") else body)
    except json.JSONDecodeError:
        return body
    return str(value.get("result", "")) if isinstance(value, dict) else body


def allocated_chapter(text: str, law: str) -> int | None:
    answer = boxed_answer(text)
    return None if answer is None else parse_chapter(answer, law)


def missing_rate(chapters: Sequence[int | None]) -> float:
    """Percent of samples with no valid chapter."""
    if not chapters:
        raise ValueError("the missing rate of no samples is undefined")
    return 100.0 * sum(c is None for c in chapters) / len(chapters)


def chapter_distribution(chapters: Sequence[int | None], law: str) -> dict[int, int]:
    """Samples per chapter, every chapter of the law present (zero where none was allocated)."""
    counts = Counter(c for c in chapters if c is not None)
    valid = {n for n, _ in chapters_of(law)}
    stray = sorted(set(counts) - valid)
    if stray:
        raise ValueError(f"chapters {stray} are not chapters of {law}")
    return {n: counts.get(n, 0) for n, _ in chapters_of(law)}


def allocation_requests(records: Sequence[Record], law: str, *, max_tokens: int = 256, procedure: str = "paper",
                        think_chars: int | None = None) -> list[Request]:
    """One request per record; `think_chars` bounds the reasoning under the constrained procedure's
    regex (the paper's procedure decodes freely)."""
    constrained = check_procedure(procedure) == "constrained"
    constraint = Constraint("regex", allocation_regex(law, think_chars)) if constrained else None
    return [Request(messages=allocation_messages(law, r["text"], procedure), max_tokens=max_tokens,
                    constraint=constraint) for r in records]


def allocate(records: Sequence[Record], law: str, generator: Generator, **settings: Any) -> list[dict[str, Any]]:
    """One allocation row per record: the raw answer, the chapter (or None) and its title.
    `settings` are those of `allocation_requests`."""
    completions = generator.generate(allocation_requests(records, law, **settings), desc=f"allocate {law}")
    rows = []
    for record, completion in zip(records, completions, strict=True):
        chapter = allocated_chapter(completion.text, law) if completion.ok else None
        rows.append({
            "id": record["id"], "dataset": record["dataset"], "law": law, "label": record["label"],
            "model": generator.model_id, "raw": completion.text, "answer": boxed_answer(completion.text),
            "chapter": chapter, "chapter_title": chapter_title(law, chapter) if chapter else None,
            "error": completion.error, "prompt_tokens": completion.prompt_tokens,
            "completion_tokens": completion.completion_tokens,
        })
    return rows
