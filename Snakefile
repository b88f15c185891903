# The safety-compliance workflow: one rule group per stage of the paper, each stage a notebook.
#   snakemake --cores 2 all                      demo scale (config/config.yaml)
#   snakemake --profile slurm all                paper scale on a SLURM cluster (slurm/profile.yaml)
from snakemake.utils import min_version, validate

min_version("9.0")

configfile: "config/config.yaml"

validate(config, "workflow/schemas/config.schema.yaml")

include: "workflow/rules/common.smk"
include: "workflow/rules/resources.smk"
include: "workflow/rules/law.smk"
include: "workflow/rules/benchmark.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/extrapolate.smk"
include: "workflow/rules/report.smk"


rule all:
    input:
        TARGETS,
    default_target: True
