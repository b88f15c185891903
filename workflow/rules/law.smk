# Stage 1: each law as a tree of clauses and its seed pool (notebook 01, one job per law), then seeds per
# chapter of every law as a table and a figure for the reports.
from safety_compliance.resources import has_privaci, kb_folder


def law_source(wildcards):
    """What the pool is read from: the official text, or the PrivaCI-Bench knowledge base."""
    if config["law"]["seed_source"] == "privaci_kb":
        return kb_folder(wildcards.law)
    return LAW_SOURCES[wildcards.law]


rule law_tree:
    input:
        source=law_source,
        # the notebook sets its pool beside the knowledge base's, where PrivaCI-Bench covers the law
        kb=lambda w: [kb_folder(w.law)] if has_privaci(w.law) else [],
        notebook="notebooks/01_law_tree.ipynb",
    output:
        tree=f"{RESULTS}/law/{{law}}/tree.json",
        seeds=f"{RESULTS}/law/{{law}}/seeds.jsonl",
        stats=f"{RESULTS}/law/{{law}}/stats.json",
        notebook=f"{NOTEBOOK_OUT}/01_law_tree_{{law}}.ipynb",
    log:
        f"{RESULTS}/logs/law_tree/{{law}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/law_tree/{{law}}.tsv"
    wildcard_constraints:
        law="|".join(LAW_SOURCES),
    params:
        config=config_slice("law_tree"),
    # Not a localrule: it runs a notebook kernel for a while, which on a cluster belongs on a compute node.
    priority: CRITICAL_PATH
    threads: compute_threads("law_tree")
    resources:
        **compute("law_tree"),
    shell:
        papermill("01_law_tree", "-y 'laws: [{wildcards.law}]'")


TARGETS += expand(f"{RESULTS}/law/{{law}}/{{name}}", law=LAWS, name=["tree.json", "seeds.jsonl", "stats.json"])


rule law_summary:
    input:
        expand(f"{RESULTS}/law/{{law}}/stats.json", law=LAWS),
    output:
        multiext(f"{RESULTS}/tables/table_seeds", ".csv", ".tex", ".md"),
        multiext("paper_figures/figure_seeds", ".png", ".pdf"),
    log:
        f"{RESULTS}/logs/law_summary.log",
    benchmark:
        f"{RESULTS}/benchmarks/law_summary.tsv"
    params:
        config=config_slice("law_summary"),
    localrule: True
    shell:
        "safety-compliance law summary --config {params.config:q} --results {RESULTS} "
        "--figures paper_figures > {log} 2>&1"


TARGETS += [f"{RESULTS}/tables/table_seeds.csv", "paper_figures/figure_seeds.png"]
