"""The paper-compatible seed pool: the PrivaCI-Bench knowledge base, one seed per row.

The paper's 842 AI Act and 506 GDPR seeds are this knowledge base's rows (for the GDPR, its article
rows: 99 article-title rows and 407 paragraph rows; its 173 recital rows are an option). The rows are
reproduced as they are, defects included, because matching the paper's pool is the point of this
mode; only their ids are rewritten into ours, which the defects make necessary:

- AI Act ids are `EU_AI_ACT.chapter3.section3-2.article10.2.a`. Where the knowledge base lost a label
  it kept the first two characters of the text instead (`article102.‘W`, `article78.[5`,
  `article3.Fo`): those become `quote` (quoted amending text), `note` (a footnote) or `t` (other
  unnumbered text), and a repeat gets `-2`, `-3` in row order, so every seed id is unique.
- Article 3's definitions were keyed by the first digit of their number, so `article3.4` holds one
  of the definitions numbered 4x; the row keeps the id the knowledge base gave it (as `p4`).
- GDPR ids are `Article 17(1)`; lettered points are folded into the paragraph row with their letters
  stripped, and Article 28(3) is cut short. The chapter comes from the article number.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from ..chapters import chapter_of_article, chapter_title, roman
from ..laws import PrivaciKB, get_law, load
from .seeds import OUTSIDE_CHAPTERS, SeedOptions
from .tree import LawParseError, LawTree, Node, article_id, chapter_id, clause_depth, validate_tree

_AI_ACT_ID = re.compile(r"EU_AI_ACT\.chapter(\d+)(?:\.section\d+-(\d+))?\.article(\d+)(?:\.(.+))?")
_GDPR_ID = re.compile(r"Article (\d+)(?:\((\d+)\))?")
_RECITAL_ID = re.compile(r"Recital (\d+)")


def _decoded(value: Any) -> str:
    # Some columns hold JSON-encoded strings ('"Recital 2"'), others plain ones ('Article 1').
    if isinstance(value, str) and value.startswith('"'):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return "" if value is None else str(value)


def _kb(law: str) -> PrivaciKB:
    kb = get_law(law).privaci
    if kb is None:
        raise ValueError(f"{law} has no PrivaCI-Bench knowledge base, so seed_source privaci_kb cannot build its "
                         "pool; set law.seed_source: official")
    return kb


def load_rows(kb_root: str | Path, law: str) -> list[dict[str, str]]:
    """The knowledge-base rows of `law` as {'id', 'content'}, in the knowledge base's order."""
    from datasets import load_from_disk   # heavy; only this mode needs it

    folder = Path(kb_root) / _kb(law).folder
    if not (folder / "dataset_info.json").is_file():
        raise FileNotFoundError(f"{law}: no PrivaCI-Bench knowledge base at {folder} "
                                "(a datasets save_to_disk folder); run `safety-compliance resources fetch`")
    data = load_from_disk(str(folder))
    missing = {"regulation_id", "regulation_content"} - set(data.column_names)
    if missing:
        raise LawParseError(f"{law}: {folder} lacks the columns {sorted(missing)}")
    return [{"id": _decoded(i), "content": _decoded(c)}
            for i, c in zip(data["regulation_id"], data["regulation_content"], strict=True)]


def _segment(token: str, level: int) -> tuple[str, str, str | None]:
    """Our id segment, node kind and label for one token of a knowledge-base id."""
    if token.isdigit():
        return (f"p{token}", "paragraph", token) if level == 0 else (token, "point", token)
    if re.fullmatch(r"[a-z]+", token):
        return token, "point" if level <= 1 else "subpoint", token
    if token.startswith("["):
        return "note", "text", None
    if token.startswith("‘"):
        return "quote", "text", None
    return "t", "text", None


class _Builder:
    """Grows the knowledge base's tree one row at a time and keeps every row's node unique."""

    def __init__(self, law: str) -> None:
        self.law = law
        self.root = Node(law, "law", title=f"PrivaCI-Bench knowledge base: {law}")
        self.index: dict[str, Node] = {law: self.root}
        self.parent: dict[str, Node] = {}

    def child(self, parent: Node, node_id: str, kind: str, **fields: Any) -> Node:
        if node_id not in self.index:
            self.index[node_id] = Node(node_id, kind, **fields)
            self.parent[node_id] = parent
            parent.children.append(self.index[node_id])
        return self.index[node_id]

    def trail(self, node: Node) -> list[Node]:
        """The nodes from the top (chapter or recital) down to `node`."""
        trail = [node]
        while self.parent[trail[-1].id] is not self.root:
            trail.append(self.parent[trail[-1].id])
        return trail[::-1]

    def article(self, chapter: int, article: int, section: int | None = None) -> Node:
        ch = self.child(self.root, chapter_id(self.law, chapter), "chapter", label=str(chapter),
                        title=chapter_title(self.law, chapter))
        parent = ch
        if section is not None:
            parent = self.child(ch, f"{ch.id}/sec{section}", "section", label=str(section))
        return self.child(parent, article_id(self.law, chapter, article), "article", label=str(article))

    def row(self, parent: Node, segments: list[tuple[str, str, str | None]], text: str) -> Node:
        """A node for one row beneath `parent`; a row whose id is already taken gets a suffix."""
        for segment, kind, label in segments[:-1]:
            parent = self.child(parent, f"{parent.id}/{segment}", kind, label=label)
        segment, kind, label = segments[-1]
        node_id, k = f"{parent.id}/{segment}", 2
        while node_id in self.index:
            node_id, k = f"{parent.id}/{segment}-{k}", k + 1
        return self.child(parent, node_id, kind, label=label, text=text)

    def tree(self) -> LawTree:
        # Rows come in the knowledge base's order; the tree shows chapters and articles in the law's.
        self.root.children.sort(key=lambda n: (n.kind != "recital", int(n.label)))
        for node in self.root.walk():
            if node.kind in ("chapter", "section"):
                node.children.sort(key=lambda n: (n.kind, int(n.label)))
        return LawTree(self.law, "privaci_kb", self.root)


def _seed(builder: _Builder, node: Node, text: str) -> dict[str, Any]:
    trail = builder.trail(node)
    top = trail[0]
    chapter = int(top.label) if top.kind == "chapter" else 0
    article = next((int(n.label) for n in trail if n.kind == "article"), None)
    return {"id": node.id, "law": builder.law, "chapter": chapter,
            "chapter_title": chapter_title(builder.law, chapter) if chapter else OUTSIDE_CHAPTERS[top.kind],
            "article": article, "path": [n.id for n in trail], "text": text,
            "depth": clause_depth(trail)}


def ai_act_seeds(rows: list[dict[str, str]], builder: _Builder, options: SeedOptions) -> list[dict[str, Any]]:
    """The AI Act's knowledge-base rows as seeds (it holds no recitals)."""
    seeds = []
    for row in rows:
        match = _AI_ACT_ID.fullmatch(row["id"])
        if not match:
            raise LawParseError(f"eu_ai_act: knowledge-base id {row['id']!r} names no chapter and article")
        chapter, section, article = int(match.group(1)), match.group(2), int(match.group(3))
        tokens = match.group(4).split(".") if match.group(4) else []
        parent = builder.article(chapter, article, int(section) if section else None)
        if not tokens:
            parent.text = row["content"]
            seeds.append(_seed(builder, parent, row["content"]))
            continue
        node = builder.row(parent, [_segment(t, i) for i, t in enumerate(tokens)], row["content"])
        seeds.append(_seed(builder, node, row["content"]))
    return seeds


def gdpr_seeds(rows: list[dict[str, str]], builder: _Builder, options: SeedOptions) -> list[dict[str, Any]]:
    """The GDPR's knowledge-base rows as seeds: its article rows, and its recital rows when asked for."""
    seeds = []
    titles = {}
    for row in rows:
        match = _GDPR_ID.fullmatch(row["id"])
        if match and match.group(2) is None:
            titles[int(match.group(1))] = row["content"]
    for row in rows:
        match, recital = _GDPR_ID.fullmatch(row["id"]), _RECITAL_ID.fullmatch(row["id"])
        if recital:
            if options.include_recitals:
                number = int(recital.group(1))
                node = builder.child(builder.root, f"gdpr/rct{number:03d}", "recital", label=str(number),
                                     text=row["content"])
                seeds.append(_seed(builder, node, f"Recital {number}: {row['content']}"))
            continue
        if not match:
            raise LawParseError(f"gdpr: knowledge-base id {row['id']!r} is neither an article nor a recital")
        number = int(match.group(1))
        chapter = chapter_of_article("gdpr", number)
        article = builder.article(chapter, number)
        article.title = titles.get(number, "")
        lines = [f"Chapter {roman(chapter)}: {chapter_title('gdpr', chapter)}",
                 f"Article {number}: {article.title}"]
        if match.group(2) is None:
            seeds.append(_seed(builder, article, "\n".join(lines)))
            continue
        paragraph = match.group(2)
        node = builder.row(article, [(f"p{paragraph}", "paragraph", paragraph)], row["content"])
        seeds.append(_seed(builder, node, "\n".join(lines + [f"{paragraph}. {row['content']}"])))
    return seeds


def kb_pool(kb_root: str | Path, law: str, options: SeedOptions) -> tuple[LawTree, list[dict[str, Any]], list[str]]:
    """The knowledge base's tree, its seeds (one per row, sorted by id) and notes on options it
    cannot honour. `max_depth` has no meaning for a fixed pool of rows and is refused."""
    if options.max_depth is not None:
        raise ValueError(f"law.max_depth is {options.max_depth}, but seed_source privaci_kb is a fixed pool "
                         "of the knowledge base's rows; set max_depth: null or seed_source: official")
    notes = []
    if options.include_annexes:
        notes.append("include_annexes ignored: the PrivaCI-Bench knowledge base holds no annexes")
    kb = _kb(law)
    if options.include_recitals and not kb.recitals:
        notes.append(f"include_recitals ignored: the PrivaCI-Bench {get_law(law).title} knowledge base holds no recitals")
    rows = load_rows(kb_root, law)
    builder = _Builder(law)
    seeds = load(kb.parser)(rows, builder, options)
    tree = builder.tree()
    validate_tree(tree)
    return tree, sorted(seeds, key=lambda s: s["id"]), notes
