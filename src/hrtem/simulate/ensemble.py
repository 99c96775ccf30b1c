"""Image ensembles: tilt × defocus × dose × noise realisation, Dask-parallel, chunked Zarr.

From exit waves (or from noise-free images) to a store of detected images

``image``       ``(tilt, defocus, dose, sample, x, y)`` float32 — the noisy
                camera images (normalised: vacuum = 1, or counts);
``noise_free``  ``(tilt, defocus, x, y)`` float32 — the same camera (bilinear
                resampling, √MTF) without shot noise: the expectation of
                ``image`` over samples in normalised units;

with coordinates ``tilt`` (degree), ``defocus`` (Å, C10 with the thesis's
sign), ``dose`` (e⁻/Å²), ``sample`` (index) and ``x``, ``y`` (Å, at the camera
pixel). One store holds one camera sampling (the x/y shape depends on it).

How it is computed (DESIGN.md: never the whole ensemble in memory)

1. The store's metadata and coordinates are written first, from a lazy
   template (``xarray.Dataset.to_zarr(compute=False)``), under a temporary name
   beside the target; ``image`` is chunked as one *realisation block*
   (``samples_per_block`` images) per (tilt, defocus, dose).
2. A Dask graph, run by the local threaded scheduler with ``threads`` workers
   (or, with a ``dask`` config section naming one, on a ``dask.distributed``
   cluster: :mod:`hrtem.cluster`):
   one task per (tilt, defocus) forms the lens image (CTF and envelopes per
   frozen-phonon configuration, intensities averaged; :class:`hrtem.optics.Microscope`)
   and resamples it to the camera pixel — computed once and shared by every
   dose and sample; one task per (tilt, defocus, dose, block) draws the
   Poisson counts of its block from
   ``hrtem.seeding.rng(seed, *keys, tilt_i, defocus_i, dose_i, block_i)``,
   applies √MTF and writes its own chunk (a region write with zarr).
   The numbers therefore do not depend on the number of workers or on the
   order of the tasks: the bytes are identical on 1 or N threads, on a
   distributed cluster and on re-runs.
3. Every chunk is checked to exist, then the temporary store is renamed to the
   target (atomic: an interrupted run never leaves a store that looks complete).

The camera images are computed first (one task per (tilt, defocus), in
parallel), then the noise tasks run in batches of a fixed size: peak memory is
the camera images plus one block per running noise task, and the task graph
is the same size for any number of samples. Disk and memory are checked
against the free space and the budget (:mod:`hrtem.estimate`) before the
store is created.

Detector conventions are those of :mod:`hrtem.optics.detector`: resample →
Poisson (mean counts D·δ²·I per pixel) → √MTF.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from hrtem.errors import HrtemError
from hrtem.simulate.images import sampling_of

__all__ = [
    "ENSEMBLE_DIMS",
    "lens_images",
    "image_ensemble",
    "noise_ensemble",
    "write_ensemble",
]

#: dimensions of the ``image`` variable of an ensemble store
ENSEMBLE_DIMS = ("tilt", "defocus", "dose", "sample", "x", "y")

_COORD_ATTRS = {
    "tilt": {"units": "degree", "long_name": "specimen tilt"},
    "defocus": {"units": "Å", "long_name": "defocus C10 (thesis sign: negative = underfocus)"},
    "dose": {"units": "e⁻/Å²", "long_name": "electron dose"},
    "sample": {"units": "1", "long_name": "noise realisation"},
    "x": {"units": "Å", "long_name": "x position"},
    "y": {"units": "Å", "long_name": "y position"},
}


# --------------------------------------------------------------------------- helpers
def _check_list(name: str, values: Sequence[float] | None, *, positive: bool = False) -> list[float]:
    if values is None:
        raise HrtemError(f"{name}: give a list of values")
    out = [float(v) for v in np.atleast_1d(np.asarray(values, dtype=float))]
    if not out:
        raise HrtemError(f"{name}: the list is empty; give at least one value")
    if positive and any(not v > 0 for v in out):
        raise HrtemError(f"{name}: every value must be > 0, got {out}")
    if len(set(out)) != len(out):
        raise HrtemError(f"{name}: values must be distinct, got {out}")
    return out


def _camera(detector: Mapping[str, Any] | None):
    from hrtem.optics import Detector

    section = dict(detector or {})
    section["dose_e_per_a2"] = None  # doses come from the ensemble's list
    return Detector.from_config(section)


def _coords(tilts, defoci, doses, samples, shape, pixel) -> dict[str, xr.DataArray]:
    values = {
        "tilt": np.asarray(tilts, dtype=float),
        "defocus": np.asarray(defoci, dtype=float),
        "dose": np.asarray(doses, dtype=float),
        "sample": np.arange(samples, dtype=np.int64),
        "x": np.arange(shape[0]) * pixel,
        "y": np.arange(shape[1]) * pixel,
    }
    return {k: xr.DataArray(v, dims=k, attrs=_COORD_ATTRS[k]) for k, v in values.items() if v is not None}


# --------------------------------------------------------------------------- lens images
def lens_images(
    exit_wave: xr.DataArray,
    microscope: Mapping[str, Any],
    defocus_a: Sequence[float] | None = None,
) -> xr.DataArray:
    """Lens images of stored exit waves for a list of defoci (in memory; small sweeps).

    Parameters
    ----------
    exit_wave
        ``(config, x, y)`` or ``(tilt, config, x, y)`` complex exit waves.
    microscope
        The ``microscope`` config section (its ``defocus_a`` is used when
        ``defocus_a`` is None).
    defocus_a
        Defoci C10 in Å (thesis sign); adds a ``defocus`` dimension.

    Returns
    -------
    xarray.DataArray
        ``image`` with dims ``([tilt,] [defocus,] x, y)``: mean over
        configurations of the lens intensity (vacuum = 1).
    """
    from hrtem.optics import Microscope

    scope = Microscope.from_config(microscope)
    _check_energy(exit_wave, scope.energy_kev)
    sampling = sampling_of(exit_wave)
    has_tilt = "tilt" in exit_wave.dims
    tilts = exit_wave["tilt"].values if has_tilt else [None]
    defoci = [scope.defocus_a] if defocus_a is None else _check_list("defocus_a", defocus_a)
    out = np.empty((len(tilts), len(defoci), exit_wave.sizes["x"], exit_wave.sizes["y"]), dtype=np.float32)
    for i in range(len(tilts)):
        waves = (exit_wave.isel(tilt=i) if has_tilt else exit_wave).transpose("config", "x", "y").values
        for j, d in enumerate(defoci):
            out[i, j] = scope.with_(defocus_a=d).image(waves, sampling)
    dims = ["tilt", "defocus", "x", "y"]
    data = out
    coords: dict[str, Any] = {"x": exit_wave["x"], "y": exit_wave["y"]}
    if has_tilt:
        coords["tilt"] = xr.DataArray(np.asarray(tilts, float), dims="tilt", attrs=_COORD_ATTRS["tilt"])
    else:
        data, dims = data[0], dims[1:]
    if defocus_a is not None:
        coords["defocus"] = xr.DataArray(np.asarray(defoci), dims="defocus", attrs=_COORD_ATTRS["defocus"])
    else:
        data = data[..., 0, :, :]
        dims = [d for d in dims if d != "defocus"]
    return xr.DataArray(
        data, dims=dims, coords=coords, name="image",
        attrs={"long_name": "image intensity", "units": "1 (vacuum = 1)", "microscope": scope.attrs()},
    )


def _check_energy(exit_wave: xr.DataArray, energy_kev: float) -> None:
    energy = exit_wave.attrs.get("energy_kev")
    if energy is not None and abs(float(energy) - energy_kev) > 1e-6:
        raise HrtemError(
            f"exit waves were computed at {energy} keV but microscope.energy_kev is {energy_kev}; "
            "recompute the exit waves or use the same energy"
        )


# --------------------------------------------------------------------------- the writer
def write_ensemble(
    path: str | os.PathLike,
    camera_image: Callable[[int, int], np.ndarray],
    *,
    tilts_deg: Sequence[float],
    defocus_a: Sequence[float],
    doses_e_per_a2: Sequence[float],
    samples: int,
    camera_shape: tuple[int, int],
    detector: Mapping[str, Any] | None,
    seed: int,
    keys: Sequence[str | int] = (),
    samples_per_block: int = 10,
    threads: int = 1,
    attrs: Mapping[str, Any] | None = None,
    dask_cluster: Mapping[str, Any] | None = None,
) -> Path:
    """Write a noise ensemble store from a function giving each noise-free camera image.

    Parameters
    ----------
    path
        Target store (written atomically).
    camera_image
        ``camera_image(tilt_i, defocus_i)`` → the noise-free intensity
        resampled to the camera pixel, ``camera_shape``, vacuum = 1. Called
        once per (tilt, defocus) inside a Dask task.
    tilts_deg, defocus_a, doses_e_per_a2
        Coordinate values (degree, Å, e⁻/Å²).
    samples
        Noise realisations per (tilt, defocus, dose).
    camera_shape
        ``(nx, ny)`` of the camera images.
    detector
        The ``detector`` config section (camera pixel, MTF, output units);
        its dose is ignored.
    seed, keys
        Config seed and the rule's keys; block ``b`` of (tilt i, defocus j,
        dose k) draws from ``rng(seed, *keys, i, j, k, b)``.
    samples_per_block
        Realisations per chunk (and per task).
    threads
        Dask worker threads (the rule's ``threads``).
    attrs
        Extra global attributes (provenance).
    dask_cluster
        The ``dask`` config section: where the tasks run (:mod:`hrtem.cluster`;
        None = local threads). The bytes do not depend on it.
    """
    import dask
    import dask.array as dsa

    from hrtem.cluster import distributed_client
    import zarr

    from hrtem.io.stores import FORMAT_TAG, _jsonable, atomic_path
    from hrtem.optics.detector import apply_mtf, shot_noise
    from hrtem.seeding import rng

    tilts = _check_list("tilts_deg", tilts_deg)
    defoci = _check_list("defocus_a", defocus_a)
    doses = _check_list("doses_e_per_a2", doses_e_per_a2, positive=True)
    if int(samples) < 1:
        raise HrtemError(f"samples must be ≥ 1, got {samples}")
    if int(samples_per_block) < 1:
        raise HrtemError(f"samples_per_block must be ≥ 1, got {samples_per_block}")
    if int(threads) < 1:
        raise HrtemError(f"threads must be ≥ 1, got {threads}")
    samples, block = int(samples), min(int(samples_per_block), int(samples))
    camera = _camera(detector)
    pixel = camera.sampling_a
    mtf_model, mtf_params = camera.mtf_model, dict(camera.mtf_params or {})
    normalise = camera.output == "normalised"
    nx, ny = (int(camera_shape[0]), int(camera_shape[1]))
    n_blocks = -(-samples // block)

    from hrtem.estimate import require_disk, require_memory

    n_images = len(tilts) * len(defoci) * len(doses) * samples
    require_disk(
        n_images * nx * ny * 4 + samples * 8, Path(path).parent,
        f"an ensemble of {n_images} images of {nx} × {ny} px", "samples (images.ensemble.samples / --samples)",
    )
    require_memory(
        (len(tilts) * len(defoci) + 3 * int(threads) * block) * nx * ny * 8 + samples * 8,
        f"ensemble blocks of {block} images of {nx} × {ny} px on {threads} thread(s)",
        "samples_per_block (images.ensemble.samples_per_block / --samples-per-block)",
    )

    shape = (len(tilts), len(defoci), len(doses), samples, nx, ny)
    chunks = (1, 1, 1, block, nx, ny)
    template = xr.Dataset(
        {
            "image": (
                ENSEMBLE_DIMS,
                # one lazy dask chunk: only the metadata is written from it (zarr
                # chunks come from the encoding), so the template's graph does
                # not grow with the number of samples
                dsa.zeros(shape, chunks=shape, dtype=np.float32),
                {
                    "long_name": "detected image",
                    "units": "1 (vacuum = 1)" if normalise else "counts",
                    "samples_per_block": block,
                    "noise_seed_keys": [*map(str, keys), "tilt_i", "defocus_i", "dose_i", "block_i"],
                },
            ),
            "noise_free": (
                ("tilt", "defocus", "x", "y"),
                dsa.zeros(shape[:2] + (nx, ny), chunks=(1, 1, nx, ny), dtype=np.float32),
                {"long_name": "detected image without shot noise (resampled, √MTF)", "units": "1 (vacuum = 1)"},
            ),
        },
        coords=_coords(tilts, defoci, doses, samples, (nx, ny), pixel),
        attrs=_jsonable({**dict(attrs or {}), "detector": camera.to_config(), "hrtem_format": FORMAT_TAG}),
    )
    encoding = {"image": {"chunks": chunks}, "noise_free": {"chunks": (1, 1, nx, ny)}}

    # The zarr arrays are opened once and captured by the tasks (not passed as
    # task arguments): opening one per task re-reads its metadata, and Dask
    # walks every argument of every task when it builds the graph.
    arrays: dict[str, Any] = {}

    def noise_free(cam: np.ndarray, i: int, j: int) -> int:
        arrays["noise_free"][i, j] = apply_mtf(cam, pixel, mtf_model, **mtf_params).astype(np.float32)
        return 1

    def noise_block(cam: np.ndarray, i: int, j: int, k: int, b: int) -> int:
        lo, hi = b * block, min(samples, (b + 1) * block)
        generator = rng(seed, *keys, i, j, k, b)
        stack = np.broadcast_to(cam, (hi - lo, nx, ny))
        counts = shot_noise(stack, doses[k], pixel, generator, normalise=normalise)
        arrays["image"][i, j, k, lo:hi] = apply_mtf(counts, pixel, mtf_model, **mtf_params).astype(np.float32)
        return 1

    def checked_camera(i: int, j: int) -> np.ndarray:
        cam = np.asarray(camera_image(i, j), dtype=float)
        if cam.shape != (nx, ny):
            raise HrtemError(f"camera image of shape {cam.shape} does not match the store's {(nx, ny)}")
        return cam

    with atomic_path(path) as tmp:
        template.to_zarr(tmp, mode="w", compute=False, zarr_format=3, consolidated=False, encoding=encoding)
        group = zarr.open_group(tmp, mode="r+", zarr_format=3)
        arrays.update(image=group["image"], noise_free=group["noise_free"])
        with distributed_client(dask_cluster) as client:

            def run(batch: list[Any]) -> tuple:
                if client is None:
                    return dask.compute(*batch, scheduler="threads", num_workers=int(threads))
                return dask.compute(*batch, scheduler=client)

            # 1. the noise-free camera images, one task per (tilt, defocus), in parallel
            pairs = [(i, j) for i in range(len(tilts)) for j in range(len(defoci))]
            cams = run([dask.delayed(checked_camera, pure=False)(i, j, dask_key_name=f"camera-{i}-{j}") for i, j in pairs])
            cam_of = dict(zip(pairs, cams))

            # 2. noise-free and noise blocks, in batches of tasks: the graph (and
            #    the memory) stay the same size for any number of samples
            def tasks():
                for i, j in pairs:
                    yield dask.delayed(noise_free, pure=False)(cam_of[i, j], i, j, dask_key_name=f"free-{i}-{j}")
                    for k in range(len(doses)):
                        for b in range(n_blocks):
                            yield dask.delayed(noise_block, pure=False)(
                                cam_of[i, j], i, j, k, b, dask_key_name=f"noise-{i}-{j}-{k}-{b}"
                            )

            batch_size = max(64, 16 * int(threads))
            done_count = 0
            batch: list[Any] = []
            for task in tasks():
                batch.append(task)
                if len(batch) == batch_size:
                    done_count += sum(run(batch))
                    batch = []
            if batch:
                done_count += sum(run(batch))
        done = [done_count]
        expected = len(tilts) * len(defoci) * (1 + len(doses) * n_blocks)
        missing = _missing_chunks(Path(tmp), shape, chunks)
        if sum(done) != expected or missing:
            raise HrtemError(f"ensemble store {path}: {missing or 'some'} chunks were not written; re-run the rule")
    return Path(path)


def _missing_chunks(store: Path, shape: tuple[int, ...], chunks: tuple[int, ...]) -> int:
    """Number of ``image`` chunk files absent from a store (zarr v3 default key encoding)."""
    grid = [-(-n // c) for n, c in zip(shape, chunks)]
    missing = 0
    for index in np.ndindex(*grid):
        if not (store / "image" / "c" / Path(*map(str, index))).is_file():
            missing += 1
    return missing


# --------------------------------------------------------------------------- front ends
def image_ensemble(
    exit_wave: xr.DataArray,
    path: str | os.PathLike,
    *,
    microscope: Mapping[str, Any],
    detector: Mapping[str, Any] | None,
    doses_e_per_a2: Sequence[float],
    samples: int,
    defocus_a: Sequence[float] | None = None,
    seed: int,
    keys: Sequence[str | int] = (),
    samples_per_block: int = 10,
    threads: int = 1,
    attrs: Mapping[str, Any] | None = None,
    dask_cluster: Mapping[str, Any] | None = None,
) -> Path:
    """Ensemble of detected images from exit waves over tilt × defocus × dose × sample.

    Parameters
    ----------
    exit_wave
        ``(config, x, y)`` or ``(tilt, config, x, y)`` complex exit waves,
        preferably lazy (:func:`hrtem.io.open_store`): each (tilt, defocus)
        task loads only its tilt.
    path
        Target store, one per camera sampling (``detector.sampling_a``).
    microscope
        The ``microscope`` config section; ``defocus_a`` overrides its defocus.
    detector
        The ``detector`` config section (camera pixel, MTF, output).
    doses_e_per_a2, samples, defocus_a
        The sweep: doses (e⁻/Å²), realisations per dose, defoci C10 (Å,
        thesis sign; None = the microscope's).
    seed, keys, samples_per_block, threads, attrs, dask_cluster
        See :func:`write_ensemble`.

    Returns
    -------
    Path
        The store (module docstring for its layout).
    """
    from hrtem.optics import Microscope
    from hrtem.optics.detector import resample_bilinear, resampled_shape

    scope = Microscope.from_config(microscope)
    _check_energy(exit_wave, scope.energy_kev)
    if "config" not in exit_wave.dims:
        raise HrtemError(f"exit waves must have a 'config' dimension, got dims {exit_wave.dims}")
    extra = set(exit_wave.dims) - {"tilt", "config", "x", "y"}
    if extra:
        raise HrtemError(f"exit waves have unexpected dimension(s) {sorted(extra)}; expected (tilt,) config, x, y")
    sampling = sampling_of(exit_wave)
    has_tilt = "tilt" in exit_wave.dims
    tilts = [float(t) for t in exit_wave["tilt"].values] if has_tilt else [0.0]
    defoci = [scope.defocus_a] if defocus_a is None else _check_list("defocus_a", defocus_a)
    camera = _camera(detector)
    shape = resampled_shape((exit_wave.sizes["x"], exit_wave.sizes["y"]), sampling, camera.sampling_a)
    waves_xy = exit_wave.transpose(*(("tilt",) if has_tilt else ()), "config", "x", "y")
    # The lens tasks (one per tilt × defocus) come first and every noise task
    # waits for one: with fewer of them than threads, their FFTs share the
    # idle threads (a single defocus on 2 threads: 2 FFT workers). On a
    # distributed cluster each task keeps to one thread.
    from hrtem.cluster import scheduler_of

    n_lens = len(tilts) * len(defoci)
    lens_workers = 1 if scheduler_of(dask_cluster) else max(1, int(threads) // n_lens)

    def camera_image(i: int, j: int) -> np.ndarray:
        import dask

        with dask.config.set(scheduler="synchronous"):  # a lazy store is read inside this task
            waves = np.asarray((waves_xy.isel(tilt=i) if has_tilt else waves_xy).values)
        intensity = scope.with_(defocus_a=defoci[j]).image(waves, sampling, workers=lens_workers)
        return resample_bilinear(intensity, sampling, camera.sampling_a)

    info = {
        **dict(attrs or {}),
        "microscope": scope.attrs(),
        "simulation_sampling_a": list(sampling),
        "tilt_axis_deg": exit_wave.attrs.get("tilt_axis_deg", 0.0),
    }
    return write_ensemble(
        path, camera_image, tilts_deg=tilts, defocus_a=defoci, doses_e_per_a2=doses_e_per_a2,
        samples=samples, camera_shape=shape, detector=detector, seed=seed, keys=keys,
        samples_per_block=samples_per_block, threads=threads, attrs=info, dask_cluster=dask_cluster,
    )


def noise_ensemble(
    image: xr.DataArray,
    path: str | os.PathLike,
    *,
    detector: Mapping[str, Any] | None,
    doses_e_per_a2: Sequence[float],
    samples: int,
    seed: int,
    keys: Sequence[str | int] = (),
    samples_per_block: int = 10,
    threads: int = 1,
    attrs: Mapping[str, Any] | None = None,
    dask_cluster: Mapping[str, Any] | None = None,
) -> Path:
    """Ensemble of noisy camera images from noise-free intensities (an image store).

    ``image`` has dims ``(x, y)``, optionally with leading ``tilt`` and/or
    ``defocus`` (e.g. the ``image`` variable written by ``hrtem image`` or
    ``hrtem simulate image``), at the simulation sampling, vacuum = 1. It is
    resampled to the camera pixel (``detector.sampling_a``) and given
    ``samples`` shot-noise realisations per dose (:func:`write_ensemble`).
    """
    from hrtem.optics.detector import resample_bilinear, resampled_shape

    extra = set(image.dims) - {"tilt", "defocus", "x", "y"}
    if extra or "x" not in image.dims or "y" not in image.dims:
        raise HrtemError(
            f"image {image.name!r} has dims {image.dims}; a noise-free intensity with dims ([tilt,] [defocus,] x, y) "
            "is needed (the 'image' of 'hrtem image' or 'hrtem simulate image', not an ensemble)"
        )
    sampling = sampling_of(image)
    full = image
    if "defocus" not in full.dims:
        # the image's own defocus, when its microscope is recorded (NaN otherwise)
        defocus = float((image.attrs.get("microscope") or {}).get("defocus_a", np.nan))
        full = full.expand_dims({"defocus": [defocus]})
    if "tilt" not in full.dims:
        full = full.expand_dims({"tilt": [0.0]})
    full = full.transpose("tilt", "defocus", "x", "y")
    camera = _camera(detector)
    shape = resampled_shape((image.sizes["x"], image.sizes["y"]), sampling, camera.sampling_a)

    def camera_image(i: int, j: int) -> np.ndarray:
        import dask

        with dask.config.set(scheduler="synchronous"):
            values = np.asarray(full.isel(tilt=i, defocus=j).values)
        return resample_bilinear(values, sampling, camera.sampling_a)

    info = {**dict(attrs or {}), "simulation_sampling_a": list(sampling)}
    if "microscope" in image.attrs:
        info["microscope"] = image.attrs["microscope"]
    return write_ensemble(
        path, camera_image,
        tilts_deg=[float(t) for t in full["tilt"].values],
        defocus_a=[float(d) for d in full["defocus"].values],
        doses_e_per_a2=doses_e_per_a2, samples=samples, camera_shape=shape, detector=detector,
        seed=seed, keys=keys, samples_per_block=samples_per_block, threads=threads, attrs=info,
        dask_cluster=dask_cluster,
    )
