"""The trained reasoner as a guard: facts in, verdict (with the chapter it names and its reasoning) out.

    from safety_compliance import ComplianceReasoner
    guard = ComplianceReasoner.from_pretrained("results/train/qwen3-8b/grpo/final")
    guard.judge("A retailer's chatbot infers shoppers' health conditions ...", law="gdpr")

The model is reached through the LLM layer, so every backend (hf, vllm, an OpenAI-compatible server)
works as in the pipeline. Cases are often personal data, so a guard keeps nothing by default: no
completion cache and no usage file. Asked to (`cache=PATH`, or `cache=True` for
$XDG_CACHE_HOME/safety-compliance/judge.sqlite), it stores each prompt (the case text included) with
its answer in that SQLite file, and a repeated case is then answered from it.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..families import Family, get_family, predict
from ..llm.types import Generator
from ..registry import ModelEntry
from ..verdict import after_think

THINK = re.compile(r"<think>(.*?)</think>", re.DOTALL)
BOXED_TAIL = re.compile(r"\\boxed\{.*$", re.DOTALL)


@dataclass(frozen=True)
class Judgement:
    verdict: str | None          # "prohibited" | "permitted" | None when the answer could not be read
    chapter: int | None          # the chapter the answer names, when it names one
    reasoning: str               # the model's step-by-step reasoning
    summary: str                 # what it wrote after the reasoning, verdict box removed
    raw: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def split_answer(text: str) -> tuple[str, str]:
    """(reasoning, summary) of a `<think>...</think> summary \\boxed{...}` answer."""
    match = THINK.search(text)
    if match:
        reasoning = match.group(1).strip()
    elif "</think>" in text:             # templates that open <think> in the prompt
        reasoning = text[:text.rfind("</think>")].strip()
    else:
        reasoning = ""
    summary = BOXED_TAIL.sub("", after_think(text) if (match or "</think>" in text) else text).strip()
    return reasoning, summary


def default_cache_path() -> Path:
    """Where `cache=True` (`judge --cache` without a path) keeps the guard's cache."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "safety-compliance" / "judge.sqlite"


def guard_config(config: dict | None, cache: str | Path | bool | None) -> dict[str, Any]:
    """The LLM settings of a guard: `config`'s (retries, timeouts, its usage file), else the defaults,
    with a cache only when one is asked for and no usage file unless `config` names one."""
    llm = dict((config or {}).get("llm") or {"usage_dir": None, "progress": False})
    llm["cache"] = str(default_cache_path() if cache is True else cache) if cache else None
    return {**(config or {}), "llm": llm}


def trained_budget(path: str | Path) -> int | None:
    """The completion budget a model folder records as its generation default (`max_new_tokens` in
    generation_config.json; our training stages write the budget each student was trained for), or
    None where it records none (then the verifier family's budget applies)."""
    config = Path(path) / "generation_config.json"
    if not config.is_file():
        return None
    budget = json.loads(config.read_text(encoding="utf-8")).get("max_new_tokens")
    if budget is not None and (not isinstance(budget, int) or budget < 1):
        raise ValueError(f"{config}: max_new_tokens must be a positive integer, not {budget!r}")
    return budget


class ComplianceReasoner:
    def __init__(self, generator: Generator, *, family: str | Family = "compliance", max_tokens: int | None = None):
        self.generator = generator
        self.family = get_family(family) if isinstance(family, str) else family
        self.max_tokens = max_tokens

    @classmethod
    def from_pretrained(cls, path: str | Path, *, config: dict | None = None, backend: str = "hf",
                        max_tokens: int | None = None, cache: str | Path | bool | None = None,
                        **entry_settings) -> "ComplianceReasoner":
        """A guard over the model at `path` (a folder, hub id or API model); `entry_settings` are
        registry fields (dtype, device, base_url, api_key_env, ...). `config` lends its LLM settings;
        `cache` (a path, or True for the default place) is the only way anything is cached. `max_tokens`
        None: the budget the model folder records (a trained student's), else the verifier family's."""
        if backend == "hf" and not Path(path).exists() and "/" not in str(path):
            raise FileNotFoundError(f"no model folder at {path}")
        from ..llm import make_generator

        entry = ModelEntry(name=Path(str(path)).name or str(path), model=str(path), backend=backend,
                           family="compliance", group="ours", **entry_settings)
        if max_tokens is None:
            max_tokens = trained_budget(path)
        return cls(make_generator(entry, guard_config(config, cache), stage="judge"), max_tokens=max_tokens)

    def close(self) -> None:
        """Release the model and the cache file (also done by `with ComplianceReasoner... as guard`)."""
        close = getattr(self.generator, "close", None)
        if close is not None:
            close()

    def __enter__(self) -> "ComplianceReasoner":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def judge_many(self, facts: list[str], law: str) -> list[Judgement]:
        cases = [{"id": str(number), "factual_background": text} for number, text in enumerate(facts)]
        judgements = []
        for record in predict(self.family, self.generator, law, cases, self.max_tokens):
            reasoning, summary = split_answer(record["raw"])
            judgements.append(Judgement(verdict=record["verdict"], chapter=record["chapter_pred"],
                                        reasoning=reasoning, summary=summary, raw=record["raw"]))
        return judgements

    def judge(self, facts: str, law: str = "gdpr") -> Judgement:
        if not facts or not facts.strip():
            raise ValueError("judge needs the facts of a case (got empty text)")
        return self.judge_many([facts], law)[0]
