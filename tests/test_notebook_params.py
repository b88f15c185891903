"""Reading a notebook's parameters cell: what the workflow clears, and bad notebooks named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from safety_compliance.notebook_params import nbval_overrides, parameters

ROOT = Path(__file__).resolve().parents[1]


def _notebook(tmp_path: Path, *cells: tuple[str, list[str]]) -> Path:
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps({"cells": [
        {"cell_type": "code", "metadata": {"tags": tags}, "source": source} for source, tags in cells]}))
    return path


def test_reads_the_tagged_cell_only(tmp_path):
    path = _notebook(tmp_path, ("a = 1\n", []),
                     ('overrides = {}\nn = 3  # comment\ntrain_overrides = {"sft": {"max_steps": 1}}\n', ["parameters"]))
    assert parameters(path) == {"overrides": {}, "n": 3, "train_overrides": {"sft": {"max_steps": 1}}}
    assert nbval_overrides(path) == ["train_overrides"]


@pytest.mark.parametrize("tags", [[[]], [["parameters"], ["parameters"]]])
def test_missing_or_doubled_parameters_cell_is_named(tmp_path, tags):
    path = _notebook(tmp_path, *[("x = 1\n", t) for t in tags])
    with pytest.raises(ValueError, match=r"nb\.ipynb: expected one cell tagged 'parameters'"):
        parameters(path)


def test_training_notebooks_carry_nbval_sizes():
    # The reason the workflow clears them: these defaults would otherwise cut the demo to one step.
    assert nbval_overrides(ROOT / "notebooks" / "05_sft.ipynb") == ["train_overrides"]
    assert parameters(ROOT / "notebooks" / "06_grpo.ipynb")["train_overrides"]["grpo"]["max_steps"] == 1
