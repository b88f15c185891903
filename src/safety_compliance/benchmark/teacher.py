"""The generator a benchmark stage talks to: the registry model the config names, or one given."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..llm.types import Generator
from ..registry import get_model, registry_of


@contextmanager
def open_generator(cfg: dict[str, Any], model: str, stage: str, given: Generator | None = None,
                   constraint_retries: int | None = None) -> Iterator[Generator]:
    """`given` as is (the caller closes it), or a cached generator for registry model `model`,
    closed on exit. Usage is booked under `stage` (results/usage/{stage}.json); `constraint_retries`
    overrides `llm.max_constraint_retries`."""
    if given is not None:
        yield given
        return
    from ..llm import make_generator

    generator = make_generator(get_model(registry_of(cfg), model), cfg, stage=stage,
                               constraint_retries=constraint_retries)
    try:
        yield generator
    finally:
        generator.close()


def open_teacher(cfg: dict[str, Any], stage: str, given: Generator | None = None):
    """The config's `teacher` for a stage that regenerates failed answers itself (synthesis,
    distillation). Its LLM layer makes no constraint retries: inside the stage's own loop they would
    multiply the calls per item to max_attempts x (1 + llm.max_constraint_retries)."""
    return open_generator(cfg, cfg["teacher"], stage, given, constraint_retries=0)
