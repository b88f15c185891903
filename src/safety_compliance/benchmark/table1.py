"""Table 1 from the ratings read back: each rater's mean per law and criterion beside the paper's, and
the inter-annotator agreement (the human-evaluation stage is benchmark.run_human_eval)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..tables import write_table
from .ratings import agreement, beside_paper_average, is_model, paper_table1, table1


def write_tables(ratings: pd.DataFrame, humans: list[str], tables_dir: Path, scale: str, ratings_dir: Path,
                 paper_results: dict) -> dict[str, pd.DataFrame]:
    run = table1(ratings)
    models = bool(len(run)) and bool(run["Annotator"].map(is_model).any())
    if humans:
        whose = "human annotators" + (" and an LLM judge (rows 'model: ...')" if models else "")
    elif models:
        whose = (f"an LLM judge only: no human ratings were found in {ratings_dir}, so no row is a person's "
                 "(rows 'model: ...' are a model's ratings)")
    else:
        whose = f"none: no human ratings in {ratings_dir} and no LLM-judge ratings (human_eval.judge unset, or no cases)"
    caption = (f"Table 1: human evaluation, mean rating per annotator as % of the top score ({scale} scale); "
               f"raters: {whose}")
    write_table(run, tables_dir / "table1", caption)
    versus = beside_paper_average(run, paper_table1(paper_results))
    write_table(versus, tables_dir / "table1_vs_paper",
                f"Table 1, each rater of this run ({scale} scale) beside the paper's three-annotator average, "
                "with run - paper" + ("" if len(versus) else " (no ratings in this run)"))
    alpha = agreement(ratings)
    note = ("" if len(humans) >= 2 else
            f" (undefined: {len(humans)} human annotator(s); agreement needs two or more)")
    write_table(alpha, tables_dir / "table1_agreement",
                f"Inter-annotator agreement for Table 1, Krippendorff's alpha on the ordinal 1-5 scale{note}")
    return {"table1": run, "table1_vs_paper": versus, "table1_agreement": alpha}
