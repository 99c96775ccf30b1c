"""The ``hrtem md`` verb: build supported models, run MD, 3D strain.

``hrtem md run`` runs on ``--ranks`` MPI ranks: when more than one is asked
for and the process is not already an MPI rank, it re-launches itself as
``<env>/bin/mpiexec -n RANKS python -m hrtem.md run …`` (the mpiexec of the
mpich wheel), so a Snakemake rule only passes its ``resources.tasks``.
Started under ``mpiexec``/``srun`` directly, it uses the ranks it was given.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from hrtem.config import parse_json_object
from hrtem.errors import HrtemError

_SYSTEM_CHOICES = ("zro2", "anatase_natural", "anatase_substrate", "free")
_MPI_ENV = ("PMI_SIZE", "PMI_RANK", "OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS")


def _params(text: str) -> dict:
    """The md section from --params, validated (schema + cross-field) and cost-checked."""
    from hrtem.config import validate_config  # noqa: PLC0415
    from hrtem.estimate import check_estimate  # noqa: PLC0415

    config = validate_config({"md": parse_json_object(text, "--params")})
    check_estimate(config)
    return config["md"]


def under_mpi() -> bool:
    """Whether this process was started by an MPI launcher."""
    return any(k in os.environ for k in _MPI_ENV)


def _cmd_support(args: argparse.Namespace) -> int:
    from hrtem.io import write_atoms  # noqa: PLC0415
    from hrtem.md.model import model_from_config  # noqa: PLC0415
    from hrtem.md.supported import system_model  # noqa: PLC0415

    md = _params(args.params)
    if args.system == "zro2":
        model = model_from_config(md, rotation_deg=args.rotation)
    else:
        if args.rotation:
            raise HrtemError(f"--rotation applies to --system zro2 only, not {args.system}")
        model = system_model(md, args.system)
    model.info["potential"] = _potential_name(md)
    write_atoms(model, args.output)
    print(f"{args.output}: {len(model)} atoms ({model.get_chemical_formula()}), system {args.system}, "
          f"rotation {args.rotation}°, potential {model.info['potential']}")
    return 0


def _potential_name(md: dict) -> str:
    """``kind:file`` of the md section's potential (recorded in every output)."""
    pot = md.get("potential") or {}
    kind = pot.get("kind", "comb3")
    if kind == "eam":
        return "eam:" + ",".join(f"{k}={v}" for k, v in sorted((pot.get("eam_files") or {}).items()))
    return f"{kind}:{pot.get('file', 'ffield.comb3')}"


def _relaunch(args: argparse.Namespace, argv: list[str]) -> int:
    from hrtem.md.lammps_loader import mpiexec_path  # noqa: PLC0415

    cmd = [str(mpiexec_path()), "-n", str(args.ranks), sys.executable, "-m", "hrtem.md", *argv]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    return subprocess.call(cmd, env=env)


def _cmd_run(args: argparse.Namespace) -> int:
    if args.ranks > 1 and not under_mpi():
        argv = [a for a in sys.argv[1:] if a != "md"] if args.argv is None else args.argv
        return _relaunch(args, argv)
    from hrtem.io import read_atoms, write_atoms  # noqa: PLC0415
    from hrtem.md.driver import run_md, write_thermo_csv  # noqa: PLC0415
    from hrtem.md.settings import MDSettings  # noqa: PLC0415

    from hrtem.md.supported import system_md  # noqa: PLC0415

    md = system_md(_params(args.params), args.system)
    settings = MDSettings.from_config(md)
    atoms = read_atoms(args.input)
    out = Path(args.outdir)
    work = out / "lammps"
    work.mkdir(parents=True, exist_ok=True)
    keys = tuple(args.key) if args.key else ("md", Path(args.input).stem)
    res = run_md(atoms, settings, seed=args.seed, keys=keys, workdir=work, log=work / "log.lammps")
    if res.rank == 0:
        write_atoms(res.minimized, out / "minimized.extxyz")
        write_atoms(res.snapshots or [res.structure], out / "trajectory.extxyz")
        write_thermo_csv(res.thermo, out / "thermo.csv")
        (out / "potential.txt").write_text(_potential_name(md) + "\n", encoding="utf-8")
        write_atoms(res.structure, out / "structure.extxyz")
        print(
            f"{out}: {len(atoms)} atoms, {settings.total_steps} steps on {res.ranks} rank(s), "
            f"{res.atom_steps_per_s:.4g} atom-steps/s, E_min = {res.minimized_energy_eV:.6g} eV, "
            f"{len(res.snapshots)} snapshots{_slurm_note()}"
        )
    return 0


def _slurm_note() -> str:
    """`` in SLURM job N`` when running inside a SLURM allocation, else empty."""
    job = os.environ.get("SLURM_JOB_ID") or os.environ.get("SLURM_JOBID")
    return f" in SLURM job {job}" if job else ""


def _cmd_strain3d(args: argparse.Namespace) -> int:
    from hrtem.io import read_atoms, write_atoms  # noqa: PLC0415
    from hrtem.md.strain3d import strain_of_particle, thermal_average  # noqa: PLC0415

    md = _params(args.params)
    frames = read_atoms(args.input, index=":")
    avg = thermal_average(frames)
    element = (md.get("particle") or {}).get("element", "Cu")
    a0 = args.reference_a or _reference_a(md, element)
    part = strain_of_particle(avg, element, a0)
    part.info["reference_a_A"] = a0
    write_atoms(part, args.output)
    return 0


def _reference_a(md: dict, element: str) -> float:
    """Lattice constant of ``element`` with the run's potential (minimisation, 0 K)."""
    from hrtem.md.properties import lattice_constant  # noqa: PLC0415
    from hrtem.md.settings import MDSettings  # noqa: PLC0415

    s3 = md.get("strain3d") or {}
    if s3.get("reference_a_A"):
        return float(s3["reference_a_A"])
    pot = MDSettings.from_config(md).potential
    guess = float((md.get("particle") or {}).get("lattice_a_A", 3.61))
    return lattice_constant(element, pot, guess)


def _cmd_image(args: argparse.Namespace) -> int:
    from hrtem.config import validate_config  # noqa: PLC0415
    from hrtem.io import provenance, read_atoms, write_dataset  # noqa: PLC0415
    from hrtem.md.supported import ZONES, image_study, system_md  # noqa: PLC0415

    md = system_md(_params(args.params), args.system)
    images = validate_config({"images": parse_json_object(args.optics, "--optics")})["images"]
    frames = read_atoms(args.input, index=":")
    if not frames:
        raise HrtemError(f"{args.input}: no snapshots")
    element = (md.get("particle") or {}).get("element", "Cu")
    interface = tuple((md.get("particle") or {}).get("interface") or
                      ((1, 0, 0) if (md.get("support") or {}).get("oxide") == "anatase_001" else (1, 1, 1)))
    zone = ZONES[interface]
    a0 = args.reference_a or _reference_a(md, element)
    ds = image_study(frames, element=element, zone_axis=zone, lattice_a_A=a0, microscope=images["microscope"],
                     detector=images["detector"], imaging=md.get("imaging") or {}, seed=args.seed,
                     keys=("md_image", args.system))
    pot = _potential_name(md)
    attrs = provenance(config={"md": md, "images": images}, seed=args.seed, rule="md image",
                       potential=pot, system=args.system, element=element, trajectory=str(args.input), **ds.attrs)
    write_dataset(ds, args.output, attrs=attrs)
    print(f"{args.output}: {ds.attrs['n_found']}/{ds.attrs['n_columns']} {element} columns found along <{zone}> "
          f"at defocus {ds.attrs['defocus_nm']:g} nm; mean abs error upper {100 * ds.attrs['mae_upper']:.2f} %, "
          f"interface {100 * ds.attrs['mae_interface']:.2f} % ({pot})")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``md`` verb and its sub-commands."""
    p = sub.add_parser("md", help="LAMMPS molecular dynamics (COMB3, EAM)")
    verbs = p.add_subparsers(dest="md_verb", metavar="STEP")

    s = verbs.add_parser("support", help="build a half-particle on an oxide slab (extxyz)")
    s.add_argument("-o", "--output", required=True, help="output extxyz")
    s.add_argument("--params", default="", help="the md config section as JSON")
    s.add_argument("--rotation", type=float, default=0.0, help="in-plane particle rotation, degrees")
    s.add_argument("--system", default="zro2", choices=_SYSTEM_CHOICES,
                   help="zro2 = md.support/md.particle; anatase_* / free = md.anatase (thesis Figs. 5.7-5.10)")
    s.set_defaults(func=_cmd_support)

    r = verbs.add_parser("run", help="minimise + Langevin schedule; writes structure, trajectory, thermo.csv")
    r.add_argument("input", help="structure (extxyz; arrays['fixed'] marks fixed atoms)")
    r.add_argument("-o", "--outdir", required=True, help="output folder")
    r.add_argument("--params", default="", help="the md config section as JSON")
    r.add_argument("--seed", type=int, default=0, help="config seed")
    r.add_argument("--key", action="append", help="seed key (rule name, wildcards); repeatable")
    r.add_argument("--ranks", type=int, default=1, help="MPI ranks (re-launches under mpiexec if > 1)")
    r.add_argument("--system", default="zro2", choices=_SYSTEM_CHOICES,
                   help="whose schedule: zro2 = md.stages, anatase_* / free = md.anatase.stages")
    r.set_defaults(func=_cmd_run, argv=None)

    t = verbs.add_parser("strain3d", help="PTM strain of the thermally averaged particle (extxyz with eps_*)")
    t.add_argument("input", help="trajectory (extxyz) of the sampling stages")
    t.add_argument("-o", "--output", required=True, help="output extxyz (particle atoms with eps_xx … arrays)")
    t.add_argument("--params", default="", help="the md config section as JSON")
    t.add_argument("--reference-a", type=float, default=None, help="reference lattice constant, Å")
    t.set_defaults(func=_cmd_strain3d)

    m = verbs.add_parser("image", help="HRTEM image of MD snapshots + true vs measured column strain (Zarr)")
    m.add_argument("input", help="trajectory (extxyz) of the sampling stages")
    m.add_argument("-o", "--output", required=True, help="output Zarr store")
    m.add_argument("--params", default="", help="the md config section as JSON")
    m.add_argument("--optics", default="", help="the images config section as JSON (ch. 4 microscope, detector)")
    m.add_argument("--system", default="zro2", choices=_SYSTEM_CHOICES, help="which system the snapshots are")
    m.add_argument("--seed", type=int, default=0, help="config seed")
    m.add_argument("--reference-a", type=float, default=None, help="reference lattice constant, Å")
    m.set_defaults(func=_cmd_image)
