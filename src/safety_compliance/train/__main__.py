"""Entry point for `accelerate launch -m safety_compliance.train {sft,grpo} --student NAME ...`."""

import sys

from .cli import build_parser

if __name__ == "__main__":
    args = build_parser().parse_args()
    sys.exit(args.run(args))
