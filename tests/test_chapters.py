"""Chapter numbering: Roman numerals, and each law's chapters and articles as the law registry has them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from safety_compliance.chapters import chapter_of_article, chapter_title, from_roman, roman


@given(st.integers(min_value=1, max_value=3999))
def test_roman_numerals_round_trip(number):
    assert from_roman(roman(number)) == number
    assert from_roman(roman(number).lower()) == number


def test_roman_numerals_known_values_and_bad_input():
    assert [roman(n) for n in (4, 9, 13, 40, 99)] == ["IV", "IX", "XIII", "XL", "XCIX"]
    for bad in ("IIII", "VX", "", "12", "Chapter II"):
        with pytest.raises(ValueError, match="not a Roman numeral"):
            from_roman(bad)
    with pytest.raises(ValueError):
        roman(0)


def test_chapter_lookups_name_the_problem():
    assert chapter_title("eu_ai_act", 2) == "Prohibited AI practices"
    assert chapter_of_article("eu_ai_act", 5) == 2 and chapter_of_article("eu_ai_act", 113) == 13
    assert chapter_of_article("gdpr", 17) == 3 and chapter_of_article("gdpr", 99) == 11
    with pytest.raises(KeyError, match="chapters are 1..11"):
        chapter_title("gdpr", 12)
    with pytest.raises(KeyError, match="articles are 1..99"):
        chapter_of_article("gdpr", 100)
    with pytest.raises(KeyError, match="unknown law 'ccpa'"):
        chapter_title("ccpa", 1)
