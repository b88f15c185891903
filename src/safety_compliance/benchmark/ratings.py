"""Reading annotation sheets back and turning them into Table 1 and inter-annotator agreement.

One CSV per rater, in the sheet's columns (case_id, law, annotator, alignment, coherence, relevance,
comment). A rater whose name starts with "model:" is an LLM judge: it gets its own rows in Table 1
and never enters the human average or the agreement.

Table 1 follows the paper: the mean rating of each rater per law and criterion, as a percentage of
the top score (mean / 5 * 100, so 4.42 -> 88.4); the "Average" row is the mean of the human raters'
percentages. Agreement is Krippendorff's alpha on the ordinal 1-5 scale, among human raters.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from ..annotation_kit import CRITERIA, SCORES

MODEL_PREFIX = "model:"
REQUIRED = ("case_id", "law", *CRITERIA)


def model_rater(name: str) -> str:
    """The rater name of an LLM judge, marked so it is never mistaken for a person."""
    return f"{MODEL_PREFIX} {name}"


def is_model(rater: str) -> bool:
    return str(rater).startswith(MODEL_PREFIX)


def read_sheet(path: str | Path) -> pd.DataFrame:
    """One filled sheet as long rows (rater, case_id, law, criterion, score); blank scores are dropped.

    The rater is the sheet's `annotator` column (one name per file) or, when blank, the file's stem.
    """
    path = Path(path)
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: the sheet lacks column(s) {missing}; expected {list(REQUIRED)}")
    names = {n.strip() for n in frame.get("annotator", pd.Series(dtype=str)) if n.strip()}
    if len(names) > 1:
        raise ValueError(f"{path}: one sheet per annotator, but it names {sorted(names)}")
    rater = names.pop() if names else path.stem
    if frame["case_id"].duplicated().any():
        raise ValueError(f"{path}: case {frame.loc[frame['case_id'].duplicated(), 'case_id'].iloc[0]!r} is rated twice")
    rows = []
    for number, record in enumerate(frame.to_dict("records"), 2):
        for criterion in CRITERIA:
            raw = record[criterion].strip()
            if not raw:
                continue
            try:
                score = float(raw)
            except ValueError:
                score = math.nan
            if score not in SCORES:
                raise ValueError(f"{path}: line {number}, {criterion} = {raw!r}; ratings are integers 1-5")
            rows.append({"rater": rater, "case_id": record["case_id"], "law": record["law"],
                         "criterion": criterion, "score": int(score)})
    return pd.DataFrame(rows, columns=["rater", "case_id", "law", "criterion", "score"])


def read_ratings(paths: Iterable[str | Path]) -> pd.DataFrame:
    """Every sheet in `paths` together; two sheets by the same rater are an error."""
    frames, seen = [], {}
    for path in sorted(Path(p) for p in paths):
        frame = read_sheet(path)
        if frame.empty:
            continue
        rater = frame["rater"].iloc[0]
        if rater in seen:
            raise ValueError(f"annotator {rater!r} has two sheets: {seen[rater]} and {path}")
        seen[rater] = path
        frames.append(frame)
    if not frames:
        return pd.DataFrame(columns=["rater", "case_id", "law", "criterion", "score"])
    return pd.concat(frames, ignore_index=True)


def table1(ratings: pd.DataFrame) -> pd.DataFrame:
    """Rows (Annotator, Law), columns the three criteria, cells mean score / 5 * 100.

    Human raters come first, then their "Average" (mean of their percentages), then model raters.
    """
    columns = ["Annotator", "Law", *CRITERIA]
    if ratings.empty:
        return pd.DataFrame(columns=columns)
    means = ratings.groupby(["rater", "law", "criterion"])["score"].mean().unstack("criterion")
    percent = (means.reindex(columns=list(CRITERIA)) / max(SCORES) * 100).reset_index()
    percent = percent.rename(columns={"rater": "Annotator", "law": "Law"})
    humans = percent[~percent["Annotator"].map(is_model)]
    models = percent[percent["Annotator"].map(is_model)]
    parts = [humans]
    if not humans.empty:
        average = humans.groupby("Law")[list(CRITERIA)].mean().reset_index()
        average.insert(0, "Annotator", "Average")
        parts.append(average)
    parts.append(models)
    return pd.concat([p for p in parts if not p.empty], ignore_index=True)[columns]


def agreement(ratings: pd.DataFrame) -> pd.DataFrame:
    """Krippendorff's alpha (ordinal) among human raters, per law and criterion.

    Alpha is left empty where it is undefined: fewer than two human raters, or no case rated by two.
    """
    import krippendorff

    rows = []
    humans = ratings[~ratings["rater"].map(is_model)] if not ratings.empty else ratings
    for (law, criterion), group in sorted(humans.groupby(["law", "criterion"])) if not humans.empty else []:
        matrix = group.pivot(index="rater", columns="case_id", values="score")
        paired = int((matrix.notna().sum(axis=0) >= 2).sum())
        alpha = math.nan
        if len(matrix) >= 2 and paired:
            if matrix.stack().nunique() == 1:
                alpha = 1.0   # everyone gave the same score everywhere: perfect, though uninformative
            else:
                alpha = float(krippendorff.alpha(reliability_data=matrix.to_numpy(dtype=float),
                                                 level_of_measurement="ordinal", value_domain=list(SCORES)))
        rows.append({"Law": law, "Criterion": criterion, "Annotators": len(matrix),
                     "Cases rated by two or more": paired, "Krippendorff alpha (ordinal)": alpha})
    return pd.DataFrame(rows, columns=["Law", "Criterion", "Annotators", "Cases rated by two or more",
                                       "Krippendorff alpha (ordinal)"])


def paper_table1(paper_results: dict) -> pd.DataFrame:
    """The paper's Table 1 in `table1`'s layout."""
    rows = []
    for rater, by_criterion in paper_results["table1_human_eval"].items():
        laws = sorted({law for values in by_criterion.values() for law in values})
        for law in laws:
            rows.append({"Annotator": rater, "Law": law,
                         **{c: float(by_criterion[c][law]) for c in CRITERIA}})
    return pd.DataFrame(rows, columns=["Annotator", "Law", *CRITERIA])


def beside_paper_average(run: pd.DataFrame, paper: pd.DataFrame) -> pd.DataFrame:
    """Each rater's row beside the paper's three-annotator average for the same law, with run - paper."""
    from ..tables import beside_paper

    if run.empty:
        return pd.DataFrame(columns=[f"{c} {part}" for c in CRITERIA for part in ("run", "paper", "diff")])
    average = paper[paper["Annotator"] == "Average"].set_index("Law")[list(CRITERIA)]
    index = pd.MultiIndex.from_frame(run[["Annotator", "Law"]])
    run_frame = run.set_index(["Annotator", "Law"])[list(CRITERIA)]
    paper_frame = pd.DataFrame(average.reindex(run["Law"]).to_numpy(), index=index, columns=list(CRITERIA))
    versus = beside_paper(run_frame, paper_frame)
    versus.columns = [f"{criterion} {part}" for criterion, part in versus.columns]
    return versus
