"""Which records of a safety dataset become seeds: the preprocessing behind the paper's Table 8.

The paper's counts come from GSPR's preprocessing (same research group): keep rows with at most one
harm category (OpenAI Moderation counts only S, H, V, HR and SH), drop rows longer than a token cap,
and for PKU-SafeRLHF sample a fixed number per class with seed 50. Each step is a config setting, and
the report says how many rows each step removed and where a target could not be reached.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..safety_datasets import SAFE, UNSAFE, Record

TokenCounter = Callable[[str], int]


@dataclass(frozen=True)
class FilterSettings:
    max_categories: int | None = 1                    # None: no category rule
    categories: tuple[str, ...] | None = None         # count only these categories (OpenAI: S H V HR SH)
    token_cap: int | None = None                      # None: no length rule
    per_class: int | None = None                      # None: keep every row of each class
    seed: int = 50

    @classmethod
    def for_dataset(cls, cfg_filter: dict[str, Any], dataset: str) -> FilterSettings:
        """The settings the config's `extrapolate.filter` block gives `dataset`."""
        cats = (cfg_filter.get("categories") or {}).get(dataset)
        return cls(max_categories=cfg_filter.get("max_categories"),
                   categories=tuple(cats) if cats is not None else None,
                   token_cap=(cfg_filter.get("token_cap") or {}).get(dataset),
                   per_class=(cfg_filter.get("per_class") or {}).get(dataset),
                   seed=cfg_filter.get("seed", 50))


@dataclass
class FilterReport:
    dataset: str
    rows: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    safe: int = 0
    unsafe: int = 0
    categories: int | None = None                     # distinct categories among kept rows; None: unknown
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"dataset": self.dataset, "rows": self.rows, "dropped": dict(sorted(self.dropped.items())),
                "safe": self.safe, "unsafe": self.unsafe, "categories": self.categories, "notes": self.notes}


def _restrict(record: Record, keep: tuple[str, ...] | None) -> Record:
    """The record with its categories narrowed to `keep` (and `category` recomputed)."""
    if keep is None or record["categories"] is None:
        return record
    cats = [c for c in record["categories"] if c in keep]
    return {**record, "categories": cats, "category": cats[0] if len(cats) == 1 else None}


def apply_filters(records: Sequence[Record], settings: FilterSettings, dataset: str,
                  count_tokens: TokenCounter | None = None) -> tuple[list[Record], FilterReport]:
    """The records that pass every rule, and a report of what each rule removed."""
    report = FilterReport(dataset=dataset, rows=len(records))
    dropped: Counter[str] = Counter()
    kept = []
    if settings.token_cap is not None and count_tokens is None:
        raise ValueError(f"{dataset}: a token cap of {settings.token_cap} needs a tokenizer to count with")
    for record in records:
        record = _restrict(record, settings.categories)
        if record["label"] is None:
            dropped["no label"] += 1
        elif (settings.max_categories is not None and record["categories"] is not None
              and len(record["categories"]) > settings.max_categories):
            dropped[f"more than {settings.max_categories} harm categor{'y' if settings.max_categories == 1 else 'ies'}"] += 1
        elif settings.token_cap is not None and count_tokens(record["text"]) > settings.token_cap:
            dropped[f"over {settings.token_cap} tokens"] += 1
        else:
            kept.append(record)
    if settings.max_categories is not None and any(r["categories"] is None for r in kept):
        report.notes.append("the source names no harm categories, so the category rule could not be applied")
    if settings.per_class is not None:
        kept = _per_class(kept, settings.per_class, settings.seed, report, dropped)
    report.dropped = dict(dropped)
    labels = Counter(r["label"] for r in kept)
    report.safe, report.unsafe = labels[SAFE], labels[UNSAFE]
    if kept and all(r["categories"] is not None for r in kept):
        report.categories = len({c for r in kept for c in r["categories"]})
    return sorted(kept, key=lambda r: r["id"]), report


def _per_class(records: list[Record], target: int, seed: int, report: FilterReport,
               dropped: Counter[str]) -> list[Record]:
    rng = random.Random(seed)
    out = []
    for label in (SAFE, UNSAFE):
        pool = sorted((r for r in records if r["label"] == label), key=lambda r: r["id"])
        if len(pool) < target:
            report.notes.append(f"{target:,} {label} rows wanted per class, only {len(pool):,} available: all kept")
            out += pool
        else:
            out += rng.sample(pool, target)
            dropped[f"beyond {target} per class"] += len(pool) - target
    return out


def stratified_sample(records: Sequence[Record], n: int | None, seed: int = 0) -> list[Record]:
    """`n` records split as evenly as the data allows between safe and unsafe (demo scale);
    None keeps all. The same seed always picks the same records."""
    if n is None or n >= len(records):
        return sorted(records, key=lambda r: r["id"])
    if n < 0:
        raise ValueError(f"samples_per_dataset must be >= 0, not {n}")
    pools = {label: sorted((r for r in records if r["label"] == label), key=lambda r: r["id"])
             for label in (SAFE, UNSAFE)}
    take = {SAFE: min(n // 2, len(pools[SAFE]))}
    take[UNSAFE] = min(n - take[SAFE], len(pools[UNSAFE]))
    take[SAFE] = min(n - take[UNSAFE], len(pools[SAFE]))          # give a short class's share back
    rng = random.Random(seed)
    chosen = [r for label in (SAFE, UNSAFE) for r in rng.sample(pools[label], take[label])]
    return sorted(chosen, key=lambda r: r["id"])


def hf_token_counter(tokenizer_path: str) -> TokenCounter:
    """Counts tokens with a transformers tokenizer (a folder or a hub id)."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_path)
    return lambda text: len(tokenizer(text, add_special_tokens=False)["input_ids"])
