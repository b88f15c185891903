"""The report stage: the paper's numbers beside this run's, and the pages of Snakemake's HTML report.
The rules and the CLI (`safety-compliance report ...`) call these functions:

    rule          function             files
    reproduction  write_reproduction   results/reproduction.md, results/report/reproduction.html,
                                       results/provenance.json
    report_table  write_table_page     results/report/tables/{stem}.html
    report_figure (a copy, no code)    results/report/figures/{stem}.png

The reproduction report sets every table and text figure of the paper beside this run's, with the
difference.

The report opens with the run's scale (config `scale`, teacher, students, models evaluated, seed
source), so a demo run on a tiny model is never read as a paper-scale one. It reads whatever the run
made (results/tables/*.csv, results/law/, results/benchmark/); anything missing is listed as not
produced by this run instead of failing, so it can run after a partial pipeline.

It compares nothing itself: each stage writes its table's comparison with the paper
(`results/tables/*_vs_paper.csv`, made by versus_paper, with the reason wherever a cell is not
comparable) and its paired gains (`eval_gains.csv`), and this report shows them. Only the figures
the paper quotes in its text are set beside the run here, through the same caveats.
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
from ..laws import get_law, titles
from ..registry import STUDENT_STAGES, registry_of
from ..tables import to_markdown
from ..versus_paper import gain_caveat, norm_label, paper_caveat, summary_lines
from .pages import read_table, table_page
from .provenance import provenance_lines, write_provenance

NOT_PRODUCED = "not produced by this run"


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


def student_labels(cfg: dict) -> list[str]:
    """Display names of the base students, as the evaluation tables name their rows."""
    names = list((cfg.get("train") or {}).get("students", []))
    try:
        registry = registry_of(cfg)
    except (KeyError, FileNotFoundError):
        return names
    return [registry[n].label if n in registry else n for n in names]


def _paper_numbers(table: dict) -> int:
    """How many numbers a paper table holds (its text cells, such as `group`, are labels)."""
    return sum(_paper_numbers(v) if isinstance(v, dict) else
               int(isinstance(v, (int, float)) and not isinstance(v, bool)) for v in table.values())


# ---------------------------------------------------------------------------------------------------
# The figures quoted in the paper's text.

@dataclass
class Figure:
    name: str
    paper: Any
    run: Any
    source: str
    note: str = ""

    def row(self) -> dict[str, Any]:
        numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (self.paper, self.run))
        diff = round(self.run - self.paper, 2) if numeric and not self.note else None
        return {"figure": self.name, "paper": self.paper,
                "this run": NOT_PRODUCED if self.run is None else self.run,
                "difference": "" if diff is None or (isinstance(diff, float) and math.isnan(diff)) else diff,
                "note": self.note, "read from": self.source}


def read_run_tables(tables_dir: Path) -> dict[str, pd.DataFrame]:
    """results/tables/*.csv by stem (table3, table3_vs_paper, eval_gains, ...); the long per-cell
    statistics (`*_cells.csv`) are data for programs and stay out of the report."""
    return {p.stem: read_table(p) for p in sorted(tables_dir.glob("*.csv")) if not p.stem.endswith("_cells")}


def text_figures(paper: dict, results: Path, laws: list[str], tables: dict[str, pd.DataFrame]) -> list[Figure]:
    figures = []
    text = paper.get("text_figures", {})
    for law in laws:
        seeds = results / "law" / law / "seeds.jsonl"
        figures.append(Figure(f"seeds, {get_law(law).title}", _dig(text, "seeds", law), _count_lines(seeds),
                              str(seeds)))
    for law in laws:
        cases = results / "benchmark" / law / "cases.jsonl"
        figures.append(Figure(f"benchmark cases, {get_law(law).title}", _dig(text, "benchmark_cases", law),
                              _count_lines(cases), str(cases)))
    for law in laws:
        train = _count_lines(results / "benchmark" / law / "train.jsonl")
        test = _count_lines(results / "benchmark" / law / "test.jsonl")
        split = f"{100 * train / (train + test):.0f}:{100 * test / (train + test):.0f}" if train and test else None
        figures.append(Figure(f"train:test split, {get_law(law).title}", text.get("train_test_split"), split,
                              str(results / "benchmark" / law / "{train,test}.jsonl")))
    rates = missing_rates(tables.get("extrapolate_missing_rates"))
    for dataset, value in (_dig(text, "chapter_missing_rate_percent") or {}).items():
        run, note = rates.get(dataset, (None, ""))
        figures.append(Figure(f"chapter missing rate %, {dataset}", value, run,
                              "results/tables/extrapolate_missing_rates.csv", note))
    for metric, value in (_dig(text, "human_eval_extrapolated_data") or {}).items():
        # Ratings by people: a run makes the annotation kit, never the ratings themselves.
        figures.append(Figure(f"human evaluation of extrapolated cases, {metric}", value, None,
                              "human annotators (the run writes the annotation kit)"))
    return figures


def missing_rates(frame: pd.DataFrame | None) -> dict[str, tuple[float, str]]:
    """The extrapolation stage's missing rate (both laws pooled) and its note (why it is not the
    paper's quantity, if so) by the paper's dataset key."""
    if frame is None or "Dataset" not in frame or "Missing % (both)" not in frame:
        return {}
    from ..safety_datasets import DATASETS

    paper_key = {spec.display: spec.paper_key for spec in DATASETS.values()}
    rates: dict[str, tuple[float, str]] = {}
    for _, row in frame.iterrows():
        key = paper_key.get(row["Dataset"])
        if key and key not in rates and pd.notna(row["Missing % (both)"]):
            note = row["Note"] if "Note" in frame and isinstance(row["Note"], str) else ""
            rates[key] = (round(float(row["Missing % (both)"]), 2), note)
    return rates


# ---------------------------------------------------------------------------------------------------
# The gains of training, with their paired tests.

# (student position, comparison) -> (paper table of that position, before row, after row); position 0
# is the first student base (the paper's Qwen3-8B, Tables 3-4), 1 the second (Qwen2.5, Tables 6-7).
GAIN_ROWS = {"SFT vs base": ("base", "sft"), "GRPO vs SFT": ("sft", "grpo"), "GRPO vs base": ("base", "grpo")}
PAPER_BASES = {0: "Qwen3-8B", 1: "Qwen2.5-7B-Instruct"}


def paper_table_key(position: int, law: str) -> str | None:
    """The paper's accuracy table of a student position (0: main, 1: appendix) for `law`; None for a law
    the paper does not report on."""
    numbers = get_law(law).paper
    if numbers is None:
        return None
    return numbers.table_key if position == 0 else numbers.appendix_key


def paper_gain(paper: dict, position: int, comparison: str, law: str) -> tuple[float | None, str, str]:
    """The paper's gain for a student position, comparison and law: (value, where it comes from,
    why it is not comparable or ""). The text's quoted gains first; otherwise the difference of the
    paper table's Avg cells."""
    if position not in PAPER_BASES or paper_table_key(position, law) is None:
        return None, "", ""
    text = paper.get("text_figures", {})
    stage = GAIN_ROWS[comparison][1]
    if position == 0 and comparison != "GRPO vs SFT":
        quoted = _dig(text, "headline_gain_over_qwen3_8b", law, stage)
        if quoted is not None:
            return float(quoted), "the paper's text", ""
    if position == 1 and comparison == "GRPO vs base":
        quoted = _dig(text, "appendix_b_gain_qwen25", law)
        if quoted is not None:
            return float(quoted), "the paper's text (appendix B)", gain_caveat(law, stage, appendix=True) or ""
    key = paper_table_key(position, law)
    table = {norm_label(name): row for name, row in (paper.get(key) or {}).items()}
    names = {"base": PAPER_BASES[position], **STUDENT_STAGES}
    before, after = (_dig(table, norm_label(names[part]), "Avg") for part in GAIN_ROWS[comparison])
    if before is None or after is None:
        return None, "", ""
    note = paper_caveat(key.split("_")[0], names["grpo"], "Avg") if "grpo" in GAIN_ROWS[comparison] else None
    return round(after - before, 2), f"the paper's {key.split('_')[0].replace('table', 'Table ')} Avg", note or ""


def gains_section(paper: dict, tables: dict[str, pd.DataFrame], students: list[str]) -> tuple[Section, list[str]]:
    """Each gain this run measured, its interval and McNemar test, in words, beside the paper's."""
    title = "Gains of training, paired on the same test cases"
    intro = ("Each gain is the accuracy after minus the accuracy before, in points, on exactly the same test "
             "cases. Whether a gain is distinguishable from zero is decided by McNemar's exact test on the cases "
             "only one of the two models got right (at the 5 % level). The interval is a 95 % paired bootstrap "
             "interval: none when no case changed, and too narrow when only a handful did, so read it with the "
             "test. The paper's gain is set beside it where the paper gives or implies one.")
    frame = tables.get("eval_gains")
    if frame is None or frame.empty:
        return Section(title, [intro, f"{NOT_PRODUCED} (results/tables/eval_gains.csv is absent or empty: the "
                                      "run evaluated no student base together with its SFT and GRPO models)."]), \
            ["gains of training: results/tables/eval_gains.csv"]
    laws = {title_: law for law, title_ in titles().items()}
    rows = []
    for record in frame.to_dict("records"):
        position = students.index(record["base"]) if record["base"] in students else -1
        law = laws.get(record["law"])
        value, source, note = paper_gain(paper, position, record["comparison"], law) if law else (None, "", "")
        rows.append({
            "base": record["base"], "comparison": record["comparison"], "law": record["law"], "n": record["n"],
            "this run": round(record["gain"], 2),
            "95 % CI": f"[{record['ci_low']:.1f}, {record['ci_high']:.1f}]" if pd.notna(record["ci_low"]) else "",
            "McNemar p": f"{record['p_value']:.3g}", "reading": record["reading"],
            "paper": "" if value is None else value,
            "note": note or ("" if value is not None else "the paper gives no such gain"),
            "paper from": source})
    return Section(title, [intro, pd.DataFrame(rows)]), []


# ---------------------------------------------------------------------------------------------------
# The sections.

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
    """One section per paper table: the stage's comparison (`tableN_vs_paper.csv`), comparable cells
    with their differences and the reasons for the rest, then the run's own table."""
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
        blocks: list[str | pd.DataFrame] = []
        versus = tables.get(f"{stem}_vs_paper")
        if versus is None:
            blocks.append(f"The stage wrote no comparison (results/tables/{stem}_vs_paper.csv is absent).")
        elif "note" in versus.columns:
            comparison = versus.assign(note=versus["note"].fillna(""))
            comparable = comparison[comparison["note"] == ""]
            lines = summary_lines(comparison)
            lines[0] = lines[0].replace(f"of {len(comparison)} paper cells", f"of {_paper_numbers(table)} paper cells")
            blocks.append(" ".join(lines))
            if len(comparable):
                blocks.append(comparable.drop(columns="note").reset_index(drop=True))
        else:       # a side-by-side layout (Table 1: each rater beside the paper's average)
            blocks.append(f"Beside the paper, as the stage wrote it ({stem}_vs_paper.csv):")
            blocks.append(versus)
        blocks += ["This run's table as produced:", tables[stem]]
        sections.append(Section(title, blocks))
    paper_stems = {f"table{m.group(1)}" for k in paper if (m := re.fullmatch(r"table(\d+)_.*", k))}
    for stem, frame in tables.items():
        if stem.startswith("table") and stem not in paper_stems and not stem.endswith("_vs_paper"):
            sections.append(Section(f"{stem} (this run only; no paper counterpart)", [frame]))
    return sections, missing


def build(cfg: dict, paper: dict, results: str | Path = "results") -> tuple[str, list[Section]]:
    """The report's title and sections for the run under `results`."""
    results = Path(results)
    laws = list(cfg.get("laws", titles()))
    tables = read_run_tables(results / "tables")
    figures = text_figures(paper, results, laws, tables)
    figure_rows = pd.DataFrame([f.row() for f in figures])
    gains, missing_gains = gains_section(paper, tables, student_labels(cfg))
    tables_part, missing_tables = table_sections(paper, tables)
    absent = [f"{f.name}: {f.source}" for f in figures if f.run is None] + missing_gains + missing_tables
    sections = [scale_section(cfg, results),
                Section("Figures quoted in the paper's text", [figure_rows]),
                gains,
                *tables_part,
                Section("Not produced by this run",
                        ["\n".join(f"- {a}" for a in absent) if absent else "Everything was produced."])]
    title = f"Reproduction of arXiv:2509.22250: paper vs this run ({cfg.get('scale', '?')} scale)"
    return title, sections


def write_reproduction(cfg: dict, paper: dict, results: str | Path, markdown_out: str | Path,
                       html_out: str | Path | None = None, provenance_out: str | Path | None = None) -> None:
    """The report as Markdown (and HTML); with `provenance_out`, what made the run is written there
    first, so that the report shows it."""
    if provenance_out:
        write_provenance(cfg, provenance_out)
    title, sections = build(cfg, paper, results)
    write_text_atomic(markdown_out, to_markdown_document(title, sections))
    if html_out:
        write_text_atomic(html_out, to_html_document(title, sections))


def write_table_page(csv_path: str | Path, out: str | Path) -> None:
    """A results/tables CSV as a web page, so that Snakemake's HTML report shows it."""
    write_text_atomic(out, table_page(csv_path))
