"""Writing a table in the three forms a reader needs: CSV (data), LaTeX (paper) and Markdown (notes)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..jsonl import write_text_atomic


def to_markdown(frame: pd.DataFrame, floatfmt: str = ".2f") -> str:
    """A GitHub-style pipe table; written by hand so no optional dependency (tabulate) is needed."""
    frame = frame.reset_index() if frame.index.name or not isinstance(frame.index, pd.RangeIndex) else frame

    def cell(value) -> str:
        if isinstance(value, float):
            return "" if pd.isna(value) else format(value, floatfmt)
        return "" if value is None else str(value).replace("|", "\\|")

    header = [str(c) for c in frame.columns]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines) + "\n"


def write_table(frame: pd.DataFrame, stem: str | Path, caption: str, floatfmt: str = ".2f") -> list[Path]:
    """Write `stem`.csv, .tex and .md; the caption heads the Markdown and captions the LaTeX."""
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    flat = frame.reset_index() if not isinstance(frame.index, pd.RangeIndex) else frame
    write_text_atomic(stem.with_suffix(".csv"), flat.to_csv(index=False, float_format=lambda v: format(v, floatfmt)))
    latex = flat.to_latex(index=False, float_format=lambda v: format(v, floatfmt), na_rep="--",
                          caption=caption, escape=True)
    write_text_atomic(stem.with_suffix(".tex"), latex)
    write_text_atomic(stem.with_suffix(".md"), f"**{caption}**\n\n" + to_markdown(flat, floatfmt))
    return [stem.with_suffix(s) for s in (".csv", ".tex", ".md")]


def beside_paper(run: pd.DataFrame, paper: pd.DataFrame) -> pd.DataFrame:
    """Run, paper and run - paper for every cell the two tables share (same index and columns)."""
    common_cols = [c for c in run.columns if c in paper.columns and pd.api.types.is_numeric_dtype(run[c])]
    rows = run.index.intersection(paper.index)
    parts = {}
    for col in common_cols:
        parts[(col, "run")] = run.loc[rows, col]
        parts[(col, "paper")] = paper.loc[rows, col]
        parts[(col, "diff")] = run.loc[rows, col] - paper.loc[rows, col]
    return pd.DataFrame(parts)
