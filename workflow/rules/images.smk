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


# ---------------------------------------------------------------------------
# The ch. 4 strain-accuracy study (config images.study): per size a Wulff
# particle -> relaxation + Langevin snapshots (hrtem md run) -> true strain
# (hrtem study truth) -> exit waves per tilt axis (hrtem simulate exit-wave
# --md) -> image ensembles (hrtem simulate ensemble) -> measurement (hrtem
# study measure) -> one store (size, tilt_axis, tilt, defocus, dose, sample,
# column) -> figures fig4_2, fig4_3, fig4_6 ... fig4_9, fig4_11, fig4_12.

from hrtem.strain.study_commands import md_section as _study_md_section

FIGURES += ["fig4_2", "fig4_3", "fig4_6", "fig4_7", "fig4_8", "fig4_9", "fig4_11", "fig4_12"]

# Sizes (nm) and tilt axes (degrees) as wildcard values.
_study_sizes = lambda: [f"{float(s):g}" for s in config["images"]["study"]["sizes_nm"]]
_study_axes = lambda: [f"{float(a):g}" for a in config["images"]["study"]["tilt_axes_deg"]]
# The study's simulate section: MD snapshots as configurations, its own sampling and slices.
_study_simulate = lambda: json.dumps(
    {
        **config["simulate"],
        "sampling_a": config["images"]["study"]["simulate_sampling_a"],
        "slice_thickness_a": config["images"]["study"]["slice_thickness_a"],
        "frozen_phonons": {**config["simulate"]["frozen_phonons"], "model": "md"},
    },
    sort_keys=True,
)
# --params of a study figure: the study section, the microscope, the run's potential.
_study_figure_params = lambda figure: json.dumps(
    {"figure": figure, "study": config["images"]["study"], "microscope": config["images"]["microscope"]},
    sort_keys=True,
)


wildcard_constraints:
    size=r"[0-9]+(\.[0-9]+)?",
    axis=r"-?[0-9]+(\.[0-9]+)?",


rule study_model:
    output:
        res("study/{size}nm/model.xyz"),
    params:
        p=lambda wc: params_json("images", "study"),
        size=lambda wc: wc.size,
    conda:
        ENV
    log:
        res("logs/study_model/{size}nm.log"),
    shell:
        "hrtem study model --size {params.size} --params {params.p:q} -o {output} > {log} 2>&1"


rule study_md:
    input:
        res("study/{size}nm/model.xyz"),
    output:
        trajectory=res("study/{size}nm/md/trajectory.extxyz"),
        thermo=res("study/{size}nm/md/thermo.csv"),
    params:
        md=lambda wc: json.dumps(_study_md_section(config["images"]["study"]), sort_keys=True),
        seed=config["seed"],
        size=lambda wc: wc.size,
        outdir=lambda wc, output: os.path.dirname(output.thermo),
    resources:
        runtime=config["md"]["resources"]["runtime_min"],
        mem_mb=config["md"]["resources"]["mem_mb"],
    conda:
        ENV
    log:
        res("logs/study_md/{size}nm.log"),
    shell:
        "hrtem md run {input} -o {params.outdir} --params {params.md:q} --seed {params.seed} "
        "--key study_md --key {params.size} > {log} 2>&1"


rule study_truth:
    input:
        res("study/{size}nm/md/trajectory.extxyz"),
    output:
        truth=directory(res("study/{size}nm/truth.zarr")),
        frames=res("study/{size}nm/frames.extxyz"),
    params:
        p=lambda wc: params_json("images", "study"),
    conda:
        ENV
    log:
        res("logs/study_truth/{size}nm.log"),
    shell:
        "hrtem study truth {input} --params {params.p:q} -o {output.truth} --frames {output.frames} > {log} 2>&1"


rule study_exit_wave:
    input:
        res("study/{size}nm/frames.extxyz"),
    output:
        directory(res("study/{size}nm/exit_wave_axis{axis}.zarr")),
    params:
        simulate=lambda wc: _study_simulate(),
        microscope=lambda wc: params_json("images", "microscope"),
        tilts=lambda wc: " ".join(f"--tilt {float(t):g}" for t in config["images"]["study"]["tilts_deg"]),
        axis=lambda wc: wc.axis,
        seed=config["seed"],
    threads: config["threads"]
    resources:
        mem_mb=4000,
        runtime=60,
    conda:
        ENV
    log:
        res("logs/study_exit_wave/{size}nm_axis{axis}.log"),
    shell:
        "hrtem simulate exit-wave {input} --md --simulate {params.simulate:q} --microscope {params.microscope:q} "
        "{params.tilts} --tilt-axis-deg {params.axis} --seed {params.seed} --key study "
        "--threads {threads} -o {output} > {log} 2>&1"


rule study_images:
    input:
        res("study/{size}nm/exit_wave_axis{axis}.zarr"),
    output:
        directory(res("study/{size}nm/images_axis{axis}.zarr")),
    params:
        microscope=lambda wc: params_json("images", "microscope"),
        detector=lambda wc: params_json("images", "detector"),
        sampling=config["images"]["study"]["sampling_a"],
        defocus=lambda wc: _images_join(config["images"]["study"]["defocus_a"]),
        doses=lambda wc: _images_join(config["images"]["study"]["doses_e_per_a2"]),
        samples=config["images"]["study"]["samples"],
        block=config["images"]["study"]["samples_per_block"],
        seed=config["seed"],
        size=lambda wc: wc.size,
        axis=lambda wc: wc.axis,
    threads: config["threads"]
    resources:
        mem_mb=4000,
        runtime=60,
    conda:
        ENV
    log:
        res("logs/study_images/{size}nm_axis{axis}.log"),
    shell:
        "hrtem simulate ensemble {input} --microscope {params.microscope:q} --detector {params.detector:q} "
        "--sampling-a {params.sampling} --defocus {params.defocus} --dose {params.doses} "
        "--samples {params.samples} --samples-per-block {params.block} --threads {threads} "
        "--seed {params.seed} --key study_images --key {params.size} --key {params.axis} -o {output} > {log} 2>&1"


rule study_measure:
    input:
        images=res("study/{size}nm/images_axis{axis}.zarr"),
        truth=res("study/{size}nm/truth.zarr"),
    output:
        directory(res("study/{size}nm/measured_axis{axis}.zarr")),
    params:
        p=lambda wc: params_json("images", "study"),
        dask=lambda wc: params_json("dask"),
        axis=lambda wc: wc.axis,
    threads: config["images"]["study"]["threads"]
    resources:
        mem_mb=4000,
        runtime=60,
    conda:
        ENV
    log:
        res("logs/study_measure/{size}nm_axis{axis}.log"),
    shell:
        "hrtem study measure {input.images} --truth {input.truth} --params {params.p:q} "
        "--tilt-axis-deg {params.axis} --threads {threads} --dask {params.dask:q} -o {output} > {log} 2>&1"


rule study_collect:
    input:
        lambda wc: expand(res("study/{size}nm/measured_axis{axis}.zarr"), size=_study_sizes(), axis=_study_axes()),
    output:
        directory(res("study/study.zarr")),
    params:
        stores=lambda wc: " ".join(
            f"--store {s} {a} {RES}study/{s}nm/measured_axis{a}.zarr" for s in _study_sizes() for a in _study_axes()
        ),
    conda:
        ENV
    log:
        res("logs/study_collect.log"),
    shell:
        "hrtem study collect {params.stores} -o {output} > {log} 2>&1"


# The study's figures: fig4_2 from the truth stores, the others from the collected store
# (fig4_3, fig4_6, fig4_8 also show noise-free images of the first size and first tilt axis).
_study_first_images = lambda: f"{RES}study/{_study_sizes()[0]}nm/images_axis{_study_axes()[0]}.zarr"


rule fig4_2:
    input:
        lambda wc: expand(res("study/{size}nm/truth.zarr"), size=_study_sizes()),
    output:
        png=report(res("figures/fig4_2.png"), caption="../report/fig4_2.rst", category="Strain accuracy"),
        data=res("figures/fig4_2.csv"),
    params:
        p=lambda wc: _study_figure_params("fig4_2"),
        seed=config["seed"],
    conda:
        ENV
    log:
        res("logs/fig4_2.log"),
    shell:
        "hrtem figure fig4_2 -o {output.png} --seed {params.seed} --params {params.p:q} {input} > {log} 2>&1"


rule fig4_3:
    input:
        study=res("study/study.zarr"),
        images=lambda wc: _study_first_images(),
    output:
        png=report(res("figures/fig4_3.png"), caption="../report/fig4_3.rst", category="Strain accuracy"),
        data=res("figures/fig4_3.csv"),
    params:
        p=lambda wc: _study_figure_params("fig4_3"),
        seed=config["seed"],
    conda:
        ENV
    log:
        res("logs/fig4_3.log"),
    shell:
        "hrtem figure fig4_3 -o {output.png} --seed {params.seed} --params {params.p:q} {input} > {log} 2>&1"


rule fig4_6:
    input:
        study=res("study/study.zarr"),
        images=lambda wc: _study_first_images(),
    output:
        png=report(res("figures/fig4_6.png"), caption="../report/fig4_6.rst", category="Strain accuracy"),
        data=res("figures/fig4_6.csv"),
    params:
        p=lambda wc: _study_figure_params("fig4_6"),
        seed=config["seed"],
    conda:
        ENV
    log:
        res("logs/fig4_6.log"),
    shell:
        "hrtem figure fig4_6 -o {output.png} --seed {params.seed} --params {params.p:q} {input} > {log} 2>&1"


rule fig4_7:
    input:
        res("study/study.zarr"),
    output:
        png=report(res("figures/fig4_7.png"), caption="../report/fig4_7.rst", category="Strain accuracy"),
        data=res("figures/fig4_7.csv"),
    params:
        p=lambda wc: _study_figure_params("fig4_7"),
        seed=config["seed"],
    conda:
        ENV
    log:
        res("logs/fig4_7.log"),
    shell:
        "hrtem figure fig4_7 -o {output.png} --seed {params.seed} --params {params.p:q} {input} > {log} 2>&1"


rule fig4_8:
    input:
        study=res("study/study.zarr"),
        images=lambda wc: _study_first_images(),
    output:
        png=report(res("figures/fig4_8.png"), caption="../report/fig4_8.rst", category="Strain accuracy"),
        data=res("figures/fig4_8.csv"),
    params:
        p=lambda wc: _study_figure_params("fig4_8"),
        seed=config["seed"],
    conda:
        ENV
    log:
        res("logs/fig4_8.log"),
    shell:
        "hrtem figure fig4_8 -o {output.png} --seed {params.seed} --params {params.p:q} {input} > {log} 2>&1"


rule fig4_9:
    input:
        res("study/study.zarr"),
    output:
        png=report(res("figures/fig4_9.png"), caption="../report/fig4_9.rst", category="Strain accuracy"),
        data=res("figures/fig4_9.csv"),
    params:
        p=lambda wc: _study_figure_params("fig4_9"),
        seed=config["seed"],
    conda:
        ENV
    log:
        res("logs/fig4_9.log"),
    shell:
        "hrtem figure fig4_9 -o {output.png} --seed {params.seed} --params {params.p:q} {input} > {log} 2>&1"


rule fig4_11:
    input:
        res("study/study.zarr"),
    output:
        png=report(res("figures/fig4_11.png"), caption="../report/fig4_11.rst", category="Strain accuracy"),
        data=res("figures/fig4_11.csv"),
    params:
        p=lambda wc: _study_figure_params("fig4_11"),
        seed=config["seed"],
    conda:
        ENV
    log:
        res("logs/fig4_11.log"),
    shell:
        "hrtem figure fig4_11 -o {output.png} --seed {params.seed} --params {params.p:q} {input} > {log} 2>&1"


rule fig4_12:
    input:
        res("study/study.zarr"),
    output:
        png=report(res("figures/fig4_12.png"), caption="../report/fig4_12.rst", category="Strain accuracy"),
        data=res("figures/fig4_12.csv"),
    params:
        p=lambda wc: _study_figure_params("fig4_12"),
        seed=config["seed"],
    conda:
        ENV
    log:
        res("logs/fig4_12.log"),
    shell:
        "hrtem figure fig4_12 -o {output.png} --seed {params.seed} --params {params.p:q} {input} > {log} 2>&1"
