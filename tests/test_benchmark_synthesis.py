"""Synthesis with a scripted teacher: every request is produced or rejected under the right reason."""

from __future__ import annotations

import json

import pytest
from benchmark_fakes import ScriptedTeacher, case_json, prompt_text, requested_label, seed_records

from safety_compliance.benchmark.regeneration import SEED_STRIDE
from safety_compliance.benchmark.seed_selection import load_seeds, select_seeds
from safety_compliance.benchmark.synthesis import SynthesisSettings, synthesize
from safety_compliance.case import CASE_FIELDS

SEEDS = seed_records(chapters=(2, 3, 4, 5))


def which_seed(request) -> int:
    text = prompt_text(request)
    return next(i for i, s in enumerate(SEEDS) if s["text"] in text)


def script(request, call):
    seed, label, attempt = which_seed(request), requested_label(request), request.seed // SEED_STRIDE
    if seed == 0 and label == "prohibited" and attempt == 0:
        return "Sure! Here is the case you asked for."                     # not JSON, then fine
    if seed == 1 and label == "prohibited":
        return case_json(jurisdiction=None)                                 # lacks a field, always
    if seed == 1 and label == "permitted":
        return case_json("A clinic shares patient scans with an analytics vendor every night. "
                         "The processing complies with the GDPR.")
    if seed == 2:
        return '{"parties_involved": "A clinic", "factual_backgr', "length"  # cut at max_tokens
    return case_json()


@pytest.fixture(scope="module")
def result():
    teacher = ScriptedTeacher(script)
    out = synthesize(SEEDS, "gdpr", teacher, SynthesisSettings(max_attempts=3, seed=0))
    out.teacher = teacher
    return out


def test_counts_and_reasons(result):
    report = result.report
    assert report["requested"] == 8
    assert report["produced"] == 4 and len(result.cases) == 4
    assert report["rejected"] == 4 and len(result.rejected) == 4
    assert report["rejected_by_reason"] == {"leak_law_name": 1, "missing_field": 1, "truncated": 2}
    assert report["produced_after_regeneration"] == 1
    # 1 retry for seed 0, 2 retries for each of the four rejected cases.
    assert report["regenerated"] == 9
    assert report["failed_attempts_by_reason"] == {"leak_law_name": 3, "missing_field": 3, "not_json": 1,
                                                   "truncated": 6}
    assert report["rates"]["rejected_truncated"] == 0.25
    assert report["tokens"]["answers"] == 8 + 9 and report["tokens"]["completion_tokens"] == 5 * 17


def test_nothing_is_dropped_silently(result):
    ids = {c["id"] for c in result.cases} | {r["id"] for r in result.rejected}
    assert ids == {f"{s['id']}/{label}" for s in SEEDS for label in ("prohibited", "permitted")}
    leak = next(r for r in result.rejected if r["id"].endswith("art011/p1/permitted"))
    assert leak["attempts"] == 3 and "GDPR" in leak["reasons"][0] and "complies with the GDPR" in leak["raw"]


def test_regeneration_uses_new_seeds_and_the_schema(result):
    first = [r for r in result.teacher.requests if which_seed(r) == 0 and requested_label(r) == "prohibited"]
    assert [r.seed for r in first] == [0, SEED_STRIDE]
    assert all(r.temperature > 0 for r in first)
    constraint = first[0].constraint
    assert constraint.kind == "json_schema" and constraint.value["required"] == list(CASE_FIELDS)
    assert "GDPR" in first[0].avoid and "2016/679" in first[0].avoid


def test_case_records(result):
    case = result.cases[0]
    assert case["id"] == f"{SEEDS[0]['id']}/prohibited"
    assert {"id", "law", "seed_id", "chapter", "article", "label", *CASE_FIELDS} <= set(case)
    assert case["law"] == "gdpr" and case["chapter"] == SEEDS[0]["chapter"]


def test_prompt_carries_seed_and_label_not_other_label(result):
    request = result.teacher.requests[0]
    text = prompt_text(request)
    assert SEEDS[0]["text"] in text and "GDPR" in text
    assert requested_label(request) in ("prohibited", "permitted")


def test_settings_reject_bad_values():
    with pytest.raises(ValueError, match="max_attempts"):
        SynthesisSettings(max_attempts=0)
    with pytest.raises(ValueError, match="lacks bounds"):
        SynthesisSettings(bounds={"jurisdiction": (1, 2)})
    bounds = {name: (1, 10) for name in CASE_FIELDS} | {"jurisdiction": (5, 2)}
    with pytest.raises(ValueError, match="jurisdiction"):
        SynthesisSettings(bounds=bounds)


def test_select_seeds_spreads_over_chapters_and_is_stable():
    pool = seed_records(chapters=(1, 1, 1, 1, 2, 2, 3, 3, 3, 4))
    chosen = select_seeds(pool, 4, seed=0)
    assert sorted(s["chapter"] for s in chosen) == [1, 2, 3, 4]
    assert chosen == select_seeds(list(reversed(pool)), 4, seed=0)
    assert len(select_seeds(pool, 7, seed=0)) == 7
    assert select_seeds(pool, None) == sorted(pool, key=lambda s: s["id"])
    with pytest.raises(ValueError, match="at least 1"):
        select_seeds(pool, 0)


def test_load_seeds_checks_the_pool(tmp_path):
    path = tmp_path / "seeds.jsonl"
    with pytest.raises(FileNotFoundError, match="law stage"):
        load_seeds(path, "gdpr")
    path.write_text(json.dumps({"id": "x", "law": "eu_ai_act", "chapter": 1, "article": 1, "text": "t"}) + "\n")
    with pytest.raises(ValueError, match="expected 'gdpr'"):
        load_seeds(path, "gdpr")
    path.write_text(json.dumps({"id": "x", "law": "gdpr"}) + "\n")
    with pytest.raises(ValueError, match="lacks"):
        load_seeds(path, "gdpr")
