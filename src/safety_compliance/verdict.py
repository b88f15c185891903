"""Reading the final answer of a reasoning model: the last `\\boxed{...}` outside `<think>`.

The box is found wherever it stands, so one in inline or display math (`$\\boxed{x}$`,
`$$\\boxed{x}$$`, `\\[\\boxed{x}\\]`) reads as a bare one; the GRPO format reward
(train/rewards.py) accepts the same forms, and every answer it accepts this parser reads alike.
"""

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


# LaTeX text commands a model may wrap its boxed word in: \text{permitted}, \textbf{...}, \mathrm{...}.
TEXT_COMMAND = re.compile(r"\\(?:text|textbf|textit|texttt|textrm|mathrm|mathbf|mathit|mathtt)\{([^}]*)\}")


def normalise(answer: str) -> str:
    """A boxed answer as a vocabulary key: text commands unwrapped, lower case, letters and spaces."""
    cleaned = TEXT_COMMAND.sub(r"\1", answer)
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
