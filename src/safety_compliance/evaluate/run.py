"""The evaluation stage end to end: which cases, which models, prediction files, tables.

Used by the `evaluate` rule (one model on one law, through the CLI) and by notebook 07 (the tables,
and under nbval the predictions it finds missing).
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pandas as pd

from .. import LAW_NAMES
from ..jsonl import read_jsonl, write_jsonl
from ..registry import get_model, registry_of
from ..report.tables import beside_paper, write_table
from . import metrics
from .paper_tables import accuracy_table, models_in, paper_table, row_of, table_specs
from .predict import predict


def student_bases(cfg: dict) -> list[str]:
    return list(cfg.get("train", {}).get("students", []))


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


def evaluate_model(cfg: dict, model: str, law: str, results_dir: str | Path = "results",
                   output: str | Path | None = None) -> Path:
    """Write results/eval/{law}/{model}.jsonl: one prediction per selected test case."""
    registry = registry_of(cfg, results_dir)
    entry = get_model(registry, model)
    cases = test_cases(cfg, law, results_dir)
    train = read_jsonl(split_path(results_dir, law, "train")) if entry.backend == "representation" else None
    records = predict(entry, registry, cfg, law, cases, train_cases=train, results_dir=results_dir)
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
    """Per model and law: n, micro and macro accuracy, F1 (prohibited), 95 % CI, unparsed rate, tokens."""
    settings = cfg["evaluate"]
    registry = registry_of(cfg, results_dir)
    rows = []
    for law in laws:
        for model in models:
            numbers = metrics.summary(scored(cfg, model, law, results_dir), law,
                                      samples=settings.get("bootstrap", 1000), seed=settings.get("seed", 0))
            rows.append({"law": law, "model": model, "display": registry[model].label, **numbers})
    return pd.DataFrame(rows).set_index(["law", "model"])


def build_tables(cfg: dict, results_dir: str | Path = "results", tables_dir: str | Path | None = None,
                 paper_results: dict | None = None) -> dict[str, pd.DataFrame]:
    """Tables 3, 4 (and 6, 7 with a second student base), each beside the paper, plus the summary."""
    from .paper_tables import load_paper_results

    tables_dir = Path(tables_dir or Path(results_dir) / "tables")
    paper_results = paper_results if paper_results is not None else load_paper_results()
    registry = registry_of(cfg, results_dir)
    models = list(cfg["evaluate"]["models"])
    bases = student_bases(cfg)
    scale = cfg["scale"]
    made: dict[str, pd.DataFrame] = {}
    for spec in table_specs(cfg["laws"], bases or [None]):
        rows = []
        for model in models_in(spec, models, bases):
            name, group = row_of(registry[model], bases)
            rows.append((name, group, metrics.chapter_accuracy(scored(cfg, model, spec.law, results_dir), spec.law)))
        table = accuracy_table(rows, spec.law)
        caption = f"Table {spec.number}: accuracy (%) per chapter on the {LAW_NAMES[spec.law]} test split ({scale} scale)"
        write_table(table, tables_dir / f"table{spec.number}", caption)
        paper = paper_table(paper_results, spec.paper_key, spec.law)
        versus = beside_paper(table, paper)
        versus.columns = [f"{col} {part}" for col, part in versus.columns]
        versus.index.name = "Model"
        write_table(versus, tables_dir / f"table{spec.number}_vs_paper",
                    f"Table {spec.number}, this run ({scale} scale) beside the paper, with run - paper")
        made[f"table{spec.number}"] = table
        made[f"table{spec.number}_vs_paper"] = versus
    summary = summary_table(cfg, models, cfg["laws"], results_dir)
    write_table(summary, tables_dir / "eval_summary",
                f"Evaluation summary ({scale} scale): accuracy, macro accuracy, F1 of prohibited, 95 % "
                "bootstrap interval, unparsed answers (%), completion tokens per verdict")
    made["eval_summary"] = summary
    return made


def prediction_rows(records: list[dict[str, Any]]) -> pd.DataFrame:
    """A prediction file as a frame for display (raw answers shortened)."""
    frame = pd.DataFrame(records)
    if "raw" in frame:
        frame["raw"] = frame["raw"].str.slice(0, 120)
    return frame


def privaci_models(cfg: dict) -> list[str]:
    """The students whose cross-benchmark check runs: every student of `evaluate.models`."""
    bases = student_bases(cfg)
    from .paper_tables import student_stage

    return [m for m in cfg["evaluate"]["models"] if student_stage(m, bases)]


def privaci_path(results_dir: str | Path, law: str, model: str) -> Path:
    return Path(results_dir) / "eval" / "privaci" / law / f"{model}.jsonl"


def privaci_cases(cfg: dict, law: str) -> list[dict]:
    from .privaci import load_privaci_cases

    settings = cfg["evaluate"]["privaci"]
    return load_privaci_cases(settings["cases"], law, settings.get("sample"), cfg["evaluate"].get("seed", 0))


def evaluate_privaci(cfg: dict, model: str, law: str, results_dir: str | Path = "results",
                     output: str | Path | None = None) -> Path:
    registry = registry_of(cfg, results_dir)
    records = predict(get_model(registry, model), registry, cfg, law, privaci_cases(cfg, law), results_dir=results_dir)
    out = Path(output) if output else privaci_path(results_dir, law, model)
    write_jsonl(out, records, sort_key="case_id")
    return out


def build_privaci_table(cfg: dict, results_dir: str | Path = "results", tables_dir: str | Path | None = None,
                        compute_missing: bool = False) -> pd.DataFrame | None:
    """results/tables/table_privaci.{csv,tex,md}; None when no student is evaluated."""
    from .privaci import privaci_table

    models = privaci_models(cfg)
    if not models:
        return None
    registry = registry_of(cfg, results_dir)
    results = {}
    for law in cfg["laws"]:
        cases = privaci_cases(cfg, law)
        for model in models:
            path = privaci_path(results_dir, law, model)
            if compute_missing and (not path.is_file()
                                    or {r["case_id"] for r in read_jsonl(path)} != {c["id"] for c in cases}):
                evaluate_privaci(cfg, model, law, results_dir)
            results[(model, law)] = metrics.join(cases, read_jsonl(path))
    table = privaci_table(results, {m: registry[m].label for m in models})
    write_table(table, Path(tables_dir or Path(results_dir) / "tables") / "table_privaci",
                f"Our students on PrivaCI-Bench cases (prohibit / permit; not applicable left out; "
                f"{cfg['scale']} scale): accuracy, F1 of prohibited, unparsed (%), cases")
    return table
