# Chapter 4 imaging: Au Wulff particle -> exit waves (per tilt, per frozen phonon)
# -> image ensembles over tilt x defocus x dose x noise realisation, one store per
# camera sampling (wildcard) -> figures fig4_4, fig4_5, fig4_10.
# Sweeps are lists in config["images"]; the microscope is the ch. 4 preset
# config["images"]["microscope"].

FIGURES += ["fig4_4", "fig4_5", "fig4_10"]


# Helpers as lambdas (snakemake --lint: no functions beside rules).
# Camera samplings of the ensembles as wildcard values (e.g. "0.2").
_images_sampling_tags = lambda: [f"{float(s):g}" for s in config["images"]["ensemble"]["samplings_a"]]
# A list of numbers as command-line words.
_images_join = lambda values: " ".join(f"{float(v):g}" for v in values)
# --params of a ch. 4 figure: its section, the ch. 4 microscope, the simulate section (+ threads).
_images_figure_params = lambda figure, threads=None: json.dumps(
    {
        figure: config["images"][figure],
        "microscope": config["images"]["microscope"],
        "simulate": config["simulate"],
        **({} if threads is None else {"threads": threads}),
    },
    sort_keys=True,
)


rule images_model:
    output:
        res("images/model.xyz"),
    params:
        p=lambda wc: json.dumps(
            {
                "surface_energies_j_m2": config["structures"]["wulff"]["surface_energies_j_m2"],
                "lattice_constants_a": config["structures"]["wulff"]["lattice_constants_a"],
                "zone_axis": config["images"]["particle"]["zone_axis"],
                "vacuum_a": config["images"]["particle"]["vacuum_a"],
            },
            sort_keys=True,
        ),
        element=config["images"]["particle"]["element"],
        diameter=config["images"]["particle"]["diameter_nm"],
    conda:
        ENV
    log:
        res("logs/images_model.log"),
    shell:
        "hrtem structure wulff --element {params.element} --diameter-nm {params.diameter} "
        "--params {params.p:q} -o {output} > {log} 2>&1"


rule images_exit_wave:
    input:
        res("images/model.xyz"),
    output:
        directory(res("images/exit_wave.zarr")),
    params:
        simulate=lambda wc: params_json("simulate"),
        microscope=lambda wc: params_json("images", "microscope"),
        tilts=lambda wc: " ".join(f"--tilt {float(t):g}" for t in config["images"]["ensemble"]["tilts_deg"]),
        axis=config["images"]["ensemble"]["tilt_axis_deg"],
        seed=config["seed"],
        dask=lambda wc: params_json("dask"),
    threads: config["threads"]
    resources:
        mem_mb=4000,
        runtime=30,
    conda:
        ENV
    log:
        res("logs/images_exit_wave.log"),
    shell:
        "hrtem simulate exit-wave {input} --simulate {params.simulate:q} --microscope {params.microscope:q} "
        "{params.tilts} --tilt-axis-deg {params.axis} --seed {params.seed} --key images "
        "--threads {threads} -o {output} > {log} 2>&1"


rule images_ensemble:
    input:
        res("images/exit_wave.zarr"),
    output:
        directory(res("images/ensemble_{sampling}A.zarr")),
    wildcard_constraints:
        sampling=r"[0-9]+(\.[0-9]+)?",
    params:
        microscope=lambda wc: params_json("images", "microscope"),
        detector=lambda wc: params_json("images", "detector"),
        sampling=lambda wc: wc.sampling,
        defocus=lambda wc: _images_join(config["images"]["ensemble"]["defocus_a"]),
        doses=lambda wc: _images_join(config["images"]["ensemble"]["doses_e_per_a2"]),
        samples=config["images"]["ensemble"]["samples"],
        block=config["images"]["ensemble"]["samples_per_block"],
        seed=config["seed"],
        dask=lambda wc: params_json("dask"),
    threads: config["threads"]
    resources:
        mem_mb=4000,
        runtime=30,
    conda:
        ENV
    log:
        res("logs/images_ensemble_{sampling}A.log"),
    shell:
        "hrtem simulate ensemble {input} --microscope {params.microscope:q} --detector {params.detector:q} "
        "--sampling-a {params.sampling} --defocus {params.defocus} --dose {params.doses} "
        "--samples {params.samples} --samples-per-block {params.block} --threads {threads} "
        "--seed {params.seed} --key images_ensemble --key {params.sampling} --dask {params.dask:q} -o {output} > {log} 2>&1"


rule fig4_4:
    input:
        res("images/model.xyz"),
    output:
        png=report(res("figures/fig4_4.png"), caption="../report/fig4_4.rst", category="Strain accuracy"),
        data=directory(res("figures/fig4_4.zarr")),
    params:
        p=lambda wc, threads: _images_figure_params("fig4_4", threads),
        seed=config["seed"],
        dask=lambda wc: params_json("dask"),
    threads: config["threads"]
    resources:
        mem_mb=4000,
        runtime=30,
    conda:
        ENV
    log:
        res("logs/fig4_4.log"),
    shell:
        "hrtem figure fig4_4 -o {output.png} --seed {params.seed} --params {params.p:q} {input} > {log} 2>&1"


rule fig4_5:
    output:
        png=report(res("figures/fig4_5.png"), caption="../report/fig4_5.rst", category="Strain accuracy"),
        data=directory(res("figures/fig4_5.zarr")),
    params:
        p=lambda wc: _images_figure_params("fig4_5"),
        seed=config["seed"],
    conda:
        ENV
    log:
        res("logs/fig4_5.log"),
    shell:
        "hrtem figure fig4_5 -o {output.png} --seed {params.seed} --params {params.p:q} > {log} 2>&1"


rule fig4_10:
    input:
        lambda wc: expand(res("images/ensemble_{sampling}A.zarr"), sampling=_images_sampling_tags()),
    output:
        png=report(res("figures/fig4_10.png"), caption="../report/fig4_10.rst", category="Strain accuracy"),
        data=directory(res("figures/fig4_10.zarr")),
    params:
        p=lambda wc: _images_figure_params("fig4_10"),
        seed=config["seed"],
    conda:
        ENV
    log:
        res("logs/fig4_10.log"),
    shell:
        "hrtem figure fig4_10 -o {output.png} --seed {params.seed} --params {params.p:q} {input} > {log} 2>&1"
