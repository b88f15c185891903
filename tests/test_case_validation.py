"""Case validation: fields, lengths and the leak check on the facts."""

from __future__ import annotations

import pytest

from safety_compliance.case import CASE_FIELDS, case_schema, parse_case
from safety_compliance.case_validation import find_leak, reason_code, validate_case

FACTS = ("A retailer installs cameras at its shop entrances. The software compares every visitor's face "
         "with a list of people previously caught shoplifting and alerts staff when it finds a match.")


def good_case(**changes) -> dict:
    case = {"parties_involved": "ShopCo (deployer); VisionSoft (provider); customers",
            "factual_background": FACTS,
            "legal_issues": "Whether the system is real-time remote biometric identification under Article 5.",
            "arguments": "ShopCo says the system prevents theft; customers say they never agreed to it.",
            "jurisdiction": "Germany"}
    case.update(changes)
    return case


def codes(reasons: list[str]) -> list[str]:
    return [reason_code(r) for r in reasons]


def test_a_good_case_passes():
    assert validate_case(good_case(), "eu_ai_act") == []


def test_planted_leaks_are_caught():
    leaking = FACTS + " The processing complies with the GDPR."
    reason = find_leak(leaking, "gdpr")
    assert reason is not None and reason_code(reason) == "leak_law_name"
    assert "GDPR" in reason
    # The verdict alone, without the law's name, is a leak too.
    verdict_only = find_leak(FACTS + " The processing complies with the rules.", "gdpr")
    assert verdict_only is not None and reason_code(verdict_only) == "leak_verdict"
    assert codes(validate_case(good_case(factual_background=leaking), "gdpr")) == ["leak_law_name"]


@pytest.mark.parametrize("sentence, law", [
    ("This deployment is prohibited.", "eu_ai_act"),
    ("The monitoring was clearly unlawful.", "gdpr"),
    ("The bank is in breach of its duties.", "gdpr"),
    ("The tool is non-compliant with the rules.", "eu_ai_act"),
    ("The provider relies on the Artificial Intelligence Act exemption.", "eu_ai_act"),
    ("Regulation (EU) 2024/1689 applies.", "eu_ai_act"),
    ("It falls under the General Data Protection Regulation.", "gdpr"),
])
def test_leaks_found(sentence, law):
    assert find_leak(FACTS + " " + sentence, law) is not None


@pytest.mark.parametrize("sentence", [
    "Last year the bank suffered a personal data breach affecting 300 customers.",
    "Staff were permitted to enter the server room after hours.",
    "The compliance team reviewed the vendor's documentation.",
    "The system is deployed in 40 shops.",
])
def test_plain_facts_are_not_leaks(sentence):
    assert find_leak(FACTS + " " + sentence, "gdpr") is None
    assert find_leak(FACTS + " " + sentence, "eu_ai_act") is None


def test_other_law_named_is_not_a_leak_for_this_law():
    assert find_leak(FACTS + " The retailer also keeps records under the GDPR.", "eu_ai_act") is None


def test_missing_empty_short_long_and_wrong_type_fields():
    case = good_case(jurisdiction="  ", arguments=7, legal_issues="short")
    del case["parties_involved"]
    case["factual_background"] = "x" * 7000
    assert sorted(codes(validate_case(case, "gdpr"))) == [
        "empty_field", "missing_field", "not_string", "too_long", "too_short"]
    bounds = {name: (1, 50) for name in CASE_FIELDS}
    assert "too_long" in codes(validate_case(good_case(), "gdpr", bounds))


def test_not_an_object_and_unknown_law():
    assert codes(validate_case(["a"], "gdpr")) == ["not_object"]
    with pytest.raises(KeyError, match="unknown law"):
        find_leak(FACTS, "ccpa")


def test_parse_case_reasons():
    assert reason_code(parse_case("not json")[1]) == "not_json"
    assert reason_code(parse_case("[1, 2]")[1]) == "not_object"
    value, reason = parse_case('{"a": "b"}')
    assert value == {"a": "b"} and reason is None


def test_schema_requires_the_five_string_fields():
    schema = case_schema()
    assert schema["required"] == list(CASE_FIELDS)
    assert all(schema["properties"][f]["type"] == "string" for f in CASE_FIELDS)
    assert schema["additionalProperties"] is False


def test_schema_carries_each_fields_floor_and_ceiling():
    bounds = {name: (i + 1, 10 * (i + 1)) for i, name in enumerate(CASE_FIELDS)}
    props = case_schema(bounds)["properties"]
    assert {name: (props[name]["minLength"], props[name]["maxLength"]) for name in CASE_FIELDS} == bounds
