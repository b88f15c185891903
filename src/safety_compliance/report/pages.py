"""A table as a web page, so that Snakemake's HTML report shows it (it only offers CSVs for download)."""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd

STYLE = ("body{font-family:sans-serif;margin:1em}table{border-collapse:collapse}"
         "td,th{border:1px solid #bbb;padding:2px 6px;text-align:right}th{background:#eee}")


def stage_caption(csv_path: Path) -> str:
    """The caption the stage gave the table: the bold first line of its Markdown twin, if any."""
    md = csv_path.with_suffix(".md")
    if md.is_file():
        first = md.read_text(encoding="utf-8").splitlines()[:1]
        if first and first[0].startswith("**") and first[0].endswith("**"):
            return first[0].strip("*")
    return csv_path.stem


def read_table(csv_path: str | Path) -> pd.DataFrame:
    """A results/tables CSV; a table with no columns (a stage that had nothing to show) is empty."""
    try:
        return pd.read_csv(csv_path)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()


def table_page(csv_path: str | Path) -> str:
    csv_path = Path(csv_path)
    frame = read_table(csv_path)
    caption = stage_caption(csv_path)
    body = (frame.to_html(index=False, na_rep="", float_format=lambda v: f"{v:.2f}", border=0)
            if len(frame.columns) else "<p>(this run produced an empty table)</p>")
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(csv_path.stem)}</title>"
            f"<style>{STYLE}</style></head><body><h3>{html.escape(caption)}</h3>{body}</body></html>\n")
