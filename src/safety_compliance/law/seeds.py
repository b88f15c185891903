"""The seed pool: one seed per root-to-leaf path of a law tree, its text the chain of clauses.

A seed reads top-down, each clause with its heading:

    Chapter II: Prohibited AI practices
    Article 5: Prohibited AI practices
    1. The following AI practices shall be prohibited:
    (h) the use of 'real-time' remote biometric identification systems ...
    (iii) the localisation or identification of a person suspected ...

so that a teacher shown one seed sees a self-contained requirement.
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass
from typing import Any

from ..chapters import chapter_title, roman
from .tree import GROUPING, LawTree, Node, clause_depth

# Recitals and annexes stand outside the chapters; their seeds carry chapter 0 and these titles.
OUTSIDE_CHAPTERS = {"recital": "Recitals", "annex": "Annexes"}


@dataclass(frozen=True)
class SeedOptions:
    include_recitals: bool = False
    include_annexes: bool = False
    max_depth: int | None = None      # clause depth (chapter = 1, article = 2, ...); None: to the leaves

    @classmethod
    def from_config(cls, law_cfg: dict[str, Any]) -> SeedOptions:
        return cls(bool(law_cfg["include_recitals"]), bool(law_cfg["include_annexes"]), law_cfg["max_depth"])


def heading(node: Node, law: str) -> str:
    """One clause as it appears in a seed: its label or title, then its words."""
    if node.kind == "chapter":
        number = int(node.label)
        return f"Chapter {roman(number)}: {chapter_title(law, number)}"
    if node.kind in ("article", "annex"):
        head = f"{node.kind.capitalize()} {node.label}: {node.title}"
        return f"{head}\n{node.text}" if node.text else head
    if node.kind == "section":
        # Annex sections carry their printed heading ("Section A. ..."); chapter sections a number.
        return node.title if node.id.split("/")[1].startswith("anx") else f"Section {node.label}: {node.title}"
    if node.kind == "recital":
        return f"Recital {node.label}: {node.text}"
    if node.kind == "paragraph":
        return f"{node.label}. {node.text}"
    if node.kind in ("point", "subpoint"):
        return f"({node.label}) {node.text}" if node.label and node.label.isalnum() else f"— {node.text}"
    return node.text


def _subtree_text(node: Node, law: str) -> str:
    lines = [heading(node, law)]
    for child in node.children:
        lines.append(_subtree_text(child, law))
    return "\n".join(line for line in lines if line)


def _paths(node: Node, trail: list[Node], max_depth: int | None):
    trail = trail + [node]
    if node.children and (max_depth is None or node.kind in GROUPING or clause_depth(trail) < max_depth):
        for child in node.children:
            yield from _paths(child, trail, max_depth)
    else:
        yield trail


def _wanted(top: Node, options: SeedOptions) -> bool:
    return (top.kind == "chapter" or (top.kind == "recital" and options.include_recitals)
            or (top.kind == "annex" and options.include_annexes))


def tree_seeds(tree: LawTree, options: SeedOptions) -> list[dict[str, Any]]:
    """Every root-to-leaf path as a seed record (the data contract's fields), sorted by id.

    With `max_depth`, a path stops at that depth and the clauses beneath are folded into the last
    one's text, so no words of the law are lost, only the split into separate seeds.
    """
    seeds = []
    for top in tree.root.children:
        if not _wanted(top, options):
            continue
        for trail in _paths(top, [], options.max_depth):
            leaf = trail[-1]
            lines = [heading(n, tree.law) for n in trail[:-1]] + [_subtree_text(leaf, tree.law)]
            article = next((int(n.label) for n in trail if n.kind == "article"), None)
            chapter = int(top.label) if top.kind == "chapter" else 0
            seeds.append({
                "id": leaf.id,
                "law": tree.law,
                "chapter": chapter,
                "chapter_title": chapter_title(tree.law, chapter) if chapter else OUTSIDE_CHAPTERS[top.kind],
                "article": article,
                "path": [n.id for n in trail],
                "text": "\n".join(line for line in lines if line),
                "depth": clause_depth(trail),
            })
    return sorted(seeds, key=lambda s: s["id"])


def seed_stats(seeds: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts per chapter and per depth, and the spread of text lengths (characters)."""
    chapters: dict[tuple[int, str], int] = Counter((s["chapter"], s["chapter_title"]) for s in seeds)
    lengths = sorted(len(s["text"]) for s in seeds)
    return {
        "seeds": len(seeds),
        "per_chapter": [{"chapter": c, "title": t, "seeds": n} for (c, t), n in sorted(chapters.items())],
        "per_depth": {str(d): n for d, n in sorted(Counter(s["depth"] for s in seeds).items())},
        "articles_with_seeds": len({s["article"] for s in seeds if s["article"] is not None}),
        "text_length": {
            "min": lengths[0] if lengths else 0,
            "median": statistics.median(lengths) if lengths else 0,
            "mean": round(statistics.fmean(lengths), 1) if lengths else 0,
            "max": lengths[-1] if lengths else 0,
        },
    }
