"""Seeds per chapter of each law as a table and a figure, for the reports (the law stage's notebook
shows the same numbers; these are the files the HTML report and reproduction.md take in)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from ..law.seed_summary import chapter_frame, plot_seeds_per_chapter
from ..tables import write_table

TABLE = "table_seeds"
FIGURE = "figure_seeds"


def seeds_table(stats: dict[str, dict]) -> pd.DataFrame:
    """One row per chapter, one column of seed counts per law (chapter 0 holds recitals / annexes)."""
    frame = chapter_frame(stats)
    wide = frame.pivot_table(index="chapter", columns="law", values="seeds", aggfunc="sum")
    wide = wide.reindex(columns=list(stats)).fillna(0).astype(int)
    wide.loc["total"] = wide.sum()
    wide.columns.name = None
    return wide.rename_axis("chapter").reset_index().astype({"chapter": str})


def write_law_summary(results_dir: str | Path, figures_dir: str | Path, laws: list[str], scale: str) -> list[Path]:
    """results/tables/table_seeds.{csv,tex,md} and {figures_dir}/figure_seeds.{png,pdf}."""
    stats = {}
    for law in laws:
        path = Path(results_dir) / "law" / law / "stats.json"
        if not path.is_file():
            raise FileNotFoundError(f"{path} is missing; run the law stage first (rule law_tree)")
        stats[law] = json.loads(path.read_text(encoding="utf-8"))
    written = write_table(seeds_table(stats), Path(results_dir) / "tables" / TABLE,
                          f"Seeds per chapter of each law ({scale} scale; the paper: 842 EU AI Act, 506 GDPR)",
                          floatfmt=".0f")
    fig = plot_seeds_per_chapter(chapter_frame(stats))
    Path(figures_dir).mkdir(parents=True, exist_ok=True)
    for suffix in (".png", ".pdf"):
        path = Path(figures_dir) / f"{FIGURE}{suffix}"
        fig.savefig(path, dpi=150, bbox_inches="tight")
        written.append(path)
    return written
