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


def _potential(ensemble: Any, cell_xy: tuple[float, float], simulate: Mapping[str, Any]) -> Any:
    import abtem

    gpts = grid_for(cell_xy, float(simulate["sampling_a"]), bool(simulate.get("fft_friendly_gpts", True)))
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


def exit_waves(
    atoms: Atoms | Sequence[Atoms],
    *,
    energy_kev: float,
    simulate: Mapping[str, Any],
    seed: int,
    keys: Sequence[str | int] = (),
) -> xr.DataArray:
    """Multislice exit waves, one per thermal configuration.

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

    Returns
    -------
    xarray.DataArray
        ``exit_wave`` of dims ``(config, x, y)``, complex64, normalised so a
        vacuum wave has ``|ψ|² = 1``; ``x``, ``y`` in Å; attrs ``energy_kev``
        and ``sampling_a`` (the actual sampling after grid rounding).
    """
    import abtem

    if energy_kev <= 0:
        raise HrtemError(f"microscope.energy_kev must be > 0, got {energy_kev}")
    cell_xy = _cell_xy(atoms)
    ensemble = thermal_ensemble(atoms, simulate["frozen_phonons"], seed, *keys)
    potential = _potential(ensemble, cell_xy, simulate)
    waves = abtem.PlaneWave(energy=energy_kev * 1e3, normalize=False).multislice(potential)
    array = np.asarray(waves.compute(progress_bar=sys.stderr.isatty()).array, dtype=np.complex64)
    if array.ndim == 2:
        array = array[None]
    coords = _coords(array.shape[-2:], cell_xy)
    return xr.DataArray(
        array,
        dims=("config", "x", "y"),
        coords={"config": np.arange(array.shape[0]), **coords},
        name="exit_wave",
        attrs={
            "long_name": "exit wave per frozen-phonon configuration",
            "units": "1 (vacuum |ψ|² = 1)",
            "energy_kev": float(energy_kev),
            "sampling_a": [cell_xy[0] / array.shape[-2], cell_xy[1] / array.shape[-1]],
        },
    )


def projected_potential(atoms: Atoms, *, simulate: Mapping[str, Any]) -> xr.DataArray:
    """Projected electrostatic potential of the static structure (V·Å), dims ``(x, y)``."""
    cell_xy = _cell_xy(atoms)
    potential = _potential(atoms, cell_xy, simulate)
    array = np.asarray(potential.build().project().compute(progress_bar=False).array, dtype=np.float32)
    coords = _coords(array.shape, cell_xy)
    return xr.DataArray(
        array,
        dims=("x", "y"),
        coords=coords,
        name="projected_potential",
        attrs={"long_name": "projected potential", "units": "V·Å"},
    )
