# Chapter 5 MD: half-particle on an oxide slab, one model and one anneal
# (FIRE + Langevin schedule, LAMMPS COMB3/EAM on MPI ranks) per in-plane
# rotation in config["md"]["particle"]["rotations_deg"], the PTM 3D strain of
# the thermally averaged first rotation -> figures fig5_3, fig5_4.
# Every rule gets the whole md section as --params. Code: hrtem.md,
# hrtem.structures.supports, hrtem.figures.fig5_3/fig5_4.

FIGURES += ["fig5_3", "fig5_4"]


# Helpers as lambdas (snakemake --lint: no functions beside rules).
# Rotations as wildcard values ("0", "15", "-7.5").
_md_rotation_tags = lambda: [f"{float(r):g}" for r in config["md"]["particle"]["rotations_deg"]]
# md.potential.fitted: the potentials rules' COMB3 file of the particle's metal.
_md_fitted_file = lambda: (
    [f"{RES}potentials/{config['md']['particle']['element']}.comb3"] if config["md"]["potential"]["fitted"] else []
)
_md_run_params = lambda: json.dumps(
    {**config["md"], "potential": {**config["md"]["potential"], "file": _md_fitted_file()[0]}}
    if _md_fitted_file()
    else config["md"],
    sort_keys=True,
)


wildcard_constraints:
    rotation=r"-?[0-9]+(\.[0-9]+)?",


rule md_support:
    output:
        res("md/rot{rotation}/model.extxyz"),
    params:
        p=lambda wc: params_json("md"),
        rotation=lambda wc: wc.rotation,
    conda:
        ENV
    log:
        res("logs/md_support/rot{rotation}.log"),
    shell:
        "hrtem md support -o {output} --rotation {params.rotation} --params {params.p:q} > {log} 2>&1"


rule md_anneal:
    input:
        model=res("md/rot{rotation}/model.extxyz"),
        potential=lambda wc: _md_fitted_file(),
    output:
        structure=res("md/rot{rotation}/structure.extxyz"),
        minimized=res("md/rot{rotation}/minimized.extxyz"),
        trajectory=res("md/rot{rotation}/trajectory.extxyz"),
        thermo=res("md/rot{rotation}/thermo.csv"),
    params:
        p=lambda wc: _md_run_params(),
        seed=config["seed"],
        rotation=lambda wc: wc.rotation,
        outdir=lambda wc, output: os.path.dirname(output.thermo),
    threads: config["md"]["mpi_ranks"]
    resources:
        mpi="mpiexec",
        tasks=config["md"]["mpi_ranks"],
        nodes=1,
        cpus_per_task=1,
        runtime=config["md"]["resources"]["runtime_min"],
        mem_mb=config["md"]["resources"]["mem_mb"],
    conda:
        ENV
    log:
        res("logs/md_anneal/rot{rotation}.log"),
    shell:
        "hrtem md run {input.model} -o {params.outdir} --params {params.p:q} --seed {params.seed} "
        "--key md_anneal --key {params.rotation} --ranks {resources.tasks} > {log} 2>&1"


rule md_strain3d:
    input:
        res("md/rot{rotation}/trajectory.extxyz"),
    output:
        res("md/rot{rotation}/strain3d.extxyz"),
    params:
        p=lambda wc: params_json("md"),
    resources:
        runtime=30,
        mem_mb=2000,
    conda:
        ENV
    log:
        res("logs/md_strain3d/rot{rotation}.log"),
    shell:
        "hrtem md strain3d {input} -o {output} --params {params.p:q} > {log} 2>&1"


rule fig5_3:
    input:
        lambda wc: [f"{RES}md/rot{r}/thermo.csv" for r in _md_rotation_tags()],
    output:
        png=report(res("figures/fig5_3.png"), caption="../report/fig5_3.rst", category="MD"),
        data=res("figures/fig5_3.csv"),
    params:
        p=lambda wc: params_json("md"),
        seed=config["seed"],
    conda:
        ENV
    log:
        res("logs/fig5_3.log"),
    shell:
        "hrtem figure fig5_3 -o {output.png} --seed {params.seed} --params {params.p:q} {input} > {log} 2>&1"


rule fig5_4:
    input:
        lambda wc: f"{RES}md/rot{_md_rotation_tags()[0]}/strain3d.extxyz",
    output:
        png=report(res("figures/fig5_4.png"), caption="../report/fig5_4.rst", category="MD"),
        data=res("figures/fig5_4.csv"),
    params:
        p=lambda wc: params_json("md"),
        seed=config["seed"],
    conda:
        ENV
    log:
        res("logs/fig5_4.log"),
    shell:
        "hrtem figure fig5_4 -o {output.png} --seed {params.seed} --params {params.p:q} {input} > {log} 2>&1"
