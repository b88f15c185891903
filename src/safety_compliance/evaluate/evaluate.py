"""The evaluation stage end to end: which cases, which models, prediction files, tables. The rules, the
CLI (`safety-compliance evaluate`) and notebook 07 call these functions:

    rule              function                 files
    evaluate,         evaluate_model           results/eval/{law}/{model}.jsonl
      evaluate_api
    evaluate_privaci  evaluate_privaci         results/eval/privaci/{law}/{model}.jsonl
    eval_tables       build_tables,            results/tables/table{3,4,6,7}{,_cells,_vs_paper}, eval_summary,
                      build_privaci_table      eval_gains, table_privaci{,_cells} (.csv, .tex, .md)
    training_figure   training_effect.         paper_figures/figure_demo_training.{pdf,png}
                        write_training_figure

Run alone, notebook 07 makes whatever prediction file is missing (`ensure_predictions`). The guard
(`safety-compliance judge`, `ComplianceReasoner`) is evaluate.guard.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pandas as pd

from .. import metrics
from ..families import get_family, predict
from ..jsonl import read_jsonl, write_jsonl
from ..laws import get_law, titles
from ..registry import ModelEntry, evaluated_students, get_model, registry_of, student_bases
from ..resources import has_privaci
from ..tables import interval_text, not_run_note, write_csv, write_table
from ..versus_paper import compare, load_paper_results, matched, paper_caveat
from .accuracy_tables import accuracy_table, models_in, paper_table, row_of, table_specs


def split_path(results_dir: str | Path, law: str, split: str) -> Path:
    return Path(results_dir) / "benchmark" / law / f"{split}.jsonl"


def predictions_path(results_dir: str | Path, law: str, model: str) -> Path:
    return Path(results_dir) / "eval" / law / f"{model}.jsonl"


def select_cases(cases: list[dict], limit: int | None, seed: int = 0) -> list[dict]:
    """All cases, or a seeded random `limit` of them (the same subset for every model), sorted by id."""
    ordered = sorted(cases, key=lambda c: c["id"])
    if limit is None or limit >= len(ordered):
        return ordered
    return sorted(random.Random(seed).sample(ordered, limit), key=lambda c: c["id"])


def test_cases(cfg: dict, law: str, results_dir: str | Path = "results") -> list[dict]:
    settings = cfg["evaluate"]
    return select_cases(read_jsonl(split_path(results_dir, law, "test")), settings.get("max_cases"),
                        settings.get("seed", 0))


def model_predictions(entry: ModelEntry, registry: dict[str, ModelEntry], cfg: dict, law: str,
                      test_cases: list[dict], *, train_cases: list[dict] | None = None,
                      results_dir: str | Path = "results") -> list[dict[str, Any]]:
    """The prediction records of `entry` on `test_cases` (sorted by case id by the writer): a generating
    model is asked through the LLM layer (its cache makes a rerun free) the way its family asks; a
    representation guard is trained on `train_cases` and applied instead."""
    settings = cfg.get("evaluate", {})
    if entry.backend == "representation":
        from .representation import run_representation_guard

        if not train_cases:
            raise ValueError(f"representation guard '{entry.name}' needs the train split to learn from")
        return run_representation_guard(entry, registry, law, train_cases, test_cases,
                                        cache_dir=Path(results_dir) / "eval" / "features",
                                        guard_dir=Path(results_dir) / "eval" / "guards")
    from ..llm import make_generator

    with make_generator(entry, cfg, stage="evaluate") as generator:
        return predict(get_family(entry.family), generator, law, test_cases, settings.get("max_tokens"))


def evaluate_model(cfg: dict, model: str, law: str, results_dir: str | Path = "results",
                   output: str | Path | None = None) -> Path:
    """Write results/eval/{law}/{model}.jsonl: one prediction per selected test case."""
    registry = registry_of(cfg, results_dir)
    entry = get_model(registry, model)
    cases = test_cases(cfg, law, results_dir)
    train = read_jsonl(split_path(results_dir, law, "train")) if entry.backend == "representation" else None
    records = model_predictions(entry, registry, cfg, law, cases, train_cases=train, results_dir=results_dir)
    out = Path(output) if output else predictions_path(results_dir, law, model)
    write_jsonl(out, records, sort_key="case_id")
    return out


def ensure_predictions(cfg: dict, models: list[str], laws: list[str], results_dir: str | Path = "results") -> list[Path]:
    """Evaluate every (model, law) whose prediction file is missing or covers other cases than the
    current selection (the notebook run alone, after the sample or the split changed)."""
    made = []
    for law in laws:
        wanted = {c["id"] for c in test_cases(cfg, law, results_dir)}
        for model in models:
            path = predictions_path(results_dir, law, model)
            if not path.is_file() or {r["case_id"] for r in read_jsonl(path)} != wanted:
                made.append(evaluate_model(cfg, model, law, results_dir))
    return made


def scored(cfg: dict, model: str, law: str, results_dir: str | Path = "results") -> pd.DataFrame:
    return metrics.join(test_cases(cfg, law, results_dir), read_jsonl(predictions_path(results_dir, law, model)))


def summary_table(cfg: dict, models: list[str], laws: list[str], results_dir: str | Path = "results") -> pd.DataFrame:
    """Per model and law: n, correct, micro accuracy with its 95 % Wilson interval, macro accuracy,
    macro-F1 and F1 of prohibited, unparsed rate, tokens per verdict."""
    registry = registry_of(cfg, results_dir)
    rows = []
    for law in laws:
        for model in models:
            numbers = metrics.summary(scored(cfg, model, law, results_dir), law)
            rows.append({"law": law, "model": model, "display": registry[model].label, **numbers})
    return pd.DataFrame(rows).set_index(["law", "model"])


GAINS = (("SFT vs base", "", "-sft"), ("GRPO vs SFT", "-sft", "-grpo"), ("GRPO vs base", "", "-grpo"))
OVERALL = "both laws"


def gains_table(cfg: dict, results_dir: str | Path = "results") -> pd.DataFrame:
    """Every claimed gain of training, paired on the same cases: SFT vs base, GRPO vs SFT and GRPO vs
    base, for each student base whose three models were evaluated, per law and over both laws pooled.
    Each with its 95 % paired bootstrap interval, McNemar's exact test and a reading in words."""
    settings = cfg["evaluate"]
    registry = registry_of(cfg, results_dir)
    evaluated = set(settings["models"])
    rows = []
    for base in student_bases(cfg):
        for comparison, before_suffix, after_suffix in GAINS:
            before, after = base + before_suffix, base + after_suffix
            if not {before, after} <= evaluated:
                continue
            frames = {law: (scored(cfg, before, law, results_dir), scored(cfg, after, law, results_dir))
                      for law in cfg["laws"]}
            if len(frames) > 1:
                frames[OVERALL] = tuple(pd.concat(parts, ignore_index=True) for parts in zip(*frames.values()))
            for scope, (was, now) in frames.items():
                gain = metrics.paired_gain(was, now, resamples=settings.get("bootstrap", 1000),
                                           seed=settings.get("seed", 0))
                rows.append({"base": registry[base].label, "comparison": comparison,
                             "law": titles().get(scope, scope), "before model": before, "after model": after,
                             **gain, "reading": metrics.gain_reading(gain)})
    columns = ["base", "comparison", "law", "before model", "after model", *metrics.GAIN_COLUMNS, "reading"]
    return pd.DataFrame(rows, columns=columns)


def _column_header(cells: pd.DataFrame) -> dict[str, str]:
    """Column -> `Ch.3 (n=12)`: the cases behind each column (the same for every model of a table)."""
    header = {}
    for chapter, counts in cells.groupby("chapter", sort=False)["n"]:
        low, high = int(counts.min()), int(counts.max())
        header[chapter] = f"{chapter} (n={low})" if low == high else f"{chapter} (n={low}-{high})"
    return header


def _interval_table(table: pd.DataFrame, cells: pd.DataFrame) -> pd.DataFrame:
    """The table's layout with each accuracy's 95 % Wilson interval as text."""
    out = table.copy().astype(object)
    for record in cells.itertuples(index=False):
        out.loc[record.model, record.chapter] = interval_text(record.ci_low, record.ci_high)
    return out


def build_tables(cfg: dict, results_dir: str | Path = "results", tables_dir: str | Path | None = None,
                 paper_results: dict | None = None) -> dict[str, pd.DataFrame]:
    """Tables 3, 4 (and 6, 7 with a second student base), each with its per-cell statistics
    (`tableN_cells.csv`) and beside the paper (`tableN_vs_paper`); the summary; the paired gains."""
    tables_dir = Path(tables_dir or Path(results_dir) / "tables")
    paper_results = paper_results if paper_results is not None else load_paper_results()
    registry = registry_of(cfg, results_dir)
    configured = list(cfg["evaluate"]["models"])
    models = [m for m in configured if all(predictions_path(results_dir, law, m).is_file() for law in cfg["laws"])]
    not_run = not_run_note([m for m in configured if m not in models])
    bases = student_bases(cfg)
    scale = cfg["scale"]
    made: dict[str, pd.DataFrame] = {}
    for spec in table_specs(cfg["laws"], bases or [None]):
        rows, cells = [], []
        for model in models_in(spec, models, bases):
            name, group = row_of(registry[model], bases)
            per_cell = metrics.chapter_cells(scored(cfg, model, spec.law, results_dir), spec.law)
            rows.append((name, group, per_cell["accuracy"].astype(float)))
            cells.append(per_cell.reset_index().assign(model=name))
        table = accuracy_table(rows, spec.law)
        cell_frame = pd.concat(cells, ignore_index=True)[["model", "chapter", *metrics.CELL_COLUMNS]]
        stem = spec.stem
        write_table(table, tables_dir / stem,
                    f"{spec.title}: accuracy (%) per chapter on the {get_law(spec.law).title} test split "
                    f"({scale} scale); n = test cases per column." + not_run,
                    header=_column_header(cell_frame), intervals=_interval_table(table, cell_frame),
                    intervals_caption=f"{spec.title}, 95 % Wilson score intervals (%) of the accuracies above")
        write_csv(cell_frame, tables_dir / f"{stem}_cells.csv")
        made[stem] = table
        made[f"{stem}_cells"] = cell_frame
        if spec.paper_key is None:      # a law the paper does not report on has nothing to compare
            continue
        intervals = {(r.model, r.chapter): (r.ci_low, r.ci_high) for r in cell_frame.itertuples(index=False)}
        versus = matched(compare(table, paper_table(paper_results, spec.paper_key, spec.law),
                                 caveats=[lambda row, col, stem=stem: paper_caveat(stem, row, col)],
                                 intervals=intervals))
        write_table(versus, tables_dir / f"{stem}_vs_paper",
                    f"{spec.title}, this run ({scale} scale) beside the paper: run - paper where the "
                    "cells are comparable, the reason where they are not")
        made[f"{stem}_vs_paper"] = versus
    summary = summary_table(cfg, models, cfg["laws"], results_dir)
    write_table(summary, tables_dir / "eval_summary",
                f"Evaluation summary ({scale} scale): n, correct, accuracy with its 95 % Wilson interval, "
                "macro accuracy, macro-F1, F1 of prohibited, unparsed answers (%), completion tokens per verdict."
                + not_run)
    made["eval_summary"] = summary
    gains = gains_table(cfg, results_dir)
    write_table(gains, tables_dir / "eval_gains",
                f"Gains of training on the same test cases ({scale} scale): accuracy after - before in "
                "points, 95 % paired bootstrap interval, McNemar's exact test on the discordant cases", ".4g")
    made["eval_gains"] = gains
    return made


def prediction_rows(records: list[dict[str, Any]]) -> pd.DataFrame:
    """A prediction file as a frame for display (raw answers shortened)."""
    frame = pd.DataFrame(records)
    if "raw" in frame:
        frame["raw"] = frame["raw"].str.slice(0, 120)
    return frame


def privaci_path(results_dir: str | Path, law: str, model: str) -> Path:
    return Path(results_dir) / "eval" / "privaci" / law / f"{model}.jsonl"


def privaci_cases(cfg: dict, law: str) -> list[dict]:
    from .privaci_cases import load_privaci_cases

    settings = cfg["evaluate"]["privaci"]
    return load_privaci_cases(settings["cases"], law, settings.get("sample"), cfg["evaluate"].get("seed", 0))


def evaluate_privaci(cfg: dict, model: str, law: str, results_dir: str | Path = "results",
                     output: str | Path | None = None) -> Path:
    registry = registry_of(cfg, results_dir)
    records = model_predictions(get_model(registry, model), registry, cfg, law, privaci_cases(cfg, law),
                                results_dir=results_dir)
    out = Path(output) if output else privaci_path(results_dir, law, model)
    write_jsonl(out, records, sort_key="case_id")
    return out


def build_privaci_table(cfg: dict, results_dir: str | Path = "results", tables_dir: str | Path | None = None,
                        compute_missing: bool = False) -> pd.DataFrame | None:
    """results/tables/table_privaci.{csv,tex,md}; None when no student is evaluated or PrivaCI-Bench covers
    none of the laws."""
    from .privaci_cases import privaci_table

    models = evaluated_students(cfg)
    laws = [law for law in cfg["laws"] if has_privaci(law)]
    if not models or not laws:
        return None
    registry = registry_of(cfg, results_dir)
    results = {}
    for law in laws:
        cases = privaci_cases(cfg, law)
        for model in models:
            path = privaci_path(results_dir, law, model)
            if compute_missing and (not path.is_file()
                                    or {r["case_id"] for r in read_jsonl(path)} != {c["id"] for c in cases}):
                evaluate_privaci(cfg, model, law, results_dir)
            results[(model, law)] = metrics.join(cases, read_jsonl(path))
    table, cells = privaci_table(results, {m: registry[m].label for m in models})
    tables_dir = Path(tables_dir or Path(results_dir) / "tables")
    header = {f"{get_law(law).title} acc": f"{get_law(law).title} acc (n={n})"
              for law, n in cells.groupby("law")["n"].max().items()}
    intervals = table.copy().astype(object)
    for record in cells.itertuples(index=False):
        intervals.loc[record.model, f"{get_law(record.law).title} acc"] = interval_text(record.ci_low, record.ci_high)
    intervals = intervals[[c for c in intervals.columns if c.endswith(" acc")]]
    write_table(table, tables_dir / "table_privaci",
                f"Our students on PrivaCI-Bench cases (prohibit / permit; not applicable left out; "
                f"{cfg['scale']} scale): accuracy, macro-F1, F1 of prohibited, unparsed (%); n = cases per law",
                header=header, intervals=intervals,
                intervals_caption="PrivaCI-Bench, 95 % Wilson score intervals (%) of the accuracies above")
    write_csv(cells, tables_dir / "table_privaci_cells.csv")
    return table
