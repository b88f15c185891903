"""Rules `evaluate` and `evaluate_privaci`: one model's verdicts on one law's cases.

Run by Snakemake's `script:` so it gets the resolved config (with --configfile applied) as is.
"""

import contextlib

from safety_compliance.evaluate.run import evaluate_model, evaluate_privaci

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive
model, law = snakemake.wildcards.model, snakemake.wildcards.law
with open(snakemake.log[0], "w", encoding="utf-8") as log, contextlib.redirect_stdout(log), \
        contextlib.redirect_stderr(log):
    if snakemake.params.privaci:
        made = evaluate_privaci(snakemake.config, model, law, snakemake.params.results_dir)
    else:
        made = evaluate_model(snakemake.config, model, law, snakemake.params.results_dir, snakemake.output[0])
    print(f"{model} on {law}: {made}")
