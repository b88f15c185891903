"""The Safety Polytope and the probe on synthetic data, and both as registry guards on a tiny model."""

from __future__ import annotations

import numpy as np
import pytest

from safety_compliance.evaluate.polytope import (PolytopeConfig, load_polytope, polytope_scores, save_polytope,
                                                 train_polytope)
from safety_compliance.evaluate.representation import fit_probe, run_representation_guard
from safety_compliance.registry import ModelEntry


def separable(n=200, dim=16, seed=0):
    """Safe points in a ball around the origin; unsafe points pushed out along a few directions."""
    rng = np.random.default_rng(seed)
    safe = rng.normal(0, 0.5, size=(n // 2, dim))
    directions = np.eye(dim)[:3]
    unsafe = rng.normal(0, 0.5, size=(n // 2, dim)) + 4.0 * directions[rng.integers(0, 3, n // 2)]
    x = np.vstack([safe, unsafe]).astype(np.float32)
    y = np.array([False] * (n // 2) + [True] * (n // 2))
    return x, y


def test_polytope_separates_a_separable_set(tmp_path):
    x, y = separable()
    model = train_polytope(x, y, PolytopeConfig(facets=4, features=16, epochs=150, seed=0))
    accuracy = ((polytope_scores(model, x) > 0) == y).mean()
    assert accuracy >= 0.97
    test_x, test_y = separable(seed=1)
    assert ((polytope_scores(model, test_x) > 0) == test_y).mean() >= 0.9
    save_polytope(model, tmp_path / "sap.pt")
    assert np.allclose(polytope_scores(load_polytope(tmp_path / "sap.pt"), x), polytope_scores(model, x))


def test_polytope_untrained_does_not_separate():
    # the check above can fail: with no training the polytope is near chance
    x, y = separable()
    model = train_polytope(x, y, PolytopeConfig(facets=4, features=32, epochs=0))
    assert ((polytope_scores(model, x) > 0) == y).mean() < 0.9


def test_polytope_needs_both_labels():
    x, y = separable()
    with pytest.raises(ValueError, match="both safe and unsafe"):
        train_polytope(x, np.zeros_like(y))


def test_probe_separates_a_linearly_separable_set():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(100, 8))
    y = x[:, 0] + 0.5 * x[:, 1] > 0
    assert (fit_probe(x, y).predict(x) == y).mean() >= 0.97


def cases(law, n, prefix):
    rows = []
    for i in range(n):
        label = "prohibited" if i % 2 else "permitted"
        facts = ("A provider deploys hidden manipulation of users." if label == "prohibited"
                 else "A provider publishes documentation for its system.")
        rows.append({"id": f"{prefix}{i:03d}", "law": law, "chapter": 1 + i % 3, "label": label,
                     "factual_background": f"{facts} Case {i}."})
    return rows


@pytest.mark.parametrize("method", ["polytope", "probe"])
def test_representation_guard_on_the_tiny_model(tiny_model, tmp_path, method):
    entry = ModelEntry(name=f"{method}-tiny", model=str(tiny_model), backend="representation",
                       options={"base": str(tiny_model), "method": method, "layer": -1, "epochs": 50})
    train, test = cases("gdpr", 12, "tr"), cases("gdpr", 6, "te")
    records = run_representation_guard(entry, {}, "gdpr", train, test, cache_dir=tmp_path / "features",
                                       guard_dir=tmp_path / "guards")
    assert [r["case_id"] for r in records] == [c["id"] for c in test]
    assert {r["verdict"] for r in records} <= {"prohibited", "permitted"}
    assert all(r["prompt_tokens"] > 10 and r["completion_tokens"] == 0 for r in records)
    assert len(list((tmp_path / "features").glob("*.npz"))) == 2          # train and test, cached
    again = run_representation_guard(entry, {}, "gdpr", train, test, cache_dir=tmp_path / "features")
    assert again == records


def test_representation_guard_rejects_unknown_options(tiny_model, tmp_path):
    entry = ModelEntry(name="bad", model="x", backend="representation",
                       options={"base": str(tiny_model), "method": "polytope", "facet": 3})
    with pytest.raises(ValueError, match="unknown option\\(s\\) \\['facet'\\]"):
        run_representation_guard(entry, {}, "gdpr", cases("gdpr", 4, "a"), cases("gdpr", 2, "b"), cache_dir=tmp_path)
