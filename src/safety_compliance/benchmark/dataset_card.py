"""The dataset card (README.md) written beside a law's benchmark files.

Its YAML header declares the train and test files, so `datasets.load_dataset(folder)` loads the
benchmark with both splits; the body says where the cases come from, how they were made and how
many there are per chapter and label.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import yaml

from .. import LABELS
from ..chapters import chapters_of
from ..laws import get_law
from ..tables import to_markdown


def counts_table(cases: Sequence[dict[str, Any]], law: str):
    """Cases per chapter, split and label, as a frame (chapters without cases left out)."""
    import pandas as pd

    titles = dict(chapters_of(law))
    count = Counter((c["chapter"], c["split"], c["label"]) for c in cases)
    rows = []
    for chapter in sorted({c["chapter"] for c in cases}):
        row = {"chapter": chapter, "title": titles.get(chapter, "outside the chapters")}
        for split in ("train", "test"):
            for label in LABELS:
                row[f"{split} {label}"] = count[(chapter, split, label)]
        row["total"] = sum(count[(chapter, s, lab)] for s in ("train", "test") for lab in LABELS)
        rows.append(row)
    return pd.DataFrame(rows)


def dataset_card(cases: Sequence[dict[str, Any]], report: dict[str, Any], law: str, scale: str) -> str:
    entry = get_law(law)
    header = {
        "pretty_name": f"Safety compliance cases: {entry.title}",
        "language": ["en"],
        "task_categories": ["text-classification"],
        "configs": [{"config_name": "default",
                     "data_files": [{"split": "train", "path": "train.jsonl"},
                                    {"split": "test", "path": "test.jsonl"}]}],
    }
    split_counts = Counter((c["split"], c["label"]) for c in cases)
    rejected = report.get("rejected_by_reason", {})
    lines = [
        "---", yaml.safe_dump(header, sort_keys=False).strip(), "---", "",
        f"# Safety compliance cases: {entry.title} ({scale} scale)", "",
        f"Compliance cases built from the {entry.title}: each case is labelled `prohibited` (the "
        "conduct breaches the law) or `permitted` (it complies). A verifier reads the "
        "`factual_background` and returns the label; the other fields are the teacher's legal analysis.",
        "",
        "## How it was made", "",
        f"- **Source**: {entry.citation} (the {entry.title}), {entry.edition}. The law is parsed into a "
        "tree (chapter > article > paragraph > point > sub-point); each root-to-leaf path is a *seed*: the "
        "chain of clause texts (`seed_id` names it).",
        f"- **Synthesis**: for each of {report['seeds']} seeds, the teacher `{report['teacher']}` wrote one "
        "prohibited and one permitted case as JSON with five string fields (`parties_involved`, "
        "`factual_background`, `legal_issues`, `arguments`, `jurisdiction`) under a JSON-schema constraint.",
        "- **Validation**: every field present, a string, and within its length bounds; the "
        "`factual_background` must neither name the law nor state the verdict. A failing case was "
        f"regenerated with a new sampling seed, up to {report['settings']['max_attempts']} attempts, then "
        "rejected with its reason.",
        "- **Split**: 50:50 by seed pairs (a seed's two cases stay together), stratified by chapter, with "
        "a fixed seed; every split holds as many prohibited as permitted cases. A seed with only one "
        "valid case is left out so the labels stay balanced.",
        "", "## Counts", "",
        f"- requested {report['requested']}, passed validation {report['produced']}, "
        f"rejected {report['rejected']}" + (f" ({', '.join(f'{k}: {v}' for k, v in rejected.items())})"
                                            if rejected else ""),
        f"- left out as unpaired: {report.get('unpaired', 0)}; in the benchmark: {len(cases)} "
        f"({report.get('pairs', 0)} seed pairs)",
        "- " + ", ".join(f"{split} {label}: {split_counts[(split, label)]}"
                         for split in ("train", "test") for label in LABELS),
        "", "Cases per chapter, split and label:", "",
        to_markdown(counts_table(cases, law)) if cases else "(no cases)", "",
        "## Files", "",
        "- `cases.jsonl`: every case with its `split`; `train.jsonl`, `test.jsonl`: the two splits.",
        "- `rejected.jsonl`: every case that did not make it, with its reasons and the teacher's last answer.",
        "- `synthesis_report.json`: the counts above, rejection reasons, settings and tokens.",
        "",
        "Fields: `id`, `law`, `seed_id`, `chapter`, `article`, `label`, `parties_involved`, "
        "`factual_background`, `legal_issues`, `arguments`, `jurisdiction`, `split`.", "",
        "```python",
        "from datasets import load_dataset",
        "bench = load_dataset(\"json\", data_files={\"train\": \"train.jsonl\", \"test\": \"test.jsonl\"})",
        "```", "",
    ]
    if scale != "paper":
        lines += [f"> Made at {scale} scale: a subset of seeds and a small teacher. The cases illustrate the "
                  "pipeline; they are not the paper's benchmark.", ""]
    return "\n".join(lines)
