"""The extrapolation stage (RQ2): existing safety datasets mapped onto the laws. The rules, the CLI
(`safety-compliance extrapolate ...`) and notebook 08 call these functions; the jobs read and write
files under `{results_dir}/extrapolate/`:

    rule                  function          files
    extrapolate_samples   prepare_samples   {dataset}/samples.jsonl, filter_report.json
    allocate              run_allocation    {dataset}/{law}/allocation.jsonl
    extrapolate_cases     run_cases         {dataset}/{law}/cases.jsonl, case_report.json
    extrapolate_classify  run_classifier    {dataset}/{law}/predictions/{model}.jsonl
    extrapolate_tables    write_outputs,    results/tables/table5{,_cells,_vs_paper}, table8{,_vs_paper},
                          write_kit         extrapolate_missing_rates, extrapolate_cases (.csv, .tex, .md);
                                            paper_figures/figure{2,3}.{pdf,png}; human_eval/ (the kit)

Run alone, notebook 08 runs every job in one process (`run_stage`).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from ..annotation_kit import draw_cases, write_annotation_kit
from ..families import family_requests, get_family, predict
from ..jsonl import read_jsonl, write_json, write_jsonl
from ..llm.types import Completion, Generator, Request
from ..registry import ModelEntry, get_model, registry_of, role_model
from ..safety_datasets import load_dataset
from ..tables import not_run_note, write_csv, write_table
from ..versus_paper import PAPER_RESULTS, load_paper_results
from .allocate import allocate, allocation_requests
from .allocation_figures import chapter_figure, figure_stem
from .case_writer import case_requests, generate_cases
from .dataset_tables import (flat_columns, missing_table, score_frame, scores, table5, table5_cells, table5_intervals,
                             table5_vs_paper, table8, table8_vs_paper)
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


# ---------------------------------------------------------------------------------------------------
# The stage's outputs, from the jobs' files: Figures 2-3, Tables 5 and 8, the missing rates and the
# human-evaluation kit of the generated cases.

def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing; run the extrapolation jobs first (rules allocate, extrapolate_cases)")
    return json.loads(path.read_text(encoding="utf-8"))


def filter_reports(cfg: dict[str, Any], results_dir: str | Path) -> dict[str, dict[str, Any]]:
    return {d: _read_json(dataset_dir(d, results_dir) / "filter_report.json") for d in settings(cfg)["datasets"]}


def allocations(cfg: dict[str, Any], results_dir: str | Path) -> dict[tuple[str, str], list[int | None]]:
    return {(d, law): [row["chapter"] for row in read_jsonl(law_dir(d, law, results_dir) / "allocation.jsonl")]
            for d in settings(cfg)["datasets"] for law in cfg["laws"]}


def case_reports(cfg: dict[str, Any], results_dir: str | Path) -> pd.DataFrame:
    rows = []
    for d in settings(cfg)["datasets"]:
        for law in cfg["laws"]:
            report = _read_json(law_dir(d, law, results_dir) / "case_report.json")
            rows.append({"dataset": d, "law": law, "requested": report["requested"], "produced": report["produced"],
                         "rejected": report["rejected"],
                         "reasons": "; ".join(f"{k}: {v}" for k, v in report["rejected_by_reason"].items())})
    return pd.DataFrame(rows)


def all_cases(cfg: dict[str, Any], results_dir: str | Path) -> list[dict[str, Any]]:
    return [case for d in settings(cfg)["datasets"] for law in cfg["laws"]
            for case in read_jsonl(law_dir(d, law, results_dir) / "cases.jsonl")]


def classifiers_run(cfg: dict[str, Any], results_dir: str | Path) -> list[str]:
    """The configured classifiers with predictions (the workflow leaves out those that cannot run here)."""
    return [m for m in settings(cfg)["classifiers"]
            if all((law_dir(d, law, results_dir) / "predictions" / f"{m}.jsonl").is_file()
                   for d in settings(cfg)["datasets"] for law in cfg["laws"])]


def classifier_scores(cfg: dict[str, Any], results_dir: str | Path) -> pd.DataFrame:
    rows = []
    for model in classifiers_run(cfg, results_dir):
        entry = model_entry(cfg, model, results_dir)
        for law in cfg["laws"]:
            for d in settings(cfg)["datasets"]:
                folder = law_dir(d, law, results_dir)
                cases = read_jsonl(folder / "cases.jsonl")
                preds = read_jsonl(folder / "predictions" / f"{model}.jsonl")
                rows.append({"law": law, "group": entry.group, "model": entry.label, "dataset": d,
                             **scores(cases, preds)})
    return score_frame(rows)


def write_outputs(cfg: dict[str, Any], results_dir: str | Path, figures_dir: str | Path,
                  paper_file: str | Path = PAPER_RESULTS) -> dict[str, Any]:
    """Every table and figure of the stage; returns the frames for display."""
    paper = load_paper_results(paper_file)
    tables_dir = Path(results_dir) / "tables"
    scale = f"{cfg['scale']} scale"
    datasets = settings(cfg)["datasets"]

    reports = filter_reports(cfg, results_dir)
    t8 = table8(reports, {d: r["used"] for d, r in reports.items()}, paper)
    write_table(t8, tables_dir / "table8", f"Table 8: seed safety datasets, this run ({scale}) beside the paper")
    t8_versus = table8_vs_paper(reports, paper)
    write_table(t8_versus, tables_dir / "table8_vs_paper",
                f"Table 8, filtered counts of this run ({scale}) beside the paper: run - paper where the "
                "datasets are the same, the reason where they are not")

    alloc = allocations(cfg, results_dir)
    missing = missing_table(alloc, paper, settings(cfg)["procedure"])
    write_table(missing, tables_dir / "extrapolate_missing_rates",
                f"Chapter allocation missing rate (%), this run ({scale}) beside the paper: the share of "
                "samples whose answer names no valid chapter")
    figures = []
    for law in cfg["laws"]:
        per_dataset = {d: alloc[(d, law)] for d in datasets}
        figures += chapter_figure(per_dataset, law, Path(figures_dir) / figure_stem(law), note=scale)

    generated = case_reports(cfg, results_dir)
    write_table(generated, tables_dir / "extrapolate_cases", f"Generated compliance cases per dataset and law ({scale})")
    score_rows = classifier_scores(cfg, results_dir)
    t5 = table5(score_rows, datasets)
    write_table(flat_columns(t5), tables_dir / "table5",
                f"Table 5: accuracy, macro-F1 (the paper's F1) and F1 of prohibited (%) on the extrapolated "
                f"cases, this run ({scale}); n = cases per law and dataset."
                + not_run_note([m for m in settings(cfg)["classifiers"] if m not in classifiers_run(cfg, results_dir)]),
                intervals=table5_intervals(score_rows, datasets),
                intervals_caption="Table 5, 95 % Wilson score intervals (%) of the accuracies above")
    write_csv(table5_cells(score_rows), tables_dir / "table5_cells.csv")
    t5_versus = table5_vs_paper(score_rows, paper)
    write_table(t5_versus, tables_dir / "table5_vs_paper",
                f"Table 5, this run ({scale}) beside the paper (accuracy and macro-F1): run - paper where the "
                "datasets are the same, the reason where they are not")
    return {"table8": t8, "table8_vs_paper": t8_versus, "missing": missing, "cases": generated, "table5": t5,
            "table5_vs_paper": t5_versus, "scores": score_rows, "figures": figures}


def write_kit(cfg: dict[str, Any], results_dir: str | Path) -> dict[str, Path]:
    """The benchmark's annotation kit for a seeded sample of the generated cases; each case is shown
    beside the safety sample it was built from."""
    ex = settings(cfg)
    cases = all_cases(cfg, results_dir)
    if not cases:
        raise ValueError("no generated case passed validation, so there is nothing to annotate")
    samples = {s["id"]: s["text"] for d in ex["datasets"]
               for s in read_jsonl(dataset_dir(d, results_dir) / "samples.jsonl")}
    drawn = draw_cases(cases, ex.get("human_eval_per_law", 50), seed=ex.get("sample_seed", 0))
    return write_annotation_kit(drawn, stage_dir(results_dir) / "human_eval", seeds=samples,
                                title="Extrapolated compliance cases: human evaluation")
