"""Table 1 from hand-made rating sheets, checked against a hand computation; the judge's sheet."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from benchmark_fakes import ScriptedTeacher, seed_records

from safety_compliance.annotation_kit import blank_sheet
from safety_compliance.benchmark.benchmark import run_human_eval
from safety_compliance.benchmark.judge import JUDGE_SCHEMA, judge_cases, parse_ratings
from safety_compliance.benchmark.ratings import (agreement, beside_paper_average, model_rater, paper_table1,
                                                 read_ratings, read_sheet, table1)
from safety_compliance.config import load_config
from safety_compliance.jsonl import write_jsonl

HEADER = "case_id,law,annotator,alignment,coherence,relevance,comment\n"
ALICE = HEADER + ("g1,gdpr,alice,5,4,3,\ng2,gdpr,alice,4,4,5,\n"
                  "e1,eu_ai_act,alice,5,5,5,\ne2,eu_ai_act,alice,3,4,4,\"long, but fine\"\n")
BOB = HEADER + ("g1,gdpr,bob,4,4,3,\ng2,gdpr,bob,5,3,4,\n"
                "e1,eu_ai_act,bob,4,5,5,\ne2,eu_ai_act,bob,4,4,5,\n")


@pytest.fixture()
def sheets(tmp_path):
    (tmp_path / "alice.csv").write_text(ALICE)
    (tmp_path / "bob.csv").write_text(BOB)
    return tmp_path


def test_table1_equals_a_hand_computation(sheets):
    table = table1(read_ratings(sheets.glob("*.csv"))).set_index(["Annotator", "Law"])
    # alice, GDPR: alignment (5 + 4) / 2 = 4.5 -> 90 %; coherence 4 -> 80 %; relevance 4 -> 80 %.
    assert table.loc[("alice", "gdpr")].tolist() == [90.0, 80.0, 80.0]
    assert table.loc[("bob", "gdpr")].tolist() == [90.0, 70.0, 70.0]
    assert table.loc[("alice", "eu_ai_act")].tolist() == [80.0, 90.0, 90.0]
    assert table.loc[("bob", "eu_ai_act")].tolist() == [80.0, 90.0, 100.0]
    assert table.loc[("Average", "gdpr")].tolist() == [90.0, 75.0, 75.0]
    assert table.loc[("Average", "eu_ai_act")].tolist() == [80.0, 90.0, 95.0]
    assert list(table.index.get_level_values(0)) == ["alice", "alice", "bob", "bob", "Average", "Average"]


def test_paper_normalisation_matches_the_paper():
    # The paper's 88.4 for student 1 (alignment, AI Act) is a mean rating of 4.42 out of 5.
    frame = pd.DataFrame([{"rater": "s1", "case_id": str(i), "law": "eu_ai_act", "criterion": c,
                           "score": 5 if i < 21 else 4} for i in range(50) for c in ("alignment", "coherence",
                                                                                    "relevance")])
    assert table1(frame).loc[0, "alignment"] == pytest.approx(88.4)


def test_agreement_by_hand(sheets):
    alpha = agreement(read_ratings(sheets.glob("*.csv"))).set_index(["Law", "Criterion"])
    column = "Krippendorff alpha (ordinal)"
    # GDPR alignment: alice (5, 4), bob (4, 5). Coincidences o(4,5) = o(5,4) = 2, n4 = n5 = 2, n = 4;
    # ordinal distance d(4,5) = (n4/2 + n5/2)^2 = 4; alpha = 1 - (n - 1) * 16 / 32 = -0.5.
    assert alpha.loc[("gdpr", "alignment"), column] == pytest.approx(-0.5)
    # AI Act coherence: both (5, 4): perfect agreement.
    assert alpha.loc[("eu_ai_act", "coherence"), column] == pytest.approx(1.0)
    assert alpha.loc[("gdpr", "alignment"), "Annotators"] == 2


def test_models_stay_out_of_the_human_average_and_agreement(sheets):
    (sheets / "judge.csv").write_text(ALICE.replace("alice", model_rater("tiny")).replace(",5,", ",1,"))
    ratings = read_ratings(sheets.glob("*.csv"))
    table = table1(ratings).set_index(["Annotator", "Law"])
    assert table.loc[("Average", "gdpr")].tolist() == [90.0, 75.0, 75.0]
    assert ("model: tiny", "gdpr") in table.index and table.index[-1][0] == "model: tiny"
    assert set(agreement(ratings)["Annotators"]) == {2}


def test_bad_sheets_are_clear_errors(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "g1,gdpr,alice,6,4,3,\n")
    with pytest.raises(ValueError, match="integers 1-5"):
        read_sheet(bad)
    bad.write_text(HEADER + "g1,gdpr,alice,five,4,3,\n")
    with pytest.raises(ValueError, match="integers 1-5"):
        read_sheet(bad)
    bad.write_text(HEADER + "g1,gdpr,alice,5,4,3,\ng2,gdpr,bob,5,4,3,\n")
    with pytest.raises(ValueError, match="one sheet per annotator"):
        read_sheet(bad)
    bad.write_text("case_id,law,alignment\n")
    with pytest.raises(ValueError, match="lacks column"):
        read_sheet(bad)
    (tmp_path / "a.csv").write_text(ALICE)
    (tmp_path / "b.csv").write_text(ALICE)
    with pytest.raises(ValueError, match="two sheets"):
        read_ratings([tmp_path / "a.csv", tmp_path / "b.csv"])


def test_blank_cells_and_name_from_file(tmp_path):
    path = tmp_path / "carol.csv"
    path.write_text(blank_sheet([("g1", "gdpr"), ("g2", "gdpr")]).replace("g1,gdpr,,,,,", "g1,gdpr,,3,4,5,"))
    frame = read_sheet(path)
    assert set(frame["rater"]) == {"carol"} and len(frame) == 3


def test_beside_paper_average(sheets):
    paper = paper_table1({"table1_human_eval": {"Average": {
        "alignment": {"eu_ai_act": 95.6, "gdpr": 95.87}, "coherence": {"eu_ai_act": 98.67, "gdpr": 99.07},
        "relevance": {"eu_ai_act": 96.53, "gdpr": 96.4}}}})
    versus = beside_paper_average(table1(read_ratings(sheets.glob("*.csv"))), paper)
    assert versus.loc[("alice", "gdpr"), "alignment paper"] == 95.87
    assert versus.loc[("alice", "gdpr"), "alignment diff"] == pytest.approx(90.0 - 95.87)


def test_judge_sheet_and_unusable_answers():
    cases = [{"id": f"c{i}", "law": "gdpr", "seed_id": "s", "label": "permitted", "factual_background": "f"}
             for i in range(3)]
    answers = ['{"alignment": 4, "coherence": 5, "relevance": 3}', "not json", '{"alignment": 4}']
    teacher = ScriptedTeacher(lambda request, call: answers[call])
    sheet, report = judge_cases(cases, {"s": "rule"}, teacher)
    assert report == {"judge": "model: scripted-teacher", "cases": 3, "rated": 1,
                      "unusable_by_reason": {"missing_field": 1, "not_json": 1}}
    assert teacher.requests[0].constraint.value == JUDGE_SCHEMA
    assert parse_ratings('{"alignment": 0, "coherence": 5, "relevance": 3}')[1] == "out_of_range"
    assert parse_ratings('{"alignment": true, "coherence": 5, "relevance": 3}')[1] == "out_of_range"
    lines = sheet.splitlines()
    assert lines[1] == "c0,gdpr,model: scripted-teacher,4,5,3,"


def make_run(tmp_path, laws=("gdpr", "eu_ai_act")):
    for law in laws:
        seeds = seed_records(law, chapters=(1, 2))
        write_jsonl(tmp_path / "law" / law / "seeds.jsonl", seeds)
        write_jsonl(tmp_path / "benchmark" / law / "cases.jsonl", [
            {"id": f"{s['id']}/{label}", "law": law, "seed_id": s["id"], "chapter": s["chapter"], "article": 1,
             "label": label, "parties_involved": "p", "factual_background": "f", "legal_issues": "i",
             "arguments": "a", "jurisdiction": "j", "split": "test"} for s in seeds for label in ("prohibited", "permitted")])


def test_run_human_eval_with_judge_only(tmp_path):
    make_run(tmp_path)
    cfg = load_config("config/config.yaml", {"human_eval": {"ratings_dir": str(tmp_path / "none"), "cases_per_law": 3}})
    judge = ScriptedTeacher(lambda request, call: '{"alignment": 4, "coherence": 3, "relevance": 5}')
    report = run_human_eval(cfg, ["gdpr", "eu_ai_act"], tmp_path, tmp_path / "tables", generator=judge)
    assert report["cases"] == {"gdpr": 3, "eu_ai_act": 3} and report["human_annotators"] == []
    table = pd.read_csv(tmp_path / "tables" / "table1.csv")
    assert set(table["Annotator"]) == {"model: scripted-teacher"}
    assert table["alignment"].tolist() == [80.0, 80.0] and table["relevance"].tolist() == [100.0, 100.0]
    caption = (tmp_path / "tables" / "table1.md").read_text().splitlines()[0]
    assert "LLM judge only" in caption and "no human ratings" in caption
    assert (tmp_path / "human_eval" / "kit" / "annotate.html").is_file()
    assert (tmp_path / "tables" / "table1_vs_paper.csv").is_file()
    assert json.loads((tmp_path / "human_eval" / "report.json").read_text())["judge"]["rated"] == 6


def test_run_human_eval_with_human_sheets(tmp_path):
    make_run(tmp_path, laws=("gdpr",))
    kit_ids = [f"gdpr/ch0{c}/art0{10 + i}/p1/{label}" for i, c in enumerate((1, 2)) for label in ("prohibited", "permitted")]
    ratings = tmp_path / "ratings"
    ratings.mkdir()
    for name, score in (("ann1", 5), ("ann2", 4)):
        (ratings / f"{name}.csv").write_text(HEADER + "".join(f"{i},gdpr,{name},{score},{score},{score},\n" for i in kit_ids))
    cfg = load_config("config/config.yaml", {"human_eval": {"ratings_dir": str(ratings), "judge": None}})
    report = run_human_eval(cfg, ["gdpr"], tmp_path, tmp_path / "tables")
    assert report["human_annotators"] == ["ann1", "ann2"] and "judge" not in report
    table = pd.read_csv(tmp_path / "tables" / "table1.csv").set_index("Annotator")
    assert table.loc["Average", "coherence"] == 90.0
    (ratings / "stale.csv").write_text(HEADER + "other/case,gdpr,ann3,5,5,5,\n")
    with pytest.raises(ValueError, match="not in this kit"):
        run_human_eval(cfg, ["gdpr"], tmp_path, tmp_path / "tables")
