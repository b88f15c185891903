"""`safety-compliance evaluate` (one model on one law's test split) and `safety-compliance judge`
(the trained reasoner as a guard, on one case or a JSONL file of cases)."""

from __future__ import annotations

import json
import sys

from .. import LAWS


def _evaluate(args) -> int:
    from ..config import load_config
    from .run import evaluate_model, evaluate_privaci

    cfg = load_config(args.config)
    if args.privaci:
        out = evaluate_privaci(cfg, args.model, args.law, args.results_dir)
    else:
        out = evaluate_model(cfg, args.model, args.law, args.results_dir, args.output)
    print(out)
    return 0


def _judge(args) -> int:
    from ..config import load_config
    from ..jsonl import read_jsonl, write_jsonl
    from .guard import ComplianceReasoner

    if bool(args.facts) == bool(args.input):
        raise ValueError("give the facts of one case, or --input cases.jsonl, not both and not neither")
    if args.input and not args.output:
        raise ValueError("--input needs --output (the verdicts file)")
    config = load_config(args.config) if args.config else None
    cases = read_jsonl(args.input) if args.input else []
    for number, case in enumerate(cases, 1):
        if not isinstance(case.get("factual_background"), str) or not case["factual_background"].strip():
            raise ValueError(f"{args.input}:{number}: no 'factual_background' text")
        if "id" not in case:
            raise ValueError(f"{args.input}:{number}: no 'id'")
        if case.get("law", args.law) not in LAWS:
            raise ValueError(f"{args.input}:{number}: unknown law '{case['law']}'; known: {list(LAWS)}")
    with ComplianceReasoner.from_pretrained(args.model, config=config, backend=args.backend,
                                            max_tokens=args.max_tokens) as guard:
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


def register(subparsers) -> None:
    ev = subparsers.add_parser("evaluate", help="ask one registry model for verdicts on a law's test split")
    ev.add_argument("--model", required=True, help="registry name (config/models.yaml or a trained student)")
    ev.add_argument("--law", required=True, choices=LAWS)
    ev.add_argument("--config", default="config/config.yaml")
    ev.add_argument("--results-dir", default="results")
    ev.add_argument("--output", default=None, help="default: {results-dir}/eval/{law}/{model}.jsonl")
    ev.add_argument("--privaci", action="store_true", help="PrivaCI-Bench cases instead of our test split")
    ev.set_defaults(run=_evaluate)

    judge = subparsers.add_parser("judge", help="verdict of a trained compliance reasoner on a case")
    judge.add_argument("facts", nargs="?", default=None, help="the facts of one case")
    judge.add_argument("--model", required=True, help="model folder, hub id or API model")
    judge.add_argument("--law", default="gdpr", choices=LAWS, help="the law (cases in --input may set their own)")
    judge.add_argument("--input", default=None, help="JSONL of cases with 'id' and 'factual_background'")
    judge.add_argument("--output", default=None, help="JSONL of verdicts (with --input)")
    judge.add_argument("--backend", default="hf", choices=("hf", "openai", "vllm"))
    judge.add_argument("--max-tokens", type=int, default=None,
                       help="completion budget (default: the one the model folder records, as our trained "
                            "students do; else the compliance family's)")
    judge.add_argument("--config", default=None, help="a project config (its llm cache is used)")
    judge.set_defaults(run=_judge)
