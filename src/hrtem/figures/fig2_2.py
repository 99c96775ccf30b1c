"""fig2_2: the image-simulation pipeline on a gold particle (thesis Fig. 2.2).

Panels: model → projected potential → exit-wave phase → lens image → detected
image. Inputs (in this order): model extxyz, potential store, exit-wave store,
image store, detected-image store. Data: ``fig2_2.zarr`` with the four arrays.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from hrtem.errors import HrtemError
from hrtem.figures.fidelity import Claim
from hrtem.figures.style import save_figure
from hrtem.io import provenance, read_atoms, read_dataset, write_dataset


def _step(d, dim: str) -> float:
    x = d.zarr[dim].values
    return float(x[1] - x[0])


def _scope(d) -> dict:
    return d.zarr["image"].attrs["microscope"]


_RUN = "a parameter of this run, read from the figure's data"
CLAIMS = [
    Claim("simulation sampling", "Å", thesis=0.05, source="003 L957", ours=lambda d: _step(d, "x_sim"),
          tolerance=0.005, note=_RUN),
    Claim("detector pixel after resampling", "Å", thesis=0.18, source="003 L994", ours=lambda d: _step(d, "x_det"),
          tolerance=0.01, note="nearest pixel that divides the cell exactly"),
    Claim("dose", "e⁻/Å²", thesis=1e4, source="003 L994",
          ours=lambda d: float(d.zarr["detected_image"].attrs["detector"]["dose_e_per_a2"]), rel_tolerance=1e-6,
          note=_RUN),
    Claim("Cs", "mm", thesis=0.6, source="003 L979", ours=lambda d: float(_scope(d)["cs_a"]) / 1e7,
          tolerance=1e-6, note=_RUN),
    Claim("defocus (Scherzer)", "nm", thesis=-41.25, source="003 L979",
          ours=lambda d: float(_scope(d)["defocus_a"]) / 10, tolerance=0.05, note=_RUN),
    Claim("focal spread", "Å", thesis=30.0, source="003 L981", ours=lambda d: float(_scope(d)["focal_spread_a"]),
          tolerance=0.5, note=_RUN),
]


def _extent(da: xr.DataArray) -> tuple[float, float, float, float]:
    dx = float(da.x[1] - da.x[0])
    dy = float(da.y[1] - da.y[0])
    return (0.0, da.sizes["x"] * dx, 0.0, da.sizes["y"] * dy)


def make(inputs: list[Path], png: Path, params: dict, seed: int) -> None:
    """Make fig2_2 (see module docstring)."""
    import matplotlib.pyplot as plt

    if len(inputs) != 5:
        raise HrtemError("fig2_2 needs 5 inputs: model, potential, exit wave, image, noisy image")
    model_path, pot_path, wave_path, image_path, noisy_path = inputs
    atoms = read_atoms(model_path)
    potential = read_dataset(pot_path, variables=("projected_potential",))["projected_potential"]
    waves = read_dataset(wave_path, variables=("exit_wave",))["exit_wave"]
    image = read_dataset(image_path, variables=("image",))["image"]
    noisy = read_dataset(noisy_path, variables=("image",))["image"]
    phase = xr.DataArray(
        np.angle(waves.isel(config=0).values).astype(np.float32),
        dims=("x", "y"), coords={"x": waves.x, "y": waves.y}, name="exit_wave_phase",
        attrs={"units": "rad", "long_name": "exit-wave phase, configuration 0"},
    )

    dose = params.get("detector", {}).get("dose_e_per_a2")
    pixel = float(noisy.x[1] - noisy.x[0])
    fig, axes = plt.subplots(1, 5, figsize=(21, 4.4), constrained_layout=True)
    pos = atoms.positions
    order = np.argsort(pos[:, 2])
    sc = axes[0].scatter(pos[order, 0], pos[order, 1], c=pos[order, 2], s=6, cmap="viridis")
    axes[0].set_aspect("equal")
    axes[0].set_xlim(0, atoms.cell[0, 0])
    axes[0].set_ylim(0, atoms.cell[1, 1])
    axes[0].set_title(f"model: {len(atoms)} {atoms.get_chemical_formula()[:2]} atoms")
    fig.colorbar(sc, ax=axes[0], label="z (Å)", shrink=0.8)
    from matplotlib.colors import PowerNorm

    panels = [
        (potential, "projected potential (√ scale)", "V·Å", PowerNorm(0.5)),
        (phase, "exit-wave phase (config 0)", "rad", None),
        (image, f"lens image, mean {float(image.mean()):.3f}", "I / I_vacuum", None),
        (noisy, f"detected: {pixel:.3g} Å/px, {dose:g} e⁻/Å²" if dose else f"detected: {pixel:.3g} Å/px", "I / I_vacuum", None),
    ]
    for ax, (da, title, unit, norm) in zip(axes[1:], panels):
        im = ax.imshow(da.transpose("y", "x").values, origin="lower", extent=_extent(da), cmap="gray", norm=norm)
        ax.set_title(title)
        fig.colorbar(im, ax=ax, label=unit, shrink=0.8)
    for ax in axes:
        ax.set_xlabel("x (Å)")
    axes[0].set_ylabel("y (Å)")
    save_figure(fig, png)

    data = xr.Dataset(
        {
            "projected_potential": potential.rename({"x": "x_sim", "y": "y_sim"}),
            "exit_wave_phase": phase.rename({"x": "x_sim", "y": "y_sim"}),
            "image": image.rename({"x": "x_sim", "y": "y_sim"}),
            "detected_image": noisy.rename({"x": "x_det", "y": "y_det"}),
        }
    )
    write_dataset(data, png.with_suffix(".zarr"), attrs=provenance(config=params, seed=seed, rule="fig2_2"))
