# Stage 8 (RQ2): existing safety datasets mapped onto the laws. Per dataset: load, filter and sample;
# per dataset and law: chapter allocation (the GRPO reasoner) and case generation; per classifier:
# verdicts on every generated case; then notebook 08 makes Figures 2-3 and Tables 5 and 8.
import re

from safety_compliance.evaluate.run import full_registry
from safety_compliance.extrapolate.jobs import role_model

EX = config["extrapolate"]
EX_DATASETS = EX["datasets"]
EX_CLASSIFIERS = EX["classifiers"]
EX_REGISTRY = full_registry(config, RESULTS)
EX_DIR = f"{RESULTS}/extrapolate"
EX_DATASET_RE = "|".join(re.escape(d) for d in EX_DATASETS)
EX_TABLES = [f"{RESULTS}/tables/{stem}.{ext}" for stem in ("table5", "table5_vs_paper", "table8", "table8_vs_paper",
                                                           "extrapolate_missing_rates", "extrapolate_cases")
             for ext in ("csv", "tex", "md")] + [f"{RESULTS}/tables/table5_cells.csv"]
EX_FIGURES = [f"paper_figures/figure{n}.{ext}" for n in (2, 3) for ext in ("pdf", "png")]


def ex_model_input(name):
    """The model folder a job needs when this workflow makes it (a trained student, the embedded
    model); hub and API models need nothing local."""
    path = str(EX_REGISTRY[name].model)
    return [path] if path.startswith((f"{RESULTS}/", "resources/")) else []


rule extrapolate_samples:
    input:
        data=EX["data_dir"],
        # the tokenizer that counts tokens for the cap, when this workflow makes it (the embedded model)
        tokenizer=[t for t in [EX["filter"].get("tokenizer", "")] if t.startswith(("resources/models", f"{RESULTS}/"))],
    output:
        samples=f"{EX_DIR}/{{dataset}}/samples.jsonl",
        report=f"{EX_DIR}/{{dataset}}/filter_report.json",
    log:
        f"{RESULTS}/logs/extrapolate_samples/{{dataset}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/extrapolate_samples/{{dataset}}.tsv"
    wildcard_constraints:
        dataset=EX_DATASET_RE,
    params:
        results_dir=RESULTS,
        step="samples",
    localrule: True
    script:
        "../scripts/extrapolate.py"


rule allocate:
    input:
        samples=f"{EX_DIR}/{{dataset}}/samples.jsonl",
        model=ex_model_input(role_model(config, "allocator")),
    output:
        f"{EX_DIR}/{{dataset}}/{{law}}/allocation.jsonl",
    log:
        f"{RESULTS}/logs/allocate/{{dataset}}/{{law}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/allocate/{{dataset}}/{{law}}.tsv"
    wildcard_constraints:
        dataset=EX_DATASET_RE,
        law="|".join(LAWS),
    params:
        results_dir=RESULTS,
        step="allocate",
    resources:
        **compute("allocate"),
    script:
        "../scripts/extrapolate.py"


rule extrapolate_cases:
    input:
        samples=f"{EX_DIR}/{{dataset}}/samples.jsonl",
        allocation=f"{EX_DIR}/{{dataset}}/{{law}}/allocation.jsonl",
        model=ex_model_input(role_model(config, "case_writer")),
    output:
        cases=f"{EX_DIR}/{{dataset}}/{{law}}/cases.jsonl",
        report=f"{EX_DIR}/{{dataset}}/{{law}}/case_report.json",
    log:
        f"{RESULTS}/logs/extrapolate_cases/{{dataset}}/{{law}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/extrapolate_cases/{{dataset}}/{{law}}.tsv"
    wildcard_constraints:
        dataset=EX_DATASET_RE,
        law="|".join(LAWS),
    params:
        results_dir=RESULTS,
        step="cases",
    resources:
        **compute("extrapolate_cases"),
    script:
        "../scripts/extrapolate.py"


rule extrapolate_classify:
    input:
        cases=expand(f"{EX_DIR}/{{dataset}}/{{law}}/cases.jsonl", dataset=EX_DATASETS, law=LAWS),
        model=lambda w: ex_model_input(w.model),
    output:
        expand(f"{EX_DIR}/{{dataset}}/{{law}}/predictions/{{{{model}}}}.jsonl", dataset=EX_DATASETS, law=LAWS),
    log:
        f"{RESULTS}/logs/extrapolate_classify/{{model}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/extrapolate_classify/{{model}}.tsv"
    wildcard_constraints:
        model="|".join(re.escape(m) for m in EX_CLASSIFIERS),
    params:
        results_dir=RESULTS,
        step="classify",
    resources:
        **compute("extrapolate_classify"),
    script:
        "../scripts/extrapolate.py"


rule extrapolate_tables:
    input:
        reports=expand(f"{EX_DIR}/{{dataset}}/filter_report.json", dataset=EX_DATASETS),
        allocations=expand(f"{EX_DIR}/{{dataset}}/{{law}}/allocation.jsonl", dataset=EX_DATASETS, law=LAWS),
        cases=expand(f"{EX_DIR}/{{dataset}}/{{law}}/case_report.json", dataset=EX_DATASETS, law=LAWS),
        predictions=expand(f"{EX_DIR}/{{dataset}}/{{law}}/predictions/{{model}}.jsonl", dataset=EX_DATASETS,
                           law=LAWS, model=EX_CLASSIFIERS),
        notebook="notebooks/08_extrapolate.ipynb",
    output:
        tables=EX_TABLES,
        figures=EX_FIGURES,
        kit=directory(f"{EX_DIR}/human_eval"),
        notebook=f"{NOTEBOOK_OUT}/08_extrapolate.ipynb",
    log:
        f"{RESULTS}/logs/extrapolate_tables.log",
    benchmark:
        f"{RESULTS}/benchmarks/extrapolate_tables.tsv"
    params:
        # The notebook's own defaults are nbval's tiny sizes; here it only reads what the jobs made.
        command=lambda w, output: notebook("08_extrapolate", output.notebook, f"{RESULTS}/logs/extrapolate_tables.log",
                                           generate=False, figures_dir="paper_figures",
                                           samples_per_dataset=EX["samples_per_dataset"],
                                           max_tokens=EX["max_tokens"],
                                           case_field_max_chars=EX["case_field_max_chars"]),
    localrule: True
    shell:
        "{params.command}"


TARGETS += EX_TABLES + EX_FIGURES
