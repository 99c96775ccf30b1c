"""``hrtem study``: the strain-accuracy study of thesis ch. 4, step by step.

::

    hrtem study model --size 2 --params STUDY -o model.xyz          # Wulff particle
    hrtem study md-params --params STUDY                            # the md section for `hrtem md run`
    hrtem study truth trajectory.extxyz --params STUDY -o truth.zarr --frames frames.extxyz
    hrtem study measure ensemble.zarr --truth truth.zarr --params STUDY --threads 2 -o measured.zarr
    hrtem study collect --store 2 0 m0.zarr --store 2 90 m90.zarr -o study.zarr

``STUDY`` is the ``images.study`` config section as JSON. The MD step is
``hrtem md run`` with the md section made from it (relax, then Langevin at
``md.temperature_K``, snapshots in the last stage); the images are
``hrtem simulate exit-wave --md`` and ``hrtem simulate ensemble`` on the
frames written by ``truth`` (the MD snapshots with the hand-made strain field,
if any). The potential is named in every output (``potential`` attribute).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from hrtem.config import parse_json_object
from hrtem.errors import HrtemError

__all__ = ["register", "md_section", "potential_name"]


def potential_name(study: dict[str, Any]) -> str:
    """``kind:file`` of the study's potential (recorded in every output)."""
    kind = study.get("potential", "eam")
    files = study.get("potential_files") or {}
    default = {"eam": "Au_u3.eam", "comb3": "ffield.comb3"}[kind]
    return f"{kind}:{files.get(kind, default)}"


def md_section(study: dict[str, Any]) -> dict[str, Any]:
    """The ``md`` config section for ``hrtem md run`` from ``images.study``.

    FIRE relaxation, ``equilibrate_steps`` of Langevin at ``temperature_K``,
    then ``snapshots × snapshot_every`` steps with a snapshot every
    ``snapshot_every`` steps (the frozen-phonon configurations).
    """
    md = study.get("md") or {}
    kind = study.get("potential", "eam")
    files = study.get("potential_files") or {}
    element = study.get("element", "Au")
    if kind == "eam":
        potential = {"kind": "eam", "eam_files": {element: files.get("eam", "Au_u3.eam")}}
    elif kind == "comb3":
        potential = {"kind": "comb3", "file": files.get("comb3", "ffield.comb3"), "qeq_every": int(md.get("qeq_every", 10))}
    else:
        raise HrtemError(f"images.study.potential: {kind!r} is not eam or comb3")
    t = float(md.get("temperature_K", 300.0))
    every = int(md.get("snapshot_every", 200))
    return {
        "particle": {"element": element},
        "potential": potential,
        "timestep_fs": float(md.get("timestep_fs", 2.0)),
        "langevin_damp_fs": float(md.get("langevin_damp_fs", 100.0)),
        "initial_temperature_K": t,
        "minimize": {"max_iterations": int(md.get("minimize_steps", 500)), "force_tol_eV_per_A": 1e-3},
        "stages": [
            {"name": "equilibrate", "start_K": t, "steps": int(md.get("equilibrate_steps", 1000))},
            {"name": "sample", "start_K": t, "steps": int(md.get("snapshots", 4)) * every, "sample": True},
        ],
        "snapshot_every": every,
        "thermo_every": every,
        "max_temperature_K": 5000.0,
    }


def _model(args: argparse.Namespace) -> int:
    from hrtem.io import write_atoms
    from hrtem.structures.wulff import wulff_particle

    study = parse_json_object(args.params, "--params")
    if not args.size > 0:
        raise HrtemError(f"--size must be > 0 nm, got {args.size}")
    atoms = wulff_particle(study.get("element", "Au"), float(args.size), zone_axis=str(study.get("zone_axis", "110")),
                           vacuum_a=float(study.get("vacuum_a", 5.0)))
    atoms.info["potential"] = potential_name(study)
    write_atoms(atoms, args.output)
    print(f"{args.output}: {len(atoms)} atoms, {args.size:g} nm Wulff {atoms.get_chemical_formula()}")
    return 0


def _md_params(args: argparse.Namespace) -> int:
    print(json.dumps(md_section(parse_json_object(args.params, "--params")), sort_keys=True))
    return 0


def _truth(args: argparse.Namespace) -> int:
    from hrtem.io import provenance, read_atoms, write_atoms, write_dataset
    from hrtem.strain.accuracy import StudySettings, apply_strain_field, central_slice_strain, true_strain

    study = parse_json_object(args.params, "--params")
    settings = StudySettings.from_config(study)
    frames = read_atoms(args.trajectory, index=":")
    if not frames:
        raise HrtemError(f"{args.trajectory}: no frames")
    field = study.get("strain_field") or {"kind": "none"}
    frames = apply_strain_field(frames, field)
    pot = potential_name(study)
    for f in frames:
        f.info["potential"] = pot
        f.info["strain_field"] = json.dumps(field, sort_keys=True)
    truth = true_strain(frames, settings)
    sl = central_slice_strain(frames, settings)
    ds = truth.merge(sl.rename({"ep": "slice_ep", "matched": "slice_matched", "x": "slice_x", "y": "slice_y"}))
    attrs = provenance(config=study, rule="study truth", potential=pot, strain_field=field,
                       trajectory=str(args.trajectory), **truth.attrs)
    write_dataset(ds, args.output, attrs=attrs)
    if args.frames:
        write_atoms(frames, args.frames)
    print(f"{args.output}: {truth.sizes['column']} columns from {len(frames)} snapshots ({pot})")
    return 0


def _measure(args: argparse.Namespace) -> int:
    from hrtem.io import provenance, read_dataset
    from hrtem.strain.accuracy import StudySettings, measure_ensemble

    study = parse_json_object(args.params, "--params")
    settings = StudySettings.from_config(study)
    if args.threads < 1:
        raise HrtemError(f"--threads must be ≥ 1, got {args.threads}")
    truth = read_dataset(args.truth)
    keep = [k for k in truth.data_vars if "slice_column" not in truth[k].dims]
    truth = truth[keep]
    truth = truth.drop_vars([c for c in ("slice_column", "slice_x", "slice_y") if c in truth.variables])
    attrs = provenance(config=study, rule="study measure", potential=truth.attrs.get("potential", potential_name(study)),
                       truth=str(args.truth), tilt_axis_deg=args.tilt_axis_deg)
    from hrtem.cluster import cli_section

    cluster = cli_section(args.dask, args.scheduler)
    measure_ensemble(args.ensemble, truth, args.output, settings, threads=args.threads, attrs=attrs,
                     dask_cluster=cluster)
    print(f"{args.output}: measured {args.ensemble}")
    return 0


def _collect(args: argparse.Namespace) -> int:
    from hrtem.io import provenance
    from hrtem.strain.accuracy import collect

    if not args.store:
        raise HrtemError("give at least one --store SIZE_NM TILT_AXIS_DEG PATH")
    stores = []
    for size, axis, path in args.store:
        try:
            stores.append((float(size), float(axis), path))
        except ValueError:
            raise HrtemError(f"--store {size} {axis} {path}: SIZE_NM and TILT_AXIS_DEG must be numbers") from None
        if not Path(path).exists():
            raise HrtemError(f"--store {path} does not exist")
    collect(stores, args.output, attrs=provenance(rule="study collect", inputs=[s[2] for s in stores]))
    print(f"{args.output}: {len(stores)} measurement stores")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``study`` verb and its steps."""
    p = sub.add_parser("study", help="the ch. 4 strain-accuracy study (truth, measurement, collection)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    steps = p.add_subparsers(dest="study_step", metavar="STEP")

    q = steps.add_parser("model", help="Wulff particle of one size (extxyz)")
    q.add_argument("--size", type=float, required=True, help="volume-equivalent diameter in nm")
    q.add_argument("--params", default="", help="the images.study config section as JSON")
    q.add_argument("-o", "--output", required=True, help="output structure (.xyz/.extxyz)")
    q.set_defaults(func=_model)

    q = steps.add_parser("md-params", help="print the md section (JSON) for `hrtem md run`")
    q.add_argument("--params", default="", help="the images.study config section as JSON")
    q.set_defaults(func=_md_params)

    q = steps.add_parser("truth", help="true column strain (snapshot average, STM, ε_p, ε_n per facet)")
    q.add_argument("trajectory", help="MD snapshots (extxyz)")
    q.add_argument("--params", default="", help="the images.study config section as JSON")
    q.add_argument("-o", "--output", required=True, help="output Zarr store")
    q.add_argument("--frames", default=None, help="also write the frames used (with any hand-made strain field)")
    q.set_defaults(func=_truth)

    q = steps.add_parser("measure", help="detection → STM → pairing → errors for every image of an ensemble")
    q.add_argument("ensemble", help="image ensemble store (hrtem simulate ensemble)")
    q.add_argument("--truth", required=True, help="truth store (hrtem study truth)")
    q.add_argument("--params", default="", help="the images.study config section as JSON")
    q.add_argument("--tilt-axis-deg", type=float, default=0.0, help="tilt axis of the ensemble (recorded)")
    q.add_argument("--threads", type=int, default=1, help="Dask worker threads")
    q.add_argument("--dask", default="", help="config section 'dask' as JSON (where the tasks run; default local threads)")
    q.add_argument("--scheduler", default=None,
                   help="dask.distributed scheduler address (tcp://host:8786) or 'slurm'; overrides dask.scheduler")
    q.add_argument("-o", "--output", required=True, help="output Zarr store")
    q.set_defaults(func=_measure)

    q = steps.add_parser("collect", help="one store with dims (size, tilt_axis, tilt, defocus, dose, sample, column)")
    q.add_argument("--store", nargs=3, action="append", metavar=("SIZE_NM", "TILT_AXIS_DEG", "PATH"),
                   help="a measurement store and its size and tilt axis (repeatable)")
    q.add_argument("-o", "--output", required=True, help="output Zarr store")
    q.set_defaults(func=_collect)
