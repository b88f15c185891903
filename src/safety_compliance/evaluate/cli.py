"""`safety-compliance evaluate` (one model on one law's test split) and `safety-compliance judge`
(the trained reasoner as a guard, on one case or a JSONL file of cases)."""

from __future__ import annotations

import json
import sys

from ..laws import law_names
from ..slices import add_config_argument


def _evaluate(args) -> int:
    from ..slices import job_config
    from .evaluate import evaluate_model, evaluate_privaci

    cfg = job_config("evaluate_privaci" if args.privaci else "evaluate", args.config, args.results_dir,
                     {"model": args.model})
    if args.privaci:
        out = evaluate_privaci(cfg, args.model, args.law, args.results_dir, args.output)
    else:
        out = evaluate_model(cfg, args.model, args.law, args.results_dir, args.output)
    print(out)
    return 0


def _open_guard(args, config: dict | None):
    """A registry name (config/models.yaml, or the trained students of the config) opens that entry,
    backend and family included; anything else is a model folder, hub id or API model on `--backend`.
    Either way nothing is cached unless `--cache` asks for it."""
    from ..llm import make_generator
    from ..registry import registry_of
    from .guard import ComplianceReasoner, guard_config, trained_budget

    endpoint = {key: value for key, value in (("base_url", args.base_url), ("api_key_env", args.api_key_env)) if value}
    if endpoint and args.backend != "openai":
        raise ValueError("--base-url and --api-key-env are for --backend openai")
    cache = True if args.cache == "" else args.cache
    known = config or _project_config(None)
    registry = registry_of(known) if known else {}
    if args.model in registry:
        entry = registry[args.model]
        return ComplianceReasoner(make_generator(entry, guard_config(config, cache), stage="judge"),
                                  family=entry.family, max_tokens=args.max_tokens if args.max_tokens is not None
                                  else trained_budget(entry.model))
    return ComplianceReasoner.from_pretrained(args.model, config=config, backend=args.backend,
                                              max_tokens=args.max_tokens, cache=cache, **endpoint)


def _project_config(given: list[str] | None) -> dict | None:
    """The config files given, or inside a checkout its default config, else none."""
    from ..config import load_config
    from ..paths import project_root

    if given:
        return load_config(given)
    try:
        project_root()
    except FileNotFoundError:
        return None
    return load_config()


def _judge(args) -> int:
    from ..jsonl import read_jsonl, write_jsonl

    if bool(args.facts) == bool(args.input):
        raise ValueError("give the facts of one case, or --input cases.jsonl, not both and not neither")
    if args.input and not args.output:
        raise ValueError("--input needs --output (the verdicts file)")
    config = _project_config(args.config) if args.config else None
    cases = read_jsonl(args.input) if args.input else []
    for number, case in enumerate(cases, 1):
        if not isinstance(case.get("factual_background"), str) or not case["factual_background"].strip():
            raise ValueError(f"{args.input}:{number}: no 'factual_background' text")
        if "id" not in case:
            raise ValueError(f"{args.input}:{number}: no 'id'")
        if case.get("law", args.law) not in law_names():
            raise ValueError(f"{args.input}:{number}: unknown law '{case['law']}'; known: {list(law_names())}")
    with _open_guard(args, config) as guard:
        if args.facts:
            print(json.dumps(guard.judge(args.facts, law=args.law).to_dict(), ensure_ascii=False, indent=2))
            return 0
        rows = []
        for law in sorted({c.get("law", args.law) for c in cases}):
            chosen = [c for c in cases if c.get("law", args.law) == law]
            for case, verdict in zip(chosen, guard.judge_many([c["factual_background"] for c in chosen], law)):
                rows.append({"id": case["id"], "law": law, **verdict.to_dict()})
    write_jsonl(args.output, rows)
    print(f"{len(rows)} verdicts -> {args.output}", file=sys.stderr)
    return 0


def _training_figure(args) -> int:
    from ..slices import job_config
    from .training_effect import write_training_figure

    cfg = job_config("training_figure", args.config, args.results_dir)
    table, paths = write_training_figure(cfg, args.results_dir, args.out)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    for path in paths:
        print(path)
    return 0


def register(subparsers) -> None:
    ev = subparsers.add_parser("evaluate", help="ask one registry model for verdicts on a law's test split")
    ev.add_argument("--model", required=True, help="registry name (config/models.yaml or a trained student)")
    ev.add_argument("--law", required=True, choices=law_names())
    add_config_argument(ev)
    ev.add_argument("--results-dir", default="results")
    ev.add_argument("--output", default=None, help="default: {results-dir}/eval/{law}/{model}.jsonl")
    ev.add_argument("--privaci", action="store_true", help="PrivaCI-Bench cases instead of our test split")
    ev.set_defaults(run=_evaluate)

    judge = subparsers.add_parser("judge", help="verdict of a trained compliance reasoner on a case")
    judge.add_argument("facts", nargs="?", default=None, help="the facts of one case")
    judge.add_argument("--model", required=True, help="registry name, or a model folder, hub id or API model")
    judge.add_argument("--law", default="gdpr", choices=law_names(), help="the law (cases in --input may set their own)")
    judge.add_argument("--input", default=None, help="JSONL of cases with 'id' and 'factual_background'")
    judge.add_argument("--output", default=None, help="JSONL of verdicts (with --input)")
    judge.add_argument("--backend", default="hf", choices=("hf", "openai", "vllm"),
                       help="for a folder, hub id or API model (a registry name brings its own)")
    judge.add_argument("--max-tokens", type=int, default=None,
                       help="completion budget (default: the one the model folder records, as our trained "
                            "students do; else the compliance family's)")
    judge.add_argument("--base-url", default=None,
                       help="--backend openai: the endpoint (default: $OPENAI_BASE_URL, else OpenAI's)")
    judge.add_argument("--api-key-env", default=None,
                       help="--backend openai: the environment variable holding the key (default: OPENAI_API_KEY)")
    judge.add_argument("--cache", nargs="?", const="", default=None, metavar="PATH",
                       help="keep prompts (case text included) and answers in this SQLite file; without PATH in "
                            "$XDG_CACHE_HOME/safety-compliance/judge.sqlite. Default: nothing is stored")
    judge.add_argument("--config", nargs="+", default=None, metavar="FILE",
                       help="config files (registry names and llm settings; default: the checkout's config); "
                            "no cache without --cache")
    judge.set_defaults(run=_judge)

    figure = subparsers.add_parser("training-figure", help="what training did: format rate and accuracy of base, "
                                                           "SFT and GRPO per law, from the evaluation's predictions")
    add_config_argument(figure)
    figure.add_argument("--results-dir", default="results")
    figure.add_argument("--out", default="paper_figures", help="folder for figure_demo_training.{pdf,png}")
    figure.set_defaults(run=_training_figure)
