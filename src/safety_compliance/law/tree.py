"""The law as a tree of clauses: law > chapter > (section) > article > paragraph > point > sub-point.

Node ids are path-like and unique within a law (`eu_ai_act/ch02/art005/p1/h/iii`). Sections appear
in the tree but not in the ids of what lies beneath them: article numbers are unique across a law,
and citations ("Article 5(1)(h)(iii)") never name the section either.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ..chapters import chapter_of_article, chapter_title
from ..laws import get_law

KINDS = ("law", "chapter", "section", "article", "paragraph", "point", "subpoint", "text",
         "annex", "recital")

# Kinds that group clauses without being one; they do not count towards a clause's depth.
GROUPING = frozenset({"law", "section"})


class LawParseError(ValueError):
    """A law text that is missing parts or is malformed; the message names what and where."""


@dataclass
class Node:
    id: str
    kind: str
    label: str | None = None     # as the law numbers it: "II", "5", "1", "h", "iii"
    title: str | None = None     # chapters, sections, articles, annexes
    text: str = ""               # the clause's own words, without its label
    children: list[Node] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"node {self.id!r}: unknown kind {self.kind!r}; kinds are {', '.join(KINDS)}")

    def walk(self) -> Iterator[Node]:
        yield self
        for child in self.children:
            yield from child.walk()

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "label": self.label, "title": self.title,
                "text": self.text, "children": [c.to_dict() for c in self.children]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Node:
        return cls(data["id"], data["kind"], data.get("label"), data.get("title"), data.get("text", ""),
                   [cls.from_dict(c) for c in data.get("children", [])])


@dataclass
class LawTree:
    law: str
    source: str          # what it was parsed from: official | privaci_kb
    root: Node

    def walk(self) -> Iterator[Node]:
        return self.root.walk()

    def nodes_of(self, kind: str) -> list[Node]:
        return [n for n in self.walk() if n.kind == kind]

    def find(self, node_id: str) -> Node:
        for node in self.walk():
            if node.id == node_id:
                return node
        raise KeyError(f"{self.law}: no node {node_id!r}")

    def to_dict(self) -> dict[str, Any]:
        return {"law": self.law, "source": self.source, "root": self.root.to_dict()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LawTree:
        return cls(data["law"], data["source"], Node.from_dict(data["root"]))


def chapter_id(law: str, number: int) -> str:
    return f"{law}/ch{number:02d}"


def article_id(law: str, chapter: int, number: int) -> str:
    return f"{chapter_id(law, chapter)}/art{number:03d}"


def clause_depth(path: list[Node]) -> int:
    """How deep the last node of a root-to-node path sits, counting clauses only (chapter = 1)."""
    return sum(1 for node in path if node.kind not in GROUPING)


def _numbers_report(what: str, found: list[int], expected: list[int]) -> str | None:
    if found == expected:
        return None
    missing = sorted(set(expected) - set(found))
    extra = sorted(set(found) - set(expected))
    parts = []
    if missing:
        parts.append(f"missing {what} {_ranges(missing)}")
    if extra:
        parts.append(f"unexpected {what} {_ranges(extra)}")
    if not parts:
        parts.append(f"{what} out of order: {found}")
    return "; ".join(parts)


def _ranges(numbers: list[int]) -> str:
    spans, start = [], None
    for i, n in enumerate(numbers):
        if start is None:
            start = n
        if i + 1 == len(numbers) or numbers[i + 1] != n + 1:
            spans.append(str(start) if start == n else f"{start}-{n}")
            start = None
    return ", ".join(spans)


def validate_tree(tree: LawTree) -> None:
    """Every chapter and article present, in order and where it belongs; chapter titles as the
    Official Journal has them; node ids unique; no clause without words.

    Raises LawParseError listing every problem found, so one run shows all that is wrong with a file.
    """
    law, problems = tree.law, []
    entry = get_law(law)
    chapters = [n for n in tree.root.children if n.kind == "chapter"]
    report = _numbers_report("chapters", [int(n.label) for n in chapters], entry.chapter_numbers())
    if report:
        problems.append(report)
    for chapter in chapters:
        number = int(chapter.label)
        if chapter.title and 1 <= number <= len(entry.chapters) \
                and chapter.title.casefold() != chapter_title(law, number).casefold():
            problems.append(f"chapter {number} is titled {chapter.title!r}, not {chapter_title(law, number)!r}")
        for article in (int(n.label) for n in chapter.walk() if n.kind == "article"):
            if 1 <= article <= entry.article_count and chapter_of_article(law, article) != number:
                problems.append(f"article {article} sits in chapter {number}, not {chapter_of_article(law, article)}")
    found = [int(n.label) for n in tree.nodes_of("article")]
    report = _numbers_report("articles", found, list(range(1, entry.article_count + 1)))
    if report:
        problems.append(report)
    seen: set[str] = set()
    for node in tree.walk():
        if node.id in seen:
            problems.append(f"duplicate node id {node.id}")
        seen.add(node.id)
        if not node.children and not node.text.strip():
            problems.append(f"empty clause text at {node.id} ({node.kind})")
    if problems:
        raise LawParseError(f"{law} ({tree.source}): " + "; ".join(problems[:20])
                            + (f"; and {len(problems) - 20} more" if len(problems) > 20 else ""))
