"""`safety-compliance report reproduction`: the paper's numbers beside this run's."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from ..config import load_config
from .reproduction import write_reproduction


def _reproduction(args) -> None:
    cfg = load_config(args.config, json.loads(args.overrides) if args.overrides else None)
    paper = yaml.safe_load(Path(args.paper_results).read_text(encoding="utf-8"))
    write_reproduction(cfg, paper, args.results, args.out, args.html)
    print(f"wrote {args.out}" + (f" and {args.html}" if args.html else ""))


def register(sub) -> None:
    report = sub.add_parser("report", help="reports over a run's results")
    actions = report.add_subparsers(dest="action", required=True)
    repro = actions.add_parser("reproduction", help="every paper table and text figure beside this run's")
    repro.add_argument("--config", default="config/config.yaml")
    repro.add_argument("--overrides", default=None, help="JSON merged over the config (what a rule passes)")
    repro.add_argument("--paper-results", default="config/paper_results.yaml")
    repro.add_argument("--results", default="results", help="the run's results folder")
    repro.add_argument("--out", default="results/reproduction.md")
    repro.add_argument("--html", default=None, help="also write the report as HTML here")
    repro.set_defaults(run=_reproduction)
