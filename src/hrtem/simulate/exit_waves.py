"""Exit waves of a structure for each frozen-phonon configuration (abTEM)."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr
from ase import Atoms

from hrtem.errors import HrtemError
from hrtem.seeding import rng
from hrtem.simulate.grid import grid_for

__all__ = ["thermal_ensemble", "exit_waves", "projected_potential"]


#: ``simulate.fftw_planning`` -> FFTW flag. FFTW_MEASURE times candidate
#: algorithms and may pick a different one when the machine is busy, which
#: changes the last bits of the result; FFTW_ESTIMATE is deterministic and was
#: as fast here (12.2 ms per 960×1024 complex64 FFT pair for both).
_FFTW_PLANNING = {"estimate": "FFTW_ESTIMATE", "measure": "FFTW_MEASURE"}


def _check_sigmas(atoms: Atoms, sigma_a: Mapping[str, float]) -> dict[str, float]:
    symbols = sorted(set(atoms.get_chemical_symbols()))
    missing = [s for s in symbols if s not in sigma_a]
    if missing:
        raise HrtemError(
            f"no Einstein displacement for element(s) {missing}: add "
            + ", ".join(f"simulate.frozen_phonons.sigma_a.{s}" for s in missing)
            + " (RMS displacement in Å)"
        )
    return {s: float(sigma_a[s]) for s in symbols}


def thermal_ensemble(
    atoms: Atoms | Sequence[Atoms],
    frozen_phonons: Mapping[str, Any],
    seed: int,
    *keys: str | int,
) -> Any:
    """The thermal configurations abTEM will simulate.

    Parameters
    ----------
    atoms
        One structure (Einstein or static model) or a list of MD snapshots.
    frozen_phonons
        The ``simulate.frozen_phonons`` config section: ``model``
        (einstein | md | none), ``configurations``, ``sigma_a``.
    seed, *keys
        Config seed and the rule's keys; the Einstein displacements are drawn
        from ``hrtem.seeding.rng(seed, *keys, "frozen_phonons")``.

    Returns
    -------
    abtem.FrozenPhonons | abtem.AtomsEnsemble | ase.Atoms
    """
    import abtem

    model = frozen_phonons.get("model", "einstein")
    if model == "md" or (not isinstance(atoms, Atoms)):
        frames = [atoms] if isinstance(atoms, Atoms) else list(atoms)
        if not frames:
            raise HrtemError("the MD trajectory has no snapshots")
        return abtem.AtomsEnsemble(frames)
    if model == "none":
        return atoms
    if model != "einstein":
        raise HrtemError(f"simulate.frozen_phonons.model {model!r} unknown; use einstein, md or none")
    sigmas = _check_sigmas(atoms, frozen_phonons.get("sigma_a", {}))
    abtem_seed = int(rng(seed, *keys, "frozen_phonons").integers(2**31 - 1))
    return abtem.FrozenPhonons(
        atoms, num_configs=int(frozen_phonons.get("configurations", 4)), sigmas=sigmas, seed=abtem_seed
    )


def _fftw(simulate: Mapping[str, Any]) -> Any:
    """abTEM config context with the FFTW planning of ``simulate.fftw_planning``.

    Every abTEM computation that plans an FFT (potential building included) runs
    inside it, so the default (estimate) is bit-for-bit reproducible.
    """
    import abtem

    return abtem.config.set({"fftw.planning_effort": _FFTW_PLANNING[simulate.get("fftw_planning", "estimate")]})


def _potential(ensemble: Any, cell_xy: tuple[float, float], simulate: Mapping[str, Any], configurations: int = 1) -> Any:
    import abtem

    from hrtem.estimate import require_memory

    gpts = grid_for(cell_xy, float(simulate["sampling_a"]), bool(simulate.get("fft_friendly_gpts", True)))
    require_memory(
        # exit waves (complex64) of every configuration + a few working grids
        (configurations + 6) * gpts[0] * gpts[1] * 8,
        f"a {gpts[0]} × {gpts[1]} px simulation grid ({cell_xy[0]:.4g} × {cell_xy[1]:.4g} Å cell at "
        f"{float(simulate['sampling_a']):g} Å/px) with {configurations} configuration(s)",
        "simulate.sampling_a (larger) or a smaller cell",
    )
    return abtem.Potential(
        ensemble,
        gpts=gpts,
        slice_thickness=float(simulate["slice_thickness_a"]),
        parametrization=simulate.get("parametrization", "lobato"),
        projection=simulate.get("projection", "infinite"),
    )


def _cell_xy(atoms: Atoms | Sequence[Atoms]) -> tuple[float, float]:
    first = atoms if isinstance(atoms, Atoms) else atoms[0]
    cell = first.cell
    if not cell.orthorhombic:
        raise HrtemError("the structure's cell must be orthogonal (beam along z); use ase's orthogonalize or a box")
    lengths = cell.lengths()
    if np.any(lengths[:2] <= 0) or lengths[2] <= 0:
        raise HrtemError("the structure has no cell; set one (e.g. atoms.center(vacuum=2))")
    return float(lengths[0]), float(lengths[1])


def _coords(n: tuple[int, int], cell_xy: tuple[float, float]) -> dict[str, xr.DataArray]:
    out = {}
    for name, npts, length in zip(("x", "y"), n, cell_xy):
        step = length / npts
        out[name] = xr.DataArray(
            np.arange(npts) * step, dims=name, attrs={"units": "Å", "long_name": f"{name} position"}
        )
    return out


def _multislice(
    atoms: Atoms | Sequence[Atoms],
    cell_xy: tuple[float, float],
    energy_kev: float,
    simulate: Mapping[str, Any],
    seed: int,
    keys: Sequence[str | int],
) -> np.ndarray:
    """``(config, nx, ny)`` complex64 exit waves of one (possibly tilted) model."""
    import abtem

    ensemble = thermal_ensemble(atoms, simulate["frozen_phonons"], seed, *keys)
    fp = simulate["frozen_phonons"]
    if not isinstance(atoms, Atoms):
        n_configs = len(atoms)
    else:
        n_configs = int(fp.get("configurations", 1)) if fp.get("model", "einstein") == "einstein" else 1
    potential = _potential(ensemble, cell_xy, simulate, n_configs)
    waves = abtem.PlaneWave(energy=energy_kev * 1e3, normalize=False).multislice(potential)
    with _fftw(simulate):
        array = np.asarray(waves.compute(progress_bar=sys.stderr.isatty()).array, dtype=np.complex64)
    return array[None] if array.ndim == 2 else array


def exit_waves(
    atoms: Atoms | Sequence[Atoms],
    *,
    energy_kev: float,
    simulate: Mapping[str, Any],
    seed: int,
    keys: Sequence[str | int] = (),
    tilts_deg: Sequence[float] | None = None,
    tilt_axis_deg: float = 0.0,
) -> xr.DataArray:
    """Multislice exit waves, one per thermal configuration (and per specimen tilt).

    Parameters
    ----------
    atoms
        Structure (beam along −z … +z through the cell) or MD snapshots.
    energy_kev
        Beam energy in keV.
    simulate
        The ``simulate`` config section (sampling_a, slice_thickness_a,
        parametrization, projection, fft_friendly_gpts, frozen_phonons).
    seed, keys
        Config seed and the rule's keys (see :mod:`hrtem.seeding`).
    tilts_deg
        Specimen tilts in degrees (:func:`hrtem.simulate.tilt.tilt_frames`: a
        rotation about the in-plane axis at ``tilt_axis_deg`` through the cell
        centre, applied before the multislice). ``None``: no tilt dimension.
        Every tilt uses the same thermal displacements (same seed and keys), so
        a tilt of 0 reproduces the untilted waves exactly.
    tilt_axis_deg
        Direction of the tilt axis in the xy plane, degrees from x.

    Returns
    -------
    xarray.DataArray
        ``exit_wave`` of dims ``(config, x, y)``, or ``(tilt, config, x, y)``
        when ``tilts_deg`` is given, complex64, normalised so a vacuum wave has
        ``|ψ|² = 1``; ``x``, ``y`` in Å, ``tilt`` in degrees; attrs
        ``energy_kev``, ``sampling_a`` (the actual sampling after grid
        rounding) and, with tilts, ``tilt_axis_deg``.
    """
    from hrtem.simulate.tilt import tilt_frames

    if energy_kev <= 0:
        raise HrtemError(f"microscope.energy_kev must be > 0, got {energy_kev}")
    cell_xy = _cell_xy(atoms)
    if tilts_deg is None:
        array = _multislice(atoms, cell_xy, energy_kev, simulate, seed, keys)
        dims: tuple[str, ...] = ("config", "x", "y")
        extra_coords: dict[str, Any] = {}
    else:
        tilts = [float(t) for t in tilts_deg]
        if not tilts:
            raise HrtemError("the tilt list is empty; give at least one tilt in degrees (e.g. [0])")
        array = np.stack(
            [
                _multislice(tilt_frames(atoms, t, tilt_axis_deg), cell_xy, energy_kev, simulate, seed, keys)
                for t in tilts
            ]
        )
        dims = ("tilt", "config", "x", "y")
        extra_coords = {
            "tilt": xr.DataArray(
                np.asarray(tilts), dims="tilt", attrs={"units": "degree", "long_name": "specimen tilt"}
            )
        }
    coords = _coords(array.shape[-2:], cell_xy)
    attrs: dict[str, Any] = {
        "long_name": "exit wave per frozen-phonon configuration",
        "units": "1 (vacuum |ψ|² = 1)",
        "energy_kev": float(energy_kev),
        "sampling_a": [cell_xy[0] / array.shape[-2], cell_xy[1] / array.shape[-1]],
    }
    if tilts_deg is not None:
        attrs["tilt_axis_deg"] = float(tilt_axis_deg)
    return xr.DataArray(
        array,
        dims=dims,
        coords={**extra_coords, "config": np.arange(array.shape[-3]), **coords},
        name="exit_wave",
        attrs=attrs,
    )


def projected_potential(atoms: Atoms, *, simulate: Mapping[str, Any]) -> xr.DataArray:
    """Projected electrostatic potential of the static structure (V·Å), dims ``(x, y)``."""
    cell_xy = _cell_xy(atoms)
    potential = _potential(atoms, cell_xy, simulate)
    with _fftw(simulate):
        array = np.asarray(potential.build().project().compute(progress_bar=False).array, dtype=np.float32)
    coords = _coords(array.shape, cell_xy)
    return xr.DataArray(
        array,
        dims=("x", "y"),
        coords=coords,
        name="projected_potential",
        attrs={"long_name": "projected potential", "units": "V·Å"},
    )
