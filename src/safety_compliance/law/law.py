"""The law stage: each law as a tree of clauses and its seed pool, and seeds per chapter for the reports.
The rules, the CLI (`safety-compliance law ...`) and notebook 01 call these functions:

    rule         function                    files
    law_tree     build_pool, write_pool      results/law/{law}/tree.json, seeds.jsonl, stats.json
                 (the CLI: build)
    law_summary  write_law_summary           results/tables/table_seeds.{csv,tex,md},
                                             paper_figures/figure_seeds.{png,pdf}
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from ..jsonl import write_json, write_jsonl
from ..laws import get_law, load
from ..resources import kb_root
from ..tables import write_table
from ..versus_paper import PAPER_RESULTS
from .privaci_kb import kb_pool
from .seed_summary import chapter_frame, paper_seed_counts, plot_seeds_per_chapter, seeds_table
from .seeds import SeedOptions, seed_stats, tree_seeds
from .tree import LawTree

SEED_FIELDS = ("id", "law", "chapter", "chapter_title", "article", "path", "text")


def parse_official(law: str, source: str | Path | None = None) -> LawTree:
    """The law's tree from its official text (default: the copy under resources/), by its registered parser."""
    entry = get_law(law)
    return load(entry.parser)(source or entry.text_path)


def build_pool(law: str, law_cfg: dict[str, Any], source: str | Path | None = None
               ) -> tuple[LawTree, list[dict[str, Any]], dict[str, Any]]:
    """(tree, seeds, stats) for `law` under the config's `law:` block. `source` overrides where the
    official text (seed_source official) or the knowledge-base folder (privaci_kb) is read from."""
    entry = get_law(law)
    options = SeedOptions.from_config(law_cfg)
    if law_cfg["seed_source"] == "official":
        source = str(source or entry.text_path)
        tree, notes = parse_official(law, source), []
        seeds = tree_seeds(tree, options)
        if options.include_annexes and not tree.nodes_of("annex"):
            notes.append(f"include_annexes has no effect: {law} has no annexes")
    elif law_cfg["seed_source"] == "privaci_kb":
        source = str(source or kb_root())
        tree, seeds, notes = kb_pool(source, law, options)
    else:
        raise ValueError(f"law.seed_source must be official or privaci_kb, not {law_cfg['seed_source']!r}")
    stats = {
        "law": law,
        "seed_source": law_cfg["seed_source"],
        "source": source,
        "options": {"include_recitals": options.include_recitals, "include_annexes": options.include_annexes,
                    "max_depth": options.max_depth},
        "tree": dict(sorted(Counter(n.kind for n in tree.walk() if n.kind != "law").items())),
        "notes": notes,
        **seed_stats(seeds),
    }
    return tree, seeds, stats


def write_pool(out: str | Path, tree: LawTree, seeds: list[dict[str, Any]], stats: dict[str, Any]) -> None:
    out = Path(out)
    write_json(out / "tree.json", tree.to_dict())
    write_jsonl(out / "seeds.jsonl", ({k: s[k] for k in SEED_FIELDS} for s in seeds))
    write_json(out / "stats.json", stats)


def build(law: str, cfg: dict[str, Any], out: str | Path, source: str | Path | None = None) -> dict[str, Any]:
    """Build and write `law`'s pool under `out`; returns its stats."""
    tree, seeds, stats = build_pool(law, cfg["law"], source)
    write_pool(out, tree, seeds, stats)
    return stats


SEEDS_TABLE = "table_seeds"
SEEDS_FIGURE = "figure_seeds"


def write_law_summary(results_dir: str | Path, figures_dir: str | Path, laws: list[str], scale: str,
                      paper_results: str | Path = PAPER_RESULTS) -> list[Path]:
    """Seeds per chapter of each law: results/tables/table_seeds.{csv,tex,md} and
    {figures_dir}/figure_seeds.{png,pdf}; the caption names the paper's pool where it reports the law."""
    stats = {}
    for law in laws:
        path = Path(results_dir) / "law" / law / "stats.json"
        if not path.is_file():
            raise FileNotFoundError(f"{path} is missing; run the law stage first (rule law_tree)")
        stats[law] = json.loads(path.read_text(encoding="utf-8"))
    paper = paper_seed_counts(paper_results)
    beside = ", ".join(f"{paper[law]} {get_law(law).title}" for law in laws if law in paper)
    written = write_table(seeds_table(stats), Path(results_dir) / "tables" / SEEDS_TABLE,
                          f"Seeds per chapter of each law ({scale} scale" + (f"; the paper: {beside})" if beside else ")"),
                          floatfmt=".0f")
    fig = plot_seeds_per_chapter(chapter_frame(stats))
    Path(figures_dir).mkdir(parents=True, exist_ok=True)
    for suffix in (".png", ".pdf"):
        path = Path(figures_dir) / f"{SEEDS_FIGURE}{suffix}"
        fig.savefig(path, dpi=150, bbox_inches="tight")
        written.append(path)
    return written
