"""The laws, one entry each: every stage reads what it needs of a law from here.

A `Law` names its text (the pinned source the workflow fetches), the parser that turns that text
into a tree of clauses, its chapters with their first articles, its article count, the words that
give its name away in a case's facts, its part of PrivaCI-Bench, and where the paper reports on it.
Parsers are named as import paths ("package.module:function") so that this registry never imports
the law stage. A law the paper does not cover has no `paper` entry; its tables and figures are then
named after the law instead of a paper number.

Adding a law is a parser module and one entry: `register(Law(...))` at import time of a plugin, or an
entry in `REGISTRY` below. Its name then works in the config's `laws`, the CLI and the workflow.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .sources import GitHub, Source


class UnknownLaw(KeyError, ValueError):
    """A law name the registry does not hold; the message names the known ones."""

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True)
class Chapter:
    number: int
    title: str                      # the Official Journal's, in sentence case
    first_article: int              # a chapter runs up to the next one's first article


@dataclass(frozen=True)
class PrivaciKB:
    """The law's part of PrivaCI-Bench (HKUST-KnowComp): its folder, named the same in KBs/ and cases/,
    and the parser of its knowledge-base rows into seeds (the paper's seed pool)."""

    folder: str
    parser: str                     # "module:function" taking (rows, builder, options)
    recitals: bool = False          # whether the knowledge base holds recital rows


@dataclass(frozen=True)
class PaperNumbers:
    """Where the paper reports on the law (keys are those of config/paper_results.yaml)."""

    table: int                      # its accuracy table (Tables 3, 4)
    table_key: str
    appendix_table: int             # the same for the second student base (Appendix B: Tables 6, 7)
    appendix_key: str
    figure: int                     # its chapter-allocation figure (Figures 2, 3)
    appendix_gain_note: str         # why the gain Appendix B quotes is not comparable


@dataclass(frozen=True)
class Law:
    name: str                       # the key in configs, result paths and ids
    title: str                      # in prose and table headers
    citation: str
    source: Source                  # its text, as the workflow fetches it (rule fetch_{source.name})
    edition: str                    # what that text is, for the dataset card
    parser: str                     # "module:function" from the text's path to a LawTree
    chapters: tuple[Chapter, ...]
    article_count: int
    names: tuple[str, ...]          # how the law is named in prose, as written
    privaci: PrivaciKB | None = None
    paper: PaperNumbers | None = None

    @property
    def text_path(self) -> str:
        """Where the workflow keeps the law's text."""
        return f"resources/{self.source.path}"

    def chapter_numbers(self) -> list[int]:
        return [c.number for c in self.chapters]


def load(path: str) -> Callable[..., Any]:
    """The function an import path ("package.module:function") names."""
    module, _, name = path.partition(":")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as err:
        raise ImportError(f"cannot load {path!r} ({err}); a law's parser is named as 'package.module:function'") from None


EU_AI_ACT = Law(
    name="eu_ai_act",
    title="EU AI Act",
    citation="Regulation (EU) 2024/1689",
    source=Source(
        "law_eu_ai_act", "law/eu_ai_act_2024_1689_oj.html",
        "EU AI Act, Regulation (EU) 2024/1689, as EUR-Lex renders the Official Journal (CELEX 32024R1689; "
        "EUR-Lex serves no fixed revision, so the copy saved in github Atypis/cartho is pinned)",
        GitHub("Atypis/cartho", "ac231f3f90124b9492d31c8c2f44e656e94832e1",
               "ai-act-source/OJ%3AL_202401689%3AEN%3ATXT.html")),
    edition="Official Journal text from EUR-Lex",
    parser="safety_compliance.law.eurlex:parse_ai_act_html",
    chapters=tuple(Chapter(n, title, first) for n, (title, first) in enumerate((
        ("General provisions", 1),
        ("Prohibited AI practices", 5),
        ("High-risk AI systems", 6),
        ("Transparency obligations for providers and deployers of certain AI systems", 50),
        ("General-purpose AI models", 51),
        ("Measures in support of innovation", 57),
        ("Governance", 64),
        ("EU database for high-risk AI systems", 71),
        ("Post-market monitoring, information sharing and market surveillance", 72),
        ("Codes of conduct and guidelines", 95),
        ("Delegation of power and committee procedure", 97),
        ("Penalties", 99),
        ("Final provisions", 102),
    ), 1)),
    article_count=113,
    names=("EU AI Act", "AI Act", "Artificial Intelligence Act", "Regulation (EU) 2024/1689", "2024/1689"),
    privaci=PrivaciKB("AI_ACT", "safety_compliance.law.privaci_kb:ai_act_seeds"),
    paper=PaperNumbers(
        table=3, table_key="table3_eu_ai_act_accuracy", appendix_table=6, appendix_key="table6_eu_ai_act_qwen25_base",
        figure=2,
        appendix_gain_note=(
            "not comparable: the paper's 7.12 is its appendix GRPO row (a repeat of Table 3's Qwen3-8B-based GRPO "
            "row, 66.86) minus the Qwen2.5 base (59.74), not a gain of GRPO on Qwen2.5")),
)

GDPR = Law(
    name="gdpr",
    title="GDPR",
    citation="Regulation (EU) 2016/679",
    source=Source(
        "law_gdpr", "law/gdpr_2016_679_gdprtext.json",
        "GDPR, Regulation (EU) 2016/679, as GDPRtEXT JSON (CC-BY-4.0)",
        GitHub("coolharsh55/GDPRtEXT", "b7bbb4ed02f0eefc0f5c19534444db97eeb640aa", "gdpr.json")),
    edition="as the GDPRtEXT JSON (CC-BY-4.0)",
    parser="safety_compliance.law.gdprtext:parse_gdpr_json",
    chapters=tuple(Chapter(n, title, first) for n, (title, first) in enumerate((
        ("General provisions", 1),
        ("Principles", 5),
        ("Rights of the data subject", 12),
        ("Controller and processor", 24),
        ("Transfers of personal data to third countries or international organisations", 44),
        ("Independent supervisory authorities", 51),
        ("Cooperation and consistency", 60),
        ("Remedies, liability and penalties", 77),
        ("Provisions relating to specific processing situations", 85),
        ("Delegated acts and implementing acts", 92),
        ("Final provisions", 94),
    ), 1)),
    article_count=99,
    names=("GDPR", "General Data Protection Regulation", "Regulation (EU) 2016/679", "2016/679"),
    privaci=PrivaciKB("GDPR", "safety_compliance.law.privaci_kb:gdpr_seeds", recitals=True),
    paper=PaperNumbers(
        table=4, table_key="table4_gdpr_accuracy", appendix_table=7, appendix_key="table7_gdpr_qwen25_base",
        figure=3,
        appendix_gain_note=(
            "not comparable: the paper's 11.64 follows from no pair of its numbers (Table 7: GRPO - base = "
            "77.27 - 66.40 = 10.87, SFT - base = 78.06 - 66.40 = 11.66)")),
)

REGISTRY: dict[str, Law] = {law.name: law for law in (EU_AI_ACT, GDPR)}


def register(law: Law) -> Law:
    """Add a law (a plugin's, a test's); its name must be new and its chapters numbered 1, 2, ...
    with rising first articles within its article count."""
    if law.name in REGISTRY:
        raise ValueError(f"a law named '{law.name}' is already registered")
    numbers = law.chapter_numbers()
    if numbers != list(range(1, len(numbers) + 1)):
        raise ValueError(f"law '{law.name}': chapters must be numbered 1..n in order, not {numbers}")
    firsts = [c.first_article for c in law.chapters]
    if not firsts or firsts[0] != 1 or firsts != sorted(set(firsts)) or firsts[-1] > law.article_count:
        raise ValueError(f"law '{law.name}': first articles {firsts} must start at 1 and rise within its "
                         f"{law.article_count} articles")
    REGISTRY[law.name] = law
    return law


def get_law(name: str) -> Law:
    try:
        return REGISTRY[name]
    except KeyError:
        raise UnknownLaw(f"unknown law '{name}'; known laws: {', '.join(REGISTRY)}") from None


def all_laws() -> tuple[Law, ...]:
    return tuple(REGISTRY.values())


def law_names() -> tuple[str, ...]:
    return tuple(REGISTRY)


def titles() -> dict[str, str]:
    """Law name -> its title ("EU AI Act")."""
    return {name: law.title for name, law in REGISTRY.items()}
