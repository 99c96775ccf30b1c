"""From stored exit waves to lens images and detector images (xarray in, xarray out)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

from hrtem.errors import HrtemError

__all__ = ["lens_image", "detector_image", "sampling_of"]


def sampling_of(data: xr.DataArray) -> tuple[float, float]:
    """Pixel size (Å) along ``x`` and ``y`` from the coordinates."""
    out = []
    for dim in ("x", "y"):
        if dim not in data.coords or data.sizes[dim] < 2:
            raise HrtemError(f"array has no regular '{dim}' coordinate in Å; was it written by hrtem?")
        out.append(float(data[dim][1] - data[dim][0]))
    return out[0], out[1]


def _xy_coords(shape: tuple[int, int], sampling: tuple[float, float]) -> dict[str, xr.DataArray]:
    return {
        dim: xr.DataArray(np.arange(n) * s, dims=dim, attrs={"units": "Å", "long_name": f"{dim} position"})
        for dim, n, s in zip(("x", "y"), shape, sampling)
    }


def lens_image(exit_wave: xr.DataArray, microscope: Mapping[str, Any]) -> xr.DataArray:
    """Objective lens applied per configuration; intensities averaged.

    Parameters
    ----------
    exit_wave
        ``(config, x, y)`` complex exit waves (``x``/``y`` in Å), attrs ``energy_kev``.
    microscope
        The ``microscope`` config section.

    Returns
    -------
    xarray.DataArray
        ``image`` ``(x, y)``: mean over configurations of ``|F⁻¹[F[ψ]·H]|²``
        (vacuum = 1), with the microscope parameters as attributes.
    """
    from hrtem.optics import Microscope

    scope = Microscope.from_config(microscope)
    energy = exit_wave.attrs.get("energy_kev")
    if energy is not None and abs(float(energy) - scope.energy_kev) > 1e-6:
        raise HrtemError(
            f"exit waves were computed at {energy} keV but microscope.energy_kev is {scope.energy_kev}; "
            "recompute the exit waves or use the same energy"
        )
    sampling = sampling_of(exit_wave)
    waves = exit_wave.transpose(..., "x", "y").values
    intensity = scope.image(waves, sampling)
    return xr.DataArray(
        intensity.astype(np.float32),
        dims=("x", "y"),
        coords=_xy_coords(intensity.shape, sampling),
        name="image",
        attrs={"long_name": "image intensity", "units": "1 (vacuum = 1)", "microscope": scope.attrs()},
    )


def detector_image(
    image: xr.DataArray, detector: Mapping[str, Any], *, seed: int, keys: Sequence[str | int] = ()
) -> xr.DataArray:
    """The camera: bilinear resampling to its pixel, Poisson shot noise, MTF.

    Returns
    -------
    xarray.DataArray
        ``image`` ``(x, y)`` at the camera sampling, in units of the vacuum
        intensity (counts divided by D·δ²), so its mean matches the noise-free
        image's; attrs hold the dose and the detector parameters.
    """
    from hrtem.optics import Detector
    from hrtem.seeding import rng

    camera = Detector.from_config(detector)
    sampling = sampling_of(image)
    generator = rng(seed, *keys, "shot_noise")
    noisy = camera.detect(image.transpose("x", "y").values, sampling, generator)
    pixel = (camera.sampling_a, camera.sampling_a)
    units = "counts" if camera.output == "counts" else "1 (vacuum = 1)"
    return xr.DataArray(
        np.asarray(noisy, dtype=np.float32),
        dims=("x", "y"),
        coords=_xy_coords(noisy.shape, pixel),
        name="image",
        attrs={"long_name": "detected image", "units": units, "detector": camera.to_config()},
    )
