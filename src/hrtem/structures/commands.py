"""The ``hrtem structure`` verb: build atomic models and write them as extxyz.

Sub-commands (each takes its config section as ``--params JSON``; explicit
options override it):

``fcc-cluster``              the fig2_2 gold cluster (``simulate.fig2_2`` section)
``wulff``                    a Wulff particle (``structures.wulff``)
``grown``                    random grown particles, Eq. 6.18 (``structures.grown``)
``graphene``                 random Voronoi graphene (``structures.graphene``)
``polycrystalline-graphene`` graphene with rotated grains (``structures.polycrystalline_graphene``)
``columns``                  projected atomic columns of a structure or trajectory, as CSV
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

from hrtem.config import parse_json_object

__all__ = ["register"]


def _params(text: str, *section: str) -> dict:
    """``--params`` as given; its keys known to the schema at ``section`` are validated first.

    The dict is returned unchanged (the sub-commands keep their own defaults
    for keys left out), but a NaN, an out-of-range value, a wrong type or an
    inconsistent range stops here with the key path, before any atom is made.
    """
    from hrtem.config import schema, validate_config

    params = parse_json_object(text, "--params")
    node = schema()
    for name in section:
        node = node["properties"][name]
    config: dict = {k: v for k, v in params.items() if k in node.get("properties", {})}
    for name in reversed(section):
        config = {name: config}
    validate_config(config, cross_field=("structures",) if section[0] == "structures" else False)
    return params


def _keys(args: argparse.Namespace, default: str) -> list[str | int]:
    keys = list(args.key) or [default]
    return [int(k) if str(k).isdigit() else k for k in keys]


def _fcc_cluster(args: argparse.Namespace) -> int:
    from hrtem.io import write_atoms
    from hrtem.structures.nanoparticles import fcc_cluster

    p = _params(args.params, "simulate", "fig2_2")
    atoms = fcc_cluster(
        symbol=p.get("symbol", "Au"),
        surfaces=p.get("surfaces", ((1, 0, 0), (1, 1, 0), (1, 1, 1))),
        layers=p.get("layers", (6, 9, 5)),
        lattice_constant_a=p.get("lattice_constant_a"),
        rotation_y_deg=p.get("rotation_y_deg", 45.0),
        vacuum_a=p.get("vacuum_a", 2.0),
    )
    write_atoms(atoms, args.output)
    print(f"{args.output}: {len(atoms)} atoms, cell {atoms.cell.lengths().round(3).tolist()} Å")
    return 0


def _wulff(args: argparse.Namespace) -> int:
    from hrtem.io import write_atoms
    from hrtem.structures.wulff import wulff_particle

    p = _params(args.params, "structures", "wulff")
    element = args.element
    energies = (p.get("surface_energies_j_m2") or {}).get(element)
    lattice = (p.get("lattice_constants_a") or {}).get(element)
    atoms = wulff_particle(
        element,
        args.diameter_nm,
        surface_energies=energies,
        lattice_constant_a=lattice,
        zone_axis=args.zone_axis or p.get("zone_axis", "110"),
        rotation_deg=p.get("rotation_deg", 0.0),
        tilt_deg=p.get("tilt_deg", 0.0),
        tilt_axis_deg=p.get("tilt_axis_deg", 0.0),
        cell_a=p.get("cell_a"),
        vacuum_a=p.get("vacuum_a", 5.0),
    )
    write_atoms(atoms, args.output)
    print(
        f"{args.output}: {len(atoms)} {element} atoms, equivalent diameter "
        f"{atoms.info['equivalent_diameter_nm']:.3f} nm, zone {atoms.info['zone_axis']}"
    )
    return 0


def _grown(args: argparse.Namespace) -> int:
    from hrtem.io import write_atoms
    from hrtem.structures.growth import random_particle

    p = _params(args.params, "structures", "grown")
    element = p.get("element", "Au")
    count = args.count if args.count is not None else int(p.get("count", 1))
    keys = _keys(args, "structure_grown")
    frames = [
        random_particle(
            args.seed,
            *keys,
            i,
            symbol=element,
            lattice_constant_a=(p.get("lattice_constants_a") or {}).get(element),
            layers_range=p.get("layers_range"),
            added_fraction_range=p.get("added_fraction_range", (0.0, 1.0)),
            temperature_range=p.get("temperature_range", (0.5, 5.0)),
            zone_axes=p.get("zone_axes", ("110", "111")),
            tilt_max_deg=p.get("tilt_max_deg", 3.0),
            cell_a=p.get("cell_a", 50.0),
            vacuum_a=p.get("vacuum_a", 5.0),
            margin_a=p.get("margin_a", 2.0),
        )
        for i in range(count)
    ]
    write_atoms(frames, args.output)
    sizes = [len(f) for f in frames]
    print(f"{args.output}: {count} particles, {min(sizes)}–{max(sizes)} atoms")
    return 0


_GRAPHENE_KEYS = (
    "cell_a", "bond_a", "lloyd_steps", "vertex_lloyd_steps", "min_distance_fraction",
    "holes_range", "hole_radius_range_a", "bond_tolerance_a", "cell_z_a",
)
_POLY_KEYS = (
    "cell_a", "n_grains", "bond_a", "lloyd_steps", "vertex_lloyd_steps",
    "min_distance_fraction", "fill_fraction", "cell_z_a",
)


def _graphene(args: argparse.Namespace) -> int:
    from hrtem.io import write_atoms
    from hrtem.structures.graphene import polycrystalline_graphene, random_graphene

    poly = args.kind == "polycrystalline-graphene"
    p = _params(args.params, "structures", "polycrystalline_graphene" if poly else "graphene")
    func, allowed = (polycrystalline_graphene, _POLY_KEYS) if poly else (random_graphene, _GRAPHENE_KEYS)
    kwargs = {k: p[k] for k in allowed if k in p}
    count = args.count if args.count is not None else int(p.get("count", 1))
    keys = _keys(args, "structure_polycrystalline_graphene" if poly else "structure_graphene")
    models = [func(args.seed, *keys, i, **kwargs) for i in range(count)]
    write_atoms([m.atoms for m in models], args.output)
    bonds = [m.mean_bond_a for m in models]
    print(f"{args.output}: {count} sheets, mean C–C bond {min(bonds):.4f}–{max(bonds):.4f} Å")
    return 0


def _columns(args: argparse.Namespace) -> int:
    from hrtem.io import read_atoms
    from hrtem.io.stores import atomic_path
    from hrtem.structures.columns import project_columns

    frames = read_atoms(args.structure, index=":")
    cols = project_columns(frames, tolerance_a=args.tolerance_a)
    out = Path(args.output)
    with atomic_path(out) as tmp, open(tmp, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["x_a", "y_a", "count", "atomic_number", "spread_a"])
        for (x, y), n, z, s in zip(cols.positions_xy, cols.counts, cols.numbers, cols.spread_a):
            w.writerow([f"{x:.5f}", f"{y:.5f}", int(n), int(z), f"{s:.5f}"])
    print(f"{out}: {len(cols.counts)} columns from {len(frames)} snapshot(s), {int(cols.counts.sum())} atoms")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``structure`` verb and its sub-commands."""
    parser = sub.add_parser("structure", help="build atomic models (extxyz)", description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    kinds = parser.add_subparsers(dest="kind", metavar="KIND", required=True)

    def common(q: argparse.ArgumentParser, seeded: bool = False) -> None:
        q.add_argument("-o", "--output", required=True, help="output file (extxyz)")
        q.add_argument("--params", default="", help="the config section as a JSON object")
        if seeded:
            q.add_argument("--seed", type=int, default=0, help="config seed")
            q.add_argument("--key", action="append", default=[], help="seed key (rule, wildcards); repeatable")
            q.add_argument("--count", type=int, default=None, help="number of structures (frames); default: params count or 1")

    q = kinds.add_parser("fcc-cluster", help="FCC cluster of fig2_2 (ASE FaceCenteredCubic, rotated, centred)")
    common(q)
    q.set_defaults(func=_fcc_cluster)

    q = kinds.add_parser("wulff", help="Wulff particle of a given diameter on a zone axis")
    common(q)
    q.add_argument("--element", required=True, choices=["Au", "Pt", "Cu"], help="element")
    q.add_argument("--diameter-nm", type=float, required=True, help="volume-equivalent diameter in nm")
    q.add_argument("--zone-axis", default=None, help="zone axis along the beam, e.g. 110 (overrides params)")
    q.set_defaults(func=_wulff)

    q = kinds.add_parser("grown", help="random particles grown atom by atom (Eq. 6.18)")
    common(q, seeded=True)
    q.set_defaults(func=_grown)

    q = kinds.add_parser("graphene", help="random Voronoi graphene (Fig. 6.9)")
    common(q, seeded=True)
    q.set_defaults(func=_graphene)

    q = kinds.add_parser("polycrystalline-graphene", help="graphene with rotated grains")
    common(q, seeded=True)
    q.set_defaults(func=_graphene)

    q = kinds.add_parser("columns", help="projected atomic columns (CSV) of a structure or trajectory")
    q.add_argument("structure", help="structure or trajectory file (all frames are averaged)")
    q.add_argument("-o", "--output", required=True, help="output CSV")
    q.add_argument("--tolerance-a", type=float, default=0.5, help="column grouping distance in Å")
    q.set_defaults(func=_columns)
