"""Tables 5 and 8 and the missing rates, each beside the paper's numbers."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from .. import LAW_NAMES
from .datasets import get_dataset

PAPER_RESULTS = Path("config/paper_results.yaml")
GROUP_NAMES = {"general": "General Purpose Models", "guardrail": "LLM Safety Guardrails", "ours": "Our Models"}


def paper_results(path: str | Path = PAPER_RESULTS) -> dict[str, Any]:
    return yaml.safe_load(Path(path).read_text(encoding="utf-8"))


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


def missing_table(allocations: dict[tuple[str, str], Sequence[int | None]], paper: dict[str, Any]) -> pd.DataFrame:
    """Missing rate (percent) per dataset: each law, both laws pooled, and the paper's figure."""
    from .allocate import missing_rate

    datasets = list(dict.fromkeys(d for d, _ in allocations))
    laws = list(dict.fromkeys(law for _, law in allocations))
    reference = paper["text_figures"]["chapter_missing_rate_percent"]
    rows = []
    for name in datasets:
        spec = get_dataset(name)
        row: dict[str, Any] = {"Dataset": spec.display}
        pooled: list[int | None] = []
        for law in laws:
            chapters = list(allocations.get((name, law), []))
            row[f"n ({LAW_NAMES[law]})"] = len(chapters)
            row[f"Missing % ({LAW_NAMES[law]})"] = missing_rate(chapters) if chapters else float("nan")
            pooled += chapters
        row["Missing % (both)"] = missing_rate(pooled) if pooled else float("nan")
        row["Paper missing %"] = reference.get(spec.paper_key, float("nan"))
        rows.append(row)
    return pd.DataFrame(rows)


def table5(scores: pd.DataFrame, datasets: Sequence[str], paper: dict[str, Any]) -> pd.DataFrame:
    """The paper's layout: one row per law and model, Acc and F1 per dataset; this run's rows first,
    then the paper's (their Aegis column is Aegis 2.0 where this run's is the stand-in named in the
    header)."""
    columns = [(get_dataset(d).display, metric) for d in datasets for metric in ("Acc", "F1")]
    rows, index = [], []
    for (law, group, model), part in scores.groupby(["law", "group", "model"], sort=False):
        by_dataset = part.set_index("dataset")
        rows.append([by_dataset.loc[d, "acc" if m == "Acc" else "f1"] if d in by_dataset.index else float("nan")
                     for d in datasets for m in ("Acc", "F1")])
        index.append((LAW_NAMES[law], "this run", GROUP_NAMES.get(group, group), model))
    law_keys = {LAW_NAMES[law]: law for law in LAW_NAMES}
    for law_name, models in paper["table5_extrapolated_data_acc_f1"].items():
        if law_keys.get(law_name) not in set(scores["law"]):
            continue
        for model, values in models.items():
            rows.append([values.get(get_dataset(d).paper_key, {}).get(m.lower(), float("nan"))
                         for d in datasets for m in ("Acc", "F1")])
            index.append((law_name, "paper", values.get("group"), model))
    frame = pd.DataFrame(rows, columns=pd.MultiIndex.from_tuples(columns),
                         index=pd.MultiIndex.from_tuples(index, names=["Law", "Source", "Group", "Model"]))
    return frame


def flat_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Two-level columns as 'Dataset Acc' for the csv / tex / md writer."""
    out = frame.copy()
    out.columns = [" ".join(c) if isinstance(c, tuple) else c for c in out.columns]
    return out
