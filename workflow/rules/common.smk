# Helpers shared by every stage's rules.
import json
import shlex

import yaml

# Each stage appends the files `rule all` must make.
TARGETS = []

LAWS = config["laws"]
RESULTS = "results"
NOTEBOOK_OUT = f"{RESULTS}/notebooks"

LAW_SOURCES = {
    "eu_ai_act": "resources/law/eu_ai_act_2024_1689_oj.html",
    "gdpr": "resources/law/gdpr_2016_679_gdprtext.json",
}
EMBEDDED_MODEL = "resources/models/smollm2-135m-instruct"


def notebook(name, out, log, **params):
    """The shell command that runs notebooks/{name}.ipynb with papermill into `out`.

    Every notebook gets the resolved config (`overrides`) so that `--configfile config/paper.yaml`
    reaches it, and writes under results/ instead of its standalone default.
    """
    params = {"overrides": config, "results_dir": RESULTS, **params}
    return (
        f"papermill notebooks/{name}.ipynb {shlex.quote(str(out))} "
        f"-y {shlex.quote(yaml.safe_dump(params, sort_keys=True))} "
        f"--no-progress-bar > {shlex.quote(str(log))} 2>&1"
    )
