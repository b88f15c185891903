"""The existing safety datasets used as seeds for extrapolation, as one registry.

Every loader returns the same record shape, so the filters, the chapter allocation and the case
generation never look at a dataset's own format:

    id          stable within the dataset ("wildguard/00042")
    text        the prompt, or the prompt and the response for a response-level dataset
    label       "safe" | "unsafe" | None (the source gives no label)
    categories  harm categories the source names (list), or None where the source has none
    category    the single category when there is exactly one, else None

A dataset is read from its file (or folder) under `data_dir`. The workflow's rule `fetch_{name}`
puts it there, copied from a local data folder or downloaded from its pinned public source
(`safety_compliance.resources` names every source). Adding a dataset is one `SafetyDataset` entry in
`DATASETS` and its source in `resources.DATASET_SOURCES`.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Record = dict[str, Any]
SAFE, UNSAFE = "safe", "unsafe"

# OpenAI moderation flags (Markov et al. 2023): sexual, hate, violence, harassment, self-harm, and
# the sub-categories sexual/minors, hate/threatening, violence/graphic.
OPENAI_FLAGS = ("S", "H", "V", "HR", "SH", "S3", "H2", "V2")


@dataclass(frozen=True)
class SafetyDataset:
    name: str                       # key in configs and result paths
    display: str                    # the name in tables and figures; says what the data really is
    task: str                       # "Prompt Safety" | "Response Safety" (Table 8's column)
    split: str
    local: str                      # its file (or folder of JSON-lines files) under data_dir
    parse: Callable[[list[dict[str, Any]]], list[Record]]
    paper_key: str                  # the paper's column for this dataset (config/paper_results.yaml)
    paper_name: str                 # its row in the paper's Table 8
    note: str = ""

    def local_path(self, data_dir: str | Path) -> Path:
        return Path(data_dir) / self.local


def _record(dataset: str, index: int, text: str, label: str | None, categories: list[str] | None) -> Record:
    if label not in (SAFE, UNSAFE, None):
        raise ValueError(f"{dataset}: row {index} has label {label!r}; expected 'safe', 'unsafe' or None")
    single = categories[0] if categories is not None and len(categories) == 1 else None
    return {"id": f"{dataset}/{index:05d}", "dataset": dataset, "index": index, "text": text.strip(),
            "label": label, "categories": categories, "category": single}


# ----------------------------------------------------------------------------------------- WildGuard
def _parse_wildguard(rows: list[dict[str, Any]]) -> list[Record]:
    labels = {"harmful": UNSAFE, "unharmful": SAFE, None: None}
    out = []
    for i, row in enumerate(rows):
        raw = row.get("prompt_harm_label")
        raw = None if raw is None or raw != raw else raw          # NaN from parquet is "no label"
        if raw not in labels:
            raise ValueError(f"wildguard: row {i} has prompt_harm_label {raw!r}")
        label = labels[raw]
        sub = row.get("subcategory")
        categories = [sub] if label == UNSAFE and sub and sub != "benign" else ([] if label == SAFE else None)
        out.append(_record("wildguard", i, row["prompt"], label, categories))
    return out



# ------------------------------------------------------------------------------- OpenAI Moderation
def _parse_openai(rows: list[dict[str, Any]]) -> list[Record]:
    """Unsafe when any flag is 1. A flag missing from a row was not annotated: it is kept as None,
    never read as 0 or counted as a category; a row with no flag set is safe."""
    out = []
    for i, row in enumerate(rows):
        flags = {}
        for key in OPENAI_FLAGS:
            value = row.get(key)
            if value not in (0, 1, None):
                raise ValueError(f"openai_mod: row {i} has flag {key}={value!r}; expected 0, 1 or missing")
            flags[key] = value
        set_flags = [k for k in OPENAI_FLAGS if flags[k] == 1]
        record = _record("openai_mod", i, row["prompt"], UNSAFE if set_flags else SAFE, set_flags)
        record["flags"] = flags
        out.append(record)
    return out




# ------------------------------------------------------- GuardReasoner-format files (PKU, Aegis 1.0)
_TURNS = re.compile(r"Human user:\n(?P<prompt>.*?)\n\nAI assistant:\n(?P<response>.*)\Z", re.DOTALL)
_VERDICT = re.compile(r"(?:Response:\s*)?(?P<v>harmful|unharmful)\s*\Z")


def _guardreasoner(dataset: str, rows: list[dict[str, Any]], *, with_response: bool) -> list[Record]:
    """GuardReasoner's benchmark files: `input` holds "Human user: ... AI assistant: ...", `output`
    ends in harmful/unharmful (the response's label for response-level sets)."""
    out = []
    for i, row in enumerate(rows):
        turns = _TURNS.match(row.get("input", ""))
        verdict = _VERDICT.search(row.get("output", "").strip())
        if not turns or not verdict:
            raise ValueError(f"{dataset}: row {i} is not in the GuardReasoner format (input/output)")
        prompt, response = turns["prompt"].strip(), turns["response"].strip()
        text = f"User: {prompt}\n\nAssistant: {response}" if with_response else prompt
        out.append(_record(dataset, i, text, UNSAFE if verdict["v"] == "harmful" else SAFE, None))
    return out




# ------------------------------------------------------------------------------- full PKU-SafeRLHF
def _parse_saferlhf(rows: list[dict[str, Any]]) -> list[Record]:
    """The hub's test split: each of response_0 and response_1 is scored on its own (as GSPR does),
    with the harm categories marked true for it."""
    out = []
    for i, row in enumerate(rows):
        for r in (0, 1):
            harm = row.get(f"response_{r}_harm_category") or {}
            categories = sorted(k for k, v in harm.items() if v)
            text = f"User: {row['prompt'].strip()}\n\nAssistant: {row[f'response_{r}'].strip()}"
            label = SAFE if row[f"is_response_{r}_safe"] else UNSAFE
            out.append(_record("saferlhf", 2 * i + r, text, label, categories))
    return out



# ------------------------------------------------------------------------------------- Aegis 2.0
def _parse_aegis2(rows: list[dict[str, Any]]) -> list[Record]:
    out = []
    for i, row in enumerate(rows):
        label = {"safe": SAFE, "unsafe": UNSAFE}.get(row.get("prompt_label"))
        raw = row.get("violated_categories") or ""
        categories = [c.strip() for c in raw.split(",") if c.strip()]
        out.append(_record("aegis2", i, row["prompt"], label, categories))
    return out



# -------------------------------------------------------------------------------------- registry
DATASETS: dict[str, SafetyDataset] = {d.name: d for d in (
    SafetyDataset(
        "aegis1", "Aegis 1.0", "Prompt Safety", "test", "aegis1_test_359.json",
        lambda rows: _guardreasoner("aegis1", rows, with_response=False), "aegis2", "Aegis-2.0",
        note="Aegis 1.0 test prompts stand in for Aegis 2.0, which could not be obtained; no categories"),
    SafetyDataset(
        "aegis2", "Aegis 2.0", "Prompt Safety", "test", "aegis2_test.json", _parse_aegis2, "aegis2", "Aegis-2.0"),
    SafetyDataset(
        "wildguard", "WildGuardTest", "Prompt Safety", "test", "wildguardtest.parquet", _parse_wildguard,
        "wildguard", "Wildguard"),
    SafetyDataset(
        "openai_mod", "OpenAI Moderation", "Prompt Safety", "test", "openai_moderation_samples-1680.jsonl.gz",
        _parse_openai, "openai_mod", "OpenAI Mod"),
    SafetyDataset(
        "saferlhf", "PKU-SafeRLHF", "Response Safety", "test", "pku_saferlhf_test", _parse_saferlhf,
        "saferlhf", "SafeRLHF"),
    SafetyDataset(
        "saferlhf_subset", "PKU-SafeRLHF (2,000-row subset)", "Response Safety", "test",
        "pku_saferlhf_test_subset2000.json",
        lambda rows: _guardreasoner("saferlhf_subset", rows, with_response=True), "saferlhf", "SafeRLHF",
        note="a balanced 2,000-row subset of the test split (GuardReasoner's); no categories"),
)}


def get_dataset(name: str) -> SafetyDataset:
    try:
        return DATASETS[name]
    except KeyError:
        raise KeyError(f"unknown safety dataset '{name}'; known: {', '.join(sorted(DATASETS))}") from None


def _json_lines(handle) -> list[dict[str, Any]]:
    return [json.loads(line) for line in handle if line.strip()]


def _read_local(path: Path) -> list[dict[str, Any]]:
    """The rows of a file, or of every JSON-lines file of a folder in path order (the PKU-SafeRLHF
    test split is one file per response model)."""
    name = path.name
    if path.is_dir():
        files = sorted(path.rglob("*.jsonl"))
        if not files:
            raise ValueError(f"{path}: a dataset folder holds JSON-lines files; found none")
        return [row for f in files for row in _read_local(f)]
    if name.endswith(".parquet"):
        import pandas as pd

        return pd.read_parquet(path).to_dict(orient="records")
    if name.endswith(".jsonl.gz"):
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            return _json_lines(handle)
    if name.endswith(".jsonl"):
        with open(path, encoding="utf-8") as handle:
            return _json_lines(handle)
    if name.endswith(".json"):
        text = path.read_text(encoding="utf-8")
        try:
            rows = json.loads(text)
        except json.JSONDecodeError:
            rows = _json_lines(text.splitlines())       # hub files named .json are often JSON lines
        if not isinstance(rows, list):
            raise ValueError(f"{path}: expected a JSON list of rows or one JSON object per line")
        return rows
    raise ValueError(f"{path}: no reader for this file type")


def load_dataset(name: str, data_dir: str | Path = "resources/safety") -> list[Record]:
    """Every record of dataset `name`, from its file under data_dir."""
    spec = get_dataset(name)
    path = spec.local_path(data_dir)
    if not path.exists():
        raise FileNotFoundError(f"{spec.display}: nothing at {path}; the workflow's rule fetch_{name} provides "
                                f"it (or `safety-compliance resources fetch --only {name}`)")
    return spec.parse(_read_local(path))
