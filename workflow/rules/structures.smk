# Atomic models (hrtem.structures): Wulff particles, grown particles, graphene,
# projected columns, and figure fig6_9. Every rule calls one `hrtem structure`
# sub-command with its config section as JSON.

FIGURES += ["fig6_9"]


rule structures_all:
    input:
        wulff_targets(),
        res("structures/grown.xyz"),
        res("structures/graphene.xyz"),
        res("structures/polycrystalline_graphene.xyz"),


rule structure_wulff:
    wildcard_constraints:
        element="Au|Pt|Cu",
        diameter=r"\d+(\.\d+)?",
    output:
        res("structures/wulff_{element}_{diameter}nm.xyz"),
    params:
        p=lambda wc: params_json("structures", "wulff"),
    conda:
        ENV
    log:
        res("logs/structure_wulff_{element}_{diameter}nm.log"),
    shell:
        "hrtem structure wulff --element {wildcards.element} --diameter-nm {wildcards.diameter} "
        "--params {params.p:q} -o {output} > {log} 2>&1"


rule structure_wulff_columns:
    wildcard_constraints:
        element="Au|Pt|Cu",
        diameter=r"\d+(\.\d+)?",
    input:
        res("structures/wulff_{element}_{diameter}nm.xyz"),
    output:
        res("structures/wulff_{element}_{diameter}nm_columns.csv"),
    params:
        tol=lambda wc: config["structures"]["columns"]["tolerance_a"],
    conda:
        ENV
    log:
        res("logs/structure_wulff_columns_{element}_{diameter}nm.log"),
    shell:
        "hrtem structure columns {input} --tolerance-a {params.tol} -o {output} > {log} 2>&1"


rule structure_grown:
    output:
        res("structures/grown.xyz"),
    params:
        p=lambda wc: params_json("structures", "grown"),
        seed=config["seed"],
    conda:
        ENV
    log:
        res("logs/structure_grown.log"),
    shell:
        "hrtem structure grown --params {params.p:q} --seed {params.seed} --key structure_grown "
        "-o {output} > {log} 2>&1"


rule structure_graphene:
    output:
        res("structures/graphene.xyz"),
    params:
        p=lambda wc: params_json("structures", "graphene"),
        seed=config["seed"],
    conda:
        ENV
    log:
        res("logs/structure_graphene.log"),
    shell:
        "hrtem structure graphene --params {params.p:q} --seed {params.seed} --key structure_graphene "
        "-o {output} > {log} 2>&1"


rule structure_polycrystalline_graphene:
    output:
        res("structures/polycrystalline_graphene.xyz"),
    params:
        p=lambda wc: params_json("structures", "polycrystalline_graphene"),
        seed=config["seed"],
    conda:
        ENV
    log:
        res("logs/structure_polycrystalline_graphene.log"),
    shell:
        "hrtem structure polycrystalline-graphene --params {params.p:q} --seed {params.seed} "
        "--key structure_polycrystalline_graphene -o {output} > {log} 2>&1"


rule fig6_9:
    output:
        png=report(res("figures/fig6_9.png"), caption="../report/fig6_9.rst", category="Structures"),
        data=res("figures/fig6_9.csv"),
    params:
        p=lambda wc: params_json("structures", "fig6_9"),
        seed=config["seed"],
    conda:
        ENV
    log:
        res("logs/fig6_9.log"),
    shell:
        "hrtem figure fig6_9 -o {output.png} --seed {params.seed} --params {params.p:q} > {log} 2>&1"
