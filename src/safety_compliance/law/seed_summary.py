"""What the law stage shows of its pools: the trees' shape, seeds per chapter (notebook 01, and the
table and figure the reports take in), and both pools beside the paper's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from ..resources import has_privaci
from ..versus_paper import PAPER_RESULTS, load_paper_results
from .privaci_kb import kb_pool
from .seeds import SeedOptions
from .tree import LawTree, clause_depth


def tree_shape(tree: LawTree) -> pd.DataFrame:
    """Nodes and leaves per kind, and the deepest clause, for one tree."""
    rows: dict[str, dict[str, int]] = {}

    def visit(node, trail):
        trail = trail + [node]
        row = rows.setdefault(node.kind, {"nodes": 0, "leaves": 0, "max_depth": 0})
        row["nodes"] += 1
        row["leaves"] += not node.children
        row["max_depth"] = max(row["max_depth"], clause_depth(trail[1:]))
        for child in node.children:
            visit(child, trail)

    visit(tree.root, [])
    rows.pop("law", None)
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "kind"
    return frame


def chapter_frame(stats: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """One row per (law, chapter) from each law's stats.json, for the bar chart."""
    return pd.DataFrame([{"law": law, "chapter": row["chapter"], "title": row["title"], "seeds": row["seeds"]}
                         for law, s in stats.items() for row in s["per_chapter"]])


def seeds_table(stats: dict[str, dict]) -> pd.DataFrame:
    """One row per chapter, one column of seed counts per law (chapter 0 holds recitals / annexes)."""
    frame = chapter_frame(stats)
    wide = frame.pivot_table(index="chapter", columns="law", values="seeds", aggfunc="sum")
    wide = wide.reindex(columns=list(stats)).fillna(0).astype(int)
    wide.loc["total"] = wide.sum()
    wide.columns.name = None
    return wide.rename_axis("chapter").reset_index().astype({"chapter": str})


def paper_seed_counts(paper_results: str | Path = PAPER_RESULTS) -> dict[str, int]:
    """The paper's seed counts: it synthesised one prohibited and one permitted case per seed."""
    cases = load_paper_results(paper_results)["text_figures"]["benchmark_cases"]
    return {law: n // 2 for law, n in cases.items()}


def pools_beside_paper(stats: dict[str, dict[str, Any]], kb_root: str | Path,
                       paper_results: str | Path = PAPER_RESULTS) -> pd.DataFrame:
    """Per law: this run's pool, the PrivaCI-Bench pool (article rows, as the paper used) and the paper's."""
    paper = paper_seed_counts(paper_results)
    rows = []
    for law, s in stats.items():
        if law not in paper or not has_privaci(law):
            continue        # a law the paper and PrivaCI-Bench do not cover has nothing to stand beside
        kb_seeds = kb_pool(kb_root, law, SeedOptions())[1]
        rows.append({"law": law, "this run": s["seeds"], "this run's source": s["seed_source"],
                     "privaci_kb": len(kb_seeds), "paper": paper[law],
                     "this run - paper": s["seeds"] - paper[law]})
    return pd.DataFrame(rows).set_index("law")


def plot_seeds_per_chapter(frame: pd.DataFrame):
    """A seaborn bar chart of seeds per chapter, one colour per law; returns the figure."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    fig, ax = plt.subplots(figsize=(9, 3.5))
    # Recitals and annexes (chapter 0) go last, under their own names.
    ordered = frame.sort_values(["chapter"], key=lambda c: c.where(c > 0, 10**6), kind="stable")
    ordered = ordered.assign(bar=[str(c) if c else t for c, t in zip(ordered["chapter"], ordered["title"])])
    sns.barplot(data=ordered, x="bar", y="seeds", hue="law", order=list(dict.fromkeys(ordered["bar"])), ax=ax)
    ax.set_xlabel("chapter")
    ax.set_ylabel("seeds")
    ax.set_title("Seeds per chapter")
    fig.tight_layout()
    return fig
