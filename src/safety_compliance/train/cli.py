"""`safety-compliance train {sft,grpo,figure4}`; also `python -m safety_compliance.train`
for accelerate."""

from __future__ import annotations

import argparse

from ..slices import add_config_argument
from .train import LAUNCHERS


def _stage(args) -> int:
    from .train import run_stage

    print(run_stage(args.train_command, args.student, args.config, args.results_dir, args.launcher))
    return 0


def _figure4(args) -> int:
    from ..slices import job_config
    from .train import write_figure4

    cfg = job_config("figure4", args.config, args.results_dir)
    for path in write_figure4(cfg["train"]["students"], args.results_dir, args.out):
        print(path)
    return 0


def add_arguments(sub) -> None:
    """The training subcommands, shared by the package CLI and `python -m safety_compliance.train`."""
    for name, text in (("sft", "stage 5: fine-tune a student on the distilled traces"),
                       ("grpo", "stage 6: GRPO from the student's SFT model")):
        p = sub.add_parser(name, help=text, description=text)
        p.add_argument("--student", required=True, help="registry name of the base model (train.students)")
        p.add_argument("--launcher", default=None, choices=LAUNCHERS,
                       help="default: the config's train.launcher (accelerate runs `accelerate launch`)")
        p.set_defaults(run=_stage)
    p = sub.add_parser("figure4", help="Figure 4: GRPO training curves and the SFT loss curve")
    p.add_argument("--out", default="paper_figures", help="folder for figure4.{pdf,png} and figure4_sft_loss.*")
    p.set_defaults(run=_figure4)
    for p in sub.choices.values():
        add_config_argument(p)
        p.add_argument("--results-dir", default="results", help="reads distill/ and benchmark/, writes train/")


def register(subparsers) -> None:
    parser = subparsers.add_parser("train", help="stages 5-6: SFT and GRPO of the Compliance Reasoner")
    add_arguments(parser.add_subparsers(dest="train_command", required=True))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m safety_compliance.train", description=__doc__)
    add_arguments(parser.add_subparsers(dest="train_command", required=True))
    return parser
