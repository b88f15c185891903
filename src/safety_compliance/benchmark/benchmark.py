"""The benchmark stages: synthesis (cases, validation, split), distillation traces for the SFT cold
start, and the human evaluation (Table 1). The rules, the CLI (`safety-compliance benchmark ...`) and
notebooks 02-04 call these functions:

    rule        function           files
    synthesize  run_synthesis      results/benchmark/{law}/cases.jsonl, train.jsonl, test.jsonl,
                                   rejected.jsonl, synthesis_report.json, README.md (the dataset card)
    human_eval  run_human_eval     results/human_eval/kit/ (annotate.html, sheet.csv), judge/, report.json;
                                   results/tables/table1{,_vs_paper,_agreement}.{csv,tex,md}
    distill     run_distillation   results/distill/{law}/sft.jsonl, rejected.jsonl, distill_report.json

Synthesis and distillation stop after writing their reports when too little survives (see
regeneration.check_floor): fewer than `benchmark.min_produced_rate` of the requested cases, or no
seed with both cases; fewer than `distill.min_kept_rate` of the train cases with a trace.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from .. import LABELS
from ..annotation_kit import draw_cases, write_annotation_kit
from ..case import CASE_FIELDS
from ..jsonl import read_jsonl, write_json, write_jsonl, write_text_atomic
from ..llm.types import Generator
from ..versus_paper import load_paper_results
from .dataset_card import dataset_card
from .distill import DistillSettings, distill
from .judge import judge_cases
from .ratings import is_model, read_ratings
from .regeneration import BelowFloor, check_floor
from .seed_selection import load_seeds, select_seeds
from .split import pair_cases, split_pairs
from .synthesis import SynthesisSettings, synthesize
from .table1 import write_tables
from .teacher import open_generator, open_teacher

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


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_")


def run_human_eval(cfg: dict[str, Any], laws: list[str], results_dir: str | Path, tables_dir: str | Path,
                   generator: Generator | None = None, paper_results: dict | None = None) -> dict[str, Any]:
    """Kit under {results_dir}/human_eval/kit, the judge's sheet under .../judge, Table 1 under
    `tables_dir`. Reads cases from {results_dir}/benchmark/{law}/cases.jsonl and seeds from
    {results_dir}/law/{law}/seeds.jsonl; human sheets from the config's `human_eval.ratings_dir`."""
    settings = cfg["human_eval"]
    results_dir, tables_dir = Path(results_dir), Path(tables_dir)
    out = results_dir / "human_eval"
    cases, rules = [], {}
    for law in laws:
        path = results_dir / "benchmark" / law / "cases.jsonl"
        if not path.is_file():
            raise FileNotFoundError(f"no benchmark at {path}; run the synthesis stage first")
        cases += read_jsonl(path)
        rules.update({s["id"]: s["text"] for s in load_seeds(results_dir / "law" / law / "seeds.jsonl", law)})
    drawn = draw_cases(cases, int(settings["cases_per_law"]), int(settings["seed"]))
    report: dict[str, Any] = {"cases": {law: sum(c["law"] == law for c in drawn) for law in laws}}
    if drawn:
        write_annotation_kit(drawn, out / "kit", seeds=rules)
    judge_sheets = []
    if settings.get("judge") and drawn:
        with open_generator(cfg, settings["judge"], "human_eval", generator) as judge:
            sheet, report["judge"] = judge_cases(drawn, rules, judge, int(settings["judge_max_tokens"]))
        path = out / "judge" / f"{_safe(settings['judge'])}.csv"
        write_text_atomic(path, sheet)
        judge_sheets.append(path)
    ratings_dir = Path(settings["ratings_dir"])
    human_sheets = sorted(ratings_dir.glob("*.csv")) if ratings_dir.is_dir() else []
    ratings = read_ratings(human_sheets + judge_sheets)
    unknown = sorted(set(ratings["case_id"]) - {c["id"] for c in drawn})
    if unknown:
        raise ValueError(f"the sheets in {ratings_dir} rate {len(unknown)} case(s) not in this kit, e.g. "
                         f"{unknown[0]!r}: they belong to another benchmark; remove them or rebuild the kit")
    humans = sorted({r for r in ratings["rater"] if not is_model(r)})
    report.update(human_sheets=[str(p) for p in human_sheets], human_annotators=humans,
                  model_raters=sorted({r for r in ratings["rater"] if is_model(r)}))
    write_tables(ratings, humans, tables_dir, cfg["scale"], ratings_dir,
                 paper_results if paper_results is not None else load_paper_results())
    write_json(out / "report.json", report)
    return report


def run_distillation(cfg: dict[str, Any], law: str, train_path: str | Path, seeds_path: str | Path,
                     out_dir: str | Path, generator: Generator | None = None) -> dict[str, Any]:
    """Distil traces for the train split of `law` into `out_dir` (sft.jsonl, rejected.jsonl,
    distill_report.json); returns the report."""
    train_path = Path(train_path)
    if not train_path.is_file():
        raise FileNotFoundError(f"no train split at {train_path}; run the synthesis stage first")
    cases = read_jsonl(train_path)
    rules = {seed["id"]: seed["text"] for seed in load_seeds(seeds_path, law)}
    settings = DistillSettings.from_config(cfg)
    with open_teacher(cfg, "distill", generator) as teacher:
        records, rejected, report = distill(cases, rules, teacher, settings)
    report["law"] = law
    out = Path(out_dir)
    write_jsonl(out / "sft.jsonl", [{k: v for k, v in r.items() if k != "attempts"} for r in records])
    write_jsonl(out / "rejected.jsonl", rejected)
    write_json(out / "distill_report.json", report)
    check_floor(f"distill {law}", len(records), len(cases), settings.min_kept_rate, "distill.min_kept_rate",
                report["rejected_by_reason"], out / "distill_report.json")
    return report
