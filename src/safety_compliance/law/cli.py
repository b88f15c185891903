"""`safety-compliance law build`: a law's tree and seed pool, as the config's `law:` block asks."""

from __future__ import annotations

import json

from ..laws import law_names
from ..slices import add_config_argument, job_config
from .law import build


def _build(args) -> int:
    cfg = job_config("law_tree", args.config)
    stats = build(args.law, cfg, args.out, args.source)
    summary = {k: stats[k] for k in ("law", "seed_source", "seeds", "per_depth", "notes")}
    print(json.dumps(summary, ensure_ascii=False))
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
