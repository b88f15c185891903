"""A check beyond the paper: our students on PrivaCI-Bench's compliance cases.

PrivaCI-Bench (HKUST-KnowComp) labels each case `prohibit`, `permit` or `not applicable`; the last
has no counterpart in our two-label task and is left out. A seeded sample, balanced between the two
labels, is drawn per law; its cases carry no chapter, so the table reports accuracy and F1 only.
"""

from __future__ import annotations

import random
from pathlib import Path

import pandas as pd

from .. import metrics
from ..laws import get_law
from ..resources import privaci_cases_folder

LABELS = {"prohibit": "prohibited", "permit": "permitted"}


def load_privaci_cases(cases_root: str | Path, law: str, sample: int | None, seed: int = 0) -> list[dict]:
    """Up to `sample` cases of `law` (half of each label where there are enough), as benchmark-like
    records: id, law, label, factual_background, chapter (None)."""
    from datasets import load_from_disk

    folder = Path(privaci_cases_folder(str(cases_root), law))
    if not folder.is_dir():
        raise FileNotFoundError(f"no PrivaCI-Bench cases at {folder}; run `safety-compliance resources fetch`")
    data = load_from_disk(str(folder))
    by_label: dict[str, list[dict]] = {label: [] for label in LABELS.values()}
    for index, (norm, content) in enumerate(zip(data["norm_type"], data["case_content"])):
        if norm in LABELS and content and content.strip():
            by_label[LABELS[norm]].append({"id": f"privaci/{law}/{index:05d}", "law": law, "chapter": None,
                                           "label": LABELS[norm], "factual_background": content.strip()})
    rng = random.Random(seed)
    chosen = []
    for label, rows in by_label.items():
        want = len(rows) if sample is None else min(len(rows), sample // 2 + (sample % 2 if label == "prohibited" else 0))
        chosen.extend(rng.sample(rows, want))
    return sorted(chosen, key=lambda c: c["id"])


def privaci_table(results: dict[tuple[str, str], pd.DataFrame], labels: dict[str, str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """results: (model, law) -> metrics.join frame. The table (one row per model; accuracy, macro-F1,
    F1 of prohibited and unparsed share per law) and its cells in long form (model, law, n, correct,
    accuracy, 95 % Wilson interval)."""
    rows: dict[str, dict] = {}
    cells = []
    for (model, law), frame in sorted(results.items()):
        numbers = metrics.summary(frame)
        name = labels.get(model, model)
        row = rows.setdefault(name, {})
        row[f"{get_law(law).title} acc"] = numbers["accuracy"]
        row[f"{get_law(law).title} macro-F1"] = numbers["f1_macro"]
        row[f"{get_law(law).title} F1 prohibited"] = numbers["f1_prohibited"]
        row[f"{get_law(law).title} unparsed"] = numbers["unparsed_rate"]
        cells.append({"model": name, "law": law, **{k: numbers[k] for k in metrics.CELL_COLUMNS}})
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "Model"
    return table, pd.DataFrame(cells, columns=["model", "law", *metrics.CELL_COLUMNS])
