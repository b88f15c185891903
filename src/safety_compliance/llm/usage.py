"""Token accounting: what each model cost a stage, written to `{usage_dir}/{stage}.json`.

Several jobs of one stage (one per model and law) write the same file, so a flush merges its counts
into the file under an exclusive lock. Counts add up over runs: the file is a ledger of what was
spent since results/ was last cleaned; calls answered from the cache cost nothing and are counted
apart.
"""

from __future__ import annotations

import fcntl
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from ..jsonl import write_json

FIELDS = ("requests", "cache_hits", "model_calls", "failures", "prompt_tokens", "completion_tokens")


@dataclass
class Tally:
    requests: int = 0            # completions handed back
    cache_hits: int = 0          # of those, answered from the cache
    model_calls: int = 0         # calls that reached the model (constraint retries included)
    failures: int = 0            # completions handed back with an error
    prompt_tokens: int = 0       # tokens of the calls that reached the model
    completion_tokens: int = 0

    def add(self, other: "Tally") -> None:
        for name in FIELDS:
            setattr(self, name, getattr(self, name) + getattr(other, name))


def cost_usd(tally: dict, price_in: float | None, price_out: float | None) -> float | None:
    if price_in is None and price_out is None:
        return None
    return round(tally["prompt_tokens"] / 1e6 * (price_in or 0.0)
                 + tally["completion_tokens"] / 1e6 * (price_out or 0.0), 6)


def flush(usage_dir: str | Path, stage: str, model: str, tally: Tally,
          price_in: float | None = None, price_out: float | None = None) -> Path:
    """Add `tally` to the model's line in the stage's usage file; returns the file."""
    path = Path(usage_dir) / f"{stage}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(f".{path.name}.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        data = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
        models = data.get("models", {})
        line = {name: models.get(model, {}).get(name, 0) for name in FIELDS}
        for name, value in asdict(tally).items():
            line[name] += value
        line["estimated_cost_usd"] = cost_usd(line, price_in, price_out)
        models[model] = line
        total = {name: sum(m[name] for m in models.values()) for name in FIELDS}
        costs = [m["estimated_cost_usd"] for m in models.values() if m.get("estimated_cost_usd") is not None]
        total["estimated_cost_usd"] = round(sum(costs), 6) if costs else None
        write_json(path, {"stage": stage, "models": models, "total": total})
    return path
