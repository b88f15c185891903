"""Figures 2 (EU AI Act) and 3 (GDPR): how the samples of each dataset spread over the law's chapters."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from ..chapters import chapters_of, roman
from ..laws import get_law
from ..safety_datasets import get_dataset
from .allocate import chapter_distribution, missing_rate


def figure_stem(law: str) -> str:
    """The figure's file name: the paper's figure of the law (figure2, figure3), else one named after the law."""
    paper = get_law(law).paper
    return f"figure{paper.figure}" if paper else f"figure_allocation_{law}"


def chapter_label(law: str, number: int, width: int = 38) -> str:
    title = dict(chapters_of(law))[number]
    return textwrap.shorten(f"Ch. {roman(number)}: {title}", width=width, placeholder="...")


def distribution_frame(allocations: dict[str, Sequence[int | None]], law: str) -> pd.DataFrame:
    """Long counts: dataset, chapter label, count and share (percent of the dataset's samples)."""
    rows = []
    for name, chapters in allocations.items():
        counts = chapter_distribution(chapters, law)
        total = len(chapters)
        for number, count in counts.items():
            rows.append({"dataset": get_dataset(name).display, "chapter": chapter_label(law, number),
                         "count": count, "share": 100.0 * count / total if total else 0.0})
    return pd.DataFrame(rows, columns=["dataset", "chapter", "count", "share"])


def chapter_figure(allocations: dict[str, Sequence[int | None]], law: str, stem: str | Path,
                   *, note: str = "") -> list[Path]:
    """One horizontal bar panel per dataset (chapter names on the axis); writes stem.pdf and stem.png."""
    import matplotlib

    matplotlib.use("Agg")                 # files only; notebooks and rules have no display
    import matplotlib.pyplot as plt
    import seaborn as sns

    if not allocations:
        raise ValueError(f"no allocations to plot for {law}")
    frame = distribution_frame(allocations, law)
    names = list(allocations)
    sns.set_theme(style="whitegrid", context="paper")
    fig, axes = plt.subplots(1, len(names), figsize=(3.2 * len(names) + 2.4, 0.32 * len(chapters_of(law)) + 1.6),
                             sharey=True, squeeze=False)
    order = [chapter_label(law, n) for n, _ in chapters_of(law)]
    for ax, name in zip(axes[0], names):
        display = get_dataset(name).display
        part = frame[frame["dataset"] == display]
        sns.barplot(data=part, y="chapter", x="share", order=order, ax=ax, color=sns.color_palette()[0])
        chapters = allocations[name]
        missing = missing_rate(chapters) if chapters else float("nan")
        ax.set_title(f"{display}\n(n={len(chapters)}, missing {missing:.1f}%)", fontsize=8)
        ax.set_xlabel("% of samples")
        ax.set_ylabel("")
        ax.tick_params(axis="y", labelsize=7)
    paper = get_law(law).paper
    title = (f"Figure {paper.figure}: chapter" if paper else "Chapter") + f" allocation under the {get_law(law).title}"
    fig.suptitle(title + (f" ({note})" if note else ""), fontsize=9)
    fig.tight_layout()
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = [stem.with_suffix(".pdf"), stem.with_suffix(".png")]
    for path in paths:
        fig.savefig(path, dpi=150, bbox_inches="tight")
    plt.close(fig)
    return paths
