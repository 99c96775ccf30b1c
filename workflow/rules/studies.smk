# Studies of the abstracts beside the thesis (hrtem.learn.ceria, hrtem.learn.shapes):
# ceria_heights (abstract 001: CeO2 atoms per column, weighted vs unweighted loss) and
# shape_confusion (abstract 002: five particle shapes on amorphous carbon).
# The exit waves and the two ceria trainings are single-threaded (threads: 1), so on
# 2 cores the two studies' waves, and the two losses, run side by side.
# The shapes training bank is rendered by its own single-threaded rule (beside the ceria
# trainings), so the two-threaded training starts as soon as both cores are free; the
# ceria trainings go first when a core frees (priority 1), so the ceria chain, which the
# two-threaded training waits for, ends early.
# Each rule writes a Snakemake benchmark (wall s, cpu_time s) to benchmarks/, for the time share.

FIGURES += ["ceria_heights", "shape_confusion"]


rule ceria_exit_waves:
    output:
        train=directory(res("learn/ceria/train.zarr")),
        test=directory(res("learn/ceria/test.zarr")),
    params:
        p=lambda wc: params_json("ceria"),
        simulate=lambda wc: params_json("simulate"),
        folder=lambda wc: f"{RES}learn/ceria",
        seed=config["seed"],
    threads: 1
    conda:
        ENV
    log:
        res("logs/ceria_exit_waves.log"),
    benchmark:
        res("benchmarks/ceria_exit_waves.tsv")
    shell:
        "hrtem ceria waves -o {params.folder} --params {params.p:q} --simulate {params.simulate:q} "
        "--seed {params.seed} > {log} 2>&1"


rule ceria_train:
    wildcard_constraints:
        loss="unweighted|weighted",
    input:
        res("learn/ceria/train.zarr"),
    output:
        model=res("learn/ceria/{loss}.keras"),
        meta=res("learn/ceria/{loss}.json"),
    params:
        p=lambda wc: params_json("ceria"),
        seed=config["seed"],
    threads: 1
    priority: 1
    conda:
        ENV
    log:
        res("logs/ceria_train_{loss}.log"),
    benchmark:
        res("benchmarks/ceria_train_{loss}.tsv")
    shell:
        "hrtem ceria train --waves {input} --loss {wildcards.loss} -o {output.model} "
        "--params {params.p:q} --seed {params.seed} --threads {threads} > {log} 2>&1"


rule ceria_heights:
    input:
        res("learn/ceria/test.zarr"),
        res("learn/ceria/unweighted.keras"),
        res("learn/ceria/weighted.keras"),
    output:
        png=report(res("figures/ceria_heights.png"), caption="../report/ceria_heights.rst", category="CNN"),
        data=res("figures/ceria_heights.csv"),
    params:
        p=lambda wc: params_json("ceria"),
        seed=config["seed"],
    conda:
        ENV
    log:
        res("logs/ceria_heights.log"),
    benchmark:
        res("benchmarks/ceria_heights.tsv")
    shell:
        "hrtem figure ceria_heights -o {output.png} --seed {params.seed} --params {params.p:q} {input} > {log} 2>&1"


rule shapes_exit_waves:
    output:
        train=directory(res("learn/shapes/train.zarr")),
        test=directory(res("learn/shapes/test.zarr")),
        table=res("learn/shapes/test.csv"),
    params:
        p=lambda wc: params_json("shapes"),
        simulate=lambda wc: params_json("simulate"),
        folder=lambda wc: f"{RES}learn/shapes",
        seed=config["seed"],
    threads: 1
    conda:
        ENV
    log:
        res("logs/shapes_exit_waves.log"),
    benchmark:
        res("benchmarks/shapes_exit_waves.tsv")
    shell:
        "hrtem shapes waves -o {params.folder} --params {params.p:q} --simulate {params.simulate:q} "
        "--seed {params.seed} > {log} 2>&1"


rule shapes_bank:
    input:
        res("learn/shapes/train.zarr"),
    output:
        directory(res("learn/shapes/bank.zarr")),
    params:
        p=lambda wc: params_json("shapes"),
        seed=config["seed"],
    threads: 1
    conda:
        ENV
    log:
        res("logs/shapes_bank.log"),
    benchmark:
        res("benchmarks/shapes_bank.tsv")
    shell:
        "hrtem shapes bank --waves {input} -o {output} --params {params.p:q} --seed {params.seed} > {log} 2>&1"


rule shapes_train:
    input:
        waves=res("learn/shapes/train.zarr"),
        bank=res("learn/shapes/bank.zarr"),
    output:
        model=res("learn/shapes/classifier.keras"),
        meta=res("learn/shapes/classifier.json"),
    params:
        p=lambda wc: params_json("shapes"),
        seed=config["seed"],
    threads: config["threads"]
    conda:
        ENV
    log:
        res("logs/shapes_train.log"),
    benchmark:
        res("benchmarks/shapes_train.tsv")
    shell:
        "hrtem shapes train --waves {input.waves} --bank {input.bank} -o {output.model} --params {params.p:q} "
        "--seed {params.seed} --threads {threads} > {log} 2>&1"


rule shape_confusion:
    input:
        test=res("learn/shapes/test.zarr"),
        model=res("learn/shapes/classifier.keras"),
        table=res("learn/shapes/test.csv"),
    output:
        png=report(res("figures/shape_confusion.png"), caption="../report/shape_confusion.rst", category="CNN"),
        data=res("figures/shape_confusion.csv"),
    params:
        p=lambda wc: params_json("shapes"),
        seed=config["seed"],
    conda:
        ENV
    log:
        res("logs/shape_confusion.log"),
    benchmark:
        res("benchmarks/shape_confusion.tsv")
    shell:
        "hrtem figure shape_confusion -o {output.png} --seed {params.seed} --params {params.p:q} "
        "{input.test} {input.model} > {log} 2>&1"
