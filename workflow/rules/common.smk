# Shared by every rule file: validated config, the hrtem command, helpers.
import json
import sys

from hrtem.config import validate_config
from hrtem.errors import ConfigError

# Validate at workflow start, before any job: fills every default in, and stops
# with one line naming the key path if the config is wrong.
try:
    _validated = validate_config(config)
except ConfigError as _err:
    raise WorkflowError(f"invalid config: {_err}") from None
config.clear()
config.update(_validated)

# The package's CLI from the same environment Snakemake runs in (also on SLURM nodes).
HRTEM = f"{sys.executable} -m hrtem"

# Figure ids; each rule file appends its own. `rule all` builds all of them.
FIGURES = []


def figure_targets():
    """PNG and data of every figure defined so far."""
    return [f"results/figures/{fid}.png" for fid in FIGURES]


def params_json(*keys):
    """JSON text of the config section at ``config[k0][k1]...`` (for --params)."""
    node = config
    for key in keys:
        node = node[key]
    return json.dumps(node, sort_keys=True)


def sections_json(*sections):
    """JSON object {section: config[section]} for several top-level sections."""
    return json.dumps({s: config[s] for s in sections}, sort_keys=True)
