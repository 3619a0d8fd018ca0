# variants: reads -> per-sample BAM -> joint calls by region -> filtered, QC'd,
# imputed -> HDF5 genotype store -> registered genotype dataset.
# Each rule runs one `breedhub genomics ...` or `breedhub pipeline ...` command;
# inputs and options come from rules/common.smk.


wildcard_constraints:
    sample="|".join(re.escape(s) for s in TO_ALIGN) or "(?!)",
    region=r"\d+",


localrules:
    link_reference,
    register_genotypes,


rule link_reference:
    input:
        config["reference"],
    output:
        "results/reference/reference.fa",
    log:
        "logs/reference/link_reference.log",
    benchmark:
        "benchmarks/reference/link_reference.tsv"
    threads: 1
    resources:
        mem_mb=mem_mb("link_reference", 100),
    shell:
        "ln -sf {input:q} {output:q} 2> {log:q}"


rule index_reference:
    input:
        "results/reference/reference.fa",
    output:
        summary="results/reference/index.json",
        fai="results/reference/reference.fa.fai",
    params:
        aligner=config["aligner"],
    log:
        "logs/reference/index_reference.log",
    benchmark:
        "benchmarks/reference/index_reference.tsv"
    threads: 1
    resources:
        mem_mb=mem_mb("index_reference", 4000),
    shell:
        "{BREEDHUB} genomics index {input:q} --aligner {params.aligner} --json"
        " > {output.summary:q} 2> {log:q}"


rule align_reads:
    input:
        reads=get_sample_reads,
        reference="results/reference/reference.fa",
        index="results/reference/index.json",
    output:
        bam="results/align/{sample}.bam",
        bai="results/align/{sample}.bam.bai",
        stats="results/align/{sample}.stats.json",
    params:
        reads=get_read_options,
        library=lambda wildcards: SAMPLES[wildcards.sample]["library"],
        platform=lambda wildcards: SAMPLES[wildcards.sample]["platform"],
        aligner=config["aligner"],
        markdup="" if config["mark_duplicates"] else "--no-markdup",
    log:
        "logs/align/{sample}.log",
    benchmark:
        "benchmarks/align/{sample}.tsv"
    threads: config["threads"]
    resources:
        mem_mb=mem_mb("align_reads", 8000),
    shell:
        "{BREEDHUB} genomics align {input.reference:q} {params.reads} --sample {wildcards.sample:q}"
        " --library {params.library:q} --platform {params.platform:q} --aligner {params.aligner}"
        " {params.markdup} --threads {threads} -o {output.bam:q} > {log:q} 2>&1"


rule call_variants:
    input:
        bams=get_all_bams(),
        bais=get_aligned_indexes(),
        reference="results/reference/reference.fa",
        fai="results/reference/reference.fa.fai",
    output:
        vcf="results/call/regions/{region}.vcf.gz",
        tbi="results/call/regions/{region}.vcf.gz.tbi",
    params:
        region=lambda wildcards: REGIONS[wildcards.region],
        ploidy=R["ploidy"],
        caller=config["caller"],
    log:
        "logs/call/{region}.log",
    benchmark:
        "benchmarks/call/{region}.tsv"
    threads: 1
    resources:
        mem_mb=mem_mb("call_variants", 2000),
    shell:
        "{BREEDHUB} genomics call {input.reference:q} {input.bams:q} --ploidy {params.ploidy}"
        " --region {params.region:q} --caller {params.caller} --threads 1 -o {output.vcf:q}"
        " > {log:q} 2>&1"


rule gather_variants:
    input:
        expand("results/call/regions/{region}.vcf.gz", region=REGIONS),
    output:
        vcf="results/call/calls.vcf.gz",
        tbi="results/call/calls.vcf.gz.tbi",
    log:
        "logs/call/gather_variants.log",
    benchmark:
        "benchmarks/call/gather_variants.tsv"
    threads: 1
    resources:
        mem_mb=mem_mb("gather_variants", 1000),
    shell:
        "{BREEDHUB} genomics gather {input:q} -o {output.vcf:q} > {log:q} 2>&1"


rule filter_variants:
    input:
        "results/call/calls.vcf.gz",
    output:
        vcf="results/filter/filtered.vcf.gz",
        tbi="results/filter/filtered.vcf.gz.tbi",
        qc_json="results/filter/filtered.qc.json",
        qc_html="results/filter/filtered.qc.html",
    params:
        ploidy=R["ploidy"],
        thresholds=FILTER_OPTIONS,
    log:
        "logs/filter/filter_variants.log",
    benchmark:
        "benchmarks/filter/filter_variants.tsv"
    threads: 1
    resources:
        mem_mb=mem_mb("filter_variants", 4000),
    shell:
        "{BREEDHUB} genomics filter {input:q} --ploidy {params.ploidy} {params.thresholds}"
        " --report-html {output.qc_html:q} -o {output.vcf:q} > {log:q} 2>&1"


rule impute_genotypes:
    input:
        "results/filter/filtered.vcf.gz",
    output:
        vcf="results/impute/imputed.vcf.gz",
        tbi="results/impute/imputed.vcf.gz.tbi",
        report="results/impute/imputed.impute.json",
    params:
        ploidy=R["ploidy"],
        method=config["impute"],
        seed=config["seed"],
    log:
        "logs/impute/impute_genotypes.log",
    benchmark:
        "benchmarks/impute/impute_genotypes.tsv"
    threads: config["threads"]
    resources:
        mem_mb=mem_mb("impute_genotypes", 8000),
    shell:
        "{BREEDHUB} genomics impute {input:q} --ploidy {params.ploidy} --method {params.method}"
        " --seed {params.seed} --threads {threads} -o {output.vcf:q} > {log:q} 2>&1"


rule store_genotypes:
    input:
        "results/impute/imputed.vcf.gz",
    output:
        "results/store/genotypes.h5",
    params:
        species=config["species"],
        ploidy=R["ploidy"],
        reference_name=R["reference_name"],
    log:
        "logs/store/store_genotypes.log",
    benchmark:
        "benchmarks/store/store_genotypes.tsv"
    threads: 1
    resources:
        mem_mb=mem_mb("store_genotypes", 4000),
    shell:
        "{BREEDHUB} genomics store {input:q} --species {params.species} --ploidy {params.ploidy}"
        " --reference-name {params.reference_name:q} -o {output:q} > {log:q} 2>&1"


rule register_genotypes:
    input:
        store="results/store/genotypes.h5",
        qc_json="results/filter/filtered.qc.json",
        qc_html="results/filter/filtered.qc.html",
        impute="results/impute/imputed.impute.json",
        stats=get_alignment_stats(),
        sheet=config["samples"],
    output:
        "results/register/dataset.json",
    params:
        home=HOME,
        name=config["name"],
        species=config["species"],
        stats=lambda wildcards, input: quoted_options("--alignment-stats", input.stats),
        run=register_options(),
    log:
        "logs/register/register_genotypes.log",
    benchmark:
        "benchmarks/register/register_genotypes.tsv"
    threads: 1
    resources:
        mem_mb=mem_mb("register_genotypes", 1000),
    shell:
        "{BREEDHUB} --home {params.home:q} pipeline register-genotypes --name {params.name:q}"
        " --species {params.species} --samples {input.sheet:q} --store {input.store:q}"
        " --qc {input.qc_json:q} --qc-html {input.qc_html:q} --impute-report {input.impute:q}"
        " {params.stats} {params.run} -o {output:q} > {log:q} 2>&1"
