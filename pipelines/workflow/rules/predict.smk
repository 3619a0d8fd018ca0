# predict: a registered genotype dataset and its accessions' phenotypes ->
# k-fold cross-validation of each method on each trait -> the chosen (or best)
# method fitted on all data -> GEBVs of every genotyped accession -> a model run.
# Each rule runs one `breedhub predict ...` or `breedhub pipeline ...` command;
# inputs and options come from rules/common.smk.


wildcard_constraints:
    trait="|".join(re.escape(t) for t in config["traits"]),
    method="|".join(config["methods"]),


localrules:
    export_phenotypes,
    register_model,


rule export_phenotypes:
    output:
        "results/phenotypes/phenotypes.csv",
    params:
        home=HOME,
        dataset=config["genotype_dataset"],
        traits=quoted_options("--trait", config["traits"]),
        trials=quoted_options("--trial", config.get("trials") or []),
    log:
        "logs/phenotypes/export_phenotypes.log",
    benchmark:
        "benchmarks/phenotypes/export_phenotypes.tsv"
    threads: 1
    resources:
        mem_mb=mem_mb("export_phenotypes", 1000),
    shell:
        "{BREEDHUB} --home {params.home:q} pipeline export-phenotypes"
        " --dataset {params.dataset:q} {params.traits} {params.trials} -o {output:q} > {log:q} 2>&1"


rule cross_validate_models:
    input:
        genotypes=R["genotypes"],
        phenotypes="results/phenotypes/phenotypes.csv",
    output:
        "results/cv/{trait}/{method}.json",
    params:
        options=get_method_options,
        folds=config["folds"],
        repeats=config["repeats"],
        seed=config["seed"],
    log:
        "logs/cv/{trait}/{method}.log",
    benchmark:
        "benchmarks/cv/{trait}/{method}.tsv"
    threads: config["threads"]
    resources:
        mem_mb=mem_mb("cross_validate_models", 4000),
    shell:
        "{BREEDHUB} predict cv --genotypes {input.genotypes:q}"
        " --phenotypes {input.phenotypes:q} --trait {wildcards.trait:q} --method {wildcards.method}"
        " --folds {params.folds} --repeats {params.repeats} --seed {params.seed} --impute mean"
        " --allow-unmatched {params.options} --json > {output:q} 2> {log:q}"


rule fit_model:
    input:
        genotypes=R["genotypes"],
        phenotypes="results/phenotypes/phenotypes.csv",
        cv=get_cv_results,
    output:
        summary="results/fit/{trait}/fit.json",
        model="results/fit/{trait}/model.npz",
        gebv="results/fit/{trait}/gebv.csv",
    params:
        cv=lambda wildcards, input: quoted_options("--cv", input.cv),
        select=config["select"],
        method_params=json.dumps(config.get("params", {})),
    log:
        "logs/fit/{trait}.log",
    benchmark:
        "benchmarks/fit/{trait}.tsv"
    threads: config["threads"]
    resources:
        mem_mb=mem_mb("fit_model", 4000),
    shell:
        "{BREEDHUB} pipeline fit-model --genotypes {input.genotypes:q}"
        " --phenotypes {input.phenotypes:q} --trait {wildcards.trait:q} {params.cv}"
        " --select {params.select} --params {params.method_params:q} --model {output.model:q}"
        " --gebv {output.gebv:q} -o {output.summary:q} > {log:q} 2>&1"


rule register_model:
    input:
        expand("results/fit/{trait}/fit.json", trait=config["traits"]),
    output:
        "results/register/model_run.json",
    params:
        home=HOME,
        name=config["name"],
        dataset=config["genotype_dataset"],
        fits=lambda wildcards, input: quoted_options("--fit", input),
        run=register_options(),
    log:
        "logs/register/register_model.log",
    benchmark:
        "benchmarks/register/register_model.tsv"
    threads: 1
    resources:
        mem_mb=mem_mb("register_model", 1000),
    shell:
        "{BREEDHUB} --home {params.home:q} pipeline register-model --name {params.name:q}"
        " --dataset {params.dataset:q} {params.fits} {params.run} -o {output:q} > {log:q} 2>&1"
