# Gold nanoparticles (issue 11, hrtem.learn.gold): exit waves of the random training particles
# (detect: one class per column; count: class = column height) and the simulated time series
# (frames for hrtem detect + per-column ground truth). Training, evaluation and figures follow.


rule gold_exit_waves:
    wildcard_constraints:
        task="detect|count",
    output:
        directory(res("learn/gold/exit_waves_{task}.zarr")),
    params:
        p=lambda wc: sections_json("learn", "simulate"),
        seed=config["seed"],
    threads: 1
    # the count store heads issue 11's longest chain (counting training, then its evaluation): it starts
    # first, and the short jobs (detect store, series, held-out, test waves) share the other core
    priority: lambda wc: 1 if wc.task == "count" else 0
    conda:
        ENV
    log:
        res("logs/gold_exit_waves_{task}.log"),
    shell:
        "hrtem gold waves {wildcards.task} -o {output} --seed {params.seed} --params {params.p:q} > {log} 2>&1"


rule gold_time_series:
    output:
        frames=directory(res("learn/gold/series/frames.zarr")),
        waves=directory(res("learn/gold/series/waves.zarr")),
        truth=directory(res("learn/gold/series/truth.zarr")),
        table=res("learn/gold/series/truth.csv"),
    params:
        p=lambda wc: sections_json("learn", "simulate"),
        folder=lambda wc: f"{RES}learn/gold/series",
        seed=config["seed"],
    threads: 1
    conda:
        ENV
    log:
        res("logs/gold_time_series.log"),
    shell:
        "hrtem gold series -o {params.folder} --seed {params.seed} --params {params.p:q} > {log} 2>&1"


# Column detection (thesis Figs. 6.21-6.23): train on the detect exit waves, held-out Wulff particles
# (ideal and relaxed), one evaluation table; the time series analysed by `hrtem detect` (fig6_26).
FIGURES += ["fig6_21", "fig6_22", "fig6_23", "fig6_26"]


rule gold_train:
    input:
        res("learn/gold/exit_waves_detect.zarr"),
    output:
        model=res("learn/gold/detect.keras"),
        history=res("learn/gold/detect_history.csv"),
    params:
        p=lambda wc: sections_json("learn", "simulate"),
        seed=config["seed"],
        workdir=res("learn/gold/detect_checkpoints"),
    threads: 2
    conda:
        ENV
    log:
        res("logs/gold_train.log"),
    shell:
        "hrtem gold train {input} -o {output.model} --history {output.history} --workdir {params.workdir} "
        "--seed {params.seed} --params {params.p:q} -q > {log} 2>&1"


rule gold_heldout:
    output:
        ideal=directory(res("learn/gold/heldout/ideal.zarr")),
        relaxed=directory(res("learn/gold/heldout/relaxed.zarr")),
        ideal_xyz=res("learn/gold/heldout/ideal.xyz"),
        relaxed_xyz=res("learn/gold/heldout/relaxed.xyz"),
    params:
        p=lambda wc: sections_json("learn", "simulate"),
        folder=lambda wc: f"{RES}learn/gold/heldout",
        seed=config["seed"],
    threads: 1
    conda:
        ENV
    log:
        res("logs/gold_heldout.log"),
    shell:
        "hrtem gold heldout -o {params.folder} --seed {params.seed} --params {params.p:q} > {log} 2>&1"


rule gold_evaluate:
    input:
        model=res("learn/gold/detect.keras"),
        ideal=res("learn/gold/heldout/ideal.zarr"),
        relaxed=res("learn/gold/heldout/relaxed.zarr"),
    output:
        res("learn/gold/evaluation.csv"),
    params:
        p=lambda wc: sections_json("learn", "simulate"),
        seed=config["seed"],
    threads: 2
    conda:
        ENV
    log:
        res("logs/gold_evaluate.log"),
    shell:
        "hrtem gold evaluate {input.model} --ideal {input.ideal} --relaxed {input.relaxed} -o {output} "
        "--seed {params.seed} --params {params.p:q} -q > {log} 2>&1"


rule gold_series_detect:
    input:
        model=res("learn/gold/detect.keras"),
        frames=res("learn/gold/series/frames.zarr"),
    output:
        res("learn/gold/series/detections.csv"),
    params:
        min_sep=config["learn"]["gold"]["detect"]["min_separation_a"] or 0.0,
    threads: 2
    conda:
        ENV
    log:
        res("logs/gold_series_detect.log"),
    shell:
        "hrtem detect {input.frames} --model {input.model} -o {output} --min-separation-a {params.min_sep} > {log} 2>&1"


rule fig6_21:
    input:
        res("learn/gold/detect.keras"),
        res("learn/gold/exit_waves_detect.zarr"),
    output:
        png=report(res("figures/fig6_21.png"), caption="../report/fig6_21.rst", category="Learning"),
        data=directory(res("figures/fig6_21.zarr")),
    params:
        p=lambda wc: sections_json("learn"),
        seed=config["seed"],
    threads: 1  # single-threaded (105 % of a core, measured): it runs beside another job
    conda:
        ENV
    log:
        res("logs/fig6_21.log"),
    shell:
        "hrtem figure fig6_21 -o {output.png} --seed {params.seed} --params {params.p:q} {input} > {log} 2>&1"


rule fig6_22:
    input:
        res("learn/gold/detect.keras"),
        res("learn/gold/heldout/ideal.zarr"),
    output:
        png=report(res("figures/fig6_22.png"), caption="../report/fig6_22.rst", category="Learning"),
        data=res("figures/fig6_22.csv"),
    params:
        p=lambda wc: sections_json("learn"),
        seed=config["seed"],
    threads: 1  # single-threaded (105 % of a core, measured): it runs beside another job
    conda:
        ENV
    log:
        res("logs/fig6_22.log"),
    shell:
        "hrtem figure fig6_22 -o {output.png} --seed {params.seed} --params {params.p:q} {input} > {log} 2>&1"


rule fig6_23:
    input:
        res("learn/gold/evaluation.csv"),
    output:
        png=report(res("figures/fig6_23.png"), caption="../report/fig6_23.rst", category="Learning"),
        data=res("figures/fig6_23.csv"),
    params:
        p=lambda wc: sections_json("learn"),
        seed=config["seed"],
    conda:
        ENV
    log:
        res("logs/fig6_23.log"),
    shell:
        "hrtem figure fig6_23 -o {output.png} --seed {params.seed} --params {params.p:q} {input} > {log} 2>&1"


rule fig6_26:
    input:
        res("learn/gold/series/detections.csv"),
        res("learn/gold/series/truth.zarr"),
        res("learn/gold/series/frames.zarr"),
    output:
        png=report(res("figures/fig6_26.png"), caption="../report/fig6_26.rst", category="Learning"),
        data=res("figures/fig6_26.csv"),
    params:
        p=lambda wc: sections_json("learn"),
        seed=config["seed"],
    conda:
        ENV
    log:
        res("logs/fig6_26.log"),
    shell:
        "hrtem figure fig6_26 -o {output.png} --seed {params.seed} --params {params.p:q} {input} > {log} 2>&1"
