"""`safety-compliance train {sft,grpo,figure4,training-figure}`; also `python -m safety_compliance.train`
for accelerate."""

from __future__ import annotations

import argparse
import json

import yaml


def _overrides(text: str | None) -> dict | None:
    """JSON first: YAML 1.1 reads JSON's `5e-07` as a string, not a number."""
    if not text:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return yaml.safe_load(text)


def _config(args):
    from ..config import load_config

    return load_config(args.config_file, _overrides(args.overrides))


def _sft(args) -> int:
    from .sft import train_sft

    print(train_sft(_config(args), args.student, args.results_dir))
    return 0


def _grpo(args) -> int:
    from .grpo import train_grpo

    print(train_grpo(_config(args), args.student, args.results_dir))
    return 0


def _figure4(args) -> int:
    from .curves import write_figure4

    cfg = _config(args)
    for path in write_figure4(cfg["train"]["students"], args.results_dir, args.out):
        print(path)
    return 0


def _training_figure(args) -> int:
    from .effect import write_training_figure

    table, paths = write_training_figure(_config(args), args.results_dir, args.out)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    for path in paths:
        print(path)
    return 0


def add_arguments(sub) -> None:
    """The training subcommands, shared by the package CLI and `python -m safety_compliance.train`."""
    for name, run, text in (("sft", _sft, "stage 5: fine-tune a student on the distilled traces"),
                            ("grpo", _grpo, "stage 6: GRPO from the student's SFT model")):
        p = sub.add_parser(name, help=text, description=text)
        p.add_argument("--student", required=True, help="registry name of the base model (train.students)")
        p.set_defaults(run=run)
    p = sub.add_parser("figure4", help="Figure 4: GRPO training curves and the SFT loss curve")
    p.add_argument("--out", default="paper_figures", help="folder for figure4.{pdf,png} and figure4_sft_loss.*")
    p.set_defaults(run=_figure4)
    p = sub.add_parser("training-figure", help="format rate and accuracy of base, SFT and GRPO per law, "
                                               "from the evaluation's predictions")
    p.add_argument("--out", default="paper_figures", help="folder for figure_demo_training.{pdf,png}")
    p.set_defaults(run=_training_figure)
    for p in sub.choices.values():
        p.add_argument("--config-file", default="config/config.yaml")
        p.add_argument("--overrides", default=None, help="YAML or JSON merged over the config file")
        p.add_argument("--results-dir", default="results", help="reads distill/ and benchmark/, writes train/")


def register(subparsers) -> None:
    parser = subparsers.add_parser("train", help="stages 5-6: SFT and GRPO of the Compliance Reasoner")
    add_arguments(parser.add_subparsers(dest="train_command", required=True))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m safety_compliance.train", description=__doc__)
    add_arguments(parser.add_subparsers(dest="train_command", required=True))
    return parser
