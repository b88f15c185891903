"""`safety-compliance`: every stage of the pipeline, runnable without Snakemake."""

from __future__ import annotations

import argparse
import importlib
import sys

# Each stage contributes its subcommands through a `register(subparsers)` function in its cli module.
STAGE_CLIS = ("resources_cli", "preflight", "evaluate.cli", "law.cli", "llm.cli", "report.cli", "train.cli",
              "extrapolate.cli", "benchmark.cli")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="safety-compliance", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for module in STAGE_CLIS:
        importlib.import_module(f"safety_compliance.{module}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except (ValueError, KeyError, OSError) as err:
        print(f"safety-compliance: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
