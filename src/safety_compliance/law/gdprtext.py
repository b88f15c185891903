"""The GDPR from GDPRtEXT's JSON (github coolharsh55/GDPRtEXT, CC-BY-4.0).

GDPRtEXT nests chapter > section > article > `point` (a numbered paragraph) > `subpoint` (a lettered
point), with unnumbered `text` blocks beside the paragraphs. We map its names onto the law's own:
its point is our paragraph, its subpoint our point. Unnumbered text before an article's first
paragraph is the article's own text ("For the purposes of this Regulation:"); unnumbered text after
a paragraph belongs to that paragraph, as the Official Journal prints it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..chapters import from_roman
from .tree import LawParseError, LawTree, Node, article_id, chapter_id, validate_tree

LAW = "gdpr"


def _required(obj: dict[str, Any], key: str, where: str) -> Any:
    if not isinstance(obj, dict) or key not in obj:
        raise LawParseError(f"{LAW}: {where} has no {key!r} field")
    return obj[key]


def _words(text: Any, where: str) -> str:
    if not isinstance(text, str):
        raise LawParseError(f"{LAW}: {where} has text of type {type(text).__name__}, expected a string")
    return " ".join(text.split())


def _points(parent: Node, subpoints: list[dict[str, Any]]) -> None:
    for ordinal, point in enumerate(subpoints, 1):
        label = _required(point, "number", parent.id)
        label = str(label).strip("() ") if label is not None else None
        # Dash-indents (Article 53(1)) carry no letter; they are named by position.
        node_id = f"{parent.id}/{label or f'n{ordinal}'}"
        parent.children.append(Node(node_id, "point", label=label,
                                    text=_words(_required(point, "text", node_id), node_id)))


def _subparagraph(paragraph: Node, text: str) -> Node:
    """Unnumbered text after a paragraph continues it (the Journal's second subparagraph): it joins
    the paragraph's words, or, after the paragraph's points, becomes a `text` clause of its own."""
    if not paragraph.children:
        paragraph.text = f"{paragraph.text} {text}"
        return paragraph
    texts = sum(1 for c in paragraph.children if c.kind == "text")
    node = Node(f"{paragraph.id}/t{texts + 1}", "text", text=text)
    paragraph.children.append(node)
    return node


def _article(data: dict[str, Any], chapter: int) -> Node:
    where = f"article {data.get('number')!r}"
    try:
        number = int(_required(data, "number", where))
    except ValueError as err:
        raise LawParseError(f"{LAW}: {where} is not numbered with an integer") from err
    article = Node(article_id(LAW, chapter, number), "article", label=str(number),
                   title=_words(_required(data, "title", where), where))
    for block in _required(data, "contents", where):
        kind = _required(block, "type", article.id)
        text = _words(_required(block, "text", article.id), article.id)
        if kind == "point":
            label = str(block["number"])
            node = Node(f"{article.id}/p{label}", "paragraph", label=label, text=text)
            article.children.append(node)
        elif kind != "text":
            raise LawParseError(f"{LAW}: {article.id} holds a block of unknown type {kind!r}")
        elif not article.children:
            article.text = f"{article.text} {text}".strip()
            node = article
        else:
            node = _subparagraph(article.children[-1], text)
        _points(node, block.get("subpoints") or [])
    return article


def _chapter(data: dict[str, Any]) -> Node:
    where = f"chapter {data.get('number')!r}"
    try:
        number = from_roman(str(_required(data, "number", where)))
    except ValueError as err:
        raise LawParseError(f"{LAW}: {where} is not numbered with a Roman numeral") from err
    chapter = Node(chapter_id(LAW, number), "chapter", label=str(number),
                   title=_words(_required(data, "title", where), where))
    for item in _required(data, "contents", where):
        if item.get("type") == "section":
            section_no = int(_required(item, "number", chapter.id))
            section = Node(f"{chapter.id}/sec{section_no}", "section", label=str(section_no),
                           title=_words(_required(item, "title", chapter.id), chapter.id))
            section.children = [_article(a, number) for a in _required(item, "contents", section.id)]
            chapter.children.append(section)
        elif item.get("type") == "article":
            chapter.children.append(_article(item, number))
        else:
            raise LawParseError(f"{LAW}: {chapter.id} holds an item of unknown type {item.get('type')!r}")
    return chapter


def parse_gdpr_json(path: str | Path) -> LawTree:
    """The GDPR's tree (chapters and recitals) from GDPRtEXT JSON at `path`."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{LAW}: no GDPRtEXT JSON at {path}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise LawParseError(f"{LAW}: {path} is not valid JSON ({err})") from err
    root = Node(LAW, "law", title="Regulation (EU) 2016/679 (General Data Protection Regulation)")
    for recital in data.get("recitals") or []:
        number = int(_required(recital, "number", "a recital"))
        node_id = f"{LAW}/rct{number:03d}"
        root.children.append(Node(node_id, "recital", label=str(number),
                                  text=_words(_required(recital, "text", node_id), node_id)))
    root.children += [_chapter(c) for c in _required(data, "chapters", str(path))]
    tree = LawTree(LAW, "official", root)
    validate_tree(tree)
    return tree
