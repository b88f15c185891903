"""The law parsers on the real texts: structure, chapter titles, and clear errors on damaged input."""

from __future__ import annotations

import json

import pytest

from safety_compliance.chapters import chapter_of_article, chapters_of, roman
from safety_compliance.law.eurlex import parse_ai_act_html
from safety_compliance.law.gdprtext import parse_gdpr_json
from safety_compliance.law.tree import LawParseError, LawTree
from safety_compliance.laws import get_law

AI_ACT_HTML = "law/eu_ai_act_2024_1689_oj.html"
GDPR_JSON = "law/gdpr_2016_679_gdprtext.json"


@pytest.fixture(scope="module")
def ai_act(resources) -> LawTree:
    return parse_ai_act_html(resources / AI_ACT_HTML)


@pytest.fixture(scope="module")
def gdpr(resources) -> LawTree:
    return parse_gdpr_json(resources / GDPR_JSON)


def _articles(tree: LawTree) -> list[int]:
    return [int(n.label) for n in tree.nodes_of("article")]


def test_ai_act_structure(ai_act):
    assert [int(c.label) for c in ai_act.nodes_of("chapter")] == list(range(1, 14))
    assert _articles(ai_act) == list(range(1, 114))
    assert len(ai_act.nodes_of("recital")) == 180
    assert [a.label for a in ai_act.nodes_of("annex")] == [roman(n) for n in range(1, 14)]
    chapter_sections = [s.id for s in ai_act.nodes_of("section") if "/anx" not in s.id]
    assert len(chapter_sections) == 16   # III: 5, V: 4, VII: 2, IX: 5
    assert ai_act.find("eu_ai_act/ch03/sec2").title == "Requirements for high-risk AI systems"
    assert ai_act.find("eu_ai_act/ch02/art005").title == "Prohibited AI practices"


def test_ai_act_article_5_down_to_sub_points(ai_act):
    paragraph = ai_act.find("eu_ai_act/ch02/art005/p1")
    assert paragraph.kind == "paragraph" and paragraph.label == "1"
    assert paragraph.text == "The following AI practices shall be prohibited:"
    assert [c.label for c in paragraph.children if c.kind == "point"] == list("abcdefgh")
    point_h = ai_act.find("eu_ai_act/ch02/art005/p1/h")
    assert [c.label for c in point_h.children] == ["i", "ii", "iii"]
    sub = ai_act.find("eu_ai_act/ch02/art005/p1/h/iii")
    assert sub.kind == "subpoint" and sub.text.startswith("the localisation or identification of a person")
    # The words after the list are the paragraph's second subparagraph, not part of point (h).
    trailing = ai_act.find("eu_ai_act/ch02/art005/p1/t1")
    assert trailing.kind == "text" and trailing.text.startswith("Point (h) of the first subparagraph")


def test_ai_act_unnumbered_articles_and_definitions(ai_act):
    definitions = ai_act.find("eu_ai_act/ch01/art003")
    assert definitions.text == "For the purposes of this Regulation, the following definitions apply:"
    assert [c.label for c in definitions.children] == [str(n) for n in range(1, 69)]
    assert ai_act.find("eu_ai_act/ch01/art004").children == []   # AI literacy: one block of text
    assert "(*)" not in ai_act.find("eu_ai_act/ch13/art102").text   # footnote markers are dropped


def test_gdpr_structure(gdpr):
    assert [int(c.label) for c in gdpr.nodes_of("chapter")] == list(range(1, 12))
    assert _articles(gdpr) == list(range(1, 100))
    assert len(gdpr.nodes_of("recital")) == 173
    assert len(gdpr.nodes_of("section")) == 15
    point = gdpr.find("gdpr/ch03/art017/p1/a")
    assert point.kind == "point" and point.text.startswith("the personal data are no longer necessary")
    assert gdpr.find("gdpr/ch01/art004").text == "For the purposes of this Regulation:"
    # Unnumbered text after a list stays with its paragraph, as the Official Journal prints it.
    assert gdpr.find("gdpr/ch02/art006/p1/t1").text.startswith("Point (f) of the first subparagraph")
    # Dash-indents have no letter and are named by position.
    assert [c.id.rsplit("/", 1)[1] for c in gdpr.find("gdpr/ch06/art053/p1").children] == ["n1", "n2", "n3", "n4"]


@pytest.mark.parametrize("law", ["eu_ai_act", "gdpr"])
def test_chapter_titles_and_articles_match_the_parsed_laws(law, ai_act, gdpr):
    tree = ai_act if law == "eu_ai_act" else gdpr
    parsed = [(int(c.label), c.title) for c in tree.nodes_of("chapter")]
    assert len(parsed) == len(chapters_of(law))
    for (number, title), (expected_number, expected_title) in zip(parsed, chapters_of(law), strict=True):
        assert number == expected_number
        # The Journal prints the AI Act's chapter titles in capitals; GDPRtEXT in sentence case.
        assert title.casefold() == expected_title.casefold()
        if law == "gdpr":
            assert title == expected_title
    for chapter in tree.nodes_of("chapter"):
        for article in (n for n in chapter.walk() if n.kind == "article"):
            assert chapter_of_article(law, int(article.label)) == int(chapter.label)
    assert get_law(law).article_count == len(tree.nodes_of("article"))


def test_tree_round_trips_through_json(gdpr):
    again = LawTree.from_dict(json.loads(json.dumps(gdpr.to_dict())))
    assert again == gdpr


def test_truncated_html_names_what_is_missing(resources, tmp_path):
    text = (resources / AI_ACT_HTML).read_text(encoding="utf-8")
    cut = text.index('id="art_57"')            # the file ends inside Chapter VI
    truncated = tmp_path / "truncated.html"
    truncated.write_text(text[:cut], encoding="utf-8")
    with pytest.raises(LawParseError) as err:
        parse_ai_act_html(truncated)
    message = str(err.value)
    assert "missing chapters 7-13" in message
    assert "missing articles 57-113" in message


def test_empty_html_is_an_error(tmp_path):
    empty = tmp_path / "empty.html"
    empty.write_text("<html><body><p>nothing here</p></body></html>", encoding="utf-8")
    with pytest.raises(LawParseError, match="missing chapters 1-13; missing articles 1-113"):
        parse_ai_act_html(empty)
    with pytest.raises(FileNotFoundError, match="no Official Journal HTML"):
        parse_ai_act_html(tmp_path / "absent.html")


def _gdpr_data(resources) -> dict:
    return json.loads((resources / GDPR_JSON).read_text(encoding="utf-8"))


def _write(tmp_path, data) -> str:
    path = tmp_path / "gdpr.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_json_with_an_article_removed_names_it(resources, tmp_path):
    data = _gdpr_data(resources)
    section = data["chapters"][2]["contents"][2]           # Chapter III, Section 3: Articles 16-20
    section["contents"] = [a for a in section["contents"] if a["number"] != "17"]
    with pytest.raises(LawParseError, match="missing articles 17"):
        parse_gdpr_json(_write(tmp_path, data))


def test_json_with_an_empty_clause_names_it(resources, tmp_path):
    data = _gdpr_data(resources)
    article = data["chapters"][2]["contents"][2]["contents"][1]
    assert article["number"] == "17"
    article["contents"][1]["text"] = "   "
    with pytest.raises(LawParseError, match="empty clause text at gdpr/ch03/art017/p2"):
        parse_gdpr_json(_write(tmp_path, data))


def test_json_with_a_misplaced_article_or_bad_shape(resources, tmp_path):
    data = _gdpr_data(resources)
    moved = data["chapters"][0]["contents"].pop()          # Article 4 into Chapter II
    data["chapters"][1]["contents"].insert(0, moved)
    with pytest.raises(LawParseError, match="article 4 sits in chapter 2, not 1"):
        parse_gdpr_json(_write(tmp_path, data))
    with pytest.raises(LawParseError, match="has no 'chapters' field"):
        parse_gdpr_json(_write(tmp_path, {"recitals": []}))
    broken = tmp_path / "broken.json"
    broken.write_text('{"chapters": [', encoding="utf-8")
    with pytest.raises(LawParseError, match="not valid JSON"):
        parse_gdpr_json(broken)
