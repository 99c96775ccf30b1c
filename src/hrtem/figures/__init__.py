"""One module per figure of the catalogue (``docs``/FIGURES.md).

Protocol: module ``hrtem.figures.<id>`` defines::

    def make(inputs: list[Path], png: Path, params: dict, seed: int) -> None

which writes ``png`` and its data beside it (``png.with_suffix('.zarr')`` or
``.csv``). ``inputs`` are the upstream files the rule names, ``params`` the
figure's section of the validated config. The ``hrtem figure`` verb dispatches
to it; a Snakemake rule named after the id calls that verb.
"""

from __future__ import annotations

import argparse
import importlib
import re
from pathlib import Path

from hrtem.errors import HrtemError

_ID = re.compile(r"^[a-z][a-z0-9_]*$")


def run(figure_id: str, inputs: list[Path], png: Path, params: dict, seed: int) -> None:
    """Make one figure by id (see module docstring)."""
    if not _ID.match(figure_id):
        raise HrtemError(f"figure id {figure_id!r} is not a valid id (e.g. fig2_3)")
    try:
        module = importlib.import_module(f"hrtem.figures.{figure_id}")
    except ModuleNotFoundError as err:
        if err.name == f"hrtem.figures.{figure_id}":
            raise HrtemError(f"no figure {figure_id!r} in hrtem.figures") from err
        raise
    if not hasattr(module, "make"):
        raise HrtemError(f"hrtem.figures.{figure_id} is not a figure (it has no make()); give a figure id, e.g. fig2_3")
    png.parent.mkdir(parents=True, exist_ok=True)
    module.make(inputs, png, params, seed)


def validate_params(figure_id: str, params: dict) -> None:
    """Check a figure's ``--params`` with the schema of its config section, before it runs.

    ``params`` is either the figure's own object (strain figures: the keys of
    ``strain.<id>`` plus ``stm``) or ``{<id>: {...}, <other sections>...}``
    (image figures). Keys the schema places elsewhere are checked there;
    the cross-field checks run for the sections that do not depend on the
    figure's inputs (strain, structures, md).
    """
    from hrtem.config import schema, validate_config

    top = schema()["properties"]
    section = next((name for name, sub in top.items() if figure_id in sub.get("properties", {})), None)
    if section is None:
        return
    siblings = top[section]["properties"]
    own = params.get(figure_id)
    if isinstance(own, dict):
        body, rest = {figure_id: own}, {k: v for k, v in params.items() if k != figure_id}
    else:
        keys = siblings[figure_id].get("properties", {})
        body = {figure_id: {k: v for k, v in params.items() if k in keys}}
        rest = {k: v for k, v in params.items() if k not in keys}
    config: dict = {}
    for key, value in rest.items():
        if key in siblings and isinstance(value, dict):
            body[key] = value
        elif key in top and isinstance(value, dict):
            config[key] = value
    config[section] = {**config.get(section, {}), **body}
    checks = tuple(s for s in ("strain", "structures", "md") if s == section)
    validate_config(config, cross_field=checks or False)


def _cmd(args: argparse.Namespace) -> int:
    from hrtem.config import parse_json_object

    params = parse_json_object(args.params, "--params")
    validate_params(args.id, params)
    run(args.id, [Path(p) for p in args.inputs], Path(args.output), params, args.seed)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``figure`` verb."""
    p = sub.add_parser("figure", help="make one figure of the catalogue (PNG + data)")
    p.add_argument("id", help="figure id, e.g. fig2_3")
    p.add_argument("inputs", nargs="*", help="upstream files (stores, structures, CSV)")
    p.add_argument("-o", "--output", required=True, help="output PNG path")
    p.add_argument("--params", default="", help="figure parameters as a JSON object")
    p.add_argument("--seed", type=int, default=0, help="config seed")
    p.set_defaults(func=_cmd)
