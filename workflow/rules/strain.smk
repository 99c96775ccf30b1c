# Thesis ch. 3 strain figures: STM vs GPA on synthetic lattices (no upstream
# simulation needed; fig3_8 reads fig3_7's per-atom table). Each figure gets its
# own config object plus the shared STM search settings (config["strain"]["stm"])
# under the key "stm". Code: hrtem.strain, hrtem.figures.fig3_6 … fig3_9.


FIGURES += ["fig3_6", "fig3_7", "fig3_8", "fig3_9"]


rule fig3_6:
    output:
        png=report(res("figures/fig3_6.png"), caption="../report/fig3_6.rst", category="Strain"),
        data=res("figures/fig3_6.csv"),
    params:
        p=lambda wc: json.dumps({**config["strain"]["fig3_6"], "stm": config["strain"]["stm"]}, sort_keys=True),
        seed=config["seed"],
    conda:
        ENV
    log:
        res("logs/fig3_6.log"),
    shell:
        "hrtem figure fig3_6 -o {output.png} --seed {params.seed} --params {params.p:q} > {log} 2>&1"


rule fig3_7:
    output:
        png=report(res("figures/fig3_7.png"), caption="../report/fig3_7.rst", category="Strain"),
        data=res("figures/fig3_7.csv"),
        maps=directory(res("figures/fig3_7.zarr")),
    params:
        p=lambda wc: json.dumps({**config["strain"]["fig3_7"], "stm": config["strain"]["stm"]}, sort_keys=True),
        seed=config["seed"],
    conda:
        ENV
    log:
        res("logs/fig3_7.log"),
    shell:
        "hrtem figure fig3_7 -o {output.png} --seed {params.seed} --params {params.p:q} > {log} 2>&1"


rule fig3_8:
    input:
        res("figures/fig3_7.csv"),
    output:
        png=report(res("figures/fig3_8.png"), caption="../report/fig3_8.rst", category="Strain"),
        data=res("figures/fig3_8.csv"),
    params:
        p=lambda wc: params_json("strain", "fig3_8"),
        seed=config["seed"],
    conda:
        ENV
    log:
        res("logs/fig3_8.log"),
    shell:
        "hrtem figure fig3_8 -o {output.png} --seed {params.seed} --params {params.p:q} {input} > {log} 2>&1"


rule fig3_9:
    output:
        png=report(res("figures/fig3_9.png"), caption="../report/fig3_9.rst", category="Strain"),
        data=res("figures/fig3_9.csv"),
    params:
        p=lambda wc: json.dumps({**config["strain"]["fig3_9"], "stm": config["strain"]["stm"]}, sort_keys=True),
        seed=config["seed"],
    conda:
        ENV
    log:
        res("logs/fig3_9.log"),
    shell:
        "hrtem figure fig3_9 -o {output.png} --seed {params.seed} --params {params.p:q} > {log} 2>&1"
