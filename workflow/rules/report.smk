# The reports: every table and figure in the HTML report (`snakemake --report results/report.html`),
# and results/reproduction.md, the paper's numbers beside this run's. Runs after every other stage.
#
# Tables and figures reach the HTML report through this file alone: every results/tables/*.csv and
# paper_figures/*.png that a stage lists in TARGETS gets a report page here, captioned by
# workflow/report/{stem}.rst. A stage adds a table or figure to the report by adding its caption.
import re
from pathlib import Path

REPORT_DIR = f"{RESULTS}/report"
REPRODUCTION = f"{RESULTS}/reproduction.md"
REPRODUCTION_HTML = f"{REPORT_DIR}/reproduction.html"
PROVENANCE = f"{RESULTS}/provenance.json"
CAPTIONS = Path(workflow.basedir) / "workflow" / "report"


report: "../report/workflow.rst"


def report_pages():
    """A report page for every table and figure the other stages make (read when the DAG is built)."""
    pages = []
    for target in TARGETS:
        table = re.fullmatch(rf"{RESULTS}/tables/(\w+)\.csv", target)
        figure = re.fullmatch(r"paper_figures/(\w+)\.png", target)
        if table:
            pages.append(f"{REPORT_DIR}/tables/{table.group(1)}.html")
        elif figure:
            pages.append(f"{REPORT_DIR}/figures/{figure.group(1)}.png")
    return pages


def caption(stem):
    """workflow/report/{stem}.rst; tests/test_report_captions.py names any table or figure without one."""
    path = CAPTIONS / f"{stem}.rst"
    if not path.is_file():
        return f"{stem} (no caption yet: workflow/report/{stem}.rst)"
    return path.read_text(encoding="utf-8")


rule report_table:
    input:
        f"{RESULTS}/tables/{{stem}}.csv",
    output:
        report(f"{REPORT_DIR}/tables/{{stem}}.html", caption="../report/caption.rst", category="Tables",
               labels={"table": "{stem}"}),
    log:
        f"{RESULTS}/logs/report_table/{{stem}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/report_table/{{stem}}.tsv"
    params:
        caption=lambda w: caption(w.stem),
    wildcard_constraints:
        stem=r"\w+",
    localrule: True
    shell:
        "safety-compliance report table-page {input} {output} > {log} 2>&1"


rule report_figure:
    input:
        "paper_figures/{stem}.png",
    output:
        report(f"{REPORT_DIR}/figures/{{stem}}.png", caption="../report/caption.rst", category="Figures",
               labels={"figure": "{stem}"}),
    log:
        f"{RESULTS}/logs/report_figure/{{stem}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/report_figure/{{stem}}.tsv"
    params:
        caption=lambda w: caption(w.stem),
    wildcard_constraints:
        stem=r"\w+",
    localrule: True
    shell:
        # A copy, because the report embeds the outputs of its own rules; figures stay the stages' own.
        "cp {input} {output} 2> {log}"


rule reproduction:
    input:
        # Everything else the workflow makes, so that this runs last and sees the whole run.
        lambda w: [t for t in TARGETS if t not in (REPRODUCTION, REPRODUCTION_HTML, PROVENANCE)] + report_pages(),
    output:
        md=REPRODUCTION,
        html=report(REPRODUCTION_HTML, caption="../report/reproduction.rst", category="Reproduction"),
        # what made this run: commit, package versions, machine, the config and registry entries used
        provenance=PROVENANCE,
    log:
        f"{RESULTS}/logs/reproduction.log",
    benchmark:
        f"{RESULTS}/benchmarks/reproduction.tsv"
    params:
        config=config_slice("reproduction"),
    localrule: True
    shell:
        "safety-compliance report reproduction --config {params.config:q} --results {RESULTS} "
        "--out {output.md} --html {output.html} --provenance {output.provenance} > {log} 2>&1"


TARGETS += [REPRODUCTION, REPRODUCTION_HTML, PROVENANCE]
