"""A toy third law for tests: the parser of its own small plain-text format (tests/fixtures/toy_act.txt)
and its registry entry. Registering it (`safety_compliance.laws.register(TOY_ACT)`) is all it takes
for the law stage and the seeds-per-chapter table to run on it.

The format: a title block, then `CHAPTER <roman> <title>` lines, `Article <n> <title>` lines, and under
an article either numbered paragraphs (`1. ...`) or its own words, with lettered points (`(a) ...`).
"""

from __future__ import annotations

import re
from pathlib import Path

from safety_compliance.chapters import from_roman
from safety_compliance.law.tree import LawParseError, LawTree, Node, article_id, chapter_id, validate_tree
from safety_compliance.laws import Chapter, Law
from safety_compliance.sources import GitHub, Source

LAW = "toy_act"
FIXTURE = Path(__file__).parent / "fixtures" / "toy_act.txt"

CHAPTER = re.compile(r"^CHAPTER ([IVXLC]+) (.+)$")
ARTICLE = re.compile(r"^Article (\d+) (.+)$")
PARAGRAPH = re.compile(r"^(\d+)\. (.+)$")
POINT = re.compile(r"^\(([a-z])\) (.+)$")


def parse_toy_act(path: str | Path) -> LawTree:
    """The toy act's tree: chapters > articles > paragraphs or the article's words > points."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{LAW}: no text at {path}")
    root = Node(LAW, "law", title="Toy Act")
    chapter = article = None
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line or chapter is None and not CHAPTER.match(line):
            continue                                    # blank lines, and the title block
        if found := CHAPTER.match(line):
            chapter_no = from_roman(found[1])
            chapter = Node(chapter_id(LAW, chapter_no), "chapter", label=str(chapter_no), title=found[2])
            root.children.append(chapter)
            article = None
        elif found := ARTICLE.match(line):
            article = Node(article_id(LAW, int(chapter.label), int(found[1])), "article", label=found[1],
                           title=found[2])
            chapter.children.append(article)
        elif article is None:
            raise LawParseError(f"{LAW}: line {number} stands outside any article: {line!r}")
        elif found := PARAGRAPH.match(line):
            article.children.append(Node(f"{article.id}/p{found[1]}", "paragraph", label=found[1], text=found[2]))
        elif found := POINT.match(line):
            article.children.append(Node(f"{article.id}/{found[1]}", "point", label=found[1], text=found[2]))
        else:
            article.text = f"{article.text} {line}".strip()
    tree = LawTree(LAW, "official", root)
    validate_tree(tree)
    return tree


TOY_ACT = Law(
    name=LAW,
    title="Toy Act",
    citation="Regulation (Toy) 1/2026",
    source=Source("law_toy_act", "law/toy_act.txt", "a toy act for tests (tests/fixtures/toy_act.txt)",
                  GitHub("example/toy-act", "0" * 40, "toy_act.txt")),
    edition="the test fixture's plain text",
    parser="toy_law:parse_toy_act",
    chapters=(Chapter(1, "Definitions and scope", 1), Chapter(2, "Obligations of keepers", 3),
              Chapter(3, "Penalties", 5)),
    article_count=5,
    names=("Toy Act", "Regulation (Toy) 1/2026"),
)
