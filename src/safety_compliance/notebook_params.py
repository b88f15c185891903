"""The parameters cell of a project notebook, read the way papermill reads it.

Each notebook's defaults are sized for nbval (a few cases, one training step). Its `*_overrides`
parameters carry those tiny sizes over the config; a workflow job must clear every one of them, or
the demo and the paper run would silently train and sample at nbval's sizes.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

OVERRIDE_SUFFIX = "_overrides"


def parameters(notebook: str | Path) -> dict[str, Any]:
    """Name -> default value of every assignment in the cell tagged `parameters`."""
    cells = json.loads(Path(notebook).read_text(encoding="utf-8"))["cells"]
    tagged = [c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(tagged) != 1:
        raise ValueError(f"{notebook}: expected one cell tagged 'parameters', found {len(tagged)}")
    source = "".join(tagged[0]["source"])
    values: dict[str, Any] = {}
    for node in ast.parse(source, filename=str(notebook)).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            values[node.targets[0].id] = ast.literal_eval(node.value)
    return values


def nbval_overrides(notebook: str | Path) -> list[str]:
    """The stage-specific `*_overrides` parameters (not the global `overrides`) a job must clear."""
    return sorted(n for n in parameters(notebook) if n.endswith(OVERRIDE_SUFFIX) and n != "overrides")
