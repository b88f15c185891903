"""What notebook 01 shows: the trees' shape, seeds per chapter, and both pools beside the paper's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import yaml

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


def paper_seed_counts(paper_results: str | Path = "config/paper_results.yaml") -> dict[str, int]:
    """The paper's seed counts: it synthesised one prohibited and one permitted case per seed."""
    cases = yaml.safe_load(Path(paper_results).read_text(encoding="utf-8"))["text_figures"]["benchmark_cases"]
    return {law: n // 2 for law, n in cases.items()}


def pools_beside_paper(stats: dict[str, dict[str, Any]], kb_root: str | Path,
                       paper_results: str | Path = "config/paper_results.yaml") -> pd.DataFrame:
    """Per law: this run's pool, the PrivaCI-Bench pool (article rows, as the paper used) and the paper's."""
    paper = paper_seed_counts(paper_results)
    rows = []
    for law, s in stats.items():
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
