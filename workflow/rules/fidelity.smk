# Fidelity table: every figure's declared claims (hrtem.figures.<id>.CLAIMS)
# checked on its own data -> results/<run>/fidelity.csv, the report's first page.
# Input and figure list are lambdas: FIGURES is complete only after every rule
# file is included.


rule fidelity:
    input:
        lambda wc: figure_targets(),
    output:
        csv=res("fidelity.csv"),
        html=report(res("fidelity.html"), caption="../report/fidelity.rst", category="0 Fidelity"),
        rst=res("fidelity.rst"),
    params:
        figures=lambda wc: " ".join(selected_figures()),
        folder=res("figures"),
    conda:
        ENV
    log:
        res("logs/fidelity.log"),
    shell:
        "hrtem fidelity {params.figures} --dir {params.folder} -o {output.csv} "
        "--html {output.html} --rst {output.rst} > {log} 2>&1"
