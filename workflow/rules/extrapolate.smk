# Stage 8 (RQ2): existing safety datasets mapped onto the laws. Per dataset: load, filter and sample;
# per dataset and law: chapter allocation (the GRPO reasoner) and case generation; per classifier:
# verdicts on every generated case; then notebook 08 makes Figures 2-3 and Tables 5 and 8.
import re

from safety_compliance.extrapolate.allocation_figures import figure_stem
from safety_compliance.registry import role_model
from safety_compliance.resources import dataset_path

EX = config["extrapolate"]
EX_DATASETS = EX["datasets"]
EX_CLASSIFIERS = runnable(EX["classifiers"])   # Table 5 waits for these; the rest are named in it
EX_DIR = f"{RESULTS}/extrapolate"
EX_DATASET_RE = "|".join(re.escape(d) for d in EX_DATASETS)
EX_TABLES = [f"{RESULTS}/tables/{stem}.{ext}" for stem in ("table5", "table5_vs_paper", "table8", "table8_vs_paper",
                                                           "extrapolate_missing_rates", "extrapolate_cases")
             for ext in ("csv", "tex", "md")] + [f"{RESULTS}/tables/table5_cells.csv"]
EX_FIGURES = [f"paper_figures/{figure_stem(law)}.{ext}" for law in LAWS for ext in ("pdf", "png")]


rule extrapolate_samples:
    input:
        data=lambda w: dataset_path(EX["data_dir"], w.dataset),
        # the tokenizer that counts tokens for the dataset's cap, when it has one and this workflow
        # makes it (the embedded model)
        tokenizer=lambda w: [t for t in [EX["filter"].get("tokenizer", "")]
                             if (EX["filter"].get("token_cap") or {}).get(w.dataset) is not None
                             and t.startswith(("resources/models", f"{RESULTS}/"))],
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
        config=config_slice("extrapolate_samples"),
    localrule: True
    shell:
        "safety-compliance extrapolate samples --dataset {wildcards.dataset} --results-dir {RESULTS} "
        "--config {params.config:q} > {log} 2>&1"


rule allocate:
    input:
        samples=f"{EX_DIR}/{{dataset}}/samples.jsonl",
        model=local_model_inputs([role_model(config, "allocator")]),
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
        config=config_slice("allocate"),
    threads: compute_threads("allocate")
    priority: CRITICAL_PATH
    resources:
        **compute("allocate"),
    shell:
        "safety-compliance extrapolate allocate --dataset {wildcards.dataset} --law {wildcards.law} "
        "--results-dir {RESULTS} --config {params.config:q} > {log} 2>&1"


rule extrapolate_cases:
    input:
        samples=f"{EX_DIR}/{{dataset}}/samples.jsonl",
        allocation=f"{EX_DIR}/{{dataset}}/{{law}}/allocation.jsonl",
        model=local_model_inputs([role_model(config, "case_writer")]),
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
        config=config_slice("extrapolate_cases"),
    threads: compute_threads("extrapolate_cases")
    priority: CRITICAL_PATH
    resources:
        **compute("extrapolate_cases"),
    shell:
        "safety-compliance extrapolate cases --dataset {wildcards.dataset} --law {wildcards.law} "
        "--results-dir {RESULTS} --config {params.config:q} > {log} 2>&1"


rule extrapolate_classify:
    input:
        cases=expand(f"{EX_DIR}/{{dataset}}/{{law}}/cases.jsonl", dataset=EX_DATASETS, law=LAWS),
        model=lambda w: local_model_inputs([w.model]),
    output:
        expand(f"{EX_DIR}/{{dataset}}/{{law}}/predictions/{{{{model}}}}.jsonl", dataset=EX_DATASETS, law=LAWS),
    log:
        f"{RESULTS}/logs/extrapolate_classify/{{model}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/extrapolate_classify/{{model}}.tsv"
    wildcard_constraints:
        model="|".join(re.escape(m) for m in EX_CLASSIFIERS),
    params:
        config=config_slice("extrapolate_classify"),
    threads: compute_threads("extrapolate_classify")
    priority: CRITICAL_PATH
    resources:
        **compute("extrapolate_classify"),
    shell:
        "safety-compliance extrapolate classify --model {wildcards.model} --results-dir {RESULTS} "
        "--config {params.config:q} > {log} 2>&1"


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
        config=config_slice("extrapolate_tables"),
    localrule: True
    shell:
        papermill("08_extrapolate", "-p generate False -p figures_dir paper_figures")


TARGETS += EX_TABLES + EX_FIGURES
