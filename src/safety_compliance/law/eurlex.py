"""The EU AI Act from the Official Journal HTML that EUR-Lex serves (CELEX 32024R1689).

EUR-Lex marks structure with ids: `cpt_III` (chapter), `cpt_III.sct_2` (section), `art_5` (article),
`005.001` (paragraph 1 of Article 5), `rct_12` (recital), `anx_IV` (annex). Points and sub-points are
one-row tables whose first cell holds the label "(a)" and whose last cell holds the text, nested as
deep as the law nests them. Footnote markers and footnotes are dropped: they cite the Journal, not law.
"""

from __future__ import annotations

import re
from copy import deepcopy
from pathlib import Path

from lxml import html

from ..chapters import from_roman
from .tree import LawParseError, LawTree, Node, article_id, chapter_id, validate_tree

LAW = "eu_ai_act"
_PARAGRAPH_DIV = re.compile(r"^(\d{3})\.(\d{3})$")
_PARAGRAPH_LABEL = re.compile(r"^(\d+[a-z]?)\.\s+")
_HEADINGS = {"oj-ti-art", "oj-sti-art", "oj-ti-section-1", "oj-ti-section-2", "oj-doc-ti"}
_NEXT_KIND = {"article": "point", "paragraph": "point", "point": "subpoint", "subpoint": "subpoint",
              "annex": "paragraph", "section": "paragraph"}


def clean(element) -> str:
    """The element's words on one line, without footnote markers or footnotes."""
    element = _without_notes(element)
    return _squash(element.text_content())


def _squash(text: str) -> str:
    text = " ".join(text.split())
    # A closing mark left behind a quoted block reads "... added: ‘4. ...’ ;" once the lines are joined.
    return re.sub(r"\s+([;,.:])(?=\s|$)", r"\1", text)


def _without_notes(element):
    copy = deepcopy(element)
    for note in copy.xpath('.//a[starts-with(@href, "#ntr")] | .//p[contains(@class, "oj-note")]'):
        _drop_keep_tail(note)
    return copy


def _drop_keep_tail(element) -> None:
    parent, tail = element.getparent(), element.tail or ""
    previous = element.getprevious()
    if previous is not None:
        previous.tail = (previous.tail or "") + tail
    else:
        parent.text = (parent.text or "") + tail
    parent.remove(element)


def _stream(container):
    """The container's content in document order as ('text', str), ('item', label, cell) and
    ('paragraph', None, div) entries; quoted blocks and wrappers are read through."""
    if container.text and container.text.strip():
        yield ("text", _squash(container.text))
    for child in container:
        cls = child.get("class") or ""
        if child.tag == "p" and (cls in _HEADINGS or "oj-note" in cls):
            pass
        elif child.tag == "p":
            yield ("text", clean(child))
        elif child.tag == "table":
            for row in child.xpath("./tbody/tr | ./tr"):
                cells = row.xpath("./td")
                if len(cells) < 2:
                    raise LawParseError(f"{LAW}: a point table near {_where(child)} has {len(cells)} cell(s), "
                                        "expected a label cell and a text cell")
                yield ("item", clean(cells[-2]), cells[-1])
        elif child.tag == "div" and child.get("class") == "eli-title":
            pass
        elif child.tag == "div" and _PARAGRAPH_DIV.match(child.get("id") or "") \
                and container.get("class") == "eli-subdivision":
            yield ("paragraph", None, child)
        elif child.tag in ("div", "span", "a"):
            yield from _stream(child)
        if child.tail and child.tail.strip():
            yield ("text", _squash(child.tail))


def _where(element) -> str:
    for ancestor in element.iterancestors():
        if ancestor.get("id"):
            return ancestor.get("id")
    return "the document top"


def _segment(label: str, kind: str, taken: set[str], ordinal: int) -> str:
    core = re.sub(r"[()‘’'\".\s]", "", label)
    if not re.fullmatch(r"[0-9A-Za-z]+", core):
        core = f"n{ordinal}"            # dash-indents have no label of their own
    if kind == "paragraph":
        core = f"p{core}"
    segment, k = core, 2
    while segment in taken:
        segment, k = f"{core}-{k}", k + 1
    taken.add(segment)
    return segment


def _fill(node: Node, stream) -> Node:
    """Give `node` its own text (what precedes its first sub-clause) and its sub-clauses.

    Words that follow a sub-clause ("Point (h) of the first subparagraph ...") become a `text` child;
    a list that follows such words ("... the provider shall either:", then (a), (b)) hangs under it,
    so each clause's chain carries the words that introduce it.
    """
    pending: list[str] = []
    taken: dict[str, set[str]] = {node.id: set()}
    target = node

    def flush() -> None:
        nonlocal target
        if not pending:
            return
        words = _squash(" ".join(pending))
        pending.clear()
        if not node.children:
            node.text = words
            return
        texts = sum(1 for c in node.children if c.kind == "text")
        target = Node(f"{node.id}/t{texts + 1}", "text", text=words)
        taken[target.id] = set()
        node.children.append(target)

    for entry in stream:
        if entry[0] == "text":
            if entry[1]:
                pending.append(entry[1])
            continue
        flush()
        kind, label, element = entry
        if kind == "paragraph":
            target = node
            child = _paragraph(node, element, taken[node.id])
        else:
            child_kind = _NEXT_KIND[node.kind]
            if node.kind in ("annex", "section") and not re.fullmatch(r"\d+\.?", label):
                child_kind = "point"
            segment = _segment(label, child_kind, taken[target.id], len(target.children) + 1)
            child = _fill(Node(f"{target.id}/{segment}", child_kind,
                               label=re.sub(r"[()‘’.]", "", label) or label), _stream(element))
        target.children.append(child)
    flush()
    return node


def _paragraph(article: Node, div, taken: set[str]) -> Node:
    stream = list(_stream(div))
    first = next((i for i, e in enumerate(stream) if e[0] == "text"), None)
    match = _PARAGRAPH_LABEL.match(stream[first][1]) if first is not None else None
    number = str(int(_PARAGRAPH_DIV.match(div.get("id")).group(2)))
    if match:
        if match.group(1) != number:
            raise LawParseError(f"{LAW}: paragraph {div.get('id')} is numbered {match.group(1)!r} in its text")
        stream[first] = ("text", stream[first][1][match.end():])
    node = Node(f"{article.id}/{_segment(number, 'paragraph', taken, 0)}", "paragraph", label=number)
    return _fill(node, stream)


def _article(element, chapter: int) -> Node:
    number = int(element.get("id").removeprefix("art_"))
    title = element.xpath('./div[@class="eli-title"]')
    node = Node(article_id(LAW, chapter, number), "article", label=str(number),
                title=clean(title[0]) if title else None)
    return _fill(node, _stream(element))


def _title(element) -> str | None:
    title = element.xpath('./div[@class="eli-title"]')
    return clean(title[0]) if title else None


def _chapter(element) -> Node:
    number = from_roman(element.get("id").removeprefix("cpt_"))
    chapter = Node(chapter_id(LAW, number), "chapter", label=str(number), title=_title(element))
    for child in element:
        ident = child.get("id") or ""
        if ident.startswith("art_"):
            chapter.children.append(_article(child, number))
        elif ".sct_" in ident and "." not in ident.split(".sct_")[1]:
            section_no = int(ident.split(".sct_")[1])
            section = Node(f"{chapter.id}/sec{section_no}", "section", label=str(section_no),
                           title=_title(child))
            section.children = [_article(a, number) for a in child.xpath('./div[starts-with(@id, "art_")]')]
            chapter.children.append(section)
    return chapter


def _annex(element) -> Node:
    label = element.get("id").removeprefix("anx_")
    headings = element.xpath('./p[@class="oj-doc-ti"]')
    annex = Node(f"{LAW}/anx{from_roman(label):02d}", "annex", label=label,
                 title=clean(headings[1]) if len(headings) > 1 else None)
    # Group headings ("Section A. ...", "1. Introduction") split an annex into sections.
    groups: list[tuple[str | None, list]] = [(None, [])]
    previous_heading = False
    for child in element:
        if child.tag == "p" and child.get("class") == "oj-ti-grseq-1":
            if previous_heading:
                groups[-1] = (f"{groups[-1][0]}: {clean(child)}", groups[-1][1])
            else:
                groups.append((clean(child), []))
            previous_heading = True
        else:
            groups[-1][1].append(child)
            previous_heading = False
    holder = html.Element("div")
    holder.extend(groups[0][1])
    _fill(annex, _stream(holder))
    for number, (heading, children) in enumerate(groups[1:], 1):
        section = Node(f"{annex.id}/s{number}", "section", label=str(number), title=heading)
        holder = html.Element("div")
        holder.extend(children)
        annex.children.append(_fill(section, _stream(holder)))
    return annex


def _recital(element) -> Node:
    number = int(element.get("id").removeprefix("rct_"))
    node = Node(f"{LAW}/rct{number:03d}", "recital", label=str(number))
    entries = list(_stream(element))
    if len(entries) != 1 or entries[0][0] != "item":
        raise LawParseError(f"{LAW}: recital {number} is not a single numbered block")
    node.text = clean(entries[0][2])
    return node


def parse_ai_act_html(path: str | Path) -> LawTree:
    """The AI Act's tree (chapters, recitals, annexes) from the Official Journal HTML at `path`."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{LAW}: no Official Journal HTML at {path}")
    try:
        doc = html.parse(str(path)).getroot()
    except (OSError, ValueError) as err:
        raise LawParseError(f"{LAW}: {path} is not readable HTML ({err})") from err
    if doc is None:
        raise LawParseError(f"{LAW}: {path} is empty")
    root = Node(LAW, "law", title="Regulation (EU) 2024/1689 (Artificial Intelligence Act)")
    root.children += [_recital(e) for e in doc.xpath('//div[starts-with(@id, "rct_")]')]
    root.children += [_chapter(e) for e in doc.xpath('//div[starts-with(@id, "cpt_") and not(contains(@id, "."))]')]
    root.children += [_annex(e) for e in doc.xpath('//div[starts-with(@id, "anx_") and not(contains(@id, "."))]')]
    tree = LawTree(LAW, "official", root)
    validate_tree(tree)
    return tree
