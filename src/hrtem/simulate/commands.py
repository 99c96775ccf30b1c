"""``hrtem simulate``: potential, exit waves, lens image and detector, each a Zarr store.

Sub-verbs (each one pipeline stage, used by the Snakemake rules):

- ``potential STRUCTURE -o OUT.zarr``: projected potential of the static model.
- ``exit-wave STRUCTURE -o OUT.zarr``: exit wave per frozen-phonon configuration
  (Einstein, seeded) or per MD snapshot (``--md``: every frame of the file).
- ``image EXIT.zarr -o OUT.zarr``: objective lens per configuration, intensities averaged
  (per tilt when the exit waves carry a ``tilt`` dimension).
- ``detect IMAGE.zarr -o OUT.zarr``: resample to the camera pixel, shot noise, MTF.
- ``ensemble EXIT.zarr -o OUT.zarr``: detected images over tilt × defocus × dose ×
  noise realisation (:mod:`hrtem.simulate.ensemble`), chunked and written block by block.

``exit-wave --tilt DEG`` (repeatable) simulates the structure tilted about an
in-plane axis (``--tilt-axis-deg``) and stores ``(tilt, config, x, y)``.

Config sections are passed as JSON (``--simulate``, ``--microscope``,
``--detector``, ``--dask``) and validated with the config schema first.
``ensemble --scheduler tcp://host:8786`` (or ``slurm``) runs its tasks on a
``dask.distributed`` cluster (:mod:`hrtem.cluster`); the bytes are the same.
"""

from __future__ import annotations

import argparse
from typing import Any

import xarray as xr

from hrtem.preflight import add_structure_flags, check_structure


def _section(name: str, text: str) -> dict[str, Any]:
    """Parse a JSON config section and validate/fill it with the schema."""
    from hrtem.config import parse_json_object, validate_config

    return validate_config({name: parse_json_object(text, f"--{name}")})[name]


def _dask_section(text: str, scheduler: str | None) -> dict[str, Any]:
    """The ``dask`` section from ``--dask`` JSON, with ``--scheduler`` overriding its scheduler."""
    from hrtem.cluster import cli_section

    return cli_section(text, scheduler)


def _write(data: xr.DataArray | xr.Dataset, path: str, *, rule: str, seed: int | None, config: Any) -> None:
    from hrtem.io import provenance, write_dataset

    write_dataset(data, path, attrs=provenance(config=config, seed=seed, rule=rule))


def _potential(args: argparse.Namespace) -> int:
    from hrtem.io import read_atoms
    from hrtem.simulate.exit_waves import projected_potential

    simulate = _section("simulate", args.simulate)
    atoms = read_atoms(args.structure)
    check_structure(atoms, str(args.structure), args)
    data = projected_potential(atoms, simulate=simulate)
    _write(data, args.output, rule="simulate potential", seed=None, config=simulate)
    return 0


def _exit_wave(args: argparse.Namespace) -> int:
    from hrtem.io import read_atoms
    from hrtem.simulate.exit_waves import exit_waves

    import dask

    simulate = _section("simulate", args.simulate)
    microscope = _section("microscope", args.microscope)
    dask.config.set(scheduler="threads", num_workers=max(1, args.threads))
    if args.md:
        simulate["frozen_phonons"]["model"] = "md"
        atoms = read_atoms(args.structure, index=":")
    else:
        atoms = read_atoms(args.structure)
    check_structure(atoms, str(args.structure), args)
    data = exit_waves(
        atoms, energy_kev=microscope["energy_kev"], simulate=simulate, seed=args.seed, keys=tuple(args.key),
        tilts_deg=args.tilt or None, tilt_axis_deg=args.tilt_axis_deg,
    )
    _write(
        data, args.output, rule="simulate exit-wave", seed=args.seed,
        config={"simulate": simulate, "energy_kev": microscope["energy_kev"]},
    )
    return 0


def _image(args: argparse.Namespace) -> int:
    from hrtem.io import read_dataset
    from hrtem.simulate.images import lens_image

    microscope = _section("microscope", args.microscope)
    waves = read_dataset(args.exit_wave, variables=("exit_wave",))["exit_wave"]
    if "tilt" in waves.dims:
        from hrtem.simulate.ensemble import lens_images

        data = lens_images(waves, microscope)
    else:
        data = lens_image(waves, microscope)
    _write(data, args.output, rule="simulate image", seed=None, config=microscope)
    return 0


def _detect(args: argparse.Namespace) -> int:
    from hrtem.io import read_dataset
    from hrtem.simulate.images import detector_image

    detector = _section("detector", args.detector)
    image = read_dataset(args.image, variables=("image",))["image"]
    data = detector_image(image, detector, seed=args.seed, keys=tuple(args.key))
    _write(data, args.output, rule="simulate detect", seed=args.seed, config=detector)
    return 0


def _ensemble(args: argparse.Namespace) -> int:
    from hrtem.io import open_store, provenance
    from hrtem.simulate.ensemble import image_ensemble

    microscope = _section("microscope", args.microscope)
    detector = _section("detector", args.detector)
    cluster = _dask_section(args.dask, args.scheduler)
    if args.sampling_a is not None:
        detector["sampling_a"] = args.sampling_a
    waves = open_store(args.exit_wave, variables=("exit_wave",))["exit_wave"]
    keys = tuple(int(k) if k.isdigit() else k for k in args.key) or ("simulate_ensemble",)
    config = {"microscope": microscope, "detector": detector, "defocus_a": args.defocus, "doses": args.dose,
              "samples": args.samples, "samples_per_block": args.samples_per_block}
    image_ensemble(
        waves, args.output, microscope=microscope, detector=detector, doses_e_per_a2=args.dose,
        samples=args.samples, defocus_a=args.defocus or None, seed=args.seed, keys=keys,
        samples_per_block=args.samples_per_block, threads=args.threads, dask_cluster=cluster,
        attrs=provenance(config=config, seed=args.seed, rule="simulate ensemble", seed_keys=list(keys)),
    )
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``simulate`` verb and its sub-verbs."""
    p = sub.add_parser("simulate", help="exit waves, images and noisy images as Zarr stores")
    verbs = p.add_subparsers(dest="stage", metavar="STAGE", required=True)

    def common(q: argparse.ArgumentParser, *, seeded: bool) -> None:
        q.add_argument("-o", "--output", required=True, help="output Zarr store")
        if seeded:
            q.add_argument("--seed", type=int, default=0, help="config seed")
            q.add_argument("--key", action="append", default=[], help="seed key (rule, wildcards); repeatable")

    q = verbs.add_parser("potential", help="projected potential of a structure")
    q.add_argument("structure", help="structure file (any ASE format)")
    q.add_argument("--simulate", default="", help="config section 'simulate' as JSON")
    common(q, seeded=False)
    add_structure_flags(q)
    q.set_defaults(func=_potential)

    q = verbs.add_parser("exit-wave", help="exit wave per frozen-phonon configuration")
    q.add_argument("structure", help="structure file, or an MD trajectory with --md")
    q.add_argument("--simulate", default="", help="config section 'simulate' as JSON")
    q.add_argument("--microscope", default="", help="config section 'microscope' as JSON (energy)")
    q.add_argument("--md", action="store_true", help="use every frame of the file as a thermal configuration")
    q.add_argument("--tilt", type=float, action="append", default=[],
                   help="specimen tilt in degrees (repeatable: adds a 'tilt' dimension)")
    q.add_argument("--tilt-axis-deg", type=float, default=0.0, help="in-plane tilt axis, degrees from x")
    q.add_argument("--threads", type=int, default=1, help="Dask worker threads")
    common(q, seeded=True)
    add_structure_flags(q)
    q.set_defaults(func=_exit_wave)

    q = verbs.add_parser("image", help="lens image (CTF and envelopes) from exit waves")
    q.add_argument("exit_wave", help="exit-wave store")
    q.add_argument("--microscope", default="", help="config section 'microscope' as JSON")
    common(q, seeded=False)
    q.set_defaults(func=_image)

    q = verbs.add_parser("detect", help="camera: resample, shot noise, MTF")
    q.add_argument("image", help="image store")
    q.add_argument("--detector", default="", help="config section 'detector' as JSON")
    common(q, seeded=True)
    q.set_defaults(func=_detect)

    q = verbs.add_parser("ensemble", help="detected images over tilt × defocus × dose × noise realisation")
    q.add_argument("exit_wave", help="exit-wave store, dims ([tilt,] config, x, y)")
    q.add_argument("--microscope", default="", help="config section 'microscope' as JSON")
    q.add_argument("--detector", default="", help="config section 'detector' as JSON (its dose is ignored)")
    q.add_argument("--sampling-a", type=float, default=None, help="camera pixel in Å (overrides detector.sampling_a)")
    q.add_argument("--defocus", type=float, nargs="+", default=[], help="defoci C10 in Å (default: the microscope's)")
    q.add_argument("--dose", type=float, nargs="+", required=True, help="doses in e⁻/Å²")
    q.add_argument("--samples", type=int, default=10, help="noise realisations per dose")
    q.add_argument("--samples-per-block", type=int, default=10, help="realisations per chunk and per task")
    q.add_argument("--threads", type=int, default=1, help="Dask worker threads")
    q.add_argument("--dask", default="", help="config section 'dask' as JSON (where the tasks run; default local threads)")
    q.add_argument("--scheduler", default=None,
                   help="dask.distributed scheduler address (tcp://host:8786) or 'slurm'; overrides dask.scheduler")
    common(q, seeded=True)
    q.set_defaults(func=_ensemble)


__all__ = ["register"]
