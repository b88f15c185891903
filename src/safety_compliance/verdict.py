"""Reading the final answer of a reasoning model: the last `\\boxed{...}` outside `<think>`."""

from __future__ import annotations

import re

BOXED = re.compile(r"\\boxed\{")


def boxed_contents(text: str) -> list[str]:
    """Every `\\boxed{...}` body in order, with nested braces balanced."""
    found = []
    for match in BOXED.finditer(text):
        depth, start = 1, match.end()
        for pos in range(start, len(text)):
            if text[pos] == "{":
                depth += 1
            elif text[pos] == "}":
                depth -= 1
                if depth == 0:
                    found.append(text[start:pos])
                    break
    return found


def after_think(text: str) -> str:
    """The part of a completion after its reasoning; a verdict boxed inside `<think>` does not count."""
    end = text.rfind("</think>")
    return text[end + len("</think>"):] if end >= 0 else text


def normalise(answer: str) -> str:
    cleaned = re.sub(r"\\text\{([^}]*)\}", r"\1", answer)
    return re.sub(r"[^a-z ]", "", cleaned.lower()).strip()


def final_verdict(text: str, vocabulary: dict[str, str]) -> str | None:
    """The label named by the last boxed answer after the reasoning, mapped through `vocabulary`
    (e.g. {"prohibited": "prohibited", "unsafe": "prohibited"}); None when there is none or it is
    not in the vocabulary."""
    boxes = boxed_contents(after_think(text))
    if not boxes:
        return None
    return vocabulary.get(normalise(boxes[-1]))


COMPLIANCE_VOCABULARY = {"prohibited": "prohibited", "permitted": "permitted"}
