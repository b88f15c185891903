"""`safety-compliance law {build,summary}`: a law's tree and seed pool, as the config's `law:` block
asks; seeds per chapter of every configured law."""

from __future__ import annotations

import json

from ..laws import law_names
from ..slices import add_config_argument, job_config
from .law import build, write_law_summary


def _build(args) -> int:
    cfg = job_config("law_tree", args.config)
    stats = build(args.law, cfg, args.out, args.source)
    summary = {k: stats[k] for k in ("law", "seed_source", "seeds", "per_depth", "notes")}
    print(json.dumps(summary, ensure_ascii=False))
    return 0


def _summary(args) -> int:
    cfg = job_config("law_summary", args.config, args.results)
    for path in write_law_summary(args.results, args.figures, cfg["laws"], cfg["scale"]):
        print(f"wrote {path}")
    return 0


def register(sub) -> None:
    law = sub.add_parser("law", help="law trees and seed pools")
    actions = law.add_subparsers(dest="action", required=True)
    make = actions.add_parser("build", help="parse a law and write tree.json, seeds.jsonl, stats.json")
    make.add_argument("--law", required=True, choices=law_names())
    make.add_argument("--out", required=True, help="folder to write into, e.g. results/law/eu_ai_act")
    add_config_argument(make)
    make.add_argument("--source", default=None,
                      help="read the law from here instead of resources/ (the HTML or JSON file for "
                           "seed_source official, the knowledge-base folder for privaci_kb)")
    make.set_defaults(run=_build)
    summary = actions.add_parser("summary", help="seeds per chapter of each law: a table and a figure")
    add_config_argument(summary)
    summary.add_argument("--results", default="results")
    summary.add_argument("--figures", default="paper_figures")
    summary.set_defaults(run=_summary)
