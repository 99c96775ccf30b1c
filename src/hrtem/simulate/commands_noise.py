"""``hrtem noise``: an ensemble of noisy camera images from an image store.

::

    hrtem noise image.zarr --dose 100 1000 10000 --samples 50 -o noisy.zarr \\
        [--settings microscope.yaml] [--sampling-a 0.2] [--threads 2] [--scheduler tcp://host:8786]

The input is any hrtem store with a noise-free ``image`` of dims
``([tilt,] [defocus,] x, y)`` (written by ``hrtem image``, ``hrtem simulate
image``). The camera (pixel, MTF, output units) is the ``detector`` section of
the optional settings YAML (same keys as the config), with ``--sampling-a``
overriding the pixel. The output is an ensemble store
(:mod:`hrtem.simulate.ensemble`): ``image (tilt, defocus, dose, sample, x, y)``
and ``noise_free (tilt, defocus, x, y)``, chunked per realisation block and
seeded per block, so it is identical on any number of threads and on a
``dask.distributed`` cluster (``--scheduler`` or the settings' ``dask`` section).
"""

from __future__ import annotations

import argparse

from hrtem.errors import HrtemError

__all__ = ["register"]


def _run(args: argparse.Namespace) -> int:
    from hrtem.config import validate_config
    from hrtem.io import open_store, provenance
    from hrtem.simulate.commands_image import load_settings
    from hrtem.simulate.ensemble import noise_ensemble

    if args.settings:
        config, _ = load_settings(args.settings)
    else:
        config = validate_config({})
    detector = config["detector"]
    if args.sampling_a is not None:
        if not args.sampling_a > 0:
            raise HrtemError(f"--sampling-a must be > 0 Å, got {args.sampling_a}")
        detector["sampling_a"] = args.sampling_a
    if args.samples < 1:
        raise HrtemError(f"--samples must be ≥ 1, got {args.samples}")
    if any(not d > 0 for d in args.dose):
        raise HrtemError(f"--dose values must be > 0 e⁻/Å², got {args.dose}")
    seed = args.seed if args.seed is not None else int(config["seed"])
    threads = args.threads if args.threads is not None else int(config["threads"])
    cluster = dict(config["dask"])
    if args.scheduler is not None:
        cluster = validate_config({"dask": {**cluster, "scheduler": args.scheduler}})["dask"]
    image = open_store(args.images, variables=("image",))["image"]
    keys = tuple(int(k) if k.isdigit() else k for k in args.key) or ("noise",)
    used = {"detector": detector, "doses": args.dose, "samples": args.samples,
            "samples_per_block": args.samples_per_block, "source": str(args.images)}
    noise_ensemble(
        image, args.output, detector=detector, doses_e_per_a2=args.dose, samples=args.samples,
        seed=seed, keys=keys, samples_per_block=args.samples_per_block, threads=threads, dask_cluster=cluster,
        attrs=provenance(config=used, seed=seed, rule="noise", seed_keys=list(keys), source=str(args.images)),
    )
    print(f"{args.output}: {args.samples} realisations × {len(args.dose)} doses at {detector['sampling_a']:g} Å/px")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``noise`` verb."""
    p = sub.add_parser(
        "noise",
        help="noise ensembles from an image store",
        description="Shot-noise ensemble (Poisson, MTF) of the noise-free image(s) of a store, chunked Zarr.",
    )
    p.add_argument("images", help="hrtem store with a noise-free 'image' ([tilt,] [defocus,] x, y)")
    p.add_argument("-o", "--output", required=True, help="output Zarr store")
    p.add_argument("--dose", type=float, nargs="+", required=True, help="doses in e⁻/Å²")
    p.add_argument("--samples", type=int, default=10, help="noise realisations per dose")
    p.add_argument("--samples-per-block", type=int, default=10, help="realisations per chunk and per task")
    p.add_argument("--settings", default=None, help="YAML with a 'detector' section (camera pixel, MTF)")
    p.add_argument("--sampling-a", type=float, default=None, help="camera pixel in Å (overrides detector.sampling_a)")
    p.add_argument("--seed", type=int, default=None, help="seed (default: the settings' seed, else 0)")
    p.add_argument("--key", action="append", default=[], help="seed key (default 'noise'); repeatable")
    p.add_argument("--threads", type=int, default=None, help="Dask worker threads (default: the settings' threads)")
    p.add_argument("--scheduler", default=None,
                   help="dask.distributed scheduler address (tcp://host:8786) or 'slurm' (default: the settings' dask.scheduler, else local threads)")
    p.set_defaults(func=_run)
