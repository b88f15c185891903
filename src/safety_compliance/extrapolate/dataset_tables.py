"""Tables 5 and 8 and the missing rates, the scores of the classifiers behind Table 5, and their
comparison with the paper's numbers.

The comparison is versus_paper's, the one every table uses. A dataset that stands in for the
paper's (Aegis 1.0 for Aegis 2.0, a subset of PKU-SafeRLHF) measures another quantity, and a missing
rate from our constrained allocation counts chosen Nones: such cells carry the reason, not a difference.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from .. import metrics
from ..laws import get_law
from ..safety_datasets import get_dataset
from ..tables import interval_text
from ..versus_paper import compare, matched

GROUP_NAMES = {"general": "General Purpose Models", "guardrail": "LLM Safety Guardrails", "ours": "Our Models"}


def table8(reports: dict[str, dict[str, Any]], used: dict[str, dict[str, int]], paper: dict[str, Any]) -> pd.DataFrame:
    """One row per dataset: what the filters kept, what this run used, and the paper's counts.

    `reports` are the filter reports (filters.FilterReport.as_dict) by dataset; `used` the safe /
    unsafe counts of the records this run actually turned into cases (after demo sampling).
    """
    rows = []
    for name, report in reports.items():
        spec = get_dataset(name)
        ref = paper["table8_seed_safety_data"].get(spec.paper_name, {})
        dropped = "; ".join(f"{reason}: {n:,}" for reason, n in report["dropped"].items()) or "none"
        rows.append({
            "Dataset": spec.display, "Paper dataset": spec.paper_name, "Split": spec.split, "Task": spec.task,
            "Rows": report["rows"], "Dropped": dropped,
            "Safe (filtered)": report["safe"], "Unsafe (filtered)": report["unsafe"],
            "Safe (used)": used.get(name, {}).get("safe", 0), "Unsafe (used)": used.get(name, {}).get("unsafe", 0),
            "Categories": report["categories"] if report["categories"] is not None else "unknown",
            "Paper safe": ref.get("safe"), "Paper unsafe": ref.get("unsafe"),
            "Paper categories": ref.get("categories"),
            "Notes": "; ".join(filter(None, [spec.note, *report["notes"]])),
        })
    return pd.DataFrame(rows)


def stand_in(dataset: str) -> str | None:
    """Why `dataset`'s numbers are not the paper's dataset's: it stands in for another one, or None."""
    spec = get_dataset(dataset)
    if spec.name == spec.paper_key:
        return None
    return f"not comparable: this run's {spec.display} stands in for the paper's {spec.paper_name} ({spec.note})"


SCORE_COLUMNS = ["n", "correct", "acc", "ci_low", "ci_high", "f1_macro", "f1_prohibited", "unparsed"]


def scores(cases: Sequence[dict[str, Any]], predictions: Sequence[dict[str, Any]]) -> dict[str, float]:
    """n, correct, accuracy with its 95 % Wilson interval, macro-F1, F1 of prohibited and the unparsed
    share, in percent (the evaluation's own statistics); an unparsed answer is wrong. NaN with no case."""
    scored = metrics.join(cases, predictions)
    numbers = metrics.summary(scored)
    return {"n": numbers["n"], "correct": numbers["correct"], "acc": numbers["accuracy"],
            "ci_low": numbers["ci_low"], "ci_high": numbers["ci_high"], "f1_macro": numbers["f1_macro"],
            "f1_prohibited": numbers["f1_prohibited"], "unparsed": numbers["unparsed_rate"]}


def score_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Long scores (law, group, model, dataset and SCORE_COLUMNS) as a frame, for Table 5."""
    return pd.DataFrame(rows, columns=["law", "group", "model", "dataset", *SCORE_COLUMNS])


PROCEDURE_NAMES = {"paper": "paper", "constrained": "constrained (ours)"}
CONSTRAINED_MISSING = ("not comparable: this run allocated with our constrained procedure (an explicit None "
                       "answer under a regex), so its missing rate counts chosen Nones, not answers without a "
                       "valid chapter")


def missing_table(allocations: dict[tuple[str, str], Sequence[int | None]], paper: dict[str, Any],
                  procedure: str) -> pd.DataFrame:
    """Missing rate (percent) per dataset: each law, both laws pooled, the paper's figure, and the
    allocation procedure that produced it (a constrained run's rate is another quantity)."""
    from .allocate import missing_rate

    datasets = list(dict.fromkeys(d for d, _ in allocations))
    laws = list(dict.fromkeys(law for _, law in allocations))
    reference = paper["text_figures"]["chapter_missing_rate_percent"]
    rows = []
    for name in datasets:
        spec = get_dataset(name)
        row: dict[str, Any] = {"Dataset": spec.display, "Procedure": PROCEDURE_NAMES[procedure]}
        pooled: list[int | None] = []
        for law in laws:
            chapters = list(allocations.get((name, law), []))
            row[f"n ({get_law(law).title})"] = len(chapters)
            row[f"Missing % ({get_law(law).title})"] = missing_rate(chapters) if chapters else float("nan")
            pooled += chapters
        row["Missing % (both)"] = missing_rate(pooled) if pooled else float("nan")
        row["Paper missing %"] = reference.get(spec.paper_key, float("nan"))
        row["Note"] = CONSTRAINED_MISSING if procedure == "constrained" else (stand_in(name) or "")
        rows.append(row)
    return pd.DataFrame(rows)


METRICS = {"Acc": "acc", "macro-F1": "f1_macro", "F1 prohibited": "f1_prohibited"}


def table5(scores: pd.DataFrame, datasets: Sequence[str]) -> pd.DataFrame:
    """The paper's layout for this run: one row per law and model; per dataset the cases (n), the
    accuracy, the macro-F1 (the paper's F1) and, beyond the paper, the F1 of the prohibited class."""
    columns = [(get_dataset(d).display, m) for d in datasets for m in ("n", *METRICS)]
    rows, index = [], []
    for (law, group, model), part in scores.groupby(["law", "group", "model"], sort=False):
        by_dataset = part.set_index("dataset")
        rows.append([(by_dataset.loc[d, "n" if m == "n" else METRICS[m]] if d in by_dataset.index else float("nan"))
                     for d in datasets for m in ("n", *METRICS)])
        index.append((get_law(law).title, GROUP_NAMES.get(group, group), model))
    return pd.DataFrame(rows, columns=pd.MultiIndex.from_tuples(columns),
                        index=pd.MultiIndex.from_tuples(index, names=["Law", "Group", "Model"]))


def table5_intervals(scores: pd.DataFrame, datasets: Sequence[str]) -> pd.DataFrame:
    """Table 5's rows with each accuracy's 95 % Wilson interval as text, one column per dataset."""
    frame = table5(scores, datasets).xs("Acc", axis=1, level=1).astype(object)
    for record in scores.itertuples(index=False):
        row = (get_law(record.law).title, GROUP_NAMES.get(record.group, record.group), record.model)
        frame.loc[row, get_dataset(record.dataset).display] = interval_text(record.ci_low, record.ci_high)
    frame.columns = [f"{c} Acc" for c in frame.columns]
    return frame


def table5_cells(scores: pd.DataFrame) -> pd.DataFrame:
    """Table 5 in long form: one row per law, model and dataset with n, correct, accuracy, its 95 %
    Wilson interval, macro-F1, F1 of prohibited and the unparsed share."""
    return scores.rename(columns={"acc": "accuracy"}).drop(columns="group")


def table5_vs_paper(scores: pd.DataFrame, paper: dict[str, Any]) -> pd.DataFrame:
    """Every cell of the paper's Table 5 beside this run's (accuracy and macro-F1 per dataset), keyed
    by the paper's dataset names; a stand-in dataset's cells carry the reason instead of a difference."""
    datasets = list(dict.fromkeys(scores["dataset"]))
    names = {d: get_dataset(d).paper_name for d in datasets}
    run_rows: dict[tuple[str, str], dict[str, float]] = {}
    intervals = {}
    for record in scores.itertuples(index=False):
        row = run_rows.setdefault((get_law(record.law).title, record.model), {})
        row[f"{names[record.dataset]} Acc"] = record.acc
        row[f"{names[record.dataset]} macro-F1"] = record.f1_macro
        intervals[(f"{get_law(record.law).title} / {record.model}", f"{names[record.dataset]} Acc")] = (
            record.ci_low, record.ci_high)
    run = pd.DataFrame.from_dict(run_rows, orient="index")
    by_key = {get_dataset(d).paper_key: names[d] for d in datasets}
    paper_rows = {}
    for law_name, models in paper["table5_extrapolated_data_acc_f1"].items():
        for model, values in models.items():
            paper_rows[(law_name, model)] = {
                f"{by_key[key]} {label}": cell[metric] for key, cell in values.items() if key in by_key
                for label, metric in (("Acc", "acc"), ("macro-F1", "f1"))}
    reasons = {names[d]: stand_in(d) for d in datasets}
    caveat = lambda row, cell: next((r for name, r in reasons.items() if r and cell.startswith(name + " ")), None)
    return matched(compare(run, pd.DataFrame.from_dict(paper_rows, orient="index"), caveats=[caveat],
                           intervals=intervals))


def table8_vs_paper(reports: dict[str, dict[str, Any]], paper: dict[str, Any]) -> pd.DataFrame:
    """The filtered safe / unsafe / category counts beside the paper's Table 8."""
    run = pd.DataFrame.from_dict({get_dataset(d).paper_name: {
        "safe": r["safe"], "unsafe": r["unsafe"], "categories": r["categories"]} for d, r in reports.items()},
        orient="index")
    reasons = {get_dataset(d).paper_name: stand_in(d) for d in reports}
    return matched(compare(run, pd.DataFrame.from_dict(paper["table8_seed_safety_data"], orient="index"),
                           caveats=[lambda row, cell: reasons.get(row)]))


def flat_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Two-level columns as 'Dataset Acc' for the csv / tex / md writer."""
    out = frame.copy()
    out.columns = [" ".join(c) if isinstance(c, tuple) else c for c in out.columns]
    return out
