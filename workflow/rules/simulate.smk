# Image simulation chain of fig2_2: model -> potential -> exit wave -> lens image -> detector.
# Each stage is its own rule with its own store, so a change downstream
# (e.g. the dose) re-runs only what depends on it.

FIGURES += ["fig2_2"]


rule fig2_2_model:
    output:
        res("fig2_2/model.xyz"),
    params:
        p=lambda wc: params_json("simulate", "fig2_2"),
    conda:
        ENV
    log:
        res("logs/fig2_2_model.log"),
    shell:
        "hrtem structure fcc-cluster --params {params.p:q} -o {output} > {log} 2>&1"


rule fig2_2_potential:
    input:
        res("fig2_2/model.xyz"),
    output:
        directory(res("fig2_2/potential.zarr")),
    params:
        simulate=lambda wc: params_json("simulate"),
    conda:
        ENV
    log:
        res("logs/fig2_2_potential.log"),
    shell:
        "hrtem simulate potential {input} --simulate {params.simulate:q} -o {output} > {log} 2>&1"


rule fig2_2_exit_wave:
    input:
        res("fig2_2/model.xyz"),
    output:
        directory(res("fig2_2/exit_wave.zarr")),
    params:
        simulate=lambda wc: params_json("simulate"),
        microscope=lambda wc: params_json("microscope"),
        seed=config["seed"],
    threads: config["threads"]
    resources:
        mem_mb=4000,
        runtime=30,
    conda:
        ENV
    log:
        res("logs/fig2_2_exit_wave.log"),
    shell:
        "hrtem simulate exit-wave {input} --simulate {params.simulate:q} "
        "--microscope {params.microscope:q} --seed {params.seed} --key fig2_2 "
        "--threads {threads} -o {output} > {log} 2>&1"


rule fig2_2_image:
    input:
        res("fig2_2/exit_wave.zarr"),
    output:
        directory(res("fig2_2/image.zarr")),
    params:
        microscope=lambda wc: params_json("microscope"),
    conda:
        ENV
    log:
        res("logs/fig2_2_image.log"),
    shell:
        "hrtem simulate image {input} --microscope {params.microscope:q} -o {output} > {log} 2>&1"


rule fig2_2_detect:
    input:
        res("fig2_2/image.zarr"),
    output:
        directory(res("fig2_2/noisy.zarr")),
    params:
        detector=lambda wc: params_json("detector"),
        seed=config["seed"],
    conda:
        ENV
    log:
        res("logs/fig2_2_detect.log"),
    shell:
        "hrtem simulate detect {input} --detector {params.detector:q} "
        "--seed {params.seed} --key fig2_2 -o {output} > {log} 2>&1"


rule fig2_2:
    input:
        model=res("fig2_2/model.xyz"),
        potential=res("fig2_2/potential.zarr"),
        exit_wave=res("fig2_2/exit_wave.zarr"),
        image=res("fig2_2/image.zarr"),
        noisy=res("fig2_2/noisy.zarr"),
    output:
        png=report(
            res("figures/fig2_2.png"), caption="../report/fig2_2.rst", category="Image formation"
        ),
        data=directory(res("figures/fig2_2.zarr")),
    params:
        p=lambda wc: sections_json("microscope", "detector"),
        seed=config["seed"],
    conda:
        ENV
    log:
        res("logs/fig2_2.log"),
    shell:
        "hrtem figure fig2_2 -o {output.png} --seed {params.seed} --params {params.p:q} "
        "{input.model} {input.potential} {input.exit_wave} {input.image} {input.noisy} > {log} 2>&1"
