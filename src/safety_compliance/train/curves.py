"""Figure 4: the GRPO training curves, read from each student's trainer_state.json log history.

Six panels as in the paper (compliance reward, format reward, policy loss, KL, entropy, mean response
length), one line per student; the SFT loss curve goes to a separate file, figure4_sft_loss.{pdf,png}.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from .students import stage_dir

# Panel title -> the keys TRL 1.16 logs for it, preferred first. GRPOTrainer logs `policy_loss` only when
# an entropy bonus is on; otherwise `loss` is the policy loss plus beta x KL.
PANELS: dict[str, tuple[str, ...]] = {
    "Compliance reward": ("rewards/compliance_reward/mean",),
    "Format reward": ("rewards/format_reward/mean",),
    "Policy loss": ("policy_loss", "loss"),
    "KL": ("kl",),
    "Entropy": ("entropy",),
    "Mean completion length (tokens)": ("completions/mean_length",),
}
SFT_PANEL = ("SFT loss", ("loss",))


def log_history(student: str, stage: str, results_dir: str | Path = "results") -> list[dict]:
    path = stage_dir(student, stage, results_dir) / "trainer_state.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist; run the {stage} stage for '{student}' first")
    return json.loads(path.read_text(encoding="utf-8"))["log_history"]


def curves(histories: dict[str, list[dict]], panels: dict[str, tuple[str, ...]]) -> pd.DataFrame:
    """Long table (student, panel, key, step, value) of the per-step entries (the run summary, which
    carries train_loss rather than loss, is left out). A panel whose keys were never logged is an error,
    so a renamed TRL metric cannot leave an empty panel unnoticed."""
    rows = []
    for student, history in histories.items():
        steps = [e for e in history if "step" in e and "train_runtime" not in e]
        for panel, keys in panels.items():
            key = next((k for k in keys if any(k in e for e in steps)), None)
            if key is None:
                raise KeyError(f"{student}: none of {list(keys)} ({panel}) is in the log history; logged keys: "
                               f"{sorted({k for e in steps for k in e})}")
            title = panel if key == keys[0] else f"{panel} ({key}, incl. beta x KL)"
            rows += [{"student": student, "panel": title, "key": key, "step": e["step"], "value": e[key]}
                     for e in steps if key in e]
    return pd.DataFrame(rows, columns=["student", "panel", "key", "step", "value"])


def plot(frame: pd.DataFrame, stem: Path, columns: int) -> list[Path]:
    """One seaborn line panel per `panel`, one line per student; saved as stem.pdf and stem.png."""
    import matplotlib

    matplotlib.use("Agg")
    import seaborn as sns
    from matplotlib.ticker import MaxNLocator

    sns.set_theme(style="whitegrid", context="paper")
    grid = sns.relplot(data=frame, x="step", y="value", hue="student", col="panel", col_wrap=columns,
                       kind="line", marker="o", facet_kws={"sharey": False, "sharex": True}, height=2.4,
                       aspect=1.3)
    grid.set_titles("{col_name}")
    grid.set_axis_labels("optimizer step", "")
    for axis in grid.axes.flat:   # steps are whole numbers, also on a short demo run
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = [stem.with_suffix(".pdf"), stem.with_suffix(".png")]
    for path in paths:
        grid.savefig(path, dpi=150)
    matplotlib.pyplot.close(grid.figure)
    return paths
