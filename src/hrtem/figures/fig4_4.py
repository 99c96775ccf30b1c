"""fig4_4: the exit wave of a particle vs the sum of its columns' scattered waves (thesis Fig. 4.4).

Channelling (thesis §4.3.1, Eq. 4.4–4.5): along a zone axis each atomic column
scatters nearly independently, so the full exit wave is close to

    ψ_full ≈ ψ0 + Σ_i ψ_s,i,     ψ_s,i = ψ_i − ψ0,

where ψ_i is the exit wave of an identical simulation that keeps only column i
and ψ0 = 1 the incident plane wave. The projected columns come from
:func:`hrtem.structures.project_columns`; every column is simulated alone in
the full cell on the same grid (abTEM, static atoms, one multislice per
column). The same comparison is repeated at the image plane, where the
columns' scattered waves overlap: each ψ_i goes through the lens
(``images.microscope``, the ch. 4 preset) and ψ0 through the same lens
before summing.

Panels: (a) |ψ_full|², (b) |1 + Σ ψ_s,i|², (c) ``difference_scale`` × (a − b);
(d–f) the same after the lens. Inputs: the particle (extxyz). Params:
``{"fig4_4": images.fig4_4, "microscope": images.microscope, "simulate":
simulate, "threads": N}``. Data: ``fig4_4.zarr`` with the six images and the
RMS and maximum differences as attributes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from hrtem.errors import HrtemError
from hrtem.figures.fidelity import Claim
from hrtem.figures.style import image_extent, save_figure
from hrtem.io import provenance, read_atoms, write_dataset

__all__ = ["make", "column_sum"]


CLAIMS = [
    Claim("RMS(full − column sum) / std(full), exit wave", "%", thesis="ψ_full ≈ ψ0 + Σ ψ_s,i (Eq. 4.5)",
          source="003 L2159", ours=lambda d: 100 * float(d.attrs["exit_relative_rms_difference"]),
          holds=lambda ours, d: ours <= 2.0, criterion="≤ 2 % (the thesis shows the difference ×50)", digits=3,
          note=lambda d: f"{d.attrs['columns']} columns, {d.attrs['atoms']} atoms"),
    Claim("RMS(full − column sum) / std(full), image plane", "%", thesis="also holds at the image plane",
          source="003 L2174", ours=lambda d: 100 * float(d.attrs["image_relative_rms_difference"]),
          holds=lambda ours, d: ours <= 2.0, criterion="≤ 2 %", digits=3,
          note="lens applied to every column's wave before summing"),
]


def column_sum(column_waves: np.ndarray, incident: complex | np.ndarray = 1.0) -> np.ndarray:
    """ψ0 + Σ_i (ψ_i − ψ0) over the first axis (Eq. 4.5)."""
    waves = np.asarray(column_waves)
    return incident + (waves - incident).sum(axis=0)


def make(inputs: list[Path], png: Path, params: dict, seed: int) -> None:
    """Make fig4_4 (see module docstring)."""
    import dask
    import matplotlib.pyplot as plt

    from hrtem.optics import Microscope
    from hrtem.simulate.exit_waves import exit_waves
    from hrtem.structures.columns import project_columns

    if len(inputs) != 1:
        raise HrtemError("fig4_4 needs one input: the particle (extxyz)")
    p = params.get("fig4_4", {})
    microscope, simulate = params.get("microscope"), params.get("simulate")
    if microscope is None or simulate is None:
        raise HrtemError("fig4_4 needs params with 'microscope' (images.microscope) and 'simulate' sections")
    scale = float(p.get("difference_scale", 50.0))
    atoms = read_atoms(inputs[0])
    columns = project_columns(atoms, tolerance_a=float(p.get("column_tolerance_a", 0.5)), periodic=False)
    frames = [atoms[columns.labels == i] for i in range(len(columns.counts))]
    energy = float(microscope["energy_kev"])
    fp = simulate.get("frozen_phonons", {})
    static = {**simulate, "frozen_phonons": {**fp, "model": "none"}}
    separate = {**simulate, "frozen_phonons": {**fp, "model": "md"}}  # one "configuration" per column

    with dask.config.set(scheduler="threads", num_workers=max(1, int(params.get("threads", 1)))):
        full = exit_waves(atoms, energy_kev=energy, simulate=static, seed=seed, keys=("fig4_4",))
        per_column = exit_waves(frames, energy_kev=energy, simulate=separate, seed=seed, keys=("fig4_4",))
    if per_column.shape[-2:] != full.shape[-2:]:  # pragma: no cover - same cell, same grid
        raise HrtemError("column waves and full wave are on different grids")
    sampling = (float(full.x[1] - full.x[0]), float(full.y[1] - full.y[0]))
    psi_full = full.values[0].astype(np.complex128)
    psi_cols = per_column.values.astype(np.complex128)
    psi_sum = column_sum(psi_cols)

    scope = Microscope.from_config(microscope)
    lens_full = scope.apply(psi_full, sampling)
    lens_cols = scope.apply(psi_cols, sampling)
    lens_incident = scope.apply(np.ones_like(psi_full), sampling)
    lens_sum = column_sum(lens_cols, lens_incident)

    images = {
        "exit_full": np.abs(psi_full) ** 2,
        "exit_sum": np.abs(psi_sum) ** 2,
        "image_full": np.abs(lens_full) ** 2,
        "image_sum": np.abs(lens_sum) ** 2,
    }
    images["exit_difference"] = images["exit_full"] - images["exit_sum"]
    images["image_difference"] = images["image_full"] - images["image_sum"]
    stats = {}
    for plane in ("exit", "image"):
        diff, ref = images[f"{plane}_difference"], images[f"{plane}_full"]
        stats[f"{plane}_rms_difference"] = float(np.sqrt(np.mean(diff**2)))
        stats[f"{plane}_max_abs_difference"] = float(np.abs(diff).max())
        stats[f"{plane}_intensity_std"] = float(ref.std())
        stats[f"{plane}_relative_rms_difference"] = float(np.sqrt(np.mean(diff**2)) / ref.std())
    stats["columns"] = int(len(frames))
    stats["atoms"] = int(len(atoms))

    extent = image_extent(*psi_full.shape, sampling)
    fig, axes = plt.subplots(2, 3, figsize=(14, 9), constrained_layout=True)
    titles = {
        "exit": ("(a) exit wave, full potential", "(b) 1 + Σ column scattered waves", "(c)"),
        "image": ("(d) image, full potential", "(e) lens applied per column, then summed", "(f)"),
    }
    for row, plane in enumerate(("exit", "image")):
        full_i, sum_i, diff = images[f"{plane}_full"], images[f"{plane}_sum"], images[f"{plane}_difference"]
        lo, hi = float(min(full_i.min(), sum_i.min())), float(max(full_i.max(), sum_i.max()))
        for col, data in enumerate((full_i, sum_i)):
            ax = axes[row, col]
            im = ax.imshow(data.T, origin="lower", extent=extent, cmap="gray", vmin=lo, vmax=hi)
            ax.set_title(titles[plane][col])
            fig.colorbar(im, ax=ax, label="intensity (vacuum = 1)", shrink=0.8)
        ax = axes[row, 2]
        lim = max(hi - lo, 1e-12) / 2
        im = ax.imshow(scale * diff.T, origin="lower", extent=extent, cmap="RdBu_r", vmin=-lim, vmax=lim)
        ax.set_title(f"{titles[plane][2]} {scale:g} × ({'a − b' if plane == 'exit' else 'd − e'}), "
                     f"RMS {stats[f'{plane}_rms_difference']:.2g}")
        fig.colorbar(im, ax=ax, label=f"{scale:g} × ΔI", shrink=0.8)
    for ax in axes.ravel():
        ax.set_xlabel("x (Å)")
        ax.set_ylabel("y (Å)")
    fig.suptitle(f"{len(atoms)}-atom particle, {len(frames)} columns simulated one by one; "
                 f"lens: Cs = {scope.cs_a / 1e4:g} µm, Δf = {scope.defocus_a / 10:g} nm")
    save_figure(fig, png)

    coords = {
        "x": xr.DataArray(full.x.values, dims="x", attrs={"units": "Å"}),
        "y": xr.DataArray(full.y.values, dims="y", attrs={"units": "Å"}),
    }
    data = xr.Dataset(
        {k: (("x", "y"), v.astype(np.float32), {"units": "1 (vacuum = 1)"}) for k, v in images.items()},
        coords=coords,
        attrs={**stats, "microscope": scope.attrs(), "difference_scale": scale},
    )
    write_dataset(data, png.with_suffix(".zarr"), attrs=provenance(config=params, seed=seed, rule="fig4_4"))
    print(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in stats.items()))
