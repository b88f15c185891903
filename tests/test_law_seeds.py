"""The seed pool on the real texts: clause chains, options, the paper-compatible pool, determinism."""

from __future__ import annotations

import re

import pytest

from safety_compliance.jsonl import read_jsonl
from safety_compliance.law.law import SEED_FIELDS, build, build_pool, parse_official
from safety_compliance.law.privaci_kb import kb_pool
from safety_compliance.law.seeds import SeedOptions, tree_seeds

KB = "reference/privaci_bench/KBs"
OFFICIAL = {"seed_source": "official", "include_recitals": False, "include_annexes": False, "max_depth": None}


@pytest.fixture(scope="module")
def trees(resources):
    return {law: parse_official(law) for law in ("eu_ai_act", "gdpr")}


@pytest.fixture(scope="module")
def pools(trees):
    return {law: {s["id"]: s for s in tree_seeds(tree, SeedOptions())} for law, tree in trees.items()}


def _leaves(node):
    return [node] if not node.children else [leaf for c in node.children for leaf in _leaves(c)]


def test_ai_act_5_1_h_iii_is_a_seed_chaining_its_clauses(pools):
    seed = pools["eu_ai_act"]["eu_ai_act/ch02/art005/p1/h/iii"]
    assert (seed["law"], seed["chapter"], seed["article"]) == ("eu_ai_act", 2, 5)
    assert seed["chapter_title"] == "Prohibited AI practices"
    assert seed["path"] == ["eu_ai_act/ch02", "eu_ai_act/ch02/art005", "eu_ai_act/ch02/art005/p1",
                            "eu_ai_act/ch02/art005/p1/h", "eu_ai_act/ch02/art005/p1/h/iii"]
    lines = seed["text"].split("\n")
    assert lines[0] == "Chapter II: Prohibited AI practices"
    assert lines[1] == "Article 5: Prohibited AI practices"
    assert lines[2] == "1. The following AI practices shall be prohibited:"
    assert lines[3].startswith("(h) the use of ‘real-time’ remote biometric identification systems")
    assert lines[4].startswith("(iii) the localisation or identification of a person suspected of having "
                               "committed a criminal offence")
    assert "custodial sentence or a detention order for a maximum period of at least four years" in lines[4]
    assert len(lines) == 5


def test_gdpr_17_1_a_is_a_seed_chaining_its_clauses(pools):
    seed = pools["gdpr"]["gdpr/ch03/art017/p1/a"]
    assert (seed["chapter"], seed["article"], seed["chapter_title"]) == (3, 17, "Rights of the data subject")
    assert seed["path"] == ["gdpr/ch03", "gdpr/ch03/sec3", "gdpr/ch03/art017", "gdpr/ch03/art017/p1",
                            "gdpr/ch03/art017/p1/a"]
    lines = seed["text"].split("\n")
    assert lines[:3] == ["Chapter III: Rights of the data subject", "Section 3: Rectification and erasure",
                         "Article 17: Right to erasure (‘right to be forgotten’)"]
    assert lines[3].startswith("1. The data subject shall have the right to obtain from the controller the erasure")
    assert lines[4] == ("(a) the personal data are no longer necessary in relation to the purposes for which "
                        "they were collected or otherwise processed;")


@pytest.mark.parametrize("law,low,high,articles", [("eu_ai_act", 850, 960, 113), ("gdpr", 650, 760, 99)])
def test_official_pool_is_one_seed_per_clause_leaf(law, low, high, articles, trees, pools):
    seeds = list(pools[law].values())
    chapters = [c for c in trees[law].root.children if c.kind == "chapter"]
    assert len(seeds) == sum(len(_leaves(c)) for c in chapters)
    assert low <= len(seeds) <= high                     # the paper: "roughly 900" / "roughly 700"
    assert {s["article"] for s in seeds} == set(range(1, articles + 1))
    for seed in seeds:
        assert tuple(sorted(seed)) == tuple(sorted(SEED_FIELDS + ("depth",)))
        assert seed["path"][-1] == seed["id"] and seed["path"][0] == f"{law}/ch{seed['chapter']:02d}"
        assert seed["text"].startswith("Chapter ") and all(line.strip() for line in seed["text"].split("\n"))


def test_include_annexes_and_recitals_add_their_seeds(trees, pools):
    ai_act = trees["eu_ai_act"]
    annex_leaves = sum(len(_leaves(a)) for a in ai_act.nodes_of("annex"))
    with_annexes = tree_seeds(ai_act, SeedOptions(include_annexes=True))
    added = [s for s in with_annexes if s["id"] not in pools["eu_ai_act"]]
    assert len(added) == annex_leaves > 100
    assert all(s["chapter"] == 0 and s["chapter_title"] == "Annexes" and s["article"] is None for s in added)
    high_risk = next(s for s in added if s["id"] == "eu_ai_act/anx03/p1/a")
    assert high_risk["text"].startswith("Annex III: High-risk AI systems referred to in Article 6(2)")
    assert "(a) remote biometric identification systems." in high_risk["text"]

    for law, count in (("eu_ai_act", 180), ("gdpr", 173)):
        with_recitals = tree_seeds(trees[law], SeedOptions(include_recitals=True))
        recitals = [s for s in with_recitals if s["chapter_title"] == "Recitals"]
        assert len(recitals) == count and len(with_recitals) == len(pools[law]) + count
        assert recitals[0]["id"] == f"{law}/rct001" and recitals[0]["text"].startswith("Recital 1: ")


def test_max_depth_folds_deeper_clauses_into_their_ancestor(trees, pools):
    tree = trees["eu_ai_act"]
    per_article = tree_seeds(tree, SeedOptions(max_depth=2))
    assert [s["article"] for s in per_article] == list(range(1, 114))
    article5 = next(s for s in per_article if s["article"] == 5)
    assert article5["id"] == "eu_ai_act/ch02/art005"
    # Nothing is lost: every clause of Article 5 is in the one folded seed.
    for seed in pools["eu_ai_act"].values():
        if seed["article"] == 5:
            assert seed["text"].split("\n")[-1] in article5["text"]
    per_paragraph = tree_seeds(tree, SeedOptions(max_depth=3))
    assert max(s["depth"] for s in per_paragraph) == 3
    assert len(pools["eu_ai_act"]) > len(per_paragraph) > len(per_article)
    assert "eu_ai_act/ch02/art005/p1" in {s["id"] for s in per_paragraph}
    assert len(tree_seeds(tree, SeedOptions(max_depth=9))) == len(pools["eu_ai_act"])


@pytest.mark.parametrize("law,rows,articles", [("eu_ai_act", 842, 113), ("gdpr", 506, 99)])
def test_privaci_kb_pool_reproduces_the_papers_counts(law, rows, articles, resources):
    tree, seeds, notes = kb_pool(resources / KB, law, SeedOptions())
    assert len(seeds) == rows and notes == []
    ids = [s["id"] for s in seeds]
    assert len(set(ids)) == rows and ids == sorted(ids)
    assert {s["article"] for s in seeds} == set(range(1, articles + 1))
    assert all(re.fullmatch(rf"{law}/ch\d\d(/sec\d+)?(/art\d\d\d)?(/[\w-]+)*", i) for i in ids)
    assert len(tree.nodes_of("article")) == articles


def test_privaci_kb_defects_become_unique_ids_in_the_right_chapter(resources):
    _, seeds, _ = kb_pool(resources / KB, "eu_ai_act", SeedOptions())
    by_id = {s["id"]: s for s in seeds}
    # The knowledge base's `article108.‘3`, `‘4`, `‘W` (quoted amendments) and `[*` (a footnote).
    assert {"eu_ai_act/ch13/art108/quote", "eu_ai_act/ch13/art108/quote-2", "eu_ai_act/ch13/art108/quote-3",
            "eu_ai_act/ch13/art108/note"} <= set(by_id)
    footnote = by_id["eu_ai_act/ch09/art078/note"]                  # the knowledge base's `article78.[5`
    assert (footnote["chapter"], footnote["article"]) == (9, 78)
    assert footnote["path"][:3] == ["eu_ai_act/ch09", "eu_ai_act/ch09/sec3", "eu_ai_act/ch09/art078"]
    row = by_id["eu_ai_act/ch02/art005/p1/h/i"]
    assert row["text"].startswith("EU Artificial Intelligence Act")   # the row's own text, as the paper used it
    assert row["path"][:2] == ["eu_ai_act/ch02", "eu_ai_act/ch02/art005"]


def test_privaci_kb_gdpr_rows_get_chapters_titles_and_recitals(resources):
    _, seeds, _ = kb_pool(resources / KB, "gdpr", SeedOptions())
    by_id = {s["id"]: s for s in seeds}
    title_row = by_id["gdpr/ch03/art017"]
    assert title_row["text"] == "Chapter III: Rights of the data subject\nArticle 17: Right to erasure (‘right to be forgotten’)"
    assert by_id["gdpr/ch03/art017/p1"]["text"].split("\n")[2].startswith("1. The data subject shall have the right")
    assert sum(1 for s in seeds if s["id"].count("/") == 2) == 99          # one title row per article
    _, with_recitals, _ = kb_pool(resources / KB, "gdpr", SeedOptions(include_recitals=True))
    assert len(with_recitals) == 506 + 173


def test_privaci_kb_options_it_cannot_honour(resources):
    _, seeds, notes = kb_pool(resources / KB, "eu_ai_act", SeedOptions(include_recitals=True, include_annexes=True))
    assert len(seeds) == 842 and len(notes) == 2 and "no recitals" in notes[1]
    with pytest.raises(ValueError, match="max_depth is 2, but seed_source privaci_kb is a fixed pool"):
        kb_pool(resources / KB, "gdpr", SeedOptions(max_depth=2))
    with pytest.raises(FileNotFoundError, match="no PrivaCI-Bench knowledge base"):
        kb_pool(resources / "nowhere", "gdpr", SeedOptions())


@pytest.mark.parametrize("seed_source", ["official", "privaci_kb"])
def test_same_input_gives_byte_identical_files(seed_source, resources, tmp_path):
    cfg = {"law": {**OFFICIAL, "seed_source": seed_source}}
    first, second = tmp_path / "a", tmp_path / "b"
    build("gdpr", cfg, first)
    build("gdpr", cfg, second)
    for name in ("tree.json", "seeds.jsonl", "stats.json"):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    rows = read_jsonl(first / "seeds.jsonl")
    assert [r["id"] for r in rows] == sorted(r["id"] for r in rows)
    assert all(tuple(sorted(r)) == tuple(sorted(SEED_FIELDS)) for r in rows)


def test_stats_count_per_chapter_and_depth(resources):
    _, seeds, stats = build_pool("eu_ai_act", OFFICIAL)
    assert stats["seeds"] == len(seeds) == sum(c["seeds"] for c in stats["per_chapter"])
    assert [c["chapter"] for c in stats["per_chapter"]] == list(range(1, 14))
    assert sum(stats["per_depth"].values()) == len(seeds) and set(stats["per_depth"]) == {"2", "3", "4", "5"}
    assert stats["tree"]["article"] == 113 and stats["tree"]["annex"] == 13
    assert 0 < stats["text_length"]["min"] <= stats["text_length"]["median"] <= stats["text_length"]["max"]
    with pytest.raises(ValueError, match="unknown law 'ccpa'"):
        build_pool("ccpa", OFFICIAL)
    _, _, gdpr_stats = build_pool("gdpr", {**OFFICIAL, "include_annexes": True})
    assert gdpr_stats["notes"] == ["include_annexes has no effect: gdpr has no annexes"]
