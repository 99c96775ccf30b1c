"""Checks of a CLI verb's arguments, inputs, output paths and structure before it computes.

:func:`hrtem.cli.main` builds its parsers from :class:`OneLineParser` (usage
errors are one ``error:`` line; every ``type=float`` option rejects NaN and
±inf) and calls :func:`check_args` before the verb runs: option values within
physical bounds, input files present, output paths writable and different
from the inputs. Verbs that simulate a structure add :func:`add_structure_flags`
and call :func:`check_structure` (overlapping atoms, atoms outside the cell,
no vacuum around a non-periodic particle).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from hrtem.errors import HrtemError

__all__ = ["OneLineParser", "finite_float", "check_args", "check_output", "add_structure_flags", "check_structure"]


def finite_float(text: str) -> float:
    """argparse type: a finite float (NaN and ±inf are refused)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


class OneLineParser(argparse.ArgumentParser):
    """ArgumentParser whose errors are one line and whose floats are finite."""

    def error(self, message: str) -> NoReturn:
        print(f"error: {self.prog}: {message} (see {self.prog} --help)", file=sys.stderr)
        raise SystemExit(2)

    def add_argument(self, *args: Any, **kwargs: Any) -> argparse.Action:
        if kwargs.get("type") is float:
            kwargs["type"] = finite_float
        return super().add_argument(*args, **kwargs)


#: option (argparse dest) -> (low, high, low inclusive, unit) for every verb that has it
BOUNDS: dict[str, tuple[float, float, bool, str]] = {
    "dose": (0.0, 1e9, False, "e⁻/Å²"),
    "samples": (1, 1_000_000, True, ""),
    "samples_per_block": (1, 10_000, True, ""),
    "threads": (1, 1024, True, ""),
    "seed": (0, 2**32 - 1, True, ""),
    "sampling_a": (0.0, 1e4, False, "Å"),
    "sampling": (0.0, 1e4, False, "Å"),
    "tilt": (-90.0, 90.0, True, "°"),
    "tilt_axis_deg": (-360.0, 360.0, True, "°"),
    "defocus": (-1e5, 1e5, True, "Å"),
    "diameter_nm": (0.0, 50.0, False, "nm"),
    "count": (1, 100_000, True, ""),
    "tolerance_a": (0.0, 1e4, False, "Å"),
    "rotation": (-360.0, 360.0, True, "°"),
    "ranks": (1, 1024, True, ""),
    "reference_a": (0.0, 100.0, False, "Å"),
    "nn_distance": (0.0, 1e4, False, "Å"),
    "r_max": (0.0, 1e3, False, ""),
    "min_level": (1, 100, True, ""),
    "filter_size": (1, 999, True, "px"),
    "filter_sigma": (0.0, 1000.0, False, "px"),
    "window": (1, 999, True, "px"),
    "threshold": (0.0, 1.0, True, ""),
    "mask_radius": (0.0, 10.0, False, ""),
    "size": (0.0, 50.0, False, "nm"),
    "walker": (0, 1_000_000, True, ""),
    "tile": (16, 16384, True, "px"),
    "overlap": (0, 4096, True, "px"),
}

#: argparse dests holding input paths (str or list of str); trained models
#: (``model``) are checked by their verbs, which say how to make one
INPUTS = (
    "structure", "input", "images", "exit_wave", "image", "settings", "inputs", "dir",
    "waves", "truth", "walkers", "properties", "ensemble", "trajectory", "sweep",
)
#: argparse dests holding output paths
OUTPUTS = ("output", "outdir", "maps", "html", "rst", "history", "frames", "workdir")


def _option(dest: str) -> str:
    return "--" + dest.replace("_", "-")


def _check_bounds(dest: str, value: Any) -> None:
    lo, hi, inclusive, unit = BOUNDS[dest]
    values = value if isinstance(value, (list, tuple)) else [value]
    for v in values:
        if v is None or isinstance(v, bool) or not isinstance(v, (int, float)):
            continue
        ok = (v >= lo if inclusive else v > lo) and v <= hi
        if not ok or not math.isfinite(v):
            fmt = "{:d}" if isinstance(lo, int) and isinstance(hi, int) else "{:g}"
            low = ("≥ " if inclusive else "> ") + fmt.format(lo)
            raise HrtemError(
                f"{_option(dest)} {v:g} is out of range; give a value {low} and ≤ {fmt.format(hi)}{(' ' + unit) if unit else ''}"
            )


def check_output(path: str | os.PathLike, inputs: Sequence[str | os.PathLike] = (), option: str = "-o") -> None:
    """Raise :class:`HrtemError` unless ``path`` can be written (nothing is created)."""
    target = Path(path)
    resolved = target.resolve()
    for given in inputs:
        if given and Path(given).resolve() == resolved:
            raise HrtemError(f"{option} {target} is also an input; write the output to another path")
    if target.is_file() and target.suffix == ".zarr":
        raise HrtemError(f"{option} {target} is a file, not a Zarr store folder; remove it or choose another path")
    parent = resolved.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise HrtemError(f"{option} {target}: {parent} is not a folder; choose another output path")
    # try it: permission bits do not tell for root, read-only mounts or /proc
    import tempfile

    try:
        fd, probe = tempfile.mkstemp(prefix=".hrtem-write-probe-", dir=parent)
    except OSError as err:
        raise HrtemError(
            f"{option} {target}: cannot write in folder {parent} ({err.strerror or err}); choose another output path"
        ) from None
    os.close(fd)
    os.unlink(probe)


def check_args(args: argparse.Namespace) -> None:
    """Generic checks of a parsed verb before it runs (see the module docstring)."""
    given = vars(args)
    for dest in BOUNDS:
        if dest in given:
            _check_bounds(dest, given[dest])
    inputs: list[str] = []
    for dest in INPUTS:
        value = given.get(dest)
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, (str, os.PathLike)) and str(item):
                if not Path(item).exists():
                    raise HrtemError(f"input {item} does not exist; check the path")
                inputs.append(str(item))
    for dest in OUTPUTS:
        value = given.get(dest)
        if isinstance(value, (str, os.PathLike)) and str(value):
            check_output(value, inputs, "-o" if dest == "output" else _option(dest))


def add_structure_flags(parser: argparse.ArgumentParser) -> None:
    """``--allow-overlap``, ``--allow-outside``, ``--allow-no-vacuum`` (see :func:`check_structure`)."""
    parser.add_argument("--allow-overlap", action="store_true", help="accept atoms closer than 0.5 Å (warn only)")
    parser.add_argument("--allow-outside", action="store_true", help="accept atoms outside the cell (warn only)")
    parser.add_argument(
        "--allow-no-vacuum", action="store_true",
        help="accept less than 1 Å of vacuum around a non-periodic structure (warn only)",
    )


#: atoms closer than this (Å) overlap (the shortest bond, H2, is 0.74 Å)
OVERLAP_A = 0.5
#: smallest vacuum (Å) between the atoms and a non-periodic cell face
MIN_VACUUM_A = 1.0


def check_structure(atoms: Any, source: str, args: argparse.Namespace | None = None) -> None:
    """Refuse (or, with the ``--allow-…`` flag, warn about) a structure that cannot be simulated as given.

    Checks: at least one atom, finite positions, no two atoms closer than
    :data:`OVERLAP_A`, every atom inside the cell, and at least
    :data:`MIN_VACUUM_A` of vacuum on both sides along every non-periodic axis.
    """
    import numpy as np

    frame = atoms if not isinstance(atoms, (list, tuple)) else atoms[0]
    allow = {k: bool(getattr(args, f"allow_{k}", False)) for k in ("overlap", "outside", "no_vacuum")}

    def problem(kind: str, message: str) -> None:
        flag = "--allow-" + kind.replace("_", "-")
        if allow[kind]:
            print(f"warning: {source}: {message} (accepted with {flag})", file=sys.stderr)
        else:
            raise HrtemError(f"{source}: {message}; fix the structure or pass {flag}")

    pos = np.asarray(frame.get_positions(), float)
    if len(pos) == 0:
        raise HrtemError(f"{source} has no atoms")
    if not np.all(np.isfinite(pos)):
        raise HrtemError(f"{source}: atom positions are not finite (NaN or inf)")
    if len(pos) > 1:
        from scipy.spatial import cKDTree

        pairs = cKDTree(pos).query_pairs(OVERLAP_A, output_type="ndarray")
        if len(pairs):
            i, j = (int(v) for v in pairs[0])
            d = float(np.linalg.norm(pos[i] - pos[j]))
            problem("overlap", f"{len(pairs)} pair(s) of overlapping atoms, e.g. atoms {i} and {j} are {d:.3g} Å apart (< {OVERLAP_A} Å)")
    cell = np.asarray(frame.cell.lengths(), float)
    if np.all(cell > 0) and frame.cell.orthorhombic:
        lo, hi = pos.min(axis=0), pos.max(axis=0)
        outside = [ax for ax in range(3) if lo[ax] < -1e-6 or hi[ax] > cell[ax] + 1e-6]
        if outside:
            ax = outside[0]
            problem(
                "outside",
                f"atoms lie outside the cell along {'xyz'[ax]} ({lo[ax]:.3g} … {hi[ax]:.3g} Å, cell 0 … {cell[ax]:.4g} Å); "
                "centre them (ase atoms.center) or enlarge the cell",
            )
        else:
            tight = [ax for ax in range(3) if not frame.pbc[ax] and min(lo[ax], cell[ax] - hi[ax]) < MIN_VACUUM_A]
            if tight:
                ax = tight[0]
                gap = min(lo[ax], cell[ax] - hi[ax])
                problem(
                    "no_vacuum",
                    f"only {gap:.3g} Å of vacuum along the non-periodic {'xyz'[ax]} axis (< {MIN_VACUUM_A} Å); "
                    "add vacuum (ase atoms.center(vacuum=...)) or mark the axis periodic",
                )
