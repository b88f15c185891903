# Stage 7: every configured model on every law's test split (one job each), then the paper's
# accuracy tables beside the published numbers (notebook 07). Also the students on PrivaCI-Bench.
import re

from safety_compliance.evaluate.accuracy_tables import table_specs
from safety_compliance.evaluate.training_effect import missing_models, stage_models
from safety_compliance.registry import evaluated_students, student_bases
from safety_compliance.resources import has_privaci, privaci_cases_folder

EVAL_MODELS = config["evaluate"]["models"]
EVAL_RUNNABLE = runnable(EVAL_MODELS)     # the tables wait for these; the rest are named in them
# Models behind an API need no GPU: their jobs go to `evaluate_api` with the default resources.
API_MODELS = [m for m in EVAL_MODELS if REGISTRY[m].backend == "openai"]
LOCAL_MODELS = [m for m in EVAL_MODELS if m not in API_MODELS]


def model_pattern(names):
    return "|".join(re.escape(n) for n in names) or "^$"

PRIVACI_LAWS = [law for law in LAWS if has_privaci(law)]     # the laws PrivaCI-Bench has cases of
PRIVACI_MODELS = evaluated_students(config) if PRIVACI_LAWS else []
EVAL_SPECS = table_specs(LAWS, student_bases(config) or [None])
EVAL_TABLES = [spec.stem for spec in EVAL_SPECS]
VERSUS_PAPER = [f"{spec.stem}_vs_paper" for spec in EVAL_SPECS if spec.paper_key]
TABLE_FILES = [f"{RESULTS}/tables/{stem}.{ext}"
               for stem in EVAL_TABLES + VERSUS_PAPER + ["eval_summary", "eval_gains"]
               for ext in ("csv", "tex", "md")] + [f"{RESULTS}/tables/{t}_cells.csv" for t in EVAL_TABLES]
PRIVACI_FILES = ([f"{RESULTS}/tables/table_privaci.{ext}" for ext in ("csv", "tex", "md")]
                 + [f"{RESULTS}/tables/table_privaci_cells.csv"] if PRIVACI_MODELS else [])


def evaluated_model_inputs(wildcards):
    return local_model_inputs([wildcards.model])


rule evaluate:
    input:
        test=f"{RESULTS}/benchmark/{{law}}/test.jsonl",
        train=f"{RESULTS}/benchmark/{{law}}/train.jsonl",
        model=evaluated_model_inputs,
    output:
        f"{RESULTS}/eval/{{law}}/{{model}}.jsonl",
    log:
        f"{RESULTS}/logs/evaluate/{{law}}/{{model}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/evaluate/{{law}}/{{model}}.tsv"
    wildcard_constraints:
        law="|".join(LAWS),
        model=model_pattern(LOCAL_MODELS),
    params:
        config=config_slice("evaluate"),
    threads: compute_threads("evaluate")
    resources:
        **compute("evaluate"),
    shell:
        "safety-compliance evaluate --model {wildcards.model} --law {wildcards.law} --results-dir {RESULTS} "
        "--config {params.config:q} --output {output} > {log} 2>&1"


use rule evaluate as evaluate_api with:
    log:
        f"{RESULTS}/logs/evaluate/{{law}}/{{model}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/evaluate/{{law}}/{{model}}.tsv"
    wildcard_constraints:
        law="|".join(LAWS),
        model=model_pattern(API_MODELS),
    threads: compute_threads("evaluate_api")
    resources:
        **compute("evaluate_api"),


rule evaluate_privaci:
    input:
        cases=lambda w: privaci_cases_folder(config["evaluate"]["privaci"]["cases"], w.law),
        model=evaluated_model_inputs,
    output:
        f"{RESULTS}/eval/privaci/{{law}}/{{model}}.jsonl",
    log:
        f"{RESULTS}/logs/evaluate_privaci/{{law}}/{{model}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/evaluate_privaci/{{law}}/{{model}}.tsv"
    wildcard_constraints:
        law=model_pattern(PRIVACI_LAWS),
        model=model_pattern(PRIVACI_MODELS),
    params:
        config=config_slice("evaluate_privaci"),
    threads: compute_threads("evaluate")
    resources:
        **compute("evaluate"),
    shell:
        "safety-compliance evaluate --privaci --model {wildcards.model} --law {wildcards.law} "
        "--results-dir {RESULTS} --config {params.config:q} --output {output} > {log} 2>&1"


rule eval_tables:
    input:
        predictions=expand(f"{RESULTS}/eval/{{law}}/{{model}}.jsonl", law=LAWS, model=EVAL_RUNNABLE),
        privaci=expand(f"{RESULTS}/eval/privaci/{{law}}/{{model}}.jsonl", law=PRIVACI_LAWS, model=PRIVACI_MODELS),
        notebook="notebooks/07_evaluate.ipynb",
    output:
        tables=TABLE_FILES + PRIVACI_FILES,
        notebook=f"{NOTEBOOK_OUT}/07_evaluate.ipynb",
    log:
        f"{RESULTS}/logs/eval_tables.log",
    benchmark:
        f"{RESULTS}/benchmarks/eval_tables.tsv"
    params:
        config=config_slice("eval_tables"),
    shell:
        papermill("07_evaluate", "-p compute_missing False")


TARGETS += TABLE_FILES + PRIVACI_FILES


# What training did: parse rate and accuracy of base, SFT and GRPO on the evaluated test cases, per law,
# from the evaluation's predictions. Drawn whenever evaluate.models holds all three models of every student.
TRAINING_FIGURE_MODELS = [m for s in STUDENTS for m in stage_models(s).values()]


rule training_figure:
    input:
        tests=expand(f"{RESULTS}/benchmark/{{law}}/test.jsonl", law=LAWS),
        predictions=expand(f"{RESULTS}/eval/{{law}}/{{model}}.jsonl", law=LAWS, model=TRAINING_FIGURE_MODELS),
    output:
        multiext("paper_figures/figure_demo_training", ".pdf", ".png"),
    log:
        f"{RESULTS}/logs/training_figure.log",
    benchmark:
        f"{RESULTS}/benchmarks/training_figure.tsv"
    params:
        config=config_slice("training_figure"),
    localrule: True
    shell:
        "safety-compliance training-figure --results-dir {RESULTS} --out paper_figures "
        "--config {params.config:q} > {log} 2>&1"


if not missing_models(STUDENTS, config["evaluate"]["models"]):
    TARGETS += ["paper_figures/figure_demo_training.png"]
