# Objective lens and detector figures (thesis ch. 2): no upstream data, the
# microscope and detector config sections are the whole input.

FIGURES += ["fig2_3", "fig2_4"]


rule fig2_3:
    output:
        png=report(res("figures/fig2_3.png"), caption="../report/fig2_3.rst", category="Image formation"),
        data=res("figures/fig2_3.csv"),
    params:
        p=lambda wc: sections_json("microscope"),
        seed=config["seed"],
    conda:
        ENV
    log:
        res("logs/fig2_3.log"),
    shell:
        "hrtem figure fig2_3 -o {output.png} --seed {params.seed} --params {params.p:q} > {log} 2>&1"


rule fig2_4:
    output:
        png=report(res("figures/fig2_4.png"), caption="../report/fig2_4.rst", category="Image formation"),
        data=res("figures/fig2_4.csv"),
    params:
        p=lambda wc: sections_json("detector"),
        seed=config["seed"],
    conda:
        ENV
    log:
        res("logs/fig2_4.log"),
    shell:
        "hrtem figure fig2_4 -o {output.png} --seed {params.seed} --params {params.p:q} > {log} 2>&1"
