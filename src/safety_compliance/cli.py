"""`safety-compliance`: every stage of the pipeline, runnable without Snakemake."""

from __future__ import annotations

import argparse
import importlib
import sys

from . import __version__

# Each stage contributes its subcommands through a `register(subparsers)` function in its cli module.
STAGE_CLIS = ("resources_cli", "preflight", "evaluate.cli", "law.cli", "llm.cli", "report.cli", "train.cli",
              "extrapolate.cli", "benchmark.cli")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="safety-compliance", description=__doc__)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for module in STAGE_CLIS:
        importlib.import_module(f"safety_compliance.{module}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    from .benchmark.regeneration import BelowFloor
    from .llm.openai_compat import LLMError

    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except (ValueError, KeyError, OSError) as err:
        print(f"safety-compliance: error: {err}", file=sys.stderr)
        return 2
    except (LLMError, BelowFloor) as err:    # the stage ran and failed: a refused request, too little kept
        command = " ".join(filter(None, (args.command, getattr(args, "action", None))))
        print(f"safety-compliance: {command} failed: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
