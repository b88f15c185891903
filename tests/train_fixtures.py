"""Hand-written training inputs for the train tests: a few distilled traces and train cases per law,
written where the distill and synthesize stages put theirs, and a config whose student is a given model."""

from __future__ import annotations

from pathlib import Path

import yaml

from safety_compliance.config import load_config
from safety_compliance.jsonl import write_jsonl
from safety_compliance.prompts import student_messages

LAWS = ("eu_ai_act", "gdpr")


def trace(label: str) -> str:
    return f"<think>The facts show a deployment that is {label}.</think> Summary. \\boxed{{{label}}}"


def write_inputs(results: Path, per_law: int = 2) -> Path:
    for law in LAWS:
        sft, cases = [], []
        for i in range(per_law):
            label = ("prohibited", "permitted")[i % 2]
            case_id = f"{law}/case{i:03d}"
            facts = f"Provider {i} scores people with an AI system."
            cases.append({"id": case_id, "law": law, "seed_id": f"{law}/ch02", "chapter": 2, "article": 5,
                          "label": label, "factual_background": facts, "split": "train"})
            sft.append({"id": case_id, "case_id": case_id,
                        "messages": student_messages(law, facts) + [{"role": "assistant", "content": trace(label)}]})
        write_jsonl(results / "distill" / law / "sft.jsonl", sft)
        write_jsonl(results / "benchmark" / law / "train.jsonl", cases)
    return results


def train_config(tmp: Path, model: Path, **train) -> dict:
    """The demo config with one student, `stu`, registered at `model`, and `train` merged over it."""
    registry = tmp / "models.yaml"
    registry.write_text(yaml.safe_dump({"stu": {"model": str(model), "backend": "hf", "display": "Tiny"}}))
    return load_config("config/config.yaml", {"models_file": str(registry), "train": {"students": ["stu"], **train}})
