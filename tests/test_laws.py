"""The law registry: every place that needs a law reads its entry, and register() checks a new one."""

from __future__ import annotations

import dataclasses

import pytest
from toy_law import TOY_ACT

import safety_compliance
from safety_compliance import laws, resources
from safety_compliance.config import ConfigError, check_laws
from safety_compliance.laws import Chapter, UnknownLaw, get_law, register
from safety_compliance.versus_paper import load_paper_results


@pytest.fixture()
def registry(monkeypatch):
    """A copy of the registry for this test, so that registering leaves the others untouched."""
    monkeypatch.setattr(laws, "REGISTRY", dict(laws.REGISTRY))
    return laws.REGISTRY


def test_the_two_laws_of_the_paper(root):
    assert laws.law_names() == ("eu_ai_act", "gdpr")
    assert safety_compliance.LAWS == ("eu_ai_act", "gdpr")
    assert safety_compliance.LAW_NAMES == {"eu_ai_act": "EU AI Act", "gdpr": "GDPR"}
    paper = load_paper_results(root / "config" / "paper_results.yaml")
    for law in laws.REGISTRY.values():
        assert law.paper.table_key in paper and law.paper.appendix_key in paper, law.name
        assert law.name in paper["text_figures"]["seeds"]
        assert [c.number for c in law.chapters] == list(range(1, len(law.chapters) + 1))
        assert (root / law.text_path).exists(), law.text_path
    assert {law.paper.figure for law in laws.REGISTRY.values()} == {2, 3}


def test_an_unknown_law_is_named_with_the_known_ones():
    with pytest.raises(UnknownLaw, match="unknown law 'ccpa'; known laws: eu_ai_act, gdpr") as err:
        get_law("ccpa")
    assert isinstance(err.value, KeyError) and isinstance(err.value, ValueError)
    with pytest.raises(ConfigError, match=r"unknown law\(s\) 'ccpa'; the law registry .* has eu_ai_act, gdpr"):
        check_laws({"laws": ["gdpr", "ccpa"]})


def test_a_registered_law_is_known_everywhere_the_registry_is_read(registry):
    register(TOY_ACT)
    assert "toy_act" in safety_compliance.LAWS and safety_compliance.LAW_NAMES["toy_act"] == "Toy Act"
    assert check_laws({"laws": ["toy_act", "gdpr"]}) == ["toy_act", "gdpr"]
    assert resources.get_source("law_toy_act") is TOY_ACT.source
    assert resources.law_text("toy_act") == "resources/law/toy_act.txt"
    assert not resources.has_privaci("toy_act")
    assert "privaci_kb_toy_act" not in resources.source_names()


def test_register_refuses_a_clash_or_a_malformed_entry(registry):
    with pytest.raises(ValueError, match="already registered"):
        register(get_law("gdpr"))
    with pytest.raises(ValueError, match="numbered 1..n in order"):
        register(dataclasses.replace(TOY_ACT, chapters=(Chapter(1, "A", 1), Chapter(3, "B", 3))))
    with pytest.raises(ValueError, match="must start at 1 and rise"):
        register(dataclasses.replace(TOY_ACT, chapters=(Chapter(1, "A", 1), Chapter(2, "B", 9))))
    assert "toy_act" not in registry
