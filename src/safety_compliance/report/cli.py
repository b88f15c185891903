"""`safety-compliance report reproduction`: the paper's numbers beside this run's."""

from __future__ import annotations

from pathlib import Path

import yaml

from ..slices import add_config_argument, job_config
from .law_summary import write_law_summary
from .pages import write_table_page
from .report import write_reproduction


def _reproduction(args) -> None:
    cfg = job_config("reproduction", args.config, args.results)
    paper = yaml.safe_load(Path(args.paper_results).read_text(encoding="utf-8"))
    if args.provenance:   # first, so that the report shows it
        from .provenance import write_provenance

        print(f"wrote {write_provenance(cfg, args.provenance)}")
    write_reproduction(cfg, paper, args.results, args.out, args.html)
    print(f"wrote {args.out}" + (f" and {args.html}" if args.html else ""))


def _law_summary(args) -> None:
    cfg = job_config("law_summary", args.config, args.results)
    for path in write_law_summary(args.results, args.figures, cfg["laws"], cfg["scale"]):
        print(f"wrote {path}")


def register(sub) -> None:
    report = sub.add_parser("report", help="reports over a run's results")
    actions = report.add_subparsers(dest="action", required=True)
    repro = actions.add_parser("reproduction", help="every paper table and text figure beside this run's")
    add_config_argument(repro)
    repro.add_argument("--paper-results", default="config/paper_results.yaml")
    repro.add_argument("--results", default="results", help="the run's results folder")
    repro.add_argument("--out", default="results/reproduction.md")
    repro.add_argument("--html", default=None, help="also write the report as HTML here")
    repro.add_argument("--provenance", default=None,
                       help="also write what made the run (commit, versions, machine, config) as JSON here")
    repro.set_defaults(run=_reproduction)
    page = actions.add_parser("table-page", help="a results/tables CSV as a web page for the HTML report")
    page.add_argument("csv")
    page.add_argument("out")
    page.set_defaults(run=lambda a: write_table_page(a.csv, a.out))
    law = actions.add_parser("law-summary", help="seeds per chapter of each law: a table and a figure")
    add_config_argument(law)
    law.add_argument("--results", default="results")
    law.add_argument("--figures", default="paper_figures")
    law.set_defaults(run=_law_summary)
