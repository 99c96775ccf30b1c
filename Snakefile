# hrtem: atomic models -> simulated HRTEM images -> strain -> CNNs.
# The science is in the `hrtem` package (src/hrtem); rules only wire it together.
# Run:  make run      (or: snakemake --profile workflow/profiles/default)
from pathlib import Path

from snakemake.utils import min_version

min_version("8.20")


configfile: str(Path(workflow.basedir) / "config" / "config.yaml")


# The report's landing page: a short description and the fidelity summary.
report: "workflow/report/workflow.rst"


# common.smk puts the environment's bin/ first on PATH for the jobs.
envvars:
    "PATH",


include: "workflow/rules/common.smk"


# One rule file per stage; each figure rule adds its id to FIGURES.
for _rules in sorted(Path(workflow.basedir, "workflow", "rules").glob("*.smk")):
    if _rules.name != "common.smk":

        include: str(_rules)


_unknown = sorted(set(config["figures"]) - set(FIGURES))
if _unknown:
    raise WorkflowError(f"config figures: unknown id(s) {_unknown}; choose from {FIGURES}")


rule all:
    default_target: True
    input:
        lambda wc: figure_targets(),
        res("fidelity.csv"),
