"""This run beside the paper: the one comparison every stage table and the reproduction report use.

A table of this run and the paper's table in the same layout (rows are models, annotators, datasets;
columns are cells such as `Ch.3` or `Avg`) are compared cell by cell: rows and columns are matched by
their labels, without case or punctuation and without a trailing parenthesis (`Ch.1 (n=12)` is
`Ch.1`), and the paper's two spellings of our reasoners ("Compliance-" in Tables 3-4, "Compliant-"
in Tables 6-7) count as one. The result is long: one row per paper cell, with this run's value, its
95 % interval where the stage knows one, the paper's value and run - paper.

Some of the paper's cells cannot be compared with anything a rebuild makes, because of the paper
itself: its per-chapter columns are not the laws' chapters, its appendix repeats rows of the main
tables, and one of its quoted gains follows from none of its numbers. Such a cell gets the reason in
`note` instead of a difference; so does a cell the run measured on a different quantity (a stand-in
dataset, another allocation procedure), for which the stage passes its own reason.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from .laws import all_laws, get_law
from .registry import STUDENT_STAGES

PAPER_RESULTS = Path("config/paper_results.yaml")
COLUMNS = ["row", "cell", "this run", "ci_low", "ci_high", "paper", "difference", "note"]
Caveat = Callable[[str, str], "str | None"]     # (row label, cell label) -> reason, or None

# --- Why the paper's own cells are not comparable (facts about the paper, checked against its
# numbers in config/paper_results.yaml by tests/test_versus_paper.py).
CHAPTER_COLUMNS = (
    "not comparable: the paper's chapter columns are not the law's chapters (e.g. the accuracies in its AI Act "
    "'Ch.4' imply 55 test cases; Chapter IV, Article 50 alone, can give at most 14); only Avg is comparable")
REPEATED_GRPO_ROW = (
    "not comparable: this row of the paper's appendix repeats, number for number, the Qwen3-8B-based GRPO "
    "row of its main table")


def load_paper_results(path: str | Path = PAPER_RESULTS) -> dict[str, Any]:
    """The paper's published numbers (config/paper_results.yaml), which every comparison reads."""
    return yaml.safe_load(Path(path).read_text(encoding="utf-8"))


def norm_label(label: Any) -> str:
    """A label as compared across paper and run: no case, punctuation or trailing parenthesis."""
    text = re.sub(r"\s*\([^()]*\)\s*$", "", str(label)).lower()
    text = text.replace("compliant", "compliance")
    return re.sub(r"[^a-z0-9]", "", text)


def appendix_tables() -> set[str]:
    """The paper's Appendix B accuracy tables (`table6`, `table7`), as the law registry numbers them."""
    return {f"table{law.paper.appendix_table}" for law in all_laws() if law.paper}


def accuracy_tables() -> set[str]:
    """Every accuracy table of the paper (`table3` ... `table7`)."""
    return {f"table{law.paper.table}" for law in all_laws() if law.paper} | appendix_tables()


def paper_caveat(table: str, row: str, cell: str) -> str | None:
    """Why the paper's own cell (`row`, `cell`) of results table `table` cannot be compared, or None."""
    if table in accuracy_tables() and norm_label(cell).startswith("ch"):
        return CHAPTER_COLUMNS
    if table in appendix_tables() and norm_label(row) == norm_label(STUDENT_STAGES["grpo"]):
        return REPEATED_GRPO_ROW
    return None


def gain_caveat(law: str, stage: str, appendix: bool) -> str | None:
    """Why a gain the paper quotes in its text cannot be compared (its appendix B gains: the law
    registry's note for each law), or None."""
    numbers = get_law(law).paper
    if not appendix or numbers is None:
        return None
    return numbers.appendix_gain_note


def _row_label(value: Any) -> str:
    return " / ".join(str(v) for v in value) if isinstance(value, tuple) else str(value)


def _key(row: Any, column: Any) -> tuple[tuple[str, ...], str]:
    parts = row if isinstance(row, tuple) else (row,)
    return tuple(norm_label(p) for p in parts), norm_label(column)


def _numeric_cells(frame: pd.DataFrame) -> dict[tuple[tuple[str, ...], str], tuple[Any, Any, float]]:
    """(normalised row, normalised column) -> (row as written, column as written, value) for every
    number of `frame`, row by row; text columns are labels, never values."""
    numbers = frame.apply(pd.to_numeric, errors="coerce")
    numbers = numbers.loc[:, numbers.notna().any()]
    cells = {}
    for row, values in numbers.iterrows():
        for column, value in values.items():
            if pd.notna(value):
                key = _key(row, column)
                if key in cells:
                    raise ValueError(f"two cells share the label {_row_label(row)} / {column}")
                cells[key] = (row, column, float(value))
    return cells


def compare(run: pd.DataFrame, paper: pd.DataFrame, *, caveats: list[Caveat] = (),
            intervals: Mapping[tuple[str, str], tuple[float, float]] | None = None) -> pd.DataFrame:
    """Every number of `paper` beside the cell of `run` with the same row and column labels.

    `run` and `paper` are indexed by their row labels (a tuple index for several label columns);
    `caveats` return the reason a cell is not comparable (the first that gives one counts);
    `intervals` maps (run row label, run column) to the run's 95 % interval of that cell.
    One row per paper cell, in the paper's order; `this run` is NaN where the run has no such cell.
    """
    run_cells = _numeric_cells(run)
    intervals = intervals or {}
    rows = []
    for key, (row, column, value) in _numeric_cells(paper).items():
        found = run_cells.get(key)
        run_row, run_column, run_value = found if found else (row, column, np.nan)
        low, high = intervals.get((_row_label(run_row), str(run_column)), (np.nan, np.nan))
        label, cell = _row_label(run_row), str(run_column)
        reason = next((r for r in (c(label, cell) for c in caveats) if r), None)
        difference = np.nan if reason or np.isnan(run_value) else round(run_value - value, 2)
        rows.append({"row": label, "cell": re.sub(r"\s*\([^()]*\)\s*$", "", cell), "this run": run_value,
                     "ci_low": low, "ci_high": high, "paper": value, "difference": difference,
                     "note": reason or ""})
    return pd.DataFrame(rows, columns=COLUMNS)


def matched(comparison: pd.DataFrame) -> pd.DataFrame:
    """The cells this run has a value for (what a stage's `*_vs_paper` table shows)."""
    return comparison[comparison["this run"].notna()].reset_index(drop=True)


def wide(comparison: pd.DataFrame, index: pd.Index) -> pd.DataFrame:
    """A comparison laid out as rows x (cell, run | paper | diff), rows in the order of `index`
    (the run's row labels), for tables read side by side (Table 1)."""
    found = matched(comparison)
    labels = {_row_label(v): v for v in index}
    parts: dict[tuple[str, str], dict[Any, float]] = {}
    for record in found.itertuples(index=False):
        row = labels[record.row]
        parts.setdefault((record.cell, "run"), {})[row] = record[2]
        parts.setdefault((record.cell, "paper"), {})[row] = record.paper
        parts.setdefault((record.cell, "diff"), {})[row] = record.difference
    rows = [v for v in index if _row_label(v) in set(found["row"])]
    frame = pd.DataFrame(parts, index=pd.Index(rows) if not isinstance(index, pd.MultiIndex)
                         else pd.MultiIndex.from_tuples(rows, names=index.names))
    if not isinstance(index, pd.MultiIndex):
        frame.index.name = index.name
    return frame


def summary_lines(comparison: pd.DataFrame) -> list[str]:
    """For a report: how many paper cells this run matched, and each reason with its cell count."""
    found = matched(comparison)
    lines = [f"{len(found)} of {len(comparison)} paper cells have a counterpart in this run "
             "(a model, dataset or chapter the run did not cover has none)."]
    for note, group in found[found["note"] != ""].groupby("note", sort=False):
        lines.append(f"{len(group)} cell(s) without a difference, {note}.")
    return lines
