# Shared by all rule files -- validated config, the hrtem command on PATH, helpers.
import json
import os
import sys
from pathlib import Path

from hrtem.config import load_yaml_strict, validate_config
from hrtem.errors import ConfigError

# The run's name defaults to the (last) config file's name: config/thesis.yaml
# writes to results/thesis/, config/config.yaml to results/config/.
# (--configfile on the command line wins over the Snakefile's configfile:.)
_configfiles = list(workflow.overwrite_configfiles or workflow.configfiles)

# Snakemake has read the config files with YAML 1.1 (duplicate keys keep the
# last, `1:30` is 90, `yes` is true): read them again strictly, so that such a
# file stops here with the file, line and key instead of running on surprises.
try:
    for _path in _configfiles:
        load_yaml_strict(_path)
except ConfigError as _err:
    raise WorkflowError(f"invalid config: {_err}") from None
if "run" not in config and _configfiles:
    config["run"] = Path(_configfiles[-1]).stem

# Validate at workflow start, before any job: fills every default in, and stops
# with one line naming the key path if the config is wrong.
try:
    _validated = validate_config(config)
except ConfigError as _err:
    raise WorkflowError(f"invalid config: {_err}") from None
config.clear()
config.update(_validated)

# The cost estimate (grids, memory, disk, MD atom-steps) before any job: a run
# over budget stops here with the key to change (hrtem config --estimate).
from hrtem.estimate import check_estimate

try:
    check_estimate(config)
except ConfigError as _err:
    raise WorkflowError(str(_err)) from None

# Every output of this run lives under results/<run>/: rules write paths as
# res("figures/x.png"), Python code as f"{RES}figures/x.png".
RES = f"results/{config['run']}/"


def res(path):
    """``path`` inside this run's results folder (Snakemake wildcards kept)."""
    return f"{RES}{path}"


# Rules call the `hrtem` CLI of the environment Snakemake runs in: put its bin/
# first on PATH (jobs, local or SLURM, inherit the environment).
os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])

# One software environment for every rule: the pinned set of envs/requirements.txt.
ENV = "../../envs/hrtem.yaml"

# Figure ids; each rule file appends its own. `rule all` builds all of them.
FIGURES = []


def selected_figures():
    """Figure ids this run builds: config `figures`, or every figure if empty."""
    chosen = config["figures"]
    return [fid for fid in FIGURES if not chosen or fid in chosen]


def figure_targets():
    """PNG of every figure this run builds (data written beside each)."""
    return [f"{RES}figures/{fid}.png" for fid in selected_figures()]


def params_json(*keys):
    """JSON text of the config section at ``config[k0][k1]...`` (for --params)."""
    node = config
    for key in keys:
        node = node[key]
    return json.dumps(node, sort_keys=True)


def sections_json(*sections):
    """JSON object {section: config[section]} for several top-level sections."""
    return json.dumps({s: config[s] for s in sections}, sort_keys=True)


def wulff_targets():
    """Wulff particles of config structures.wulff (elements × diameters)."""
    w = config["structures"]["wulff"]
    return [f"{RES}structures/wulff_{el}_{d:g}nm.xyz" for el in w["elements"] for d in w["diameters_nm"]]
