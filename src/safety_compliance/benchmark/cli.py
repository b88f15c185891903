"""`safety-compliance benchmark {synthesize,distill,human-eval}`: stages 2-4 without Snakemake."""

from __future__ import annotations

import json
from pathlib import Path

from ..laws import law_names
from ..slices import add_config_argument, job_config


def _summary(report: dict, keys: tuple[str, ...]) -> str:
    return json.dumps({k: report[k] for k in keys if k in report}, ensure_ascii=False)


def _synthesize(args) -> int:
    from .benchmark import run_synthesis

    results = Path(args.results_dir)
    cfg = job_config("synthesize", args.config, results)
    report = run_synthesis(cfg, args.law, results / "law" / args.law / "seeds.jsonl",
                           results / "benchmark" / args.law)
    print(_summary(report, ("law", "requested", "produced", "rejected", "rejected_by_reason", "pairs",
                            "in_benchmark", "split", "warnings")))
    return 0


def _distill(args) -> int:
    from .benchmark import run_distillation

    results = Path(args.results_dir)
    cfg = job_config("distill", args.config, results)
    report = run_distillation(cfg, args.law, results / "benchmark" / args.law / "train.jsonl",
                              results / "law" / args.law / "seeds.jsonl", results / "distill" / args.law)
    print(_summary(report, ("law", "train_cases", "kept", "rejected", "rejected_by_reason", "warnings")))
    return 0


def _human_eval(args) -> int:
    from .benchmark import run_human_eval

    cfg = job_config("human_eval", args.config, args.results_dir)
    laws = args.law or cfg["laws"]
    report = run_human_eval(cfg, laws, args.results_dir, Path(args.results_dir) / "tables")
    print(json.dumps(report, ensure_ascii=False))
    return 0


def register(sub) -> None:
    bench = sub.add_parser("benchmark", help="the compliance benchmark: synthesis, distillation, human evaluation")
    actions = bench.add_subparsers(dest="action", required=True)
    synth = actions.add_parser("synthesize", help="cases for one law: results/benchmark/{law}/")
    synth.set_defaults(run=_synthesize)
    distill = actions.add_parser("distill", help="reasoning traces for one law's train split: results/distill/{law}/")
    distill.set_defaults(run=_distill)
    for parser in (synth, distill):
        parser.add_argument("--law", required=True, choices=law_names())
    human = actions.add_parser("human-eval", help="annotation kit, optional LLM judge, Table 1")
    human.add_argument("--law", action="append", choices=law_names(), help="repeatable; default: the config's laws")
    human.set_defaults(run=_human_eval)
    for parser in (synth, distill, human):
        add_config_argument(parser)
        parser.add_argument("--results-dir", default="results", help="reads law/ and benchmark/ here, writes beside them")
