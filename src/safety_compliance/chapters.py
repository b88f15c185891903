"""Chapter numbering: each law's chapters as (number, title) pairs, the chapter holding an article,
and the Roman numerals laws number their chapters with.

The chapters themselves are the law registry's (laws.py). Titles are the Official Journal's, in
sentence case (the Journal prints them in capitals); a test checks them against the chapter headings
parsed from the law texts themselves.
"""

from __future__ import annotations

import re

from .laws import get_law

_NUMERALS = ((1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"),
             (50, "L"), (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I"))
_ROMAN = re.compile(r"M{0,3}(CM|CD|D?C{0,3})(XC|XL|L?X{0,3})(IX|IV|V?I{0,3})")


def chapters_of(law: str) -> list[tuple[int, str]]:
    """(number, title) of every chapter of `law`, in order; UnknownLaw naming the known laws otherwise."""
    return [(c.number, c.title) for c in get_law(law).chapters]


def chapter_title(law: str, number: int) -> str:
    """The official title of chapter `number` of `law`; KeyError naming the valid range otherwise."""
    numbered = chapters_of(law)
    for n, title in numbered:
        if n == number:
            return title
    raise KeyError(f"{law} has no chapter {number!r}; chapters are 1..{len(numbered)}")


def chapter_of_article(law: str, article: int) -> int:
    """The chapter that holds `article` of `law`: chapter_of_article("gdpr", 17) -> 3."""
    entry = get_law(law)
    if not 1 <= article <= entry.article_count:
        raise KeyError(f"{law} has no article {article!r}; articles are 1..{entry.article_count}")
    return sum(1 for chapter in entry.chapters if chapter.first_article <= article)


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
