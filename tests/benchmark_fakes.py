"""A scripted stand-in for the teacher, for unit tests of the benchmark's own logic."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence

from safety_compliance.llm.types import Completion, Request


class ScriptedTeacher:
    """Answers each request with `script(request, call_number)`; records every request it saw.

    `script` returns the answer text, or a (text, finish_reason) pair.
    """

    model_id = "scripted-teacher"

    def __init__(self, script: Callable[[Request, int], str | tuple[str, str]]):
        self.script = script
        self.requests: list[Request] = []

    def generate(self, requests: Sequence[Request], *, desc: str = "") -> list[Completion]:
        out = []
        for request in requests:
            self.requests.append(request)
            answer = self.script(request, len(self.requests) - 1)
            text, finish = answer if isinstance(answer, tuple) else (answer, "stop")
            out.append(Completion(text=text, finish_reason=finish, prompt_tokens=10, completion_tokens=5))
        return out


def prompt_text(request: Request) -> str:
    return "\n".join(m["content"] for m in request.messages)


def requested_label(request: Request) -> str:
    """The label a synthesis or distillation prompt asks for (it is written in capitals there)."""
    return re.search(r"\b(PROHIBITED|PERMITTED)\b", prompt_text(request)).group(1).lower()


def case_json(facts: str = "", **changes) -> str:
    case = {"parties_involved": "A clinic (controller) and a software vendor (processor)",
            "factual_background": facts or ("A clinic uploads patient scans to a vendor's cloud service that "
                                            "sorts them by urgency; the vendor stores the scans in Ireland."),
            "legal_issues": "Whether Article 28 duties were met.",
            "arguments": "The clinic cites its contract; patients cite missing notices.",
            "jurisdiction": "Ireland"}
    case.update(changes)
    return json.dumps({k: v for k, v in case.items() if v is not None})


def seed_records(law: str = "gdpr", chapters: Sequence[int] = (2, 2, 3, 3, 4, 4, 5, 5)) -> list[dict]:
    return [{"id": f"{law}/ch{ch:02d}/art{10 + i:03d}/p1", "law": law, "chapter": ch,
             "chapter_title": f"Chapter {ch}", "article": 10 + i, "path": [],
             "text": f"Chapter {ch}\nArticle {10 + i}: Duties\n1. The controller shall keep records of clause {i}."}
            for i, ch in enumerate(chapters)]
