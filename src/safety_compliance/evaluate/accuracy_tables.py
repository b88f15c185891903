"""The paper's accuracy tables (3, 4 and Appendix B's 6, 7) from prediction files, and their
comparison with the published numbers.

Layout as in the paper: one row per model, a `group` column (general models, guardrails, ours), one
column per chapter (`Ch.1` ...) and `Avg` (the micro-average). Our students appear under the paper's
row names (Compliance-Reasoner-SFT / -GRPO) whatever their base, so a paper-scale run lines up with
the paper row for row; a chapter without test cases in this run stays empty.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ..chapters import chapters_of
from ..laws import get_law
from ..metrics import chapter_column
from ..registry import STUDENT_STAGES, ModelEntry, student_stage

GROUP_LABELS = {"general": "General Purpose Models", "guardrail": "LLM Safety Guardrails",
                "representation": "Representation-Space Guards", "ours": "Our Models"}
GROUP_ORDER = list(GROUP_LABELS.values())
# Appendix B spells the students "Compliant-Reasoner"; rows are matched under our one spelling.
PAPER_ROW_ALIASES = {"Compliant-Reasoner-SFT": "Compliance-Reasoner-SFT",
                     "Compliant-Reasoner-GRPO": "Compliance-Reasoner-GRPO"}


@dataclass(frozen=True)
class TableSpec:
    law: str
    base: str                 # the student base whose SFT / GRPO rows this table shows
    appendix: bool            # Tables 6, 7: only the base and its two students

    @property
    def number(self) -> int | None:
        """The paper's number for this table (the law registry's), None for a law the paper does not cover."""
        paper = get_law(self.law).paper
        return paper and (paper.appendix_table if self.appendix else paper.table)

    @property
    def paper_key(self) -> str | None:
        """The table's key in config/paper_results.yaml, None for a law the paper does not cover."""
        paper = get_law(self.law).paper
        return paper and (paper.appendix_key if self.appendix else paper.table_key)

    @property
    def stem(self) -> str:
        """The file name: the paper's (`table3`), or the law's for a law the paper does not cover."""
        if self.number is not None:
            return f"table{self.number}"
        return f"accuracy_{self.law}" + (f"_{self.base}" if self.appendix else "")

    @property
    def title(self) -> str:
        if self.number is not None:
            return f"Table {self.number}"
        return f"Accuracy on the {get_law(self.law).title}" + (f", {self.base}" if self.appendix else "")


def table_specs(laws: list[str], student_bases: list[str]) -> list[TableSpec]:
    """Tables 3 and 4 for the first student base; 6 and 7 when a second base is configured (for a law
    the paper does not cover, tables named after it), the paper's in its order."""
    specs = [TableSpec(law, base, appendix=position == 1)
             for position, base in enumerate(student_bases[:2]) for law in laws]
    return sorted(specs, key=lambda s: (s.number is None, s.number or 0, s.stem))


def row_of(entry: ModelEntry, student_bases: list[str]) -> tuple[str, str]:
    """(row name, group label) of a model in the paper's tables."""
    student = student_stage(entry.name, student_bases)
    if student:
        return STUDENT_STAGES[student[1]], GROUP_LABELS["ours"]
    group = "representation" if entry.backend == "representation" else entry.group
    return entry.label, GROUP_LABELS[group]


def models_in(spec: TableSpec, names: list[str], student_bases: list[str]) -> list[str]:
    """The evaluated models a table shows, in the order the run lists them."""
    chosen = []
    for name in names:
        student = student_stage(name, student_bases)
        if spec.appendix:
            if name == spec.base or (student and student[0] == spec.base):
                chosen.append(name)
        elif student is None or student[0] == spec.base:
            chosen.append(name)
    return chosen


def accuracy_table(rows: list[tuple[str, str, pd.Series]], law: str) -> pd.DataFrame:
    """rows: (row name, group label, chapter accuracies from metrics.chapter_accuracy)."""
    columns = ["group"] + [chapter_column(n) for n, _ in chapters_of(law)] + ["Avg"]
    names = [name for name, _, _ in rows]
    if len(set(names)) != len(names):
        raise ValueError(f"two models share a table row name: {sorted(n for n in names if names.count(n) > 1)}")
    frame = pd.DataFrame([{"group": group, **accuracies.to_dict()} for _, group, accuracies in rows],
                         index=pd.Index(names, name="Model"), columns=columns)
    order = sorted(range(len(frame)), key=lambda i: GROUP_ORDER.index(frame["group"].iloc[i]))
    return frame.iloc[order]


def paper_table(paper_results: dict, key: str, law: str) -> pd.DataFrame:
    """One of the paper's accuracy tables from config/paper_results.yaml in the same layout."""
    if key not in paper_results:
        raise KeyError(f"paper results have no table '{key}'")
    columns = ["group"] + [chapter_column(n) for n, _ in chapters_of(law)] + ["Avg"]
    rows = {PAPER_ROW_ALIASES.get(name, name): values for name, values in paper_results[key].items()}
    frame = pd.DataFrame.from_dict(rows, orient="index").reindex(columns=columns)
    frame.index.name = "Model"
    return frame
