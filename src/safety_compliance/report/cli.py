"""`safety-compliance report {reproduction,table-page}`: the paper's numbers beside this run's, and the
HTML report's table pages."""

from __future__ import annotations

from ..slices import add_config_argument, job_config
from ..versus_paper import load_paper_results
from .report import write_reproduction, write_table_page


def _reproduction(args) -> None:
    cfg = job_config("reproduction", args.config, args.results)
    write_reproduction(cfg, load_paper_results(args.paper_results), args.results, args.out, args.html,
                       args.provenance)
    if args.provenance:
        print(f"wrote {args.provenance}")
    print(f"wrote {args.out}" + (f" and {args.html}" if args.html else ""))


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
