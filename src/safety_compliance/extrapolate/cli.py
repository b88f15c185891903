"""`safety-compliance extrapolate {samples,allocate,cases,classify,outputs}`: the stage's jobs."""

from __future__ import annotations

import json

from ..laws import law_names
from ..safety_datasets import DATASETS
from ..slices import add_config_argument, job_config

# subcommand -> the workflow rule whose job it is
RULES = {"samples": "extrapolate_samples", "allocate": "allocate", "cases": "extrapolate_cases",
         "classify": "extrapolate_classify", "outputs": "extrapolate_tables"}


def _config(args) -> dict:
    wildcards = {name: getattr(args, name) for name in ("dataset", "law", "model") if getattr(args, name, None)}
    return job_config(RULES[args.action], args.config, args.results_dir, wildcards)


def _samples(args) -> int:
    from .extrapolate import prepare_samples

    report = prepare_samples(_config(args), args.dataset, args.results_dir)
    print(json.dumps(report, ensure_ascii=False))
    return 0


def _allocate(args) -> int:
    from .allocate import missing_rate
    from .extrapolate import run_allocation

    rows = run_allocation(_config(args), args.dataset, args.law, args.results_dir)
    chapters = [r["chapter"] for r in rows]
    rate = missing_rate(chapters) if chapters else float("nan")
    print(json.dumps({"dataset": args.dataset, "law": args.law, "samples": len(rows), "missing_percent": rate}))
    return 0


def _cases(args) -> int:
    from .extrapolate import run_cases

    print(json.dumps(run_cases(_config(args), args.dataset, args.law, args.results_dir), ensure_ascii=False))
    return 0


def _classify(args) -> int:
    from .extrapolate import run_classifier

    done = run_classifier(_config(args), args.model, args.results_dir)
    print(json.dumps({f"{d}/{law}": len(p) for (d, law), p in done.items()}))
    return 0


def _outputs(args) -> int:
    from .extrapolate import write_outputs

    outputs = write_outputs(_config(args), args.results_dir, args.figures_dir)
    print("\n".join(str(p) for p in outputs["figures"]))
    return 0


def register(subparsers) -> None:
    ex = subparsers.add_parser("extrapolate", help="map existing safety datasets onto the laws (RQ2)")
    actions = ex.add_subparsers(dest="action", required=True)

    def job(name, run, help_text, *, dataset=False, law=False):
        p = actions.add_parser(name, help=help_text)
        add_config_argument(p)
        p.add_argument("--results-dir", default="results")
        if dataset:
            p.add_argument("--dataset", required=True, choices=sorted(DATASETS))
        if law:
            p.add_argument("--law", required=True, choices=law_names())
        p.set_defaults(run=run)
        return p

    job("samples", _samples, "load, filter and sample one dataset", dataset=True)
    job("allocate", _allocate, "chapter of each sample under one law", dataset=True, law=True)
    job("cases", _cases, "a compliance case per sample under one law", dataset=True, law=True)
    job("classify", _classify, "one model classifies every generated case").add_argument(
        "--model", required=True, help="registry or student name")
    job("outputs", _outputs, "Figures 2-3, Tables 5 and 8 from the jobs' files").add_argument(
        "--figures-dir", default="paper_figures")
