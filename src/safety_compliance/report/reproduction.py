"""The paper's numbers beside this run's: every table and text figure, with the difference.

The report opens with the run's scale (config `scale`, teacher, students, models evaluated, seed
source), so a demo run on a tiny model is never read as a paper-scale one. It reads whatever the run
made (results/tables/*.csv, results/law/, results/benchmark/, results/extrapolate/); anything missing
is listed as not produced by this run instead of failing, so it can run after a partial pipeline.

Table cells are matched by their labels rather than their position: a paper cell is the set of keys
leading to its number in config/paper_results.yaml (e.g. {Qwen3-8B, Ch.6}); a run cell is the set of
its row's text cells plus its column name. Labels compare without case or punctuation and without a
trailing parenthesis, and the paper's two spellings of our reasoners ("Compliance-" in tables 3-4,
"Compliant-" in tables 6-7) count as one.
"""

from __future__ import annotations

import html
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..jsonl import write_text_atomic
from ..registry import registry_of
from .provenance import provenance_lines
from .pages import read_table
from .tables import to_markdown

NOT_PRODUCED = "not produced by this run"
LAW_TITLES = {"eu_ai_act": "EU AI Act", "gdpr": "GDPR"}
# The paper's base student for the headline gains (tables 3-4) and for appendix B (tables 6-7).
HEADLINE = {"eu_ai_act": "table3", "gdpr": "table4"}
APPENDIX_B = {"eu_ai_act": "table6", "gdpr": "table7"}
OURS = {"sft": "Compliance-Reasoner-SFT", "grpo": "Compliance-Reasoner-GRPO"}


# ---------------------------------------------------------------------------------------------------
# The document: sections of paragraphs and tables, written as Markdown and as HTML.

@dataclass
class Section:
    title: str
    blocks: list[str | pd.DataFrame] = field(default_factory=list)


def to_markdown_document(title: str, sections: list[Section]) -> str:
    out = [f"# {title}\n"]
    for section in sections:
        out.append(f"## {section.title}\n")
        for block in section.blocks:
            out.append(to_markdown(block) if isinstance(block, pd.DataFrame) else block + "\n")
    return "\n".join(out)


def to_html_document(title: str, sections: list[Section]) -> str:
    style = ("body{font-family:sans-serif;max-width:70em;margin:2em auto}"
             "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #bbb;padding:2px 6px}"
             ".warning{background:#fff3cd;padding:.5em 1em;border-left:4px solid #e0a800}")
    out = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
           f"<style>{style}</style></head><body><h1>{html.escape(title)}</h1>"]
    for section in sections:
        out.append(f"<h2>{html.escape(section.title)}</h2>")
        for block in section.blocks:
            if isinstance(block, pd.DataFrame):
                out.append(block.to_html(index=False, na_rep="", float_format=lambda v: f"{v:.2f}"))
            elif block.startswith("> "):
                out.append(f"<p class='warning'>{html.escape(block[2:])}</p>")
            elif block.startswith("- "):
                items = "".join(f"<li>{html.escape(line[2:])}</li>" for line in block.splitlines())
                out.append(f"<ul>{items}</ul>")
            else:
                out.append(f"<p>{html.escape(block)}</p>")
    out.append("</body></html>")
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------------
# Reading what the run made.

def _count_lines(path: Path) -> int | None:
    if not path.is_file():
        return None
    with path.open(encoding="utf-8") as handle:
        return sum(1 for line in handle if line.strip())


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def _dig(obj: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(obj, dict) or key not in obj:
            return None
        obj = obj[key]
    return obj


def norm_label(label: Any) -> str:
    """A label as compared across paper and run: no case, punctuation or trailing parenthesis."""
    text = re.sub(r"\s*\([^()]*\)\s*$", "", str(label)).lower()
    # The paper writes both "Compliance-Reasoner" (tables 3-4) and "Compliant-Reasoner" (tables 6-7).
    text = text.replace("compliant", "compliance")
    return re.sub(r"[^a-z0-9]", "", text)


def paper_cells(table: dict, path: tuple[str, ...] = ()) -> dict[frozenset[str], tuple[tuple[str, ...], float]]:
    """Every number of a paper table: its label set -> (labels as written, value)."""
    cells = {}
    for key, value in table.items():
        here = (*path, str(key))
        if isinstance(value, dict):
            cells.update(paper_cells(value, here))
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            cells[frozenset(norm_label(p) for p in here)] = (here, float(value))
    return cells


def run_cells(frame: pd.DataFrame) -> list[tuple[frozenset[str], float]]:
    """Every number of a run's table with the labels that locate it (row text cells + column)."""
    text_cols = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
    num_cols = [c for c in frame.columns if c not in text_cols]
    cells = []
    for _, row in frame.iterrows():
        row_labels = {norm_label(row[c]) for c in text_cols if isinstance(row[c], str) and row[c].strip()}
        for col in num_cols:
            if pd.notna(row[col]):
                cells.append((frozenset(row_labels | {norm_label(col)}), float(row[col])))
    return cells


def match_cells(paper: dict, frame: pd.DataFrame) -> pd.DataFrame:
    """Paper cells with the run's value where exactly one run cell carries all the paper cell's labels."""
    run = run_cells(frame)
    rows = []
    for key, (labels, value) in paper_cells(paper).items():
        candidates = [(len(run_key - key), v) for run_key, v in run if key <= run_key]
        fewest = min((extra for extra, _ in candidates), default=None)
        best = [v for extra, v in candidates if extra == fewest]
        found = best[0] if len(best) == 1 else None
        rows.append({"cell": " / ".join(labels), "paper": value, "this run": found,
                     "difference": None if found is None else round(found - value, 2)})
    return pd.DataFrame(rows, columns=["cell", "paper", "this run", "difference"])


def _row_value(frame: pd.DataFrame, label: str, column: str) -> float | None:
    """The number in `column` of the one row whose label (any text cell) is `label`."""
    if column not in frame.columns:
        return None
    text_cols = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
    hits = frame[frame[text_cols].apply(lambda r: norm_label(label) in {norm_label(v) for v in r
                                                                        if isinstance(v, str)}, axis=1)]
    values = hits[column].dropna()
    return float(values.iloc[0]) if len(values) == 1 else None


def _base_and_ours(frame: pd.DataFrame, stage: str, base: str | None) -> tuple[float | None, float | None]:
    """Avg of the base student (its display name) and of our reasoner after `stage`, from one table."""
    if base is None:
        return None, None
    return _row_value(frame, base, "Avg"), _row_value(frame, OURS[stage], "Avg")


def student_labels(cfg: dict) -> list[str]:
    """Display names of the base students, as the evaluation tables name their rows."""
    names = list((cfg.get("train") or {}).get("students", []))
    try:
        registry = registry_of(cfg)
    except (KeyError, FileNotFoundError):
        return names
    return [registry[n].label if n in registry else n for n in names]


# ---------------------------------------------------------------------------------------------------
# The comparison.

@dataclass
class Figure:
    name: str
    paper: Any
    run: Any
    source: str

    def row(self) -> dict[str, Any]:
        numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (self.paper, self.run))
        diff = round(self.run - self.paper, 2) if numeric else None
        return {"figure": self.name, "paper": self.paper,
                "this run": NOT_PRODUCED if self.run is None else self.run,
                "difference": "" if diff is None or (isinstance(diff, float) and math.isnan(diff)) else diff,
                "read from": self.source}


def read_run_tables(tables_dir: Path) -> dict[str, pd.DataFrame]:
    """results/tables/*.csv by stem (table3, table_privaci, extrapolate_missing_rates, ...).

    A stage's own `*_vs_paper` tables are left out: this report makes that comparison itself.
    """
    return {p.stem: read_table(p) for p in sorted(tables_dir.glob("*.csv")) if not p.stem.endswith("_vs_paper")}


def text_figures(paper: dict, results: Path, laws: list[str], tables: dict[str, pd.DataFrame],
                 students: list[str]) -> list[Figure]:
    figures = []
    text = paper.get("text_figures", {})
    for law in laws:
        seeds = results / "law" / law / "seeds.jsonl"
        figures.append(Figure(f"seeds, {LAW_TITLES[law]}", _dig(text, "seeds", law), _count_lines(seeds),
                              str(seeds)))
    for law in laws:
        cases = results / "benchmark" / law / "cases.jsonl"
        figures.append(Figure(f"benchmark cases, {LAW_TITLES[law]}", _dig(text, "benchmark_cases", law),
                              _count_lines(cases), str(cases)))
    for law in laws:
        train = _count_lines(results / "benchmark" / law / "train.jsonl")
        test = _count_lines(results / "benchmark" / law / "test.jsonl")
        split = f"{100 * train / (train + test):.0f}:{100 * test / (train + test):.0f}" if train and test else None
        figures.append(Figure(f"train:test split, {LAW_TITLES[law]}", text.get("train_test_split"), split,
                              str(results / "benchmark" / law / "{train,test}.jsonl")))
    # Tables 3-4 hold the first base student and its reasoners, tables 6-7 (appendix B) the second.
    bases = [*students, None, None]
    for law in laws:
        for stage in OURS:
            stem = HEADLINE[law]
            base, ours = _base_and_ours(tables[stem], stage, bases[0]) if stem in tables else (None, None)
            gain = None if base is None or ours is None else round(ours - base, 2)
            figures.append(Figure(f"{stage.upper()} gain over the base student {bases[0] or ''} (Avg), "
                                  f"{LAW_TITLES[law]}", _dig(text, "headline_gain_over_qwen3_8b", law, stage),
                                  gain, f"results/tables/{stem}.csv"))
    for law in laws:
        stem = APPENDIX_B[law]
        base, ours = _base_and_ours(tables[stem], "grpo", bases[1]) if stem in tables else (None, None)
        gain = None if base is None or ours is None else round(ours - base, 2)
        figures.append(Figure(f"GRPO gain over the second base student {bases[1] or ''} (appendix B), "
                              f"{LAW_TITLES[law]}", _dig(text, "appendix_b_gain_qwen25", law), gain,
                              f"results/tables/{stem}.csv"))
    rates = missing_rates(tables.get("extrapolate_missing_rates"))
    for dataset, value in (_dig(text, "chapter_missing_rate_percent") or {}).items():
        figures.append(Figure(f"chapter missing rate %, {dataset}", value, rates.get(dataset),
                              "results/tables/extrapolate_missing_rates.csv"))
    for metric, value in (_dig(text, "human_eval_extrapolated_data") or {}).items():
        # Ratings by people: a run makes the annotation kit, never the ratings themselves.
        figures.append(Figure(f"human evaluation of extrapolated cases, {metric}", value, None,
                              "human annotators (the run writes the annotation kit)"))
    return figures


def missing_rates(frame: pd.DataFrame | None) -> dict[str, float]:
    """The extrapolation stage's missing rate (both laws pooled) by the paper's dataset key."""
    if frame is None or "Dataset" not in frame or "Missing % (both)" not in frame:
        return {}
    from ..extrapolate.datasets import DATASETS

    paper_key = {spec.display: spec.paper_key for spec in DATASETS.values()}
    rates: dict[str, float] = {}
    for _, row in frame.iterrows():
        key = paper_key.get(row["Dataset"])
        if key and key not in rates and pd.notna(row["Missing % (both)"]):
            rates[key] = round(float(row["Missing % (both)"]), 2)
    return rates


def scale_section(cfg: dict, results: Path) -> Section:
    evaluated = sorted({p.stem for p in (results / "eval").glob("*/*.jsonl")})
    students = (cfg.get("train") or {}).get("students", [])
    rows = pd.DataFrame([
        {"setting": "scale", "this run": cfg.get("scale", "?")},
        {"setting": "laws", "this run": ", ".join(cfg.get("laws", []))},
        {"setting": "teacher", "this run": cfg.get("teacher", "not set")},
        {"setting": "students (base models)", "this run": ", ".join(students) or "none"},
        {"setting": "models evaluated", "this run": ", ".join(evaluated) or NOT_PRODUCED},
        {"setting": "seed source", "this run": _dig(cfg, "law", "seed_source") or "?"},
    ])
    blocks: list[str | pd.DataFrame] = []
    if cfg.get("scale") != "paper":
        blocks.append(f"> This is a {cfg.get('scale', 'non-paper')}-scale run: its models, seeds and teacher "
                      "are not the paper's, so its numbers show that the pipeline works, not how well "
                      "the paper's method does. Run config/paper.yaml (slurm/profile.yaml) for that.")
    blocks.append(rows)
    made_by = provenance_lines(results / "provenance.json")
    if made_by:
        blocks.append("Made by:\n\n" + "\n".join(made_by))
    return Section("Scale of this run", blocks)


def table_sections(paper: dict, tables: dict[str, pd.DataFrame]) -> tuple[list[Section], list[str]]:
    sections, missing = [], []
    for key, table in paper.items():
        found = re.fullmatch(r"table(\d+)_.*", key)
        if not found or not isinstance(table, dict):
            continue
        stem = f"table{found.group(1)}"
        title = f"Table {found.group(1)} ({key.split('_', 1)[1].replace('_', ' ')})"
        if stem not in tables:
            missing.append(f"{title}: results/tables/{stem}.csv")
            sections.append(Section(title, [f"{NOT_PRODUCED} (results/tables/{stem}.csv is absent)."]))
            continue
        cells = match_cells(table, tables[stem])
        matched = int(cells["this run"].notna().sum())
        blocks: list[str | pd.DataFrame] = [
            f"{matched} of {len(cells)} paper cells have a counterpart in this run "
            "(a model, dataset or chapter the run did not cover has none)."]
        if matched:
            blocks.append(cells[cells["this run"].notna()].reset_index(drop=True))
        blocks += ["This run's table as produced:", tables[stem]]
        sections.append(Section(title, blocks))
    paper_stems = {f"table{m.group(1)}" for k in paper if (m := re.fullmatch(r"table(\d+)_.*", k))}
    for stem, frame in tables.items():
        if stem.startswith("table") and stem not in paper_stems:
            sections.append(Section(f"{stem} (this run only; no paper counterpart)", [frame]))
    return sections, missing


def build(cfg: dict, paper: dict, results: str | Path = "results") -> tuple[str, list[Section]]:
    """The report's title and sections for the run under `results`."""
    results = Path(results)
    laws = list(cfg.get("laws", LAW_TITLES))
    tables = read_run_tables(results / "tables")
    figures = text_figures(paper, results, laws, tables, student_labels(cfg))
    figure_rows = pd.DataFrame([f.row() for f in figures])
    tables_part, missing_tables = table_sections(paper, tables)
    absent = [f"{f.name}: {f.source}" for f in figures if f.run is None] + missing_tables
    sections = [scale_section(cfg, results),
                Section("Figures quoted in the paper's text", [figure_rows]),
                *tables_part,
                Section("Not produced by this run",
                        ["\n".join(f"- {a}" for a in absent) if absent else "Everything was produced."])]
    title = f"Reproduction of arXiv:2509.22250: paper vs this run ({cfg.get('scale', '?')} scale)"
    return title, sections


def write_reproduction(cfg: dict, paper: dict, results: str | Path, markdown_out: str | Path,
                       html_out: str | Path | None = None) -> None:
    title, sections = build(cfg, paper, results)
    write_text_atomic(markdown_out, to_markdown_document(title, sections))
    if html_out:
        write_text_atomic(html_out, to_html_document(title, sections))
