"""The training sets: distilled traces for SFT, train-split cases for GRPO (all configured laws together)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from .. import LABELS
from ..jsonl import read_jsonl
from ..laws import law_names
from ..prompts import student_messages


def sft_path(results_dir: str | Path, law: str) -> Path:
    return Path(results_dir) / "distill" / law / "sft.jsonl"


def train_cases_path(results_dir: str | Path, law: str) -> Path:
    return Path(results_dir) / "benchmark" / law / "train.jsonl"


def _read(path: Path, producer: str) -> list[dict[str, Any]]:
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist; the {producer} stage writes it (run it first)")
    rows = read_jsonl(path)
    if not rows:
        raise ValueError(f"{path} holds no records; training needs at least one")
    return rows


def sft_records(laws: list[str], results_dir: str | Path) -> list[dict[str, Any]]:
    """Distilled traces as TRL prompt-completion records: `prompt` is every message before the last,
    `completion` the final assistant message, so SFTTrainer puts the loss on the trace only (SmolLM2's
    chat template has no `{% generation %}` markers, which `assistant_only_loss` would need)."""
    records = []
    for law in laws:
        path = sft_path(results_dir, law)
        for number, row in enumerate(_read(path, "distill"), 1):
            messages = row.get("messages")
            where = f"{path} record {number} (id {row.get('id')!r})"
            if not isinstance(messages, list) or len(messages) < 2:
                raise ValueError(f"{where}: 'messages' must be a list of at least a user and an assistant turn")
            if messages[-1].get("role") != "assistant" or not str(messages[-1].get("content", "")).strip():
                raise ValueError(f"{where}: the last message must be a non-empty assistant turn (the trace)")
            records.append({"id": row["id"], "case_id": row.get("case_id", row["id"]), "law": law,
                            "prompt": messages[:-1], "completion": messages[-1:]})
    return records


def longest_trace_tokens(tokenizer, records: list[dict[str, Any]]) -> int:
    """Tokens of the longest trace in `records`, its end-of-turn token included: the answer length SFT
    teaches the student to stop within."""
    if not records:
        raise ValueError("no SFT records to measure")
    return 1 + max(len(tokenizer(r["completion"][-1]["content"], add_special_tokens=False)["input_ids"])
                   for r in records)


def grpo_records(laws: list[str], results_dir: str | Path) -> list[dict[str, Any]]:
    """Train-split cases as GRPO prompts: the student prompt, with `label` and `chapter` columns that the
    reward functions read."""
    records = []
    for law in laws:
        path = train_cases_path(results_dir, law)
        for number, case in enumerate(_read(path, "synthesize"), 1):
            where = f"{path} record {number} (id {case.get('id')!r})"
            missing = [k for k in ("id", "label", "chapter", "factual_background") if k not in case]
            if missing:
                raise ValueError(f"{where}: missing field(s) {missing}")
            if case["label"] not in LABELS:
                raise ValueError(f"{where}: label {case['label']!r} is not one of {LABELS}")
            if case.get("law", law) != law:
                raise ValueError(f"{where}: law {case['law']!r} in the file of {law}")
            records.append({"id": case["id"], "law": law, "label": case["label"], "chapter": int(case["chapter"]),
                            "prompt": student_messages(law, case["factual_background"])})
    return records


def prompt_length(tokenizer, messages: list[dict[str, str]]) -> int:
    """Tokens of the prompt as the trainer feeds it: the chat template with the generation prompt."""
    return len(tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True,
                                             return_dict=True)["input_ids"])


def drop_long_prompts(records: list[dict[str, Any]], tokenizer, max_tokens: int
                      ) -> tuple[list[dict[str, Any]], list[str]]:
    """Records whose prompt fits in `max_tokens`, and the ids of those dropped. GRPOConfig in TRL 1.x
    has no prompt-length limit, so the paper's 1024-token cap is applied to the data instead."""
    kept, dropped = [], []
    for record in records:
        (kept if prompt_length(tokenizer, record["prompt"]) <= max_tokens else dropped).append(record)
    if not kept:
        raise ValueError(f"every one of the {len(records)} prompts is longer than {max_tokens} tokens; "
                         "raise train.grpo.max_prompt_length")
    return kept, [r["id"] for r in dropped]


def counts_by_law(records: list[dict[str, Any]]) -> dict[str, int]:
    return {law: n for law in law_names() if (n := sum(r["law"] == law for r in records))}


def fingerprint(*parts: Any) -> str:
    """A digest of what a run depends on (data, settings, base model), to tell whether an existing
    checkpoint belongs to the same run."""
    text = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
