"""Reading the law stage's seed pool and drawing a subset stratified over chapters."""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..jsonl import read_jsonl

SEED_KEYS = ("id", "law", "chapter", "article", "text")


def load_seeds(path: str | Path, law: str) -> list[dict[str, Any]]:
    """The seeds of `law` in `path` (results/law/{law}/seeds.jsonl), checked for the fields we use."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no seed pool at {path}; run the law stage (rule law_tree) first")
    seeds = read_jsonl(path)
    if not seeds:
        raise ValueError(f"{path} holds no seeds")
    for number, seed in enumerate(seeds, 1):
        missing = [k for k in SEED_KEYS if k not in seed]
        if missing:
            raise ValueError(f"{path}:{number}: seed lacks {missing}")
        if seed["law"] != law:
            raise ValueError(f"{path}:{number}: seed {seed['id']} is of law '{seed['law']}', expected '{law}'")
    return seeds


def select_seeds(seeds: Sequence[dict[str, Any]], count: int | None, seed: int = 0) -> list[dict[str, Any]]:
    """`count` seeds spread over the chapters as evenly as possible (all seeds when count is None).

    Chapters take turns in a seeded random order, each giving a seeded random seed of its own, so a
    small demo subset touches as many chapters as it can. Sorted by id; independent of input order.
    """
    pool = sorted(seeds, key=lambda s: str(s["id"]))
    if count is None or count >= len(pool):
        return pool
    if count < 1:
        raise ValueError(f"seeds_per_law must be at least 1 (or null for all), not {count}")
    rng = random.Random(seed)
    chapters: dict[int, list[dict[str, Any]]] = {}
    for item in pool:
        chapters.setdefault(item["chapter"], []).append(item)
    for members in chapters.values():
        rng.shuffle(members)
    order = sorted(chapters)
    rng.shuffle(order)
    chosen: list[dict[str, Any]] = []
    while len(chosen) < count:
        for chapter in order:
            if chapters[chapter] and len(chosen) < count:
                chosen.append(chapters[chapter].pop())
    return sorted(chosen, key=lambda s: str(s["id"]))
