"""The stage's jobs, as the Snakemake rules, the CLI and notebook 08 run them; each reads and writes
files under `{results_dir}/extrapolate/`:

    {dataset}/samples.jsonl, filter_report.json        prepare_samples   (rule extrapolate_samples)
    {dataset}/{law}/allocation.jsonl                   run_allocation    (rule allocate)
    {dataset}/{law}/cases.jsonl, case_report.json      run_cases         (rule extrapolate_cases)
    {dataset}/{law}/predictions/{model}.jsonl          run_classifier    (rule extrapolate_classify)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..families import family_requests, get_family, predict
from ..jsonl import read_jsonl, write_json, write_jsonl
from ..llm.types import Completion, Generator, Request
from ..registry import ModelEntry, get_model, registry_of, role_model
from .allocate import allocate, allocation_requests
from .case_writer import case_requests, generate_cases
from ..safety_datasets import load_dataset
from .filters import FilterSettings, apply_filters, hf_token_counter, stratified_sample

STAGE = "extrapolate"


def stage_dir(results_dir: str | Path = "results") -> Path:
    return Path(results_dir) / STAGE


def dataset_dir(dataset: str, results_dir: str | Path = "results") -> Path:
    return stage_dir(results_dir) / dataset


def law_dir(dataset: str, law: str, results_dir: str | Path = "results") -> Path:
    return dataset_dir(dataset, results_dir) / law


def settings(cfg: dict[str, Any]) -> dict[str, Any]:
    if "extrapolate" not in cfg:
        raise KeyError("the config has no 'extrapolate' section")
    return cfg["extrapolate"]


def model_entry(cfg: dict[str, Any], name: str, results_dir: str | Path = "results") -> ModelEntry:
    """A registry model or one of our trained students (`{student}-sft`, `{student}-grpo`)."""
    entry = get_model(registry_of(cfg, results_dir), name)
    if entry.group == "ours" and not Path(entry.model).is_dir():
        raise FileNotFoundError(f"{name}: no trained model at {entry.model}; run the training stage first "
                                "(notebook 06 / rule grpo)")
    return entry


@contextmanager
def generator_for(entry: ModelEntry, cfg: dict[str, Any], given: Generator | None = None) -> Iterator[Generator]:
    """`given` as is (the caller owns it), or a fresh generator for `entry`, closed afterwards."""
    if given is not None:
        yield given
        return
    from ..llm import make_generator

    with make_generator(entry, cfg, stage=STAGE) as generator:
        yield generator


def benchmark_bounds(cfg: dict[str, Any]) -> dict[str, tuple[int, int]] | None:
    """The benchmark stage's per-field character bounds (config `benchmark.field_chars`), so that an
    extrapolated case passes exactly the checks a benchmark case does."""
    chars = cfg.get("benchmark", {}).get("field_chars")
    return {name: (int(low), int(high)) for name, (low, high) in chars.items()} if chars else None


def prepare_samples(cfg: dict[str, Any], dataset: str, results_dir: str | Path = "results") -> dict[str, Any]:
    """Load, filter and (demo) sample `dataset`; writes samples.jsonl and filter_report.json."""
    ex = settings(cfg)
    filt = FilterSettings.for_dataset(ex["filter"], dataset)
    counter = hf_token_counter(ex["filter"]["tokenizer"]) if filt.token_cap is not None else None
    records = load_dataset(dataset, ex["data_dir"])
    kept, report = apply_filters(records, filt, dataset, counter)
    samples = stratified_sample(kept, ex.get("samples_per_dataset"), ex.get("sample_seed", 0))
    out = dataset_dir(dataset, results_dir)
    write_jsonl(out / "samples.jsonl", samples)
    used = Counter(s["label"] for s in samples)
    summary = {**report.as_dict(), "used": {"safe": used["safe"], "unsafe": used["unsafe"]}}
    write_json(out / "filter_report.json", summary)
    return summary


def allocation_settings(cfg: dict[str, Any]) -> dict[str, Any]:
    ex = settings(cfg)
    return {"max_tokens": ex["max_tokens"]["allocate"], "procedure": ex["procedure"],
            "think_chars": ex.get("think_chars")}


def case_settings(cfg: dict[str, Any]) -> dict[str, Any]:
    ex = settings(cfg)
    return {"max_tokens": ex["max_tokens"]["case"], "max_chars": ex.get("case_field_max_chars"),
            "bounds": benchmark_bounds(cfg), "procedure": ex["procedure"]}


class Prefetched:
    """A generator that answers from completions fetched together beforehand, so that many small
    per-dataset jobs in one process share the large batches a backend is fast with."""

    def __init__(self, generator: Generator):
        self.generator = generator
        self.model_id = generator.model_id
        self._done: dict[str, Completion] = {}

    def prefetch(self, requests: Sequence[Request], *, desc: str = "") -> None:
        todo = list({r.digest(): r for r in requests if r.digest() not in self._done}.values())
        if todo:
            for request, completion in zip(todo, self.generator.generate(todo, desc=desc), strict=True):
                self._done[request.digest()] = completion

    def generate(self, requests: Sequence[Request], *, desc: str = "") -> list[Completion]:
        self.prefetch(requests, desc=desc)
        return [self._done[r.digest()] for r in requests]


def _samples(dataset: str, results_dir: str | Path) -> list[dict[str, Any]]:
    return read_jsonl(dataset_dir(dataset, results_dir) / "samples.jsonl")


def _chapters(dataset: str, law: str, results_dir: str | Path) -> dict[str, int | None]:
    return {row["id"]: row["chapter"] for row in read_jsonl(law_dir(dataset, law, results_dir) / "allocation.jsonl")}


def _cases(dataset: str, law: str, results_dir: str | Path) -> list[dict[str, Any]]:
    return read_jsonl(law_dir(dataset, law, results_dir) / "cases.jsonl")


def run_allocation(cfg: dict[str, Any], dataset: str, law: str, results_dir: str | Path = "results",
                   generator: Generator | None = None) -> list[dict[str, Any]]:
    entry = None if generator is not None else model_entry(cfg, role_model(cfg, "allocator"), results_dir)
    with generator_for(entry, cfg, generator) as gen:
        rows = allocate(_samples(dataset, results_dir), law, gen, **allocation_settings(cfg))
    write_jsonl(law_dir(dataset, law, results_dir) / "allocation.jsonl", rows)
    return rows


def run_cases(cfg: dict[str, Any], dataset: str, law: str, results_dir: str | Path = "results",
              generator: Generator | None = None) -> dict[str, Any]:
    entry = None if generator is not None else model_entry(cfg, role_model(cfg, "case_writer"), results_dir)
    with generator_for(entry, cfg, generator) as gen:
        cases, report = generate_cases(_samples(dataset, results_dir), _chapters(dataset, law, results_dir), law,
                                       dataset, gen, **case_settings(cfg))
    folder = law_dir(dataset, law, results_dir)
    write_jsonl(folder / "cases.jsonl", cases)
    write_json(folder / "case_report.json", report)
    return report


def run_classifier(cfg: dict[str, Any], model: str, results_dir: str | Path = "results",
                   generator: Generator | None = None) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """Every configured dataset and law's cases classified by `model`: one model load, one batch."""
    ex = settings(cfg)
    entry = model_entry(cfg, model, results_dir)
    family = get_family(entry.family)
    budget = ex["max_tokens"].get("classify")     # caps the family's own budget (demo scale)
    pairs = [(d, law) for d in ex["datasets"] for law in cfg["laws"]]
    out = {}
    with generator_for(entry, cfg, generator) as gen:
        batched = Prefetched(gen)
        batched.prefetch([r for d, law in pairs for r in family_requests(
            family, law, [c["factual_background"] for c in _cases(d, law, results_dir)], budget)],
            desc=f"classify {model}")
        for dataset, law in pairs:
            # The model sees the case facts only, asked the way its family asks.
            preds = predict(family, batched, law, _cases(dataset, law, results_dir), budget)
            write_jsonl(law_dir(dataset, law, results_dir) / "predictions" / f"{model}.jsonl", preds,
                        sort_key="case_id")
            out[(dataset, law)] = preds
    return out


def run_stage(cfg: dict[str, Any], results_dir: str | Path = "results") -> None:
    """Every job of the stage in one process (notebook 08 standalone): each model loaded once, and
    the requests of all datasets and laws sent as one batch per step."""
    ex = settings(cfg)
    pairs = [(d, law) for d in ex["datasets"] for law in cfg["laws"]]
    for dataset in ex["datasets"]:
        prepare_samples(cfg, dataset, results_dir)
    allocator, writer = role_model(cfg, "allocator"), role_model(cfg, "case_writer")
    with generator_for(model_entry(cfg, allocator, results_dir), cfg) as gen:
        batched = Prefetched(gen)
        batched.prefetch([r for d, law in pairs for r in allocation_requests(
            _samples(d, results_dir), law, **allocation_settings(cfg))], desc="allocate")
        for dataset, law in pairs:
            run_allocation(cfg, dataset, law, results_dir, batched)
        if writer == allocator:
            _all_cases(cfg, pairs, results_dir, batched)
    if writer != allocator:
        with generator_for(model_entry(cfg, writer, results_dir), cfg) as gen:
            _all_cases(cfg, pairs, results_dir, Prefetched(gen))
    for model in ex["classifiers"]:
        run_classifier(cfg, model, results_dir)


def _all_cases(cfg: dict[str, Any], pairs: list[tuple[str, str]], results_dir: str | Path,
               batched: Prefetched) -> None:
    batched.prefetch([r for d, law in pairs for r in case_requests(
        _samples(d, results_dir), _chapters(d, law, results_dir), law, **case_settings(cfg))], desc="cases")
    for dataset, law in pairs:
        run_cases(cfg, dataset, law, results_dir, batched)
