"""The human-evaluation kit: seeded draw, CSV sheet, self-contained HTML page."""

from __future__ import annotations

import csv
import json

import pytest

from safety_compliance.annotation_kit import SHEET_COLUMNS, draw_cases, write_annotation_kit


def cases(law: str, n: int) -> list[dict]:
    return [{"id": f"{law}/s{i:02d}/{label}", "law": law, "seed_id": f"{law}/s{i:02d}", "label": label,
             "factual_background": f"Facts {i} </script> <b>bold</b>", "jurisdiction": "France"}
            for i in range(n) for label in ("prohibited", "permitted")]


def test_draw_is_seeded_per_law_and_order_free():
    pool = cases("gdpr", 40) + cases("eu_ai_act", 3)
    drawn = draw_cases(pool, 50, seed=1)
    assert sum(c["law"] == "gdpr" for c in drawn) == 50
    assert sum(c["law"] == "eu_ai_act" for c in drawn) == 6          # fewer exist: all of them
    assert [c["id"] for c in draw_cases(list(reversed(pool)), 50, seed=1)] == [c["id"] for c in drawn]
    assert [c["id"] for c in draw_cases(pool, 50, seed=2)] != [c["id"] for c in drawn]


def test_kit_files(tmp_path):
    pool = cases("gdpr", 2)
    paths = write_annotation_kit(pool, tmp_path, seeds={"gdpr/s00": "Art. 5 lawfulness & fairness"})
    with paths["sheet"].open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == SHEET_COLUMNS
    assert [r["case_id"] for r in rows] == [c["id"] for c in pool]
    assert all(r["alignment"] == "" for r in rows)
    page = paths["page"].read_text(encoding="utf-8")
    start = page.index('id="kit-data">') + len('id="kit-data">')
    data = json.loads(page[start:page.index("</script>", start)])   # no early </script> from the facts
    assert [c["id"] for c in data["cases"]] == [c["id"] for c in pool]
    assert data["cases"][0]["seed"] == "Art. 5 lawfulness & fairness"
    assert data["columns"] == SHEET_COLUMNS
    assert "<script src" not in page and "<link" not in page                     # self-contained


def test_kit_rejects_bad_input(tmp_path):
    with pytest.raises(ValueError, match="no cases"):
        write_annotation_kit([], tmp_path)
    with pytest.raises(KeyError, match="'law'"):
        write_annotation_kit([{"id": "x", "factual_background": "y"}], tmp_path)
    with pytest.raises(ValueError, match="none of the fields"):
        write_annotation_kit([{"id": "x", "law": "gdpr"}], tmp_path)
