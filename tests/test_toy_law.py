"""Adding a law is a parser and one registry entry: a toy third law (tests/toy_law.py, its text in
tests/fixtures/toy_act.txt) goes through the law stage's CLI and the seeds-per-chapter table and figure
without any other module knowing it."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml
from toy_law import FIXTURE, TOY_ACT

from safety_compliance import laws
from safety_compliance.case_validation import find_leak
from safety_compliance.cli import main
from safety_compliance.jsonl import read_jsonl


@pytest.fixture()
def toy_registered(monkeypatch):
    """The toy act registered for this test only (the registry is restored afterwards)."""
    monkeypatch.setattr(laws, "REGISTRY", dict(laws.REGISTRY))
    laws.register(TOY_ACT)


def _config(root, tmp_path, **law_block) -> str:
    cfg = yaml.safe_load((root / "config" / "config.yaml").read_text(encoding="utf-8"))
    cfg["laws"] = ["toy_act"]
    cfg["law"].update(law_block)
    path = tmp_path / "toy.yaml"
    path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    return str(path)


def test_the_law_stage_and_the_seeds_table_run_on_a_registered_toy_law(toy_registered, root, tmp_path, capsys,
                                                                       monkeypatch):
    monkeypatch.chdir(root)          # the paper's numbers are read from config/, as in a workflow job
    config, results = _config(root, tmp_path), tmp_path / "results"
    out = results / "law" / "toy_act"
    assert main(["law", "build", "--law", "toy_act", "--out", str(out), "--config", config,
                 "--source", str(FIXTURE)]) == 0
    assert json.loads(capsys.readouterr().out)["seeds"] == 9

    tree = json.loads((out / "tree.json").read_text())["root"]
    assert [c["title"] for c in tree["children"]] == ["Definitions and scope", "Obligations of keepers", "Penalties"]
    seeds = {s["id"]: s for s in read_jsonl(out / "seeds.jsonl")}
    assert sorted(seeds) == sorted([
        "toy_act/ch01/art001/p1", "toy_act/ch01/art001/p2", "toy_act/ch01/art002/a", "toy_act/ch01/art002/b",
        "toy_act/ch02/art003/p1", "toy_act/ch02/art003/p2", "toy_act/ch02/art004/p1", "toy_act/ch02/art004/p2",
        "toy_act/ch03/art005"])
    # the seed's chain of headings takes the chapter's title from the registry entry
    assert seeds["toy_act/ch02/art004/p1"]["text"] == (
        "Chapter II: Obligations of keepers\nArticle 4: Prohibited uses\n"
        "1. A keeper shall not use a robot to record the neighbours without their consent.")
    assert seeds["toy_act/ch01/art002/b"]["text"].splitlines()[1:] == [
        "Article 2: Definitions", "For the purposes of this Act:", "(b) 'keeper' means the person to whom a robot is sold."]
    stats = json.loads((out / "stats.json").read_text())
    assert [(r["chapter"], r["title"], r["seeds"]) for r in stats["per_chapter"]] == [
        (1, "Definitions and scope", 4), (2, "Obligations of keepers", 4), (3, "Penalties", 1)]
    assert stats["articles_with_seeds"] == 5

    figures = tmp_path / "figures"
    assert main(["law", "summary", "--config", config, "--results", str(results), "--figures", str(figures)]) == 0
    table = pd.read_csv(results / "tables" / "table_seeds.csv")
    assert table.to_dict("list") == {"chapter": ["1", "2", "3", "total"], "toy_act": [4, 4, 1, 9]}
    caption = (results / "tables" / "table_seeds.md").read_text().splitlines()[0]
    assert caption == "**Seeds per chapter of each law (demo scale)**"      # the paper has no toy act
    assert (figures / "figure_seeds.png").stat().st_size > 0 and (figures / "figure_seeds.pdf").is_file()


def test_the_toy_laws_registry_entry_reaches_the_shared_checks(toy_registered):
    assert find_leak("The robot recorded the street, as the Toy Act allows.", "toy_act").startswith("leak_law_name")
    assert find_leak("The robot recorded the street at night.", "toy_act") is None
    with pytest.raises(ValueError, match="toy_act has no PrivaCI-Bench knowledge base"):
        from safety_compliance.law.law import build_pool

        build_pool("toy_act", {"seed_source": "privaci_kb", "include_recitals": False, "include_annexes": False,
                               "max_depth": None})


def test_a_damaged_toy_text_is_named(toy_registered, tmp_path):
    from safety_compliance.law.law import parse_official
    from safety_compliance.law.tree import LawParseError

    damaged = tmp_path / "toy_act.txt"
    damaged.write_text(FIXTURE.read_text().replace("Article 4 Prohibited uses", "Article 6 Prohibited uses"))
    with pytest.raises(LawParseError, match="missing articles 4; unexpected articles 6"):
        parse_official("toy_act", damaged)
