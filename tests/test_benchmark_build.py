"""The synthesis stage's files: the data contract, the card, the report, loadable with `datasets`."""

from __future__ import annotations

import json

import pytest
from benchmark_fakes import ScriptedTeacher, case_json, prompt_text, requested_label, seed_records

from safety_compliance.benchmark.benchmark import RECORD_FIELDS, run_synthesis
from safety_compliance.benchmark.regeneration import BelowFloor
from safety_compliance.config import load_config
from safety_compliance.jsonl import read_jsonl, write_jsonl

SEEDS = seed_records(chapters=(2, 2, 3, 3, 4, 4, 5, 5))


def script(request, call):
    # The permitted case of the seed on clause 3 always leaks, so that seed is left unpaired.
    if "clause 3." in prompt_text(request) and requested_label(request) == "permitted":
        return case_json("The clinic uploads the scans every night to the vendor. This is permitted under the rules.")
    return case_json(f"A clinic uploads patient scans every night ({requested_label(request)} variant, call {call}).")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("bench")
    write_jsonl(root / "seeds.jsonl", SEEDS)
    cfg = load_config("config/config.yaml", {"benchmark": {"seeds_per_law": None, "max_attempts": 2}})
    report = run_synthesis(cfg, "gdpr", root / "seeds.jsonl", root / "out", generator=ScriptedTeacher(script))
    return root / "out", report


def test_contract_files(built):
    out, report = built
    cases = read_jsonl(out / "cases.jsonl")
    assert all(tuple(sorted(c)) == tuple(sorted(RECORD_FIELDS)) for c in cases)
    assert [c["id"] for c in cases] == sorted(c["id"] for c in cases)
    train, test = read_jsonl(out / "train.jsonl"), read_jsonl(out / "test.jsonl")
    # 8 seeds, one left unpaired: 7 pairs, split 3 + 4 (chapter 3 has one pair only).
    assert sorted([len(train), len(test)]) == [6, 8] and len(cases) == 14
    assert {c["split"] for c in train} == {"train"} and {c["split"] for c in test} == {"test"}
    assert sorted(c["id"] for c in train + test) == [c["id"] for c in cases]
    for split in (train, test):
        assert sum(c["label"] == "prohibited" for c in split) == sum(c["label"] == "permitted" for c in split)


def test_report_accounts_for_every_request(built):
    out, report = built
    assert report == json.loads((out / "synthesis_report.json").read_text())
    assert report["requested"] == 16 and report["produced"] == 15 and report["rejected"] == 1
    assert report["rejected_by_reason"] == {"leak_verdict": 1}
    assert report["pairs"] == 7 and report["unpaired"] == 1
    rejected = read_jsonl(out / "rejected.jsonl")
    assert sorted(r["stage"] for r in rejected) == ["pairing", "validation"]
    assert report["in_benchmark"] == 14
    assert report["warnings"] == []


def test_card_and_datasets_loading(built):
    out, report = built
    card = (out / "README.md").read_text()
    assert card.startswith("---\n") and "scripted-teacher" in card and "leak_verdict: 1" in card
    assert "demo scale" in card
    from datasets import load_dataset

    bench = load_dataset(str(out))          # the card's YAML header names the two splits
    assert bench["train"].num_rows == report["split"]["train"]["prohibited"] * 2
    assert bench["train"].num_rows + bench["test"].num_rows == 14
    plain = load_dataset("json", data_files={"test": str(out / "test.jsonl")})["test"]
    assert set(RECORD_FIELDS) <= set(plain.column_names)


def test_reruns_are_byte_identical(built, tmp_path):
    out, _ = built
    cfg = load_config("config/config.yaml", {"benchmark": {"seeds_per_law": None, "max_attempts": 2}})
    write_jsonl(tmp_path / "seeds.jsonl", list(reversed(SEEDS)))
    run_synthesis(cfg, "gdpr", tmp_path / "seeds.jsonl", tmp_path / "again", generator=ScriptedTeacher(script))
    for name in ("cases.jsonl", "train.jsonl", "test.jsonl"):
        assert (tmp_path / "again" / name).read_bytes() == (out / name).read_bytes()


def test_a_stage_below_its_floor_fails_after_writing_its_report(tmp_path):
    """Most cases leak the verdict: the stage writes what it has, then stops with the counts and reasons."""
    def leaky(request, call):
        if "clause 0." in prompt_text(request):
            return case_json("A clinic uploads patient scans every night to a vendor's service.")
        return case_json("The clinic uploads the scans every night. This is permitted under the rules.")

    write_jsonl(tmp_path / "seeds.jsonl", SEEDS)
    cfg = load_config("config/config.yaml", {"benchmark": {"seeds_per_law": None, "max_attempts": 2}})
    with pytest.raises(BelowFloor) as err:
        run_synthesis(cfg, "gdpr", tmp_path / "seeds.jsonl", tmp_path / "out", generator=ScriptedTeacher(leaky))
    message = str(err.value)
    assert "kept 2 of 16 (12%), below benchmark.min_produced_rate = 0.5" in message
    assert "leak_verdict 14" in message and "synthesis_report.json" in message
    report = json.loads((tmp_path / "out" / "synthesis_report.json").read_text())
    assert report["produced"] == 2 and report["rejected_by_reason"] == {"leak_verdict": 14}
    # A floor of 0 lets a weak teacher through, but an empty benchmark never passes.
    cfg["benchmark"]["min_produced_rate"] = 0.0
    assert run_synthesis(cfg, "gdpr", tmp_path / "seeds.jsonl", tmp_path / "out",
                         generator=ScriptedTeacher(leaky))["in_benchmark"] == 2
    def one_sided(request, call):      # every prohibited case passes, every permitted one leaks
        if requested_label(request) == "prohibited":
            return case_json("A clinic uploads patient scans every night to a vendor's service.")
        return case_json("The clinic uploads the scans every night. This is permitted under the rules.")

    with pytest.raises(BelowFloor, match=r"no seed has both of its cases valid \(8 valid cases lack their pair\)"):
        run_synthesis(cfg, "gdpr", tmp_path / "seeds.jsonl", tmp_path / "out", generator=ScriptedTeacher(one_sided))
