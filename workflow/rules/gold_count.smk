# Atom counting in Au particles from a three-image focal series (issue 11, thesis §6.4.3,
# hrtem.learn.gold_count): held-out <110> Wulff particles, the counting network (trained on
# the count store of gold.smk's gold_exit_waves), its evaluation at the test doses, and the
# figures fig6_29 (height and deviation maps) and fig6_30 (error fractions vs total dose).

FIGURES += ["fig6_29", "fig6_30"]


rule gold_count_test_waves:
    output:
        directory(res("learn/gold/count_test_waves.zarr")),
    params:
        p=lambda wc: sections_json("learn", "simulate"),
        seed=config["seed"],
    threads: 1
    conda:
        ENV
    log:
        res("logs/gold_count_test_waves.log"),
    shell:
        "hrtem gold-count test-waves -o {output} --seed {params.seed} --params {params.p:q} > {log} 2>&1"


from hrtem.learn.gold_count import member_threads as _count_member_threads

COUNT_MEMBERS = list(range(int(config["learn"]["gold"]["counting"]["networks"])))
COUNT_MEMBER_THREADS = _count_member_threads(config["learn"])


rule gold_count_train:
    # one of the counting.networks averaged networks: they train side by side, each with
    # learn.train.threads // networks threads
    input:
        res("learn/gold/exit_waves_count.zarr"),
    output:
        model=res("learn/gold/count_models/member{member}.keras"),
        history=res("learn/gold/count_models/member{member}_history.csv"),
    params:
        p=lambda wc: sections_json("learn", "simulate"),
        seed=config["seed"],
        workdir=lambda wc: res(f"learn/gold/count_checkpoints/member{wc.member}"),
        threads=COUNT_MEMBER_THREADS,
    wildcard_constraints:
        member=r"\d+",
    threads: COUNT_MEMBER_THREADS
    priority: 1  # the longest chain of issue 11: before the 1-thread figures of detection when 2 cores free
    conda:
        ENV
    log:
        res("logs/gold_count_train/member{member}.log"),
    shell:
        "hrtem gold-count train {input} -o {output.model} --history {output.history} --workdir {params.workdir} "
        "--member {wildcards.member} --threads {params.threads} --seed {params.seed} --params {params.p:q} > {log} 2>&1"


rule gold_count_evaluate:
    input:
        models=expand(res("learn/gold/count_models/member{member}.keras"), member=COUNT_MEMBERS),
        test=res("learn/gold/count_test_waves.zarr"),
    output:
        summary=res("learn/gold/count_evaluation.csv"),
        columns=res("learn/gold/count_columns.csv"),
    params:
        p=lambda wc: sections_json("learn", "simulate"),
        seed=config["seed"],
    threads: 2
    priority: 1
    conda:
        ENV
    log:
        res("logs/gold_count_evaluate.log"),
    shell:
        "hrtem gold-count evaluate {input.models} {input.test} -o {output.summary} --columns {output.columns} "
        "--seed {params.seed} --params {params.p:q} > {log} 2>&1"


rule fig6_29:
    input:
        res("learn/gold/count_columns.csv"),
    output:
        png=report(res("figures/fig6_29.png"), caption="../report/fig6_29.rst", category="Learning"),
        data=res("figures/fig6_29.csv"),
    params:
        p=lambda wc: params_json("learn", "gold", "counting"),
        seed=config["seed"],
    conda:
        ENV
    log:
        res("logs/fig6_29.log"),
    shell:
        "hrtem figure fig6_29 -o {output.png} --seed {params.seed} --params {params.p:q} {input} > {log} 2>&1"


rule fig6_30:
    input:
        res("learn/gold/count_evaluation.csv"),
    output:
        png=report(res("figures/fig6_30.png"), caption="../report/fig6_30.rst", category="Learning"),
        data=res("figures/fig6_30.csv"),
    params:
        p=lambda wc: params_json("learn", "gold", "counting"),
        seed=config["seed"],
    conda:
        ENV
    log:
        res("logs/fig6_30.log"),
    shell:
        "hrtem figure fig6_30 -o {output.png} --seed {params.seed} --params {params.p:q} {input} > {log} 2>&1"
