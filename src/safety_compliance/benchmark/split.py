"""The 50:50 train/test split, stratified by chapter and label, balanced by construction.

The unit of the split is the pair: a seed's prohibited case and its permitted case. A seed whose
two cases both passed validation forms a pair; a seed with only one valid case is left out of the
benchmark (and counted), since keeping it would unbalance the labels. Pairs are split chapter by
chapter, half to train and half to test, so:
- every split holds exactly as many prohibited as permitted cases (each pair brings one of each),
- every chapter is divided as evenly as its pair count allows (an odd pair goes to the split that is
  behind overall, so the totals differ by at most one pair),
- a seed's two cases never straddle the splits, so the test split asks about clauses whose wording
  the student has not been trained on.
The draw is seeded and depends only on the set of case ids, so reruns give the same split.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from .. import LABELS


def pair_cases(cases: Sequence[dict[str, Any]]) -> tuple[list[list[dict[str, Any]]], list[dict[str, Any]]]:
    """(pairs, unpaired): pairs of one case per label sharing a seed, sorted by seed id."""
    by_seed: dict[str, dict[str, dict[str, Any]]] = {}
    for case in cases:
        if case["label"] not in LABELS:
            raise ValueError(f"case {case.get('id')} has label {case['label']!r}; labels are {LABELS}")
        slot = by_seed.setdefault(case["seed_id"], {})
        if case["label"] in slot:
            raise ValueError(f"seed {case['seed_id']} has two {case['label']} cases")
        slot[case["label"]] = case
    pairs, unpaired = [], []
    for seed_id in sorted(by_seed):
        slot = by_seed[seed_id]
        if len(slot) == len(LABELS):
            pairs.append([slot[label] for label in LABELS])
        else:
            unpaired += list(slot.values())
    return pairs, unpaired


def split_pairs(pairs: Sequence[Sequence[dict[str, Any]]], seed: int = 0) -> list[dict[str, Any]]:
    """Every case of `pairs` with `split` set to train or test, sorted by id (see the module doc)."""
    by_chapter: dict[Any, list[Sequence[dict[str, Any]]]] = {}
    for pair in sorted(pairs, key=lambda p: str(p[0]["seed_id"])):
        by_chapter.setdefault(pair[0]["chapter"], []).append(pair)
    rng = random.Random(seed)
    totals = {"train": 0, "test": 0}
    out: list[dict[str, Any]] = []
    for chapter in sorted(by_chapter, key=str):
        members = list(by_chapter[chapter])
        rng.shuffle(members)
        half = len(members) // 2
        extra = []
        if len(members) % 2:
            # The odd pair goes where fewer pairs are so far; a tie is broken by the seeded draw.
            behind = sorted(totals, key=lambda k: (totals[k], rng.random()))[0]
            extra = [behind]
        names = ["train"] * half + ["test"] * half + extra
        for pair, name in zip(members, names):
            totals[name] += 1
            out += [{**case, "split": name} for case in pair]
    return sorted(out, key=lambda c: str(c["id"]))
