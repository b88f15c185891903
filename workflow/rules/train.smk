# Stages 5-6: the Compliance Reasoner. For every student (config train.students): SFT on the distilled
# traces of all laws (notebook 05), then GRPO on the train cases (notebook 06); then Figure 4.
# A training job first trains through the CLI (`safety-compliance train sft|grpo`), in process on the
# CPU demo or through `accelerate launch` on the GPUs it asked for (train.launcher, a runtime setting),
# then runs its notebook, which only reports. A rerun after a kill resumes from the last checkpoint.
import re

STUDENTS = config["train"]["students"]
TRAIN_OUT = f"{RESULTS}/train"


def train_command(stage):
    """Train (CLI), then report (the stage's notebook, which does not train again)."""
    number = {"sft": "05", "grpo": "06"}[stage]
    return (f"safety-compliance train {stage} --student {{wildcards.student}} --results-dir {RESULTS} "
            f"--config {{params.config:q}} > {{log.train}} 2>&1 && "
            + papermill(f"{number}_{stage}", "-p student {wildcards.student} -p train False", log="log.notebook"))


rule sft:
    input:
        traces=expand(f"{RESULTS}/distill/{{law}}/sft.jsonl", law=LAWS),
        notebook="notebooks/05_sft.ipynb",
    output:
        model=directory(f"{TRAIN_OUT}/{{student}}/sft/final"),
        state=f"{TRAIN_OUT}/{{student}}/sft/trainer_state.json",
        notebook=f"{NOTEBOOK_OUT}/05_sft_{{student}}.ipynb",
    log:
        train=f"{RESULTS}/logs/train/{{student}}/sft.log",
        notebook=f"{RESULTS}/logs/train/{{student}}/sft_notebook.log",
    benchmark:
        f"{RESULTS}/benchmarks/train/{{student}}/sft.tsv"
    wildcard_constraints:
        student="|".join(re.escape(s) for s in STUDENTS),
    priority: CRITICAL_PATH
    threads: compute_threads("sft")
    resources:
        **compute("sft"),
    params:
        config=config_slice("sft"),
    shell:
        train_command("sft")


rule grpo:
    input:
        sft=f"{TRAIN_OUT}/{{student}}/sft/final",
        cases=expand(f"{RESULTS}/benchmark/{{law}}/train.jsonl", law=LAWS),
        notebook="notebooks/06_grpo.ipynb",
    output:
        model=directory(f"{TRAIN_OUT}/{{student}}/grpo/final"),
        state=f"{TRAIN_OUT}/{{student}}/grpo/trainer_state.json",
        notebook=f"{NOTEBOOK_OUT}/06_grpo_{{student}}.ipynb",
    log:
        train=f"{RESULTS}/logs/train/{{student}}/grpo.log",
        notebook=f"{RESULTS}/logs/train/{{student}}/grpo_notebook.log",
    benchmark:
        f"{RESULTS}/benchmarks/train/{{student}}/grpo.tsv"
    wildcard_constraints:
        student="|".join(re.escape(s) for s in STUDENTS),
    priority: CRITICAL_PATH
    threads: compute_threads("grpo")
    resources:
        **compute("grpo"),
    params:
        config=config_slice("grpo"),
    shell:
        train_command("grpo")


rule figure4:
    input:
        sft=expand(f"{TRAIN_OUT}/{{student}}/sft/trainer_state.json", student=STUDENTS),
        grpo=expand(f"{TRAIN_OUT}/{{student}}/grpo/trainer_state.json", student=STUDENTS),
    output:
        expand("paper_figures/{stem}.{ext}", stem=["figure4", "figure4_sft_loss"], ext=["pdf", "png"]),
    log:
        f"{RESULTS}/logs/figure4.log",
    benchmark:
        f"{RESULTS}/benchmarks/figure4.tsv"
    params:
        config=config_slice("figure4"),
    localrule: True
    shell:
        "safety-compliance train figure4 --results-dir {RESULTS} --out paper_figures "
        "--config {params.config:q} > {log} 2>&1"


TARGETS += expand(f"{TRAIN_OUT}/{{student}}/{{stage}}/final", student=STUDENTS, stage=["sft", "grpo"])
TARGETS += rules.figure4.output
