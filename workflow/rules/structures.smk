# Atomic models: the graphene generator figure and Wulff particles on request.

FIGURES += ["fig6_9"]


rule fig6_9:
    output:
        png=report("results/figures/fig6_9.png", caption="../report/fig6_9.rst", category="Structures"),
        data="results/figures/fig6_9.csv",
    params:
        p=lambda wc: params_json("structures", "fig6_9"),
        seed=config["seed"],
    conda:
        ENV
    log:
        "results/logs/fig6_9.log",
    shell:
        "hrtem figure fig6_9 -o {output.png} --seed {params.seed} --params {params.p:q} > {log} 2>&1"


rule wulff_particle:
    output:
        "results/structures/wulff_{element}_{diameter}nm.xyz",
    wildcard_constraints:
        element="Au|Pt|Cu",
        diameter=r"[0-9]+(\.[0-9]+)?",
    params:
        p=lambda wc: params_json("structures", "wulff"),
    conda:
        ENV
    log:
        "results/logs/wulff_{element}_{diameter}nm.log",
    shell:
        "hrtem structure wulff --element {wildcards.element} --diameter-nm {wildcards.diameter} "
        "--params {params.p:q} -o {output} > {log} 2>&1"
