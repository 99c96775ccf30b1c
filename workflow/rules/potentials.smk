# Chapter 5 potentials: COMB3 parameters of the pure metals (Pt, Au) fitted
# the thesis's way (§5.2-5.3) -> one COMB3 file per metal
# (results/<run>/potentials/<metal>.comb3, usable as md.potential.file) and
# the tables tab5_1 (Au) and tab5_2 (Pt). One job per walker; a killed walker
# resumes from its checkpoint (kept beside, not declared as an output).
# Code: hrtem.md.fitting, hrtem.md.comb3_fit, hrtem.md.fit_commands.
from hrtem.io.provenance import config_hash

_POT_TABLES = {"Au": "tab5_1", "Pt": "tab5_2"}
FIGURES += [_POT_TABLES[m] for m in config["potentials"]["metals"]]


wildcard_constraints:
    metal="Pt|Au",
    walker=r"[0-9]+",


rule potentials_walk:
    output:
        walk=res("potentials/{metal}/walker{walker}.json"),
        history=res("potentials/{metal}/walker{walker}.csv"),
    params:
        p=lambda wc: params_json("potentials"),
        seed=config["seed"],
        ckpt=lambda wc: f"{RES}potentials/{wc.metal}/checkpoints/walker{wc.walker}.json",
    resources:
        runtime=config["potentials"]["resources"]["runtime_min"],
        mem_mb=config["potentials"]["resources"]["mem_mb"],
    conda:
        ENV
    log:
        res("logs/potentials_walk/{metal}_walker{walker}.log"),
    shell:
        "OMP_NUM_THREADS=1 hrtem potentials walk --element {wildcards.metal} --walker {wildcards.walker} "
        "-o {output.walk} --checkpoint {params.ckpt} --params {params.p:q} --seed {params.seed} > {log} 2>&1"


rule potentials_best:
    input:
        lambda wc: [
            f"{RES}potentials/{wc.metal}/walker{k}.json" for k in range(config["potentials"]["walkers"])
        ],
    output:
        comb3=res("potentials/{metal}.comb3"),
        props=res("potentials/{metal}.json"),
    params:
        p=lambda wc: params_json("potentials"),
        h=config_hash(config["potentials"]),
    conda:
        ENV
    log:
        res("logs/potentials_best/{metal}.log"),
    shell:
        "OMP_NUM_THREADS=1 hrtem potentials best {input} --element {wildcards.metal} -o {output.comb3} "
        "--params {params.p:q} --config-hash {params.h} > {log} 2>&1"


rule tab5_1:
    input:
        res("potentials/Au.json"),
    output:
        png=report(res("figures/tab5_1.png"), caption="../report/tab5_1.rst", category="Potentials"),
        data=res("figures/tab5_1.csv"),
    conda:
        ENV
    log:
        res("logs/tab5_1.log"),
    shell:
        "OMP_NUM_THREADS=1 hrtem potentials table tab5_1 {input} -o {output.png} > {log} 2>&1"


rule tab5_2:
    input:
        res("potentials/Pt.json"),
    output:
        png=report(res("figures/tab5_2.png"), caption="../report/tab5_2.rst", category="Potentials"),
        data=res("figures/tab5_2.csv"),
    conda:
        ENV
    log:
        res("logs/tab5_2.log"),
    shell:
        "OMP_NUM_THREADS=1 hrtem potentials table tab5_2 {input} -o {output.png} > {log} 2>&1"
