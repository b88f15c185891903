"""Build one law's tree and seed pool as the config asks, and write tree.json, seeds.jsonl, stats.json."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from ..jsonl import write_json, write_jsonl
from ..chapters import CHAPTERS
from .eurlex import parse_ai_act_html
from .gdprtext import parse_gdpr_json
from .privaci_kb import kb_pool
from .seeds import SeedOptions, seed_stats, tree_seeds
from .tree import LawTree

OFFICIAL = {
    "eu_ai_act": ("resources/law/eu_ai_act_2024_1689_oj.html", parse_ai_act_html),
    "gdpr": ("resources/law/gdpr_2016_679_gdprtext.json", parse_gdpr_json),
}
KB_ROOT = "resources/reference/privaci_bench/KBs"
SEED_FIELDS = ("id", "law", "chapter", "chapter_title", "article", "path", "text")


def _known(law: str) -> None:
    if law not in CHAPTERS:
        raise ValueError(f"unknown law {law!r}; known laws: {', '.join(sorted(CHAPTERS))}")


def parse_official(law: str, source: str | Path | None = None) -> LawTree:
    """The law's tree from its official text (default: the copy under resources/)."""
    _known(law)
    default, parser = OFFICIAL[law]
    return parser(source or default)


def build_pool(law: str, law_cfg: dict[str, Any], source: str | Path | None = None
               ) -> tuple[LawTree, list[dict[str, Any]], dict[str, Any]]:
    """(tree, seeds, stats) for `law` under the config's `law:` block. `source` overrides where the
    official text (seed_source official) or the knowledge-base folder (privaci_kb) is read from."""
    _known(law)
    options = SeedOptions.from_config(law_cfg)
    if law_cfg["seed_source"] == "official":
        source = str(source or OFFICIAL[law][0])
        tree, notes = parse_official(law, source), []
        seeds = tree_seeds(tree, options)
        if options.include_annexes and not tree.nodes_of("annex"):
            notes.append(f"include_annexes has no effect: {law} has no annexes")
    elif law_cfg["seed_source"] == "privaci_kb":
        source = str(source or KB_ROOT)
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
