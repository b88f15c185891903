"""What training did to the student: how often its answers parse and how often they are right,
before training (the base model), after SFT and after GRPO, per law, with 95 % Wilson intervals.

Read from the evaluation stage's predictions (results/eval/{law}/{model}.jsonl) on the same test
cases for all three models, so the three bars of a panel differ only in the weights. Drawn as
paper_figures/figure_demo_training.{png,pdf}; the title names the run's scale, because at demo scale
these are a 135M model's answers on a handful of cases, which show the mechanism and not the method's
accuracy.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .. import LAW_NAMES
from ..registry import STUDENT_STAGES as STAGES
from .evaluate import scored

BASE = "base"
STAGE_ORDER = (BASE, *STAGES)              # base, sft, grpo
STAGE_LABELS = {BASE: "base", "sft": "SFT", "grpo": "GRPO"}
POOLED = "pooled"
METRICS = {"format_rate": "answers that parse", "accuracy": "accuracy"}
COLUMNS = ["student", "law", "stage", "model", "n", "parsed", "correct",
           *[f"{m}{part}" for m in METRICS for part in ("", "_low", "_high")]]


def wilson(k: int, n: int) -> tuple[float, float, float]:
    """(k / n, low, high): the rate and its 95 % Wilson score interval."""
    from scipy.stats import binomtest

    if n <= 0:
        raise ValueError("a rate needs at least one case (n = 0); did the evaluation select no test case?")
    if not 0 <= k <= n:
        raise ValueError(f"{k} successes out of {n} cases is not a rate")
    interval = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    return k / n, float(interval.low), float(interval.high)


def stage_models(student: str) -> dict[str, str]:
    """The evaluated model of each stage: the base model's registry name, then `{base}-sft`, `{base}-grpo`."""
    return {BASE: student, **{stage: f"{student}-{stage}" for stage in STAGES}}


def missing_models(students: list[str], evaluated: list[str]) -> list[str]:
    """The stage models of `students` that `evaluate.models` leaves out (the figure needs all three)."""
    return [m for s in students for m in stage_models(s).values() if m not in evaluated]


def _row(student: str, law: str, stage: str, model: str, scored: pd.DataFrame) -> dict:
    n, parsed, correct = len(scored), int(scored["verdict"].notna().sum()), int(scored["correct"].sum())
    row = {"student": student, "law": law, "stage": stage, "model": model, "n": n, "parsed": parsed,
           "correct": correct}
    for metric, k in (("format_rate", parsed), ("accuracy", correct)):
        row[metric], row[f"{metric}_low"], row[f"{metric}_high"] = wilson(k, n)
    return row


def effect_table(scored: dict[tuple[str, str], pd.DataFrame], students: list[str], laws: list[str]) -> pd.DataFrame:
    """One row per student, law (and all laws pooled) and stage: n, parsed and correct answers, and both
    rates with their intervals. `scored` maps (model, law) to evaluate.metrics.join's frame."""
    rows = []
    for student in students:
        for law in [*laws, POOLED]:
            for stage, model in stage_models(student).items():
                parts = [scored[(model, one)] for one in (laws if law == POOLED else [law])]
                rows.append(_row(student, law, stage, model, pd.concat(parts, ignore_index=True)))
    return pd.DataFrame(rows, columns=COLUMNS)


def collect(cfg: dict, results_dir: str | Path = "results") -> pd.DataFrame:
    """The effect table of every student in `train.students` from the evaluation's prediction files."""
    students = list(cfg["train"]["students"])
    missing = missing_models(students, list(cfg["evaluate"]["models"]))
    if missing:
        raise ValueError(f"the training figure compares base, SFT and GRPO, but evaluate.models leaves out "
                         f"{missing}; add them to evaluate.models")
    laws = list(cfg["laws"])
    frames = {(m, law): scored(cfg, m, law, results_dir)
              for s in students for m in stage_models(s).values() for law in laws}
    return effect_table(frames, students, laws)


def _law_title(law: str) -> str:
    return "all laws (pooled)" if law == POOLED else LAW_NAMES[law]


def figure_title(scale: str) -> str:
    title = (f"Base, SFT and GRPO student on the test split ({scale} scale); whiskers: 95 % Wilson intervals, "
             "k/n above")
    if scale != "paper":
        title += ("\nA tiny model on a handful of cases: the figure shows whether training taught the answer "
                  "format, not the method's accuracy")
    return title


def plot(table: pd.DataFrame, stem: str | Path, scale: str, labels: dict[str, str] | None = None) -> list[Path]:
    """A panel per law (rows) and rate (columns): base, SFT and GRPO bars with Wilson intervals, each
    bar labelled k/n; one bar colour per student. Saved as stem.pdf and stem.png."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if table.empty:
        raise ValueError("no evaluation rows to draw")
    labels = labels or {}
    laws = list(dict.fromkeys(table["law"]))
    students = list(dict.fromkeys(table["student"]))
    width = 0.8 / len(students)
    figure, axes = plt.subplots(len(laws), len(METRICS), figsize=(4.4 * len(METRICS), 2.7 * len(laws) + 0.4),
                                squeeze=False, sharey=True)
    counts = {"format_rate": "parsed", "accuracy": "correct"}
    for row, law in enumerate(laws):
        for col, (metric, title) in enumerate(METRICS.items()):
            axis = axes[row][col]
            for index, student in enumerate(students):
                part = table[(table["law"] == law) & (table["student"] == student)].set_index("stage")
                part = part.loc[[s for s in STAGE_ORDER if s in part.index]]
                x = [STAGE_ORDER.index(s) + (index - (len(students) - 1) / 2) * width for s in part.index]
                values = part[metric] * 100
                errors = [values - part[f"{metric}_low"] * 100, part[f"{metric}_high"] * 100 - values]
                axis.bar(x, values, width=width * 0.9, yerr=errors, capsize=3, label=labels.get(student, student),
                         color=f"C{index}", alpha=0.85)
                for xi, k, n, high in zip(x, part[counts[metric]], part["n"], part[f"{metric}_high"] * 100):
                    axis.text(xi, high + 2, f"{k}/{n}", ha="center", va="bottom", fontsize=7)
            axis.set_xticks(range(len(STAGE_ORDER)), [STAGE_LABELS[s] for s in STAGE_ORDER])
            axis.set_ylim(0, 118)
            axis.set_title(f"{_law_title(law)}: {title}", fontsize=9)
            if col == 0:
                axis.set_ylabel("% of test answers")
    if len(students) > 1:
        axes[0][-1].legend(fontsize=7, loc="upper left")
    figure.suptitle(figure_title(scale), fontsize=9)
    figure.tight_layout()
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = [stem.with_suffix(".pdf"), stem.with_suffix(".png")]
    for path in paths:
        figure.savefig(path, dpi=150)
    plt.close(figure)
    return paths


def write_training_figure(cfg: dict, results_dir: str | Path = "results", out_dir: str | Path = "paper_figures"
                          ) -> tuple[pd.DataFrame, list[Path]]:
    """paper_figures/figure_demo_training.{pdf,png} and the numbers behind it."""
    from ..registry import registry_of

    table = collect(cfg, results_dir)
    registry = registry_of(cfg, results_dir)
    labels = {s: registry[s].label for s in cfg["train"]["students"]}
    return table, plot(table, Path(out_dir) / "figure_demo_training", cfg["scale"], labels)
