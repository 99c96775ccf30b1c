# Chapter 5 potentials: COMB3 parameters fitted the thesis's way (§5.2-5.3).
# Stage 1 (pure metals Pt, Au) -> results/<run>/potentials/<metal>/metal.comb3
# and the tables tab5_1 (Au), tab5_2 (Pt); stage 2 (cross terms Pt-O, Pt-Zr,
# Pt-Ti, Au-O, Au-Ti) -> tab5_3 ... tab5_7; both assembled into one complete
# COMB3 file per metal (results/<run>/potentials/<metal>.comb3, usable as
# md.potential.file; md.potential.fitted uses it). potentials.start: shipped
# walks from the package's fitted sets (hrtem/data/comb3_<metal>.comb3),
# template fits anew from Cu. One job per walker; a killed walker resumes
# from its checkpoint (kept beside, not declared as an output).
# Code: hrtem.md.fitting, comb3_fit, comb3_cross, fit_commands, cross_commands.
from hrtem.io.provenance import config_hash

_POT_TABLES = {"Au": "tab5_1", "Pt": "tab5_2"}
_PAIR_TABLES = {"Au-O": "tab5_3", "Pt-O": "tab5_4", "Pt-Ti": "tab5_5", "Pt-Zr": "tab5_6", "Au-Ti": "tab5_7"}
_POT = config["potentials"]
_PAIRS = [p for p in _POT["cross"]["pairs"] if p.split("-")[0] in _POT["metals"]]
FIGURES += [_POT_TABLES[m] for m in _POT["metals"]] + [_PAIR_TABLES[p] for p in _PAIRS]


wildcard_constraints:
    metal="Pt|Au",
    other="O|Zr|Ti",
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
        runtime=_POT["resources"]["runtime_min"],
        mem_mb=_POT["resources"]["mem_mb"],
    conda:
        ENV
    log:
        res("logs/potentials_walk/{metal}_walker{walker}.log"),
    shell:
        "OMP_NUM_THREADS=1 hrtem potentials walk --element {wildcards.metal} --walker {wildcards.walker} "
        "-o {output.walk} --checkpoint {params.ckpt} --params {params.p:q} --seed {params.seed} > {log} 2>&1"


rule potentials_best:
    input:
        lambda wc: [f"{RES}potentials/{wc.metal}/walker{k}.json" for k in range(_POT["walkers"])],
    output:
        comb3=res("potentials/{metal}/metal.comb3"),
        props=res("potentials/{metal}/metal.json"),
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


rule potentials_cross_walk:
    input:
        res("potentials/{metal}/metal.comb3"),
    output:
        walk=res("potentials/{metal}/cross_{other}/walker{walker}.json"),
        history=res("potentials/{metal}/cross_{other}/walker{walker}.csv"),
    params:
        p=lambda wc: params_json("potentials"),
        seed=config["seed"],
        ckpt=lambda wc: f"{RES}potentials/{wc.metal}/checkpoints/cross_{wc.other}_walker{wc.walker}.json",
    resources:
        runtime=_POT["resources"]["runtime_min"],
        mem_mb=_POT["resources"]["mem_mb"],
    conda:
        ENV
    log:
        res("logs/potentials_cross_walk/{metal}_{other}_walker{walker}.log"),
    shell:
        "OMP_NUM_THREADS=1 hrtem potentials cross-walk --pair {wildcards.metal}-{wildcards.other} "
        "--walker {wildcards.walker} --metal-file {input} -o {output.walk} --checkpoint {params.ckpt} "
        "--params {params.p:q} --seed {params.seed} > {log} 2>&1"


rule potentials_cross_best:
    input:
        metal=res("potentials/{metal}/metal.comb3"),
        walks=lambda wc: [
            f"{RES}potentials/{wc.metal}/cross_{wc.other}/walker{k}.json" for k in range(_POT["cross"]["walkers"])
        ],
    output:
        res("potentials/{metal}/cross_{other}.json"),
    params:
        p=lambda wc: params_json("potentials"),
    conda:
        ENV
    log:
        res("logs/potentials_cross_best/{metal}_{other}.log"),
    shell:
        "OMP_NUM_THREADS=1 hrtem potentials cross-best {input.walks} --pair {wildcards.metal}-{wildcards.other} "
        "--metal-file {input.metal} -o {output} --params {params.p:q} > {log} 2>&1"


rule potentials_assemble:
    input:
        metal=res("potentials/{metal}/metal.comb3"),
        cross=lambda wc: [
            f"{RES}potentials/{wc.metal}/cross_{p.split('-')[1]}.json" for p in _PAIRS if p.split('-')[0] == wc.metal
        ],
    output:
        res("potentials/{metal}.comb3"),
    params:
        h=config_hash(config["potentials"]),
    conda:
        ENV
    log:
        res("logs/potentials_assemble/{metal}.log"),
    shell:
        "hrtem potentials assemble {input.cross} --metal {wildcards.metal} --metal-file {input.metal} "
        "-o {output} --config-hash {params.h} > {log} 2>&1"


rule tab5_1:
    input:
        res("potentials/Au/metal.json"),
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
        res("potentials/Pt/metal.json"),
    output:
        png=report(res("figures/tab5_2.png"), caption="../report/tab5_2.rst", category="Potentials"),
        data=res("figures/tab5_2.csv"),
    conda:
        ENV
    log:
        res("logs/tab5_2.log"),
    shell:
        "OMP_NUM_THREADS=1 hrtem potentials table tab5_2 {input} -o {output.png} > {log} 2>&1"


rule tab5_3:
    input:
        res("potentials/Au/cross_O.json"),
    output:
        png=report(res("figures/tab5_3.png"), caption="../report/tab5_3.rst", category="Potentials"),
        data=res("figures/tab5_3.csv"),
    conda:
        ENV
    log:
        res("logs/tab5_3.log"),
    shell:
        "hrtem potentials table tab5_3 {input} -o {output.png} > {log} 2>&1"


rule tab5_4:
    input:
        res("potentials/Pt/cross_O.json"),
    output:
        png=report(res("figures/tab5_4.png"), caption="../report/tab5_4.rst", category="Potentials"),
        data=res("figures/tab5_4.csv"),
    conda:
        ENV
    log:
        res("logs/tab5_4.log"),
    shell:
        "hrtem potentials table tab5_4 {input} -o {output.png} > {log} 2>&1"


rule tab5_5:
    input:
        res("potentials/Pt/cross_Ti.json"),
    output:
        png=report(res("figures/tab5_5.png"), caption="../report/tab5_5.rst", category="Potentials"),
        data=res("figures/tab5_5.csv"),
    conda:
        ENV
    log:
        res("logs/tab5_5.log"),
    shell:
        "hrtem potentials table tab5_5 {input} -o {output.png} > {log} 2>&1"


rule tab5_6:
    input:
        res("potentials/Pt/cross_Zr.json"),
    output:
        png=report(res("figures/tab5_6.png"), caption="../report/tab5_6.rst", category="Potentials"),
        data=res("figures/tab5_6.csv"),
    conda:
        ENV
    log:
        res("logs/tab5_6.log"),
    shell:
        "hrtem potentials table tab5_6 {input} -o {output.png} > {log} 2>&1"


rule tab5_7:
    input:
        res("potentials/Au/cross_Ti.json"),
    output:
        png=report(res("figures/tab5_7.png"), caption="../report/tab5_7.rst", category="Potentials"),
        data=res("figures/tab5_7.csv"),
    conda:
        ENV
    log:
        res("logs/tab5_7.log"),
    shell:
        "hrtem potentials table tab5_7 {input} -o {output.png} > {log} 2>&1"
