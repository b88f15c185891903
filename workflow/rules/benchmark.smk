# Stages 2-4: the compliance benchmark (synthesis, validation, split), the human-evaluation kit with
# Table 1, and the distillation traces for the SFT cold start (notebooks 02, 03, 04, in the paper's order).
BENCH_FILES = ["cases.jsonl", "train.jsonl", "test.jsonl", "rejected.jsonl", "synthesis_report.json", "README.md"]
TABLE1_FILES = [f"{RESULTS}/tables/{stem}.{ext}" for stem in ("table1", "table1_vs_paper", "table1_agreement")
                for ext in ("csv", "tex", "md")]


def human_sheets(wildcards):
    """The annotators' filled sheets: adding one reruns Table 1."""
    return sorted(str(p) for p in Path(config["human_eval"]["ratings_dir"]).glob("*.csv"))


rule synthesize:
    input:
        seeds=f"{RESULTS}/law/{{law}}/seeds.jsonl",
        notebook="notebooks/02_synthesize.ipynb",
        teacher=local_model_inputs([config["teacher"]]),
    output:
        cases=f"{RESULTS}/benchmark/{{law}}/cases.jsonl",
        train=f"{RESULTS}/benchmark/{{law}}/train.jsonl",
        test=f"{RESULTS}/benchmark/{{law}}/test.jsonl",
        rejected=f"{RESULTS}/benchmark/{{law}}/rejected.jsonl",
        report=f"{RESULTS}/benchmark/{{law}}/synthesis_report.json",
        card=f"{RESULTS}/benchmark/{{law}}/README.md",
        notebook=f"{NOTEBOOK_OUT}/02_synthesize_{{law}}.ipynb",
    log:
        f"{RESULTS}/logs/synthesize/{{law}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/synthesize/{{law}}.tsv"
    wildcard_constraints:
        law="|".join(LAWS),
    params:
        config=config_slice("synthesize"),
    priority: CRITICAL_PATH
    threads: compute_threads("synthesize")
    resources:
        **compute("synthesize"),
    shell:
        papermill("02_synthesize", "-y 'laws: [{wildcards.law}]'")


rule human_eval:
    input:
        cases=expand(f"{RESULTS}/benchmark/{{law}}/cases.jsonl", law=LAWS),
        seeds=expand(f"{RESULTS}/law/{{law}}/seeds.jsonl", law=LAWS),
        notebook="notebooks/03_human_eval.ipynb",
        judge=local_model_inputs([config["human_eval"]["judge"]]),
        sheets=human_sheets,
    output:
        tables=TABLE1_FILES,
        page=f"{RESULTS}/human_eval/kit/annotate.html",
        sheet=f"{RESULTS}/human_eval/kit/sheet.csv",
        report=f"{RESULTS}/human_eval/report.json",
        notebook=f"{NOTEBOOK_OUT}/03_human_eval.ipynb",
    log:
        f"{RESULTS}/logs/human_eval.log",
    benchmark:
        f"{RESULTS}/benchmarks/human_eval.tsv"
    params:
        config=config_slice("human_eval"),
    threads: compute_threads("human_eval")
    resources:
        **compute("human_eval"),
    shell:
        papermill("03_human_eval")


rule distill:
    input:
        train=f"{RESULTS}/benchmark/{{law}}/train.jsonl",
        seeds=f"{RESULTS}/law/{{law}}/seeds.jsonl",
        notebook="notebooks/04_distill.ipynb",
        teacher=local_model_inputs([config["teacher"]]),
    output:
        sft=f"{RESULTS}/distill/{{law}}/sft.jsonl",
        rejected=f"{RESULTS}/distill/{{law}}/rejected.jsonl",
        report=f"{RESULTS}/distill/{{law}}/distill_report.json",
        notebook=f"{NOTEBOOK_OUT}/04_distill_{{law}}.ipynb",
    log:
        f"{RESULTS}/logs/distill/{{law}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/distill/{{law}}.tsv"
    wildcard_constraints:
        law="|".join(LAWS),
    params:
        config=config_slice("distill"),
    priority: CRITICAL_PATH
    threads: compute_threads("distill")
    resources:
        **compute("distill"),
    shell:
        papermill("04_distill", "-y 'laws: [{wildcards.law}]'")


TARGETS += expand(f"{RESULTS}/benchmark/{{law}}/{{name}}", law=LAWS, name=BENCH_FILES)
TARGETS += expand(f"{RESULTS}/distill/{{law}}/{{name}}", law=LAWS, name=["sft.jsonl", "distill_report.json"])
TARGETS += TABLE1_FILES + [f"{RESULTS}/human_eval/kit/annotate.html"]
