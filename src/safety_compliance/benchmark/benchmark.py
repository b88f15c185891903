"""The synthesis stage for one law: seeds -> validated cases -> balanced split -> files and card.

Writes into `out_dir` (results/benchmark/{law}): cases.jsonl, train.jsonl, test.jsonl (the data
contract), rejected.jsonl (every case that did not make it, with why), synthesis_report.json and
README.md (the dataset card). A run whose teacher produced fewer than `benchmark.min_produced_rate` of
the requested cases, or no seed with both cases, stops after writing these (see check_floor).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .. import LABELS
from ..jsonl import write_json, write_jsonl, write_text_atomic
from ..llm.types import Generator
from .dataset_card import dataset_card
from ..case import CASE_FIELDS
from .seed_selection import load_seeds, select_seeds
from .regeneration import BelowFloor, check_floor
from .split import pair_cases, split_pairs
from .synthesis import SynthesisSettings, synthesize
from .teacher import open_teacher

RECORD_FIELDS = ("id", "law", "seed_id", "chapter", "article", "label", *CASE_FIELDS, "split")


def run_synthesis(cfg: dict[str, Any], law: str, seeds_path: str | Path, out_dir: str | Path,
                  generator: Generator | None = None) -> dict[str, Any]:
    """Build the benchmark of `law`; returns the synthesis report (also written to disk).

    The teacher is the registry model named by the config's `teacher` unless `generator` is given.
    """
    settings = SynthesisSettings.from_config(cfg)
    pool = load_seeds(seeds_path, law)
    seeds = select_seeds(pool, cfg["benchmark"]["seeds_per_law"], settings.seed)
    with open_teacher(cfg, "synthesize", generator) as teacher:
        result = synthesize(seeds, law, teacher, settings)
    pairs, unpaired = pair_cases(result.cases)
    cases = [{key: case[key] for key in RECORD_FIELDS} for case in split_pairs(pairs, settings.seed)]
    dropped = [{"id": c["id"], "law": law, "seed_id": c["seed_id"], "chapter": c["chapter"], "label": c["label"],
                "stage": "pairing", "reasons": ["unpaired: the other label's case of this seed was rejected"],
                "attempts": c["attempts"], "case": {k: c[k] for k in CASE_FIELDS}} for c in unpaired]
    report = dict(result.report)
    report.update(seed_pool=len(pool), pairs=len(pairs), unpaired=len(unpaired), in_benchmark=len(cases),
                  split={split: {label: sum(c["split"] == split and c["label"] == label for c in cases)
                                 for label in LABELS} for split in ("train", "test")})
    report["warnings"] = _warnings(report)
    out = Path(out_dir)
    write_jsonl(out / "cases.jsonl", cases)
    for split in ("train", "test"):
        write_jsonl(out / f"{split}.jsonl", [c for c in cases if c["split"] == split])
    write_jsonl(out / "rejected.jsonl", result.rejected + dropped)
    write_json(out / "synthesis_report.json", report)
    write_text_atomic(out / "README.md", dataset_card(cases, report, law, cfg["scale"]))
    check_floor(f"synthesize {law}", report["produced"], report["requested"], settings.min_produced_rate,
                "benchmark.min_produced_rate", report["rejected_by_reason"], out / "synthesis_report.json")
    if not pairs:
        raise BelowFloor(f"synthesize {law}: no seed has both of its cases valid ({len(unpaired)} valid cases lack "
                         f"their pair), so the benchmark would be empty. Report: {out / 'synthesis_report.json'}")
    return report


def _warnings(report: dict[str, Any]) -> list[str]:
    notes = []
    for split, labels in report["split"].items():
        if not all(labels.values()):
            notes.append(f"the {split} split lacks a label ({labels}); synthesise more seeds")
    return notes
