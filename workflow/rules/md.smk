# Chapter 5 MD: half-particle on an oxide slab, one model and one anneal
# (FIRE + Langevin schedule, LAMMPS COMB3/EAM on MPI ranks) per in-plane
# rotation in config["md"]["particle"]["rotations_deg"], the PTM 3D strain of
# the thermally averaged first rotation -> figures fig5_3, fig5_4. The 0°
# run's snapshots imaged along the particle's <110> (ch. 4 optics, md.imaging)
# -> fig5_5, fig5_6. The anatase(001) runs (md.anatase; started at the
# particle's and at the substrate's lattice constant) and the free particle
# -> fig5_7 (energies), fig5_8 (PTM strain, supported vs free), and the
# natural start imaged along <100> -> fig5_9, fig5_10.
# Every rule gets the whole md section as --params (the potential file
# resolved: md.potential.fitted -> the potentials rules' COMB3 file).
# Code: hrtem.md, hrtem.md.supported, hrtem.structures.supports,
# hrtem.figures.fig5_3 ... fig5_10.

FIGURES += ["fig5_3", "fig5_4", "fig5_5", "fig5_6", "fig5_7", "fig5_8", "fig5_9", "fig5_10"]


from hrtem.md.settings import potential_input_files as _md_resolved

# Helpers as lambdas (snakemake --lint: no functions beside rules).
# Rotations as wildcard values ("0", "15", "-7.5").
_md_rotation_tags = lambda: [f"{float(r):g}" for r in config["md"]["particle"]["rotations_deg"]]
# md.potential.fitted: the potentials rules' COMB3 file of the particle's metal.
_md_fitted_file = lambda: (
    [f"{RES}potentials/{config['md']['particle']['element']}.comb3"] if config["md"]["potential"]["fitted"] else []
)
# The potential file as an input (a new version of a shipped or fitted file reruns the MD).
_md_potential_input = lambda: _md_fitted_file() or _md_resolved(config["md"]["potential"])
_md_run_params = lambda: json.dumps(
    {**config["md"], "potential": {**config["md"]["potential"], "file": _md_fitted_file()[0]}}
    if _md_fitted_file()
    else config["md"],
    sort_keys=True,
)


# The imaged c-ZrO2 run: rotation 0 (the particle's [1-10] along x; config_checks requires it).
_md_zero_tag = lambda: next(t for t in _md_rotation_tags() if float(t) == 0.0)
_md_trajectory = lambda system: (
    f"{RES}md/rot{_md_zero_tag()}/trajectory.extxyz" if system == "zro2" else f"{RES}md/{system}/trajectory.extxyz"
)


wildcard_constraints:
    rotation=r"-?[0-9]+(\.[0-9]+)?",
    system="anatase_natural|anatase_substrate|free",
    imsys="zro2|anatase_natural",


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
        potential=lambda wc: _md_potential_input(),
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


rule md_system_model:
    output:
        res("md/{system}/model.extxyz"),
    params:
        p=lambda wc: _md_run_params(),
    conda:
        ENV
    log:
        res("logs/md_system_model/{system}.log"),
    shell:
        "hrtem md support --system {wildcards.system} -o {output} --params {params.p:q} > {log} 2>&1"


rule md_system_anneal:
    input:
        model=res("md/{system}/model.extxyz"),
        potential=lambda wc: _md_potential_input(),
    output:
        structure=res("md/{system}/structure.extxyz"),
        minimized=res("md/{system}/minimized.extxyz"),
        trajectory=res("md/{system}/trajectory.extxyz"),
        thermo=res("md/{system}/thermo.csv"),
    params:
        p=lambda wc: _md_run_params(),
        seed=config["seed"],
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
        res("logs/md_system_anneal/{system}.log"),
    shell:
        "hrtem md run {input.model} --system {wildcards.system} -o {params.outdir} --params {params.p:q} "
        "--seed {params.seed} --key md_system --key {wildcards.system} --ranks {resources.tasks} > {log} 2>&1"


rule md_system_strain3d:
    input:
        traj=res("md/{system}/trajectory.extxyz"),
        potential=lambda wc: _md_potential_input(),
    output:
        res("md/{system}/strain3d.extxyz"),
    params:
        p=lambda wc: _md_run_params(),
    resources:
        runtime=30,
        mem_mb=2000,
    conda:
        ENV
    log:
        res("logs/md_strain3d/{system}.log"),
    shell:
        "hrtem md strain3d {input.traj} -o {output} --params {params.p:q} > {log} 2>&1"


rule md_image:
    input:
        traj=lambda wc: _md_trajectory(wc.imsys),
        potential=lambda wc: _md_potential_input(),
    output:
        directory(res("md/images/{imsys}.zarr")),
    params:
        p=lambda wc: _md_run_params(),
        images=lambda wc: params_json("images"),
        seed=config["seed"],
    threads: 1
    resources:
        runtime=60,
        mem_mb=4000,
    conda:
        ENV
    log:
        res("logs/md_image/{imsys}.log"),
    shell:
        "OMP_NUM_THREADS=1 hrtem md image {input.traj} --system {wildcards.imsys} -o {output} --params {params.p:q} "
        "--optics {params.images:q} --seed {params.seed} > {log} 2>&1"


rule fig5_3:
    input:
        lambda wc: [f"{RES}md/rot{r}/thermo.csv" for r in _md_rotation_tags()],
    output:
        png=report(res("figures/fig5_3.png"), caption="../report/fig5_3.rst", category="MD"),
        data=res("figures/fig5_3.csv"),
    params:
        p=lambda wc: _md_run_params(),
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
        p=lambda wc: _md_run_params(),
        seed=config["seed"],
    conda:
        ENV
    log:
        res("logs/fig5_4.log"),
    shell:
        "hrtem figure fig5_4 -o {output.png} --seed {params.seed} --params {params.p:q} {input} > {log} 2>&1"


# fig5_5 ... fig5_10: one figure rule each (thin; hrtem figure <id>).
rule fig5_5:
    input:
        res("md/images/zro2.zarr"),
    output:
        png=report(res("figures/fig5_5.png"), caption="../report/fig5_5.rst", category="MD"),
        data=directory(res("figures/fig5_5.zarr")),
    params:
        p=lambda wc: _md_run_params(),
        seed=config["seed"],
    conda:
        ENV
    log:
        res("logs/fig5_5.log"),
    shell:
        "hrtem figure fig5_5 -o {output.png} --seed {params.seed} --params {params.p:q} {input} > {log} 2>&1"


rule fig5_6:
    input:
        res("md/images/zro2.zarr"),
    output:
        png=report(res("figures/fig5_6.png"), caption="../report/fig5_6.rst", category="MD"),
        data=res("figures/fig5_6.csv"),
    params:
        p=lambda wc: _md_run_params(),
        seed=config["seed"],
    conda:
        ENV
    log:
        res("logs/fig5_6.log"),
    shell:
        "hrtem figure fig5_6 -o {output.png} --seed {params.seed} --params {params.p:q} {input} > {log} 2>&1"


rule fig5_7:
    input:
        res("md/anatase_natural/thermo.csv"),
        res("md/anatase_substrate/thermo.csv"),
        res("md/anatase_natural/structure.extxyz"),
        res("md/anatase_substrate/structure.extxyz"),
    output:
        png=report(res("figures/fig5_7.png"), caption="../report/fig5_7.rst", category="MD"),
        data=res("figures/fig5_7.csv"),
    params:
        p=lambda wc: _md_run_params(),
        seed=config["seed"],
    conda:
        ENV
    log:
        res("logs/fig5_7.log"),
    shell:
        "hrtem figure fig5_7 -o {output.png} --seed {params.seed} --params {params.p:q} {input} > {log} 2>&1"


rule fig5_8:
    input:
        res("md/anatase_natural/strain3d.extxyz"),
        res("md/free/strain3d.extxyz"),
    output:
        png=report(res("figures/fig5_8.png"), caption="../report/fig5_8.rst", category="MD"),
        data=res("figures/fig5_8.csv"),
    params:
        p=lambda wc: _md_run_params(),
        seed=config["seed"],
    conda:
        ENV
    log:
        res("logs/fig5_8.log"),
    shell:
        "hrtem figure fig5_8 -o {output.png} --seed {params.seed} --params {params.p:q} {input} > {log} 2>&1"


rule fig5_9:
    input:
        res("md/images/anatase_natural.zarr"),
    output:
        png=report(res("figures/fig5_9.png"), caption="../report/fig5_9.rst", category="MD"),
        data=directory(res("figures/fig5_9.zarr")),
    params:
        p=lambda wc: _md_run_params(),
        seed=config["seed"],
    conda:
        ENV
    log:
        res("logs/fig5_9.log"),
    shell:
        "hrtem figure fig5_9 -o {output.png} --seed {params.seed} --params {params.p:q} {input} > {log} 2>&1"


rule fig5_10:
    input:
        res("md/images/anatase_natural.zarr"),
    output:
        png=report(res("figures/fig5_10.png"), caption="../report/fig5_10.rst", category="MD"),
        data=res("figures/fig5_10.csv"),
    params:
        p=lambda wc: _md_run_params(),
        seed=config["seed"],
    conda:
        ENV
    log:
        res("logs/fig5_10.log"),
    shell:
        "hrtem figure fig5_10 -o {output.png} --seed {params.seed} --params {params.p:q} {input} > {log} 2>&1"
