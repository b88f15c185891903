"""Writing a table in the three forms a reader needs: CSV (data), LaTeX (paper) and Markdown (notes)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .jsonl import write_text_atomic


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


def write_table(frame: pd.DataFrame, stem: str | Path, caption: str, floatfmt: str = ".2f", *,
                header: dict[str, str] | None = None, intervals: pd.DataFrame | None = None,
                intervals_caption: str | None = None) -> list[Path]:
    """Write `stem`.csv, .tex and .md; the caption heads the Markdown and captions the LaTeX.

    The CSV is data: plain column names, numbers only. For readers, the Markdown and LaTeX rename
    columns by `header` (e.g. `Ch.3` -> `Ch.3 (n=12)`) and, when `intervals` is given (a table of the
    same rows holding interval text), follow the table with it under `intervals_caption`.
    """
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    flat = _flat(frame)
    write_text_atomic(stem.with_suffix(".csv"), flat.to_csv(index=False, float_format=lambda v: format(v, floatfmt)))
    shown = flat.rename(columns=header or {})
    latex = shown.to_latex(index=False, float_format=lambda v: format(v, floatfmt), na_rep="--",
                           caption=caption, escape=True)
    markdown = f"**{caption}**\n\n" + to_markdown(shown, floatfmt)
    if intervals is not None:
        second = _flat(intervals).rename(columns=header or {})
        latex += "\n" + second.to_latex(index=False, na_rep="--", caption=intervals_caption, escape=True)
        markdown += f"\n**{intervals_caption}**\n\n" + to_markdown(second, floatfmt)
    write_text_atomic(stem.with_suffix(".tex"), latex)
    write_text_atomic(stem.with_suffix(".md"), markdown)
    return [stem.with_suffix(s) for s in (".csv", ".tex", ".md")]


def write_csv(frame: pd.DataFrame, path: str | Path, floatfmt: str = ".4f") -> Path:
    """A long data table (per-cell statistics) as CSV alone: it is read by programs, not people."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, _flat(frame).to_csv(index=False, float_format=lambda v: format(v, floatfmt)))
    return path


def _flat(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.reset_index() if not isinstance(frame.index, pd.RangeIndex) else frame


def not_run_note(models: list[str]) -> str:
    """The caption's note on configured models that have no predictions: the workflow left them out
    because they cannot run here (it names why in its log, as `safety-compliance preflight` does)."""
    if not models:
        return ""
    return (f" Not run here, so not in this table: {', '.join(models)} (why: the workflow's log or "
            "`safety-compliance preflight`).")


def interval_text(low: float, high: float) -> str:
    """An interval as a reader sees it: `[53.1, 59.7]`; empty where there is none."""
    return "" if pd.isna(low) or pd.isna(high) else f"[{low:.1f}, {high:.1f}]"


def beside_paper(run: pd.DataFrame, paper: pd.DataFrame) -> pd.DataFrame:
    """Run, paper and run - paper for every cell the two tables share, as rows x (cell, part); the
    comparison itself is versus_paper.compare, the one every table uses."""
    from .versus_paper import compare, wide

    return wide(compare(run, paper), run.index)
