"""Rules `extrapolate_samples`, `allocate`, `extrapolate_cases` and `extrapolate_classify`: one job of
the extrapolation stage. Run by Snakemake's `script:` so it gets the resolved config as is."""

import contextlib
import json

from safety_compliance.extrapolate import jobs

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive
cfg, w, results = snakemake.config, snakemake.wildcards, snakemake.params.results_dir
with open(snakemake.log[0], "w", encoding="utf-8") as log, contextlib.redirect_stdout(log), \
        contextlib.redirect_stderr(log):
    step = snakemake.params.step
    if step == "samples":
        made = jobs.prepare_samples(cfg, w.dataset, results)
    elif step == "allocate":
        made = {"allocated": len(jobs.run_allocation(cfg, w.dataset, w.law, results))}
    elif step == "cases":
        made = jobs.run_cases(cfg, w.dataset, w.law, results)
    elif step == "classify":
        made = {f"{d}/{law}": len(p) for (d, law), p in jobs.run_classifier(cfg, w.model, results).items()}
    else:
        raise ValueError(f"unknown extrapolation step {step!r}")
    print(json.dumps(made, ensure_ascii=False, default=str))
