"""``hrtem image``: the HRTEM image of any ASE-readable structure, outside the workflow.

::

    hrtem image model.xyz microscope.yaml -o image.zarr [--dose 1000] [--tilt 0 --tilt 2]

``microscope.yaml`` uses the keys of the pipeline config — sections
``microscope``, ``detector``, ``simulate`` (and optionally ``seed``) — and is
validated with the same schema (:func:`hrtem.config.validate_config`), so
defaults fill what it leaves out. One store is written with

``exit_wave``  ``([tilt,] config, x, y)`` complex exit waves (one per frozen-phonon
               configuration, or per MD frame with ``--md``);
``image``      ``([tilt,] x, y)`` the lens image (vacuum = 1) at the simulation sampling;
``detected``   ``([tilt,] x_camera, y_camera)`` the camera image (resampling, Poisson
               noise, MTF) — only when a dose is given: ``--dose`` or an explicit
               ``detector.dose_e_per_a2`` in the YAML file.

A noise ensemble of the image follows with ``hrtem noise image.zarr …``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from hrtem.errors import HrtemError
from hrtem.preflight import add_structure_flags

__all__ = ["register", "load_settings", "SETTINGS_KEYS"]

#: top-level keys a microscope settings file may hold
SETTINGS_KEYS = ("seed", "threads", "microscope", "detector", "simulate", "dask")


def load_settings(path: str | Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """Read and validate a microscope settings YAML file.

    Returns
    -------
    validated, raw
        The config with every default filled in, and the file's own content
        (to tell an explicit key from a default).

    Raises
    ------
    HrtemError
        Missing or unreadable file, not a mapping, a section other than
        :data:`SETTINGS_KEYS`, or a schema violation (naming the key path).
    """
    from hrtem.config import load_yaml_strict, validate_config
    from hrtem.errors import ConfigError

    path = Path(path)
    if not path.is_file():
        raise HrtemError(f"settings file {path} does not exist (a YAML file with sections microscope, detector, simulate)")
    try:
        raw = load_yaml_strict(path)
    except ConfigError as err:
        raise HrtemError(str(err).replace("config file", "settings file", 1)) from err
    if not isinstance(raw, dict):
        raise HrtemError(f"settings file {path} must be a mapping with sections {', '.join(SETTINGS_KEYS[2:])}")
    unknown = sorted(set(raw) - set(SETTINGS_KEYS))
    if unknown:
        raise HrtemError(
            f"settings file {path}: section(s) {', '.join(map(str, unknown))} not used here; "
            f"allowed: {', '.join(SETTINGS_KEYS)}"
        )
    try:
        validated = validate_config(raw)
    except ConfigError as err:
        raise HrtemError(f"settings file {path}: {err}") from err
    return validated, raw


def _detected(image, detector: dict[str, Any], seed: int):
    """Camera image(s) of a lens image ``([tilt,] x, y)``, dims renamed to ``x_camera``, ``y_camera``."""
    import xarray as xr

    from hrtem.simulate.images import detector_image

    def one(da, keys):
        out = detector_image(da, detector, seed=seed, keys=keys)
        return out.rename({"x": "x_camera", "y": "y_camera"})

    if "tilt" in image.dims:
        parts = [one(image.isel(tilt=i), ("image", "detect", i)) for i in range(image.sizes["tilt"])]
        out = xr.concat(parts, dim=image["tilt"])
    else:
        out = one(image, ("image", "detect"))
    out.name = "detected"
    for dim in ("x_camera", "y_camera"):
        out[dim].attrs = {"units": "Å", "long_name": f"{dim[0]} position on the camera"}
    return out


def _run(args: argparse.Namespace) -> int:
    import dask
    import xarray as xr

    from hrtem.io import provenance, read_atoms, write_dataset
    from hrtem.preflight import check_structure
    from hrtem.simulate.ensemble import lens_images
    from hrtem.simulate.exit_waves import exit_waves
    from hrtem.simulate.images import lens_image

    config, raw = load_settings(args.settings)
    seed = args.seed if args.seed is not None else int(config["seed"])
    threads = args.threads if args.threads is not None else int(config["threads"])
    if threads < 1:
        raise HrtemError(f"--threads must be ≥ 1, got {threads}")
    simulate, microscope, detector = config["simulate"], config["microscope"], config["detector"]
    if args.md:
        simulate["frozen_phonons"]["model"] = "md"
        atoms = read_atoms(args.structure, index=":")
    else:
        atoms = read_atoms(args.structure)
    check_structure(atoms, str(args.structure), args)
    dask.config.set(scheduler="threads", num_workers=threads)
    waves = exit_waves(
        atoms, energy_kev=microscope["energy_kev"], simulate=simulate, seed=seed, keys=("image",),
        tilts_deg=args.tilt or None, tilt_axis_deg=args.tilt_axis_deg,
    )
    image = lens_images(waves, microscope) if "tilt" in waves.dims else lens_image(waves, microscope)
    data = {"exit_wave": waves, "image": image}
    dose = args.dose
    if dose is None and (raw.get("detector") or {}).get("dose_e_per_a2") is not None:
        dose = float(detector["dose_e_per_a2"])
    if dose is not None:
        if not dose > 0:
            raise HrtemError(f"--dose must be > 0 e⁻/Å², got {dose}")
        detector = {**detector, "dose_e_per_a2": dose}
        data["detected"] = _detected(image, detector, seed)
    used = {"simulate": simulate, "microscope": microscope, "detector": detector if dose is not None else None,
            "tilts_deg": args.tilt, "tilt_axis_deg": args.tilt_axis_deg}
    write_dataset(
        xr.Dataset(data), args.output,
        attrs=provenance(config=used, seed=seed, rule="image", structure=str(args.structure), settings=used),
    )
    print(
        f"{args.output}: exit waves {dict(waves.sizes)}, image {dict(image.sizes)}"
        + (f", detected at {dose:g} e⁻/Å² and {detector['sampling_a']:g} Å/px" if dose is not None else "")
    )
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``image`` verb."""
    p = sub.add_parser(
        "image",
        help="HRTEM image of any ASE-readable structure",
        description="Exit waves, lens image and (with a dose) detected image of a structure, in one Zarr store.",
    )
    p.add_argument("structure", help="structure file (any ASE format), or an MD trajectory with --md")
    p.add_argument("settings", help="YAML file with sections microscope, detector, simulate (config keys)")
    p.add_argument("-o", "--output", required=True, help="output Zarr store")
    p.add_argument("--dose", type=float, default=None, help="dose in e⁻/Å²: also write the detected image")
    p.add_argument("--md", action="store_true", help="use every frame of the file as a thermal configuration")
    p.add_argument("--tilt", type=float, action="append", default=[],
                   help="specimen tilt in degrees (repeatable: adds a 'tilt' dimension)")
    p.add_argument("--tilt-axis-deg", type=float, default=0.0, help="in-plane tilt axis, degrees from x")
    p.add_argument("--seed", type=int, default=None, help="seed (default: the file's seed, else 0)")
    p.add_argument("--threads", type=int, default=None, help="Dask worker threads (default: the file's threads)")
    add_structure_flags(p)
    p.set_defaults(func=_run)
