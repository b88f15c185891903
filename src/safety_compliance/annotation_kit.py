"""The human-evaluation kit behind Table 1: a seeded sample of cases and an annotation sheet.

The sheet comes twice: a CSV to fill in with any spreadsheet, and a self-contained HTML page that
shows each case beside its legal norm and offers the filled sheet as a CSV download (no server;
ratings stay in the browser until downloaded). Both produce the same columns, which
`benchmark.ratings.read_ratings` reads back.
"""

from __future__ import annotations

import csv
import io
import json
import random
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .case import CASE_FIELDS
from .jsonl import write_jsonl, write_text_atomic

# The paper's three criteria, rated 1-5; the help text is what annotators read.
CRITERIA: dict[str, str] = {
    "alignment": "Does the case follow the legal norm it was built from, and is the intended verdict "
                 "(prohibited or permitted) right under that norm?",
    "coherence": "Is the case internally consistent, plausible and clearly written?",
    "relevance": "Does the case matter for the safe deployment or use of AI systems and LLMs?",
}
SCORES = (1, 2, 3, 4, 5)
SHEET_COLUMNS = ["case_id", "law", "annotator", *CRITERIA, "comment"]
DISPLAY_FIELDS = ("label", *CASE_FIELDS)
PAGE = Path(__file__).resolve().parent / "data" / "annotation_kit.html"


def draw_cases(cases: Sequence[dict[str, Any]], per_law: int, seed: int = 0) -> list[dict[str, Any]]:
    """A seeded sample of up to `per_law` cases of each law (all of them where a law has fewer),
    sorted by id. The draw depends only on the set of case ids, not on their order."""
    by_law: dict[str, list[dict[str, Any]]] = {}
    for case in sorted(cases, key=lambda c: str(c["id"])):
        by_law.setdefault(case["law"], []).append(case)
    drawn = []
    for law in sorted(by_law):
        pool = by_law[law]
        drawn += pool if len(pool) <= per_law else random.Random(f"{seed}:{law}").sample(pool, per_law)
    return sorted(drawn, key=lambda c: str(c["id"]))


def _kit_rows(cases: Sequence[dict[str, Any]], seeds: Mapping[str, str] | None,
              fields: Sequence[str]) -> list[dict[str, Any]]:
    rows = []
    for case in cases:
        for key in ("id", "law"):
            if key not in case:
                raise KeyError(f"a case for the annotation kit has no '{key}': {sorted(case)}")
        shown = [(name, str(case[name])) for name in fields if case.get(name) not in (None, "")]
        if not shown:
            raise ValueError(f"case {case['id']} has none of the fields to show ({', '.join(fields)})")
        seed = case.get("seed_text")
        if seeds is not None and case.get("seed_id") is not None:
            seed = seeds.get(case["seed_id"], seed)
        rows.append({"id": str(case["id"]), "law": case["law"], "seed": seed or "", "fields": shown})
    ids = [r["id"] for r in rows]
    if len(set(ids)) != len(ids):
        raise ValueError("the annotation kit needs distinct case ids")
    return rows


def blank_sheet(case_ids: Sequence[tuple[str, str]], annotator: str = "") -> str:
    """The annotation sheet as CSV text: one row per (case_id, law), scores left empty."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=SHEET_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for case_id, law in case_ids:
        writer.writerow({"case_id": case_id, "law": law, "annotator": annotator})
    return out.getvalue()


def annotation_page(rows: list[dict[str, Any]], title: str, criteria: Mapping[str, str]) -> str:
    data = {"title": title, "criteria": dict(criteria), "columns": SHEET_COLUMNS, "cases": rows}
    # "</" inside the embedded JSON would end the <script> element early.
    payload = json.dumps(data, ensure_ascii=False).replace("</", "<\\/")
    page = PAGE.read_text(encoding="utf-8")
    return page.replace("__TITLE__", _html_escape(title)).replace("__DATA__", payload)


def _html_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def write_annotation_kit(cases: Sequence[dict[str, Any]], out_dir: str | Path, *,
                         seeds: Mapping[str, str] | None = None, fields: Sequence[str] = DISPLAY_FIELDS,
                         title: str = "Compliance cases: human evaluation",
                         criteria: Mapping[str, str] = CRITERIA) -> dict[str, Path]:
    """Write the kit for `cases` into `out_dir`: `sheet.csv`, `annotate.html`, `cases.jsonl`, `README.md`.

    `cases` need `id` and `law`; the page shows the `fields` each case has, in order, and its legal
    norm: `seeds[case["seed_id"]]` when given, else the case's own `seed_text`. Returns the paths.
    """
    if not cases:
        raise ValueError("no cases to put in the annotation kit")
    if list(criteria) != list(CRITERIA):
        raise ValueError(f"the sheet's columns are fixed to the criteria {list(CRITERIA)}")
    out = Path(out_dir)
    rows = _kit_rows(cases, seeds, fields)
    paths = {"sheet": out / "sheet.csv", "page": out / "annotate.html",
             "cases": out / "cases.jsonl", "readme": out / "README.md"}
    write_text_atomic(paths["sheet"], blank_sheet([(r["id"], r["law"]) for r in rows]))
    write_text_atomic(paths["page"], annotation_page(rows, title, criteria))
    write_jsonl(paths["cases"], [{"id": r["id"], "law": r["law"], "seed": r["seed"], **dict(r["fields"])}
                                 for r in rows])
    write_text_atomic(paths["readme"], _kit_readme(title, len(rows), criteria))
    return paths


def _kit_readme(title: str, count: int, criteria: Mapping[str, str]) -> str:
    lines = [f"# {title}", "",
             f"{count} cases. Rate each on the criteria below from 1 (very poor) to 5 (excellent).", ""]
    lines += [f"- **{name}**: {help_text}" for name, help_text in criteria.items()]
    lines += ["",
              "Either open `annotate.html` in a browser (ratings stay in the browser; the link at the top",
              "downloads them as `ratings_<name>.csv`), or fill a copy of `sheet.csv` with any spreadsheet",
              "program, writing your name in the `annotator` column. Return one CSV per annotator; the",
              "human-evaluation step reads every CSV in the ratings folder (config `human_eval.ratings_dir`).",
              ""]
    return "\n".join(lines)
