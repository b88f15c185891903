# Stages 5-6: the Compliance Reasoner. For every student (config train.students): SFT on the distilled
# traces of all laws (notebook 05), then GRPO on the train cases (notebook 06); then Figure 4.
# Demo: the notebook trains in-process on the CPU. Paper scale (train.launcher: accelerate): the job
# first runs `accelerate launch -m safety_compliance.train ...` on the GPUs it asked for, and the
# notebook then only reports. Either way a rerun after a kill resumes from the last checkpoint.
import json
import re

from safety_compliance.train.effect import missing_models, stage_models

STUDENTS = config["train"]["students"]
TRAIN_OUT = f"{RESULTS}/train"


def train_command(stage, student, log, gpus):
    """The shell command of a training job: the accelerate launch (paper scale), then the notebook."""
    in_process = config["train"]["launcher"] == "in_process"
    number = {"sft": "05", "grpo": "06"}[stage]
    run_notebook = notebook(f"{number}_{stage}", f"{NOTEBOOK_OUT}/{number}_{stage}_{student}.ipynb", log,
                            student=student, train=in_process)
    if in_process:
        return run_notebook
    launch = (
        f"accelerate launch --config_file {shlex.quote(config['train']['accelerate_config'])} "
        f"--num_processes {max(int(gpus), 1)} -m safety_compliance.train {stage} --student {shlex.quote(student)} "
        f"--results-dir {RESULTS} --overrides {shlex.quote(json.dumps(config))} > {shlex.quote(str(log))}.launch 2>&1"
    )
    return f"{launch} && {run_notebook}"


rule sft:
    input:
        traces=expand(f"{RESULTS}/distill/{{law}}/sft.jsonl", law=LAWS),
        notebook="notebooks/05_sft.ipynb",
    output:
        model=directory(f"{TRAIN_OUT}/{{student}}/sft/final"),
        state=f"{TRAIN_OUT}/{{student}}/sft/trainer_state.json",
        notebook=f"{NOTEBOOK_OUT}/05_sft_{{student}}.ipynb",
    log:
        f"{RESULTS}/logs/train/{{student}}/sft.log",
    benchmark:
        f"{RESULTS}/benchmarks/train/{{student}}/sft.tsv"
    wildcard_constraints:
        student="|".join(re.escape(s) for s in STUDENTS),
    resources:
        **compute("sft"),
    params:
        command=lambda wildcards, resources: train_command(
            "sft", wildcards.student, f"{RESULTS}/logs/train/{wildcards.student}/sft.log", resources.get("gpu", 0)),
    shell:
        "{params.command}"


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
        f"{RESULTS}/logs/train/{{student}}/grpo.log",
    benchmark:
        f"{RESULTS}/benchmarks/train/{{student}}/grpo.tsv"
    wildcard_constraints:
        student="|".join(re.escape(s) for s in STUDENTS),
    resources:
        **compute("grpo"),
    params:
        command=lambda wildcards, resources: train_command(
            "grpo", wildcards.student, f"{RESULTS}/logs/train/{wildcards.student}/grpo.log", resources.get("gpu", 0)),
    shell:
        "{params.command}"


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
        overrides=json.dumps(config),
    localrule: True
    shell:
        "safety-compliance train figure4 --results-dir {RESULTS} --out paper_figures "
        "--overrides {params.overrides:q} > {log} 2>&1"


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
        overrides=json.dumps(config),
    localrule: True
    shell:
        "safety-compliance train training-figure --results-dir {RESULTS} --out paper_figures "
        "--overrides {params.overrides:q} > {log} 2>&1"


if not missing_models(STUDENTS, config["evaluate"]["models"]):
    TARGETS += ["paper_figures/figure_demo_training.png"]
TARGETS += expand(f"{TRAIN_OUT}/{{student}}/{{stage}}/final", student=STUDENTS, stage=["sft", "grpo"])
TARGETS += rules.figure4.output
