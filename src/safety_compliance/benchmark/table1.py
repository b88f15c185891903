"""The human-evaluation stage: draw the cases, write the kit, let the optional LLM judge rate them,
read every sheet back and write Table 1 with inter-annotator agreement."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from ..jsonl import read_jsonl, write_json, write_text_atomic
from ..llm.types import Generator
from ..tables import write_table
from ..annotation_kit import draw_cases, write_annotation_kit
from .judge import judge_cases
from .ratings import agreement, beside_paper_average, is_model, paper_table1, read_ratings, table1
from .seed_selection import load_seeds
from .teacher import open_generator

PAPER_RESULTS = Path("config/paper_results.yaml")


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
                 paper_results if paper_results is not None else yaml.safe_load(PAPER_RESULTS.read_text()))
    write_json(out / "report.json", report)
    return report


def write_tables(ratings: pd.DataFrame, humans: list[str], tables_dir: Path, scale: str, ratings_dir: Path,
                 paper_results: dict) -> dict[str, pd.DataFrame]:
    run = table1(ratings)
    models = bool(len(run)) and bool(run["Annotator"].map(is_model).any())
    if humans:
        whose = "human annotators" + (" and an LLM judge (rows 'model: ...')" if models else "")
    elif models:
        whose = (f"an LLM judge only: no human ratings were found in {ratings_dir}, so no row is a person's "
                 "(rows 'model: ...' are a model's ratings)")
    else:
        whose = f"none: no human ratings in {ratings_dir} and no LLM-judge ratings (human_eval.judge unset, or no cases)"
    caption = (f"Table 1: human evaluation, mean rating per annotator as % of the top score ({scale} scale); "
               f"raters: {whose}")
    write_table(run, tables_dir / "table1", caption)
    versus = beside_paper_average(run, paper_table1(paper_results))
    write_table(versus, tables_dir / "table1_vs_paper",
                f"Table 1, each rater of this run ({scale} scale) beside the paper's three-annotator average, "
                "with run - paper" + ("" if len(versus) else " (no ratings in this run)"))
    alpha = agreement(ratings)
    note = ("" if len(humans) >= 2 else
            f" (undefined: {len(humans)} human annotator(s); agreement needs two or more)")
    write_table(alpha, tables_dir / "table1_agreement",
                f"Inter-annotator agreement for Table 1, Krippendorff's alpha on the ordinal 1-5 scale{note}")
    return {"table1": run, "table1_vs_paper": versus, "table1_agreement": alpha}
