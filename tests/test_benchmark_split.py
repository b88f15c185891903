"""The split: 50:50, balanced in every split, stratified by chapter, stable across reruns."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from safety_compliance.benchmark.split import pair_cases, split_pairs


def make_cases(chapters: dict[int, int], missing: set[tuple[str, str]] = frozenset()) -> list[dict]:
    cases = []
    for chapter, seeds in chapters.items():
        for i in range(seeds):
            seed_id = f"gdpr/ch{chapter:02d}/s{i:03d}"
            for label in ("prohibited", "permitted"):
                if (seed_id, label) not in missing:
                    cases.append({"id": f"{seed_id}/{label}", "seed_id": seed_id, "chapter": chapter, "label": label})
    return cases


def test_pairs_and_unpaired():
    cases = make_cases({1: 3}, missing={("gdpr/ch01/s001", "permitted")})
    pairs, unpaired = pair_cases(cases)
    assert len(pairs) == 2 and [c["id"] for c in unpaired] == ["gdpr/ch01/s001/prohibited"]
    assert all([c["label"] for c in p] == ["prohibited", "permitted"] for p in pairs)


def test_pairing_rejects_bad_labels_and_duplicates():
    with pytest.raises(ValueError, match="label"):
        pair_cases([{"id": "x", "seed_id": "s", "chapter": 1, "label": "unsafe"}])
    case = {"id": "x", "seed_id": "s", "chapter": 1, "label": "permitted"}
    with pytest.raises(ValueError, match="two permitted"):
        pair_cases([case, dict(case, id="y")])


@pytest.mark.parametrize("chapters", [{1: 10, 2: 7, 3: 1, 4: 4}, {1: 1, 2: 1, 3: 1}, {5: 2}])
def test_split_is_half_balanced_and_stratified(chapters):
    pairs, _ = pair_cases(make_cases(chapters))
    cases = split_pairs(pairs, seed=3)
    count = Counter((c["split"], c["label"]) for c in cases)
    for split in ("train", "test"):
        assert count[(split, "prohibited")] == count[(split, "permitted")]      # balanced
    total = {s: count[(s, "prohibited")] for s in ("train", "test")}
    assert abs(total["train"] - total["test"]) <= 1                             # 50:50 up to one pair
    for chapter, seeds in chapters.items():                                      # every chapter halved
        in_train = sum(c["split"] == "train" and c["chapter"] == chapter for c in cases) // 2
        assert in_train in (seeds // 2, seeds - seeds // 2)
    by_seed = {}
    for case in cases:                                                           # pairs stay together
        by_seed.setdefault(case["seed_id"], set()).add(case["split"])
    assert all(len(s) == 1 for s in by_seed.values())


def test_split_is_stable_across_reruns_and_input_order():
    cases = make_cases({1: 9, 2: 5, 3: 3})
    first = split_pairs(pair_cases(cases)[0], seed=0)
    shuffled = list(cases)
    random.Random(7).shuffle(shuffled)
    again = split_pairs(pair_cases(shuffled)[0], seed=0)
    assert first == again
    assert [c["id"] for c in first] == sorted(c["id"] for c in cases)
    other = split_pairs(pair_cases(cases)[0], seed=1)
    assert [c["split"] for c in other] != [c["split"] for c in first]


def test_two_pairs_give_both_labels_in_both_splits():
    cases = split_pairs(pair_cases(make_cases({1: 1, 7: 1}))[0])
    assert Counter((c["split"], c["label"]) for c in cases) == {
        ("train", "prohibited"): 1, ("train", "permitted"): 1, ("test", "prohibited"): 1, ("test", "permitted"): 1}
