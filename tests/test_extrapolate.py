"""Extrapolation: the dataset loaders on the real files, the filters, the chapter parser and the
missing-rate arithmetic."""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import replace

import pytest

from safety_compliance.chapters import chapters_of, roman
from safety_compliance.extrapolate.allocate import (
    allocated_chapter, allocation_messages, allocation_regex, chapter_distribution, missing_rate, parse_chapter)
from safety_compliance.extrapolate.filters import FilterSettings, apply_filters, stratified_sample
from safety_compliance.safety_datasets import DATASETS, get_dataset, load_dataset


@pytest.fixture(scope="module")
def safety_dir(resources):
    return resources / "safety"


def labels(records):
    return Counter(r["label"] for r in records)


# --- loaders on the real files ---------------------------------------------------------------------

def test_wildguard_prompt_labels(safety_dir):
    records = load_dataset("wildguard", safety_dir)
    assert len(records) == 1725
    assert labels(records) == {"unsafe": 754, "safe": 945, None: 26}
    assert all(r["category"] is None for r in records if r["label"] == "safe")
    assert {r["category"] for r in records if r["label"] == "unsafe"} >= {"cyberattack", "sexual_content"}


def test_openai_moderation_flags_and_category_rule(safety_dir):
    records = load_dataset("openai_mod", safety_dir)
    assert len(records) == 1680
    # a missing flag stays unknown (None), it is never read as 0
    assert any(r["flags"]["S"] is None for r in records)
    assert all(r["label"] == ("unsafe" if any(v == 1 for v in r["flags"].values()) else "safe") for r in records)
    settings = FilterSettings(max_categories=1, categories=("S", "H", "V", "HR", "SH"))
    kept, report = apply_filters(records, settings, "openai_mod")
    assert labels(kept) == {"safe": 1158, "unsafe": 437}
    assert report.dropped == {"more than 1 harm category": 85}
    assert report.categories == 5


def test_pku_subset_response_level(safety_dir):
    records = load_dataset("saferlhf_subset", safety_dir)
    assert labels(records) == {"safe": 1000, "unsafe": 1000}
    assert all(r["text"].startswith("User: ") and "\n\nAssistant: " in r["text"] for r in records)
    assert get_dataset("saferlhf_subset").display == "PKU-SafeRLHF (2,000-row subset)"
    # the paper's 1,500 per class cannot be reached with this subset, and the report says so
    kept, report = apply_filters(records, FilterSettings(per_class=1500), "saferlhf_subset")
    assert len(kept) == 2000
    assert any("only 1,000 available" in note for note in report.notes)


def test_aegis1_stands_in_and_says_so(safety_dir):
    records = load_dataset("aegis1", safety_dir)
    assert labels(records) == {"unsafe": 232, "safe": 127}
    assert not any("AI assistant" in r["text"] for r in records)           # prompt-level: no response
    assert get_dataset("aegis1").display == "Aegis 1.0"
    assert get_dataset("aegis1").paper_key == "aegis2"


def test_unknown_dataset_and_missing_file(tmp_path):
    with pytest.raises(KeyError, match="unknown safety dataset 'nope'"):
        load_dataset("nope", tmp_path)
    # a dataset not fetched yet names the rule and the command that provide it
    with pytest.raises(FileNotFoundError, match=r"Aegis 2.0: nothing at .*aegis2_test.json; .*rule fetch_aegis2 .*"
                                                r"resources fetch --only aegis2"):
        load_dataset("aegis2", tmp_path)


def test_hub_files_as_they_come(tmp_path, monkeypatch):
    """Aegis 2.0's `.json` is read as a list or as JSON lines; PKU-SafeRLHF is a folder of one
    JSON-lines file per response model, read in path order."""
    rows = [{"prompt": "p0", "prompt_label": "unsafe", "violated_categories": "Violence, PII/Privacy"},
            {"prompt": "p1", "prompt_label": "safe", "violated_categories": ""}]
    (tmp_path / "aegis2_test.json").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    lines = load_dataset("aegis2", tmp_path)
    (tmp_path / "aegis2_test.json").write_text(json.dumps(rows))
    assert load_dataset("aegis2", tmp_path) == lines
    assert [r["label"] for r in lines] == ["unsafe", "safe"] and lines[0]["categories"] == ["Violence", "PII/Privacy"]

    def pku(prompt, safe0):
        return {"prompt": prompt, "response_0": "a", "response_1": "b", "is_response_0_safe": safe0,
                "is_response_1_safe": True, "response_0_harm_category": {"Violence": not safe0},
                "response_1_harm_category": {}}
    for model, prompt in (("Alpaca3-8B", "third"), ("Alpaca-7B", "first")):
        folder = tmp_path / "pku_saferlhf_test/data" / model
        folder.mkdir(parents=True)
        (folder / "test.jsonl").write_text(json.dumps(pku(prompt, prompt == "first")) + "\n")
    records = load_dataset("saferlhf", tmp_path)
    assert [r["text"].splitlines()[0] for r in records] == ["User: first"] * 2 + ["User: third"] * 2
    assert [r["label"] for r in records] == ["safe", "safe", "unsafe", "safe"]
    assert records[2]["categories"] == ["Violence"]
    (tmp_path / "empty").mkdir()
    monkeypatch.setitem(DATASETS, "saferlhf", replace(DATASETS["saferlhf"], local="empty"))
    with pytest.raises(ValueError, match="holds JSON-lines files; found none"):
        load_dataset("saferlhf", tmp_path)


def test_malformed_rows_are_named():
    with pytest.raises(ValueError, match="row 0 has flag S=2"):
        get_dataset("openai_mod").parse([{"prompt": "x", "S": 2}])
    with pytest.raises(ValueError, match="not in the GuardReasoner format"):
        get_dataset("aegis1").parse([{"input": "hello", "output": "harmful"}])


# --- filters -------------------------------------------------------------------------------------

def rec(i, label, cats=None, text="short"):
    return {"id": f"d/{i:05d}", "dataset": "d", "index": i, "text": text, "label": label, "categories": cats,
            "category": cats[0] if cats and len(cats) == 1 else None}


def test_filters_token_cap_and_reasons():
    records = [rec(0, "safe", []), rec(1, "unsafe", ["a", "b"]), rec(2, "unsafe", ["a"], text="w " * 50),
               rec(3, None), rec(4, "unsafe", ["a"])]
    kept, report = apply_filters(records, FilterSettings(token_cap=10), "d", count_tokens=lambda t: len(t.split()))
    assert [r["index"] for r in kept] == [0, 4]
    assert report.dropped == {"no label": 1, "more than 1 harm category": 1, "over 10 tokens": 1}
    with pytest.raises(ValueError, match="needs a tokenizer"):
        apply_filters(records, FilterSettings(token_cap=10), "d")


def test_per_class_sampling_is_seeded():
    records = [rec(i, "safe" if i % 2 else "unsafe", []) for i in range(20)]
    a, report = apply_filters(records, FilterSettings(per_class=3, seed=50), "d")
    b, _ = apply_filters(records, FilterSettings(per_class=3, seed=50), "d")
    assert a == b and labels(a) == {"safe": 3, "unsafe": 3}
    assert report.dropped == {"beyond 3 per class": 14}


def test_stratified_sample():
    records = [rec(i, "safe" if i < 10 else "unsafe", []) for i in range(12)]
    picked = stratified_sample(records, 4, seed=1)
    assert labels(picked) == {"safe": 2, "unsafe": 2}
    assert stratified_sample(records, 4, seed=1) == picked
    # a short class gives its share back
    assert labels(stratified_sample(records, 8, seed=1)) == {"safe": 6, "unsafe": 2}
    assert len(stratified_sample(records, None)) == 12


# --- the chapter parser --------------------------------------------------------------------------

@pytest.mark.parametrize("answer, law, expected", [
    ("Chapter III", "gdpr", 3),
    ("Chapter 3", "gdpr", 3),
    ("chapter iii: Rights of the data subject", "gdpr", 3),
    ("CHAPTER XIII", "eu_ai_act", 13),
    ("Chapter 13", "eu_ai_act", 13),
    ("Chapter XII", "gdpr", None),           # out of range: the GDPR has 11 chapters
    ("Chapter 0", "gdpr", None),
    ("Chapter IIII", "gdpr", None),          # malformed numeral
    ("Chapter civil law", "gdpr", None),     # letters of numerals, but no numeral
    ("None", "gdpr", None),
    ("Article 5", "eu_ai_act", None),
    ("", "gdpr", None),
])
def test_parse_chapter(answer, law, expected):
    assert parse_chapter(answer, law) == expected


def test_allocated_chapter_reads_the_last_box_after_thinking():
    text = '<think>maybe \\boxed{"result": "Chapter II"}</think> So: \\boxed{"result": "Chapter V"}'
    assert allocated_chapter(text, "eu_ai_act") == 5
    assert allocated_chapter('\\boxed{Chapter 4}', "gdpr") == 4            # a bare box still counts
    assert allocated_chapter("Chapter 4 is the one", "gdpr") is None       # no box: missing
    assert allocated_chapter('\\boxed{"result": "None"}', "gdpr") is None


def test_allocation_regex_admits_only_the_laws_chapters():
    pattern = re.compile(allocation_regex("gdpr"))
    for n, _ in chapters_of("gdpr"):
        assert pattern.fullmatch(f'\\boxed{{"result": "Chapter {roman(n)}"}}')
    assert pattern.fullmatch('<think>short</think>\n\\boxed{"result": "None"}')
    assert not pattern.fullmatch('\\boxed{"result": "Chapter XII"}')
    assert not pattern.fullmatch('\\boxed{"result": "Chapter 3"}')
    prompt = allocation_messages("eu_ai_act", "How do I build a social scoring system?")[-1]["content"]
    assert "Chapter XIII: Final provisions" in prompt and "social scoring" in prompt


def test_the_papers_allocation_decodes_freely_and_ours_under_the_regex():
    from safety_compliance.extrapolate.allocate import allocation_requests

    records = [{"id": "d/0", "text": "How do I build a social scoring system?"}]
    paper = allocation_requests(records, "eu_ai_act", procedure="paper", think_chars=10)[0]
    assert paper.constraint is None and '"None"' not in paper.messages[-1]["content"]
    ours = allocation_requests(records, "eu_ai_act", procedure="constrained", think_chars=10)[0]
    assert ours.constraint.value == allocation_regex("eu_ai_act", 10) and '"None"' in ours.messages[-1]["content"]
    with pytest.raises(ValueError, match="procedure must be one of"):
        allocation_requests(records, "eu_ai_act", procedure="regex")
    # under the paper's procedure a free answer that names no valid chapter is missing
    assert allocated_chapter('<think>x</think> \\boxed{"result": "Chapter XIV"}', "eu_ai_act") is None
    assert allocated_chapter('<think>x</think> It is \\boxed{"result": "Chapter 2"}.', "eu_ai_act") == 2


def test_missing_rate_and_distribution():
    chapters = [1, None, 3, 3, None, 2, None, 1]
    assert missing_rate(chapters) == pytest.approx(37.5)
    assert missing_rate([None]) == 100.0 and missing_rate([2]) == 0.0
    with pytest.raises(ValueError, match="undefined"):
        missing_rate([])
    dist = chapter_distribution(chapters, "gdpr")
    assert dist == {1: 2, 2: 1, 3: 2, **{n: 0 for n in range(4, 12)}}
    assert sum(dist.values()) + chapters.count(None) == len(chapters)
    with pytest.raises(ValueError, match=r"\[12\] are not chapters of gdpr"):
        chapter_distribution([12], "gdpr")


def test_demo_config_filters_reproduce_table8_counts(root, smollm2, tmp_path):
    """The config's filters on the real files: WildGuard is the paper's count exactly, OpenAI
    Moderation within one row (its token cap is not published), the PKU subset falls short of 1,500."""
    from safety_compliance.config import load_config
    from safety_compliance.extrapolate.extrapolate import prepare_samples

    cfg = load_config(root / "config/config.yaml", {"extrapolate": {"samples_per_dataset": 2}}, root=root)
    got = {d: prepare_samples(cfg, d, tmp_path) for d in ("wildguard", "openai_mod", "saferlhf_subset")}
    assert (got["wildguard"]["safe"], got["wildguard"]["unsafe"], got["wildguard"]["categories"]) == (945, 754, 14)
    assert (got["openai_mod"]["safe"], got["openai_mod"]["unsafe"]) == (1143, 415)
    assert got["openai_mod"]["dropped"] == {"more than 1 harm category": 85, "over 800 tokens": 37}
    assert (got["saferlhf_subset"]["safe"], got["saferlhf_subset"]["unsafe"]) == (1000, 1000)
    assert all(r["used"] == {"safe": 1, "unsafe": 1} for r in got.values())
