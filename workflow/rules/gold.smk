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
