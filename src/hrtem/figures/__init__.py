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


def _cmd(args: argparse.Namespace) -> int:
    from hrtem.config import parse_json_object

    params = parse_json_object(args.params, "--params")
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
