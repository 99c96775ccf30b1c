# Learning (thesis ch. 6, issue 10): exit waves of the training sheets and of
# held-out test sheets, training, evaluation, and figures fig6_10, fig6_11,
# fig6_17 ... fig6_20. Every rule calls one `hrtem learn` sub-command or
# `hrtem figure`; the config sections go in as JSON.

FIGURES += ["fig6_10", "fig6_11", "fig6_17", "fig6_18", "fig6_19", "fig6_20"]

LEARN_SETS = "train|ideal|polycrystal|holes"


rule learn_exit_waves:
    wildcard_constraints:
        kind=LEARN_SETS,
    output:
        directory(res("learn/exit_waves_{kind}.zarr")),
    params:
        p=lambda wc: sections_json("learn", "simulate"),
        seed=config["seed"],
    threads: 1
    conda:
        ENV
    log:
        res("logs/learn_exit_waves_{kind}.log"),
    shell:
        "hrtem learn exit-waves {wildcards.kind} -o {output} --seed {params.seed} --params {params.p:q} > {log} 2>&1"


rule learn_train:
    input:
        res("learn/exit_waves_train.zarr"),
    output:
        model=res("learn/model.keras"),
        history=res("learn/history.csv"),
    params:
        p=lambda wc: sections_json("learn", "simulate"),
        seed=config["seed"],
        workdir=res("learn/checkpoints"),
    threads: 2
    conda:
        ENV
    log:
        res("logs/learn_train.log"),
    shell:
        "hrtem learn train {input} -o {output.model} --history {output.history} --workdir {params.workdir} "
        "--seed {params.seed} --params {params.p:q} > {log} 2>&1"


rule learn_evaluate:
    input:
        model=res("learn/model.keras"),
        ideal=res("learn/exit_waves_ideal.zarr"),
        polycrystal=res("learn/exit_waves_polycrystal.zarr"),
        holes=res("learn/exit_waves_holes.zarr"),
    output:
        res("learn/evaluation.csv"),
    params:
        p=lambda wc: sections_json("learn", "simulate"),
        seed=config["seed"],
    threads: 2
    conda:
        ENV
    log:
        res("logs/learn_evaluate.log"),
    shell:
        "hrtem learn evaluate {input.model} --set ideal={input.ideal} --set polycrystal={input.polycrystal} "
        "--set holes={input.holes} -o {output} --seed {params.seed} --params {params.p:q} > {log} 2>&1"


rule fig6_10:
    input:
        res("learn/history.csv"),
    output:
        png=report(res("figures/fig6_10.png"), caption="../report/fig6_10.rst", category="Learning"),
        data=res("figures/fig6_10.csv"),
    params:
        p=lambda wc: params_json("learn", "train"),
        seed=config["seed"],
    conda:
        ENV
    log:
        res("logs/fig6_10.log"),
    shell:
        "hrtem figure fig6_10 -o {output.png} --seed {params.seed} --params {params.p:q} {input} > {log} 2>&1"


rule fig6_11:
    input:
        res("learn/model.keras"),
        res("learn/exit_waves_train.zarr"),
    output:
        png=report(res("figures/fig6_11.png"), caption="../report/fig6_11.rst", category="Learning"),
        data=directory(res("figures/fig6_11.zarr")),
    params:
        p=lambda wc: params_json("learn"),
        seed=config["seed"],
    threads: 2
    conda:
        ENV
    log:
        res("logs/fig6_11.log"),
    shell:
        "hrtem figure fig6_11 -o {output.png} --seed {params.seed} --params {params.p:q} {input} > {log} 2>&1"


rule fig6_17:
    input:
        res("learn/evaluation.csv"),
    output:
        png=report(res("figures/fig6_17.png"), caption="../report/fig6_17.rst", category="Learning"),
        data=res("figures/fig6_17.csv"),
    params:
        p=lambda wc: params_json("learn", "evaluation"),
        seed=config["seed"],
    conda:
        ENV
    log:
        res("logs/fig6_17.log"),
    shell:
        "hrtem figure fig6_17 -o {output.png} --seed {params.seed} --params {params.p:q} {input} > {log} 2>&1"


rule fig6_18:
    input:
        res("learn/evaluation.csv"),
    output:
        png=report(res("figures/fig6_18.png"), caption="../report/fig6_18.rst", category="Learning"),
        data=res("figures/fig6_18.csv"),
    params:
        p=lambda wc: params_json("learn", "evaluation"),
        seed=config["seed"],
    conda:
        ENV
    log:
        res("logs/fig6_18.log"),
    shell:
        "hrtem figure fig6_18 -o {output.png} --seed {params.seed} --params {params.p:q} {input} > {log} 2>&1"


rule fig6_19:
    input:
        res("learn/evaluation.csv"),
    output:
        png=report(res("figures/fig6_19.png"), caption="../report/fig6_19.rst", category="Learning"),
        data=res("figures/fig6_19.csv"),
    params:
        p=lambda wc: json.dumps({**config["learn"]["evaluation"], "threshold": config["learn"]["postprocess"]["threshold"]}),
        seed=config["seed"],
    conda:
        ENV
    log:
        res("logs/fig6_19.log"),
    shell:
        "hrtem figure fig6_19 -o {output.png} --seed {params.seed} --params {params.p:q} {input} > {log} 2>&1"


rule fig6_20:
    input:
        res("learn/model.keras"),
        res("learn/exit_waves_ideal.zarr"),
    output:
        png=report(res("figures/fig6_20.png"), caption="../report/fig6_20.rst", category="Learning"),
        data=directory(res("figures/fig6_20.zarr")),
    params:
        p=lambda wc: params_json("learn"),
        seed=config["seed"],
    threads: 2
    conda:
        ENV
    log:
        res("logs/fig6_20.log"),
    shell:
        "hrtem figure fig6_20 -o {output.png} --seed {params.seed} --params {params.p:q} {input} > {log} 2>&1"
