"""Checks a synthesised case must pass before it enters the benchmark.

Every failure is a reason string `code: detail`; the code (before the colon) is what reports count,
the detail tells a reader what exactly was wrong. The leak check keeps the verifier's input, the
`factual_background`, free of the two things that would give the answer away: the law's name and a
statement of the verdict.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from .case import CASE_FIELDS, DEFAULT_BOUNDS
from .laws import get_law

# Statements of a verdict. Words that also describe plain facts are left out on purpose: "a personal
# data breach" is an event, "the compliance team" a party, "was permitted to enter" an authorisation.
_COPULA = r"\b(?:is|are|was|were|be|been|being|remains?|seems?|appears?)"
_ADVERBS = r"(?:\s+(?:not|clearly|therefore|thus|fully|entirely|plainly|likely|probably|hence))*"
VERDICT_PATTERNS: list[str] = [
    r"\b(?:complies|complied|comply|complying)\s+(?:fully\s+)?with\b",
    r"\bdoes\s+not\s+comply\b",
    r"\bnon-?\s?complian(?:t|ce)\b",
    r"\b(?:in|out\s+of)\s+(?:full\s+)?compliance\s+with\b",
    r"\bin\s+(?:breach|violation|contravention)\s+of\b",
    r"\b(?:violates|violated|infringes|infringed|contravenes|contravened)\b",
    _COPULA + _ADVERBS + r"\s+(?:compliant|lawful|unlawful|illegal|prohibited|permitted|forbidden|banned)\b"
    + r"(?!\s+(?:to|from)\b)",
    r"\b(?:a|an|the)\s+(?:prohibited|permitted)\s+(?:AI\s+)?(?:practice|processing|use)\b",
]

_VERDICT_RE = [re.compile(p, re.IGNORECASE) for p in VERDICT_PATTERNS]


@lru_cache(maxsize=None)
def name_patterns(names: tuple[str, ...]) -> list[re.Pattern]:
    """The law's names as the facts may write them: any case, any run of whitespace between words,
    and not inside a longer word ("GDPR" is found in "the GDPR's", not in "GDPRX")."""
    patterns = []
    for name in names:
        body = r"\s+".join(re.escape(word) for word in name.split())
        start = r"\b" if name[0].isalnum() else ""
        end = r"\b" if name[-1].isalnum() else ""
        patterns.append(re.compile(start + body + end, re.IGNORECASE))
    return patterns


def reason_code(reason: str) -> str:
    """The category of a reason string (`too_short: ...` -> `too_short`)."""
    return reason.split(":", 1)[0].strip()


def find_leak(facts: str, law: str) -> str | None:
    """Why `facts` give the answer away (names the law or states the verdict), or None if they do not."""
    # How the law is named in prose (short names, long titles, the regulation's number): the registry's.
    for pattern in name_patterns(get_law(law).names):
        found = pattern.search(facts)
        if found:
            return f"leak_law_name: the facts name the law ({found.group(0)!r})"
    for pattern in _VERDICT_RE:
        found = pattern.search(facts)
        if found:
            return f"leak_verdict: the facts state a verdict ({found.group(0)!r})"
    return None


def validate_case(case: dict[str, Any], law: str,
                  bounds: dict[str, tuple[int, int]] | None = None) -> list[str]:
    """Every reason `case` cannot enter the benchmark (an empty list: it can).

    Checks each of the five fields for presence, type, and length within `bounds` (characters after
    stripping), then the leak check on the `factual_background`.
    """
    if not isinstance(case, dict):
        return [f"not_object: a case is a JSON object, not a {type(case).__name__}"]
    bounds = bounds or DEFAULT_BOUNDS
    reasons = []
    for name in CASE_FIELDS:
        if name not in case:
            reasons.append(f"missing_field: '{name}'")
            continue
        value = case[name]
        if not isinstance(value, str):
            reasons.append(f"not_string: '{name}' is a {type(value).__name__}")
            continue
        size = len(value.strip())
        low, high = bounds[name]
        if size == 0:
            reasons.append(f"empty_field: '{name}'")
        elif size < low:
            reasons.append(f"too_short: '{name}' has {size} characters, fewer than {low}")
        elif size > high:
            reasons.append(f"too_long: '{name}' has {size} characters, more than {high}")
    facts = case.get("factual_background")
    if isinstance(facts, str) and facts.strip():
        leak = find_leak(facts, law)
        if leak:
            reasons.append(leak)
    return reasons
