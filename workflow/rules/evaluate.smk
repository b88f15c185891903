# Stage 7: every configured model on every law's test split (one job each), then the paper's
# accuracy tables beside the published numbers (notebook 07). Also the students on PrivaCI-Bench.
import re

from safety_compliance.evaluate.run import full_registry, privaci_models, student_bases
from safety_compliance.evaluate.paper_tables import table_specs

EVAL_MODELS = config["evaluate"]["models"]
EVAL_REGISTRY = full_registry(config, RESULTS)
# Models behind an API need no GPU: their jobs go to `evaluate_api` with the default resources.
API_MODELS = [m for m in EVAL_MODELS if EVAL_REGISTRY[m].backend == "openai"]
LOCAL_MODELS = [m for m in EVAL_MODELS if m not in API_MODELS]


def model_pattern(names):
    return "|".join(re.escape(n) for n in names) or "^$"

PRIVACI_MODELS = privaci_models(config)
EVAL_TABLES = [f"table{spec.number}" for spec in table_specs(LAWS, student_bases(config) or [None])]
TABLE_FILES = [f"{RESULTS}/tables/{stem}.{ext}"
               for stem in EVAL_TABLES + [f"{t}_vs_paper" for t in EVAL_TABLES] + ["eval_summary", "eval_gains"]
               for ext in ("csv", "tex", "md")] + [f"{RESULTS}/tables/{t}_cells.csv" for t in EVAL_TABLES]
PRIVACI_FILES = ([f"{RESULTS}/tables/table_privaci.{ext}" for ext in ("csv", "tex", "md")]
                 + [f"{RESULTS}/tables/table_privaci_cells.csv"] if PRIVACI_MODELS else [])


def evaluated_model_inputs(wildcards):
    """The model folder a job needs when this workflow makes it (the embedded model, a trained
    student); hub and API models need nothing local."""
    entry = EVAL_REGISTRY[wildcards.model]
    path = entry.model
    if entry.backend == "representation":
        base = entry.options.get("base")
        path = EVAL_REGISTRY[base].model if base in EVAL_REGISTRY else base
    return [path] if str(path).startswith((f"{RESULTS}/", "resources/")) else []


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
        results_dir=RESULTS,
        privaci=False,
    resources:
        **compute("evaluate"),
    script:
        "../scripts/evaluate.py"


use rule evaluate as evaluate_api with:
    log:
        f"{RESULTS}/logs/evaluate/{{law}}/{{model}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/evaluate/{{law}}/{{model}}.tsv"
    wildcard_constraints:
        law="|".join(LAWS),
        model=model_pattern(API_MODELS),
    resources:
        **compute("evaluate_api"),


rule evaluate_privaci:
    input:
        cases="resources/reference/privaci_bench/cases",
        model=evaluated_model_inputs,
    output:
        f"{RESULTS}/eval/privaci/{{law}}/{{model}}.jsonl",
    log:
        f"{RESULTS}/logs/evaluate_privaci/{{law}}/{{model}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/evaluate_privaci/{{law}}/{{model}}.tsv"
    wildcard_constraints:
        law="|".join(LAWS),
        model=model_pattern(PRIVACI_MODELS),
    params:
        results_dir=RESULTS,
        privaci=True,
    resources:
        **compute("evaluate"),
    script:
        "../scripts/evaluate.py"


rule eval_tables:
    input:
        predictions=expand(f"{RESULTS}/eval/{{law}}/{{model}}.jsonl", law=LAWS, model=EVAL_MODELS),
        privaci=expand(f"{RESULTS}/eval/privaci/{{law}}/{{model}}.jsonl", law=LAWS, model=PRIVACI_MODELS),
        notebook="notebooks/07_evaluate.ipynb",
    output:
        tables=TABLE_FILES + PRIVACI_FILES,
        notebook=f"{NOTEBOOK_OUT}/07_evaluate.ipynb",
    log:
        f"{RESULTS}/logs/eval_tables.log",
    benchmark:
        f"{RESULTS}/benchmarks/eval_tables.tsv"
    params:
        # The notebook's own defaults are nbval's tiny sizes; here the config's, so the tables read
        # exactly the cases the `evaluate` jobs predicted.
        command=lambda w, output: notebook(
            "07_evaluate", output.notebook, f"{RESULTS}/logs/eval_tables.log", compute_missing=False,
            max_cases=config["evaluate"]["max_cases"], max_tokens=config["evaluate"]["max_tokens"],
            privaci_sample=config["evaluate"]["privaci"]["sample"]),
    shell:
        "{params.command}"


TARGETS += TABLE_FILES + PRIVACI_FILES
