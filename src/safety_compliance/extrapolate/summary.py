"""Reading the jobs' files back and writing the stage's outputs: Figures 2-3, Tables 5 and 8, the
missing rates and the human-evaluation kit of the generated cases."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from ..jsonl import read_jsonl
from ..tables import write_csv, write_table
from . import dataset_tables as tables
from .dataset_tables import score_frame, scores
from .allocation_figures import chapter_figure, figure_stem
from .extrapolate import dataset_dir, law_dir, model_entry, settings, stage_dir


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing; run the extrapolation jobs first (rules allocate, extrapolate_cases)")
    return json.loads(path.read_text(encoding="utf-8"))


def filter_reports(cfg: dict[str, Any], results_dir: str | Path) -> dict[str, dict[str, Any]]:
    return {d: _read_json(dataset_dir(d, results_dir) / "filter_report.json") for d in settings(cfg)["datasets"]}


def allocations(cfg: dict[str, Any], results_dir: str | Path) -> dict[tuple[str, str], list[int | None]]:
    return {(d, law): [row["chapter"] for row in read_jsonl(law_dir(d, law, results_dir) / "allocation.jsonl")]
            for d in settings(cfg)["datasets"] for law in cfg["laws"]}


def case_reports(cfg: dict[str, Any], results_dir: str | Path) -> pd.DataFrame:
    rows = []
    for d in settings(cfg)["datasets"]:
        for law in cfg["laws"]:
            report = _read_json(law_dir(d, law, results_dir) / "case_report.json")
            rows.append({"dataset": d, "law": law, "requested": report["requested"], "produced": report["produced"],
                         "rejected": report["rejected"],
                         "reasons": "; ".join(f"{k}: {v}" for k, v in report["rejected_by_reason"].items())})
    return pd.DataFrame(rows)


def all_cases(cfg: dict[str, Any], results_dir: str | Path) -> list[dict[str, Any]]:
    return [case for d in settings(cfg)["datasets"] for law in cfg["laws"]
            for case in read_jsonl(law_dir(d, law, results_dir) / "cases.jsonl")]


def classifier_scores(cfg: dict[str, Any], results_dir: str | Path) -> pd.DataFrame:
    rows = []
    for model in settings(cfg)["classifiers"]:
        entry = model_entry(cfg, model, results_dir)
        for law in cfg["laws"]:
            for d in settings(cfg)["datasets"]:
                folder = law_dir(d, law, results_dir)
                cases = read_jsonl(folder / "cases.jsonl")
                preds = read_jsonl(folder / "predictions" / f"{model}.jsonl")
                rows.append({"law": law, "group": entry.group, "model": entry.label, "dataset": d,
                             **scores(cases, preds)})
    return score_frame(rows)


def write_outputs(cfg: dict[str, Any], results_dir: str | Path, figures_dir: str | Path,
                  paper_file: str | Path = tables.PAPER_RESULTS) -> dict[str, Any]:
    """Every table and figure of the stage; returns the frames for display."""
    paper = tables.paper_results(paper_file)
    tables_dir = Path(results_dir) / "tables"
    scale = f"{cfg['scale']} scale"
    datasets = settings(cfg)["datasets"]

    reports = filter_reports(cfg, results_dir)
    t8 = tables.table8(reports, {d: r["used"] for d, r in reports.items()}, paper)
    write_table(t8, tables_dir / "table8", f"Table 8: seed safety datasets, this run ({scale}) beside the paper")
    t8_versus = tables.table8_vs_paper(reports, paper)
    write_table(t8_versus, tables_dir / "table8_vs_paper",
                f"Table 8, filtered counts of this run ({scale}) beside the paper: run - paper where the "
                "datasets are the same, the reason where they are not")

    alloc = allocations(cfg, results_dir)
    missing = tables.missing_table(alloc, paper, settings(cfg)["procedure"])
    write_table(missing, tables_dir / "extrapolate_missing_rates",
                f"Chapter allocation missing rate (%), this run ({scale}) beside the paper: the share of "
                "samples whose answer names no valid chapter")
    figures = []
    for law in cfg["laws"]:
        per_dataset = {d: alloc[(d, law)] for d in datasets}
        figures += chapter_figure(per_dataset, law, Path(figures_dir) / figure_stem(law), note=scale)

    generated = case_reports(cfg, results_dir)
    write_table(generated, tables_dir / "extrapolate_cases", f"Generated compliance cases per dataset and law ({scale})")
    score_rows = classifier_scores(cfg, results_dir)
    t5 = tables.table5(score_rows, datasets)
    write_table(tables.flat_columns(t5), tables_dir / "table5",
                f"Table 5: accuracy, macro-F1 (the paper's F1) and F1 of prohibited (%) on the extrapolated "
                f"cases, this run ({scale}); n = cases per law and dataset",
                intervals=tables.table5_intervals(score_rows, datasets),
                intervals_caption="Table 5, 95 % Wilson score intervals (%) of the accuracies above")
    write_csv(tables.table5_cells(score_rows), tables_dir / "table5_cells.csv")
    t5_versus = tables.table5_vs_paper(score_rows, paper)
    write_table(t5_versus, tables_dir / "table5_vs_paper",
                f"Table 5, this run ({scale}) beside the paper (accuracy and macro-F1): run - paper where the "
                "datasets are the same, the reason where they are not")
    return {"table8": t8, "table8_vs_paper": t8_versus, "missing": missing, "cases": generated, "table5": t5,
            "table5_vs_paper": t5_versus, "scores": score_rows, "figures": figures}


def write_kit(cfg: dict[str, Any], results_dir: str | Path) -> dict[str, Path]:
    """The benchmark's annotation kit for a seeded sample of the generated cases; each case is shown
    beside the safety sample it was built from."""
    from ..annotation_kit import draw_cases, write_annotation_kit

    ex = settings(cfg)
    cases = all_cases(cfg, results_dir)
    if not cases:
        raise ValueError("no generated case passed validation, so there is nothing to annotate")
    samples = {s["id"]: s["text"] for d in ex["datasets"]
               for s in read_jsonl(dataset_dir(d, results_dir) / "samples.jsonl")}
    drawn = draw_cases(cases, ex.get("human_eval_per_law", 50), seed=ex.get("sample_seed", 0))
    return write_annotation_kit(drawn, stage_dir(results_dir) / "human_eval", seeds=samples,
                                title="Extrapolated compliance cases: human evaluation")
