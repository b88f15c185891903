"""The chapters of each law: numbers, official titles, the articles each holds; Roman numerals.

Titles are the Official Journal's, in sentence case (the Journal prints them in capitals); a test
checks them against the chapter headings parsed from the law texts themselves.
"""

from __future__ import annotations

import re

CHAPTERS: dict[str, list[tuple[int, str]]] = {
    "eu_ai_act": [
        (1, "General provisions"),
        (2, "Prohibited AI practices"),
        (3, "High-risk AI systems"),
        (4, "Transparency obligations for providers and deployers of certain AI systems"),
        (5, "General-purpose AI models"),
        (6, "Measures in support of innovation"),
        (7, "Governance"),
        (8, "EU database for high-risk AI systems"),
        (9, "Post-market monitoring, information sharing and market surveillance"),
        (10, "Codes of conduct and guidelines"),
        (11, "Delegation of power and committee procedure"),
        (12, "Penalties"),
        (13, "Final provisions"),
    ],
    "gdpr": [
        (1, "General provisions"),
        (2, "Principles"),
        (3, "Rights of the data subject"),
        (4, "Controller and processor"),
        (5, "Transfers of personal data to third countries or international organisations"),
        (6, "Independent supervisory authorities"),
        (7, "Cooperation and consistency"),
        (8, "Remedies, liability and penalties"),
        (9, "Provisions relating to specific processing situations"),
        (10, "Delegated acts and implementing acts"),
        (11, "Final provisions"),
    ],
}

# The first article of each chapter, in order; a chapter runs up to the next one's first article.
FIRST_ARTICLES: dict[str, list[int]] = {
    "eu_ai_act": [1, 5, 6, 50, 51, 57, 64, 71, 72, 95, 97, 99, 102],
    "gdpr": [1, 5, 12, 24, 44, 51, 60, 77, 85, 92, 94],
}
ARTICLE_COUNT = {"eu_ai_act": 113, "gdpr": 99}

_NUMERALS = ((1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"),
             (50, "L"), (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I"))
_ROMAN = re.compile(r"M{0,3}(CM|CD|D?C{0,3})(XC|XL|L?X{0,3})(IX|IV|V?I{0,3})")


def _laws_known(law: str) -> list[tuple[int, str]]:
    if law not in CHAPTERS:
        raise KeyError(f"unknown law {law!r}; known laws: {', '.join(sorted(CHAPTERS))}")
    return CHAPTERS[law]


def chapter_title(law: str, number: int) -> str:
    """The official title of chapter `number` of `law`; KeyError naming the valid range otherwise."""
    chapters = _laws_known(law)
    for n, title in chapters:
        if n == number:
            return title
    raise KeyError(f"{law} has no chapter {number!r}; chapters are 1..{len(chapters)}")


def chapter_of_article(law: str, article: int) -> int:
    """The chapter that holds `article` of `law`: chapter_of_article("gdpr", 17) -> 3."""
    _laws_known(law)
    if not 1 <= article <= ARTICLE_COUNT[law]:
        raise KeyError(f"{law} has no article {article!r}; articles are 1..{ARTICLE_COUNT[law]}")
    return sum(1 for first in FIRST_ARTICLES[law] if first <= article)


def roman(number: int) -> str:
    """`number` (1..3999) as an upper-case Roman numeral: 4 -> 'IV'."""
    if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= 3999:
        raise ValueError(f"roman numerals cover the integers 1..3999, not {number!r}")
    out = []
    for value, letters in _NUMERALS:
        count, number = divmod(number, value)
        out.append(letters * count)
    return "".join(out)


def from_roman(text: str) -> int:
    """The integer a Roman numeral stands for, case-insensitive: 'xii' -> 12; ValueError if malformed."""
    numeral = text.strip().upper()
    if not numeral or not _ROMAN.fullmatch(numeral):
        raise ValueError(f"{text!r} is not a Roman numeral")
    total, rest = 0, numeral
    for value, letters in _NUMERALS:
        while rest.startswith(letters):
            total += value
            rest = rest[len(letters):]
    return total
