"""Fig. 3.8: RMSD and rotation maps of the polycrystalline graphene of Fig. 3.7.

Reads the per-atom STM table written by fig3_7 (``fig3_7.csv``); grain
boundaries stand out in the RMSD, grains in the rotation (reported modulo
60°, the orientation period of graphene). Without an input the fig3_7
experiment is recomputed with fig3_7's defaults and ``seed``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hrtem.figures.fidelity import Claim

DEFAULTS = {"rmsd_boundary": 0.1, "rmsd_max": 1.0}

CLAIMS = [
    Claim("rotation of each grain: largest abs(median measured − true)", "°",
          thesis="the rotation of each grain is obtained", source="003 L1845",
          ours=lambda d: float(np.max(np.abs(d.csv["median_rotation_deg"] - d.csv["true_rotation_deg"]))),
          holds=lambda ours, d: ours <= 0.1, criterion="≤ 0.1°", digits=2),
    Claim("RMSD at boundaries / inside grains (medians)", "", thesis="grain boundaries stand out in the RMSD",
          source="003 L1812",
          ours=lambda d: float(np.nanmin(d.csv["median_rmsd_boundary"]) / np.nanmax(d.csv["median_rmsd"])),
          holds=lambda ours, d: ours >= 5, criterion="≥ 5", digits=3,
          note="boundary = RMSD ≥ rmsd_boundary (0.1)"),
]


def _load(inputs: list[Path], seed: int) -> dict[str, np.ndarray]:
    from hrtem.errors import HrtemError
    from hrtem.strain.io import read_table

    if inputs:
        tab = read_table(inputs[0])
        missing = {"x", "y", "rmsd", "rotation", "grain", "true_rotation"} - set(tab)
        if missing:
            raise HrtemError(f"{inputs[0]} lacks columns {sorted(missing)}; give the fig3_7.csv table")
        return tab
    from hrtem.figures import fig3_7

    return fig3_7._table(fig3_7.compute({}, seed))


def make(inputs: list[Path], png: Path, params: dict, seed: int) -> None:
    """Write fig3_8.png and fig3_8.csv (per grain: true vs measured orientation, RMSD)."""
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm

    from hrtem.figures.style import save_figure
    from hrtem.strain.io import write_table

    p = {**DEFAULTS, **params}
    t = _load([Path(i) for i in inputs], seed)
    x, y, rmsd, rot = t["x"], t["y"], t["rmsd"], t["rotation"]
    grain = t["grain"].astype(int)
    fig, axes = plt.subplots(1, 2, figsize=(12, 5.2), layout="constrained")
    r = np.clip(np.where(np.isfinite(rmsd), rmsd, p["rmsd_max"]), 1e-4, p["rmsd_max"])
    sc = axes[0].scatter(x, y, c=r, s=7, cmap="magma", norm=LogNorm(1e-3, p["rmsd_max"]))
    fig.colorbar(sc, ax=axes[0], shrink=0.85, label="RMSD (units of mean neighbour distance)")
    axes[0].set_title("(a) RMSD to the graphene template")
    good = rmsd < p["rmsd_boundary"]
    axes[1].scatter(x[~good], y[~good], s=4, c="0.6", label=f"RMSD ≥ {p['rmsd_boundary']:g}")
    sc = axes[1].scatter(x[good], y[good], c=np.degrees(rot[good]), s=7, cmap="twilight", vmin=-30, vmax=30)
    fig.colorbar(sc, ax=axes[1], shrink=0.85, label="rotation (degrees, modulo 60°)")
    axes[1].legend(loc="upper right", fontsize=8)
    axes[1].set_title("(b) local lattice rotation")
    for ax in axes:
        ax.set_aspect("equal")
        ax.set_xlabel("x (Å)")
        ax.set_ylabel("y (Å)")
    save_figure(fig, png)
    ids = [g for g in np.unique(grain) if g >= 0]
    rows = {"grain": [], "n_atoms": [], "true_rotation_deg": [], "median_rotation_deg": [], "median_rmsd": [],
            "median_rmsd_boundary": [], "boundary_fraction": []}
    for g in ids:
        sel = grain == g
        inner = sel & good
        rows["grain"].append(g)
        rows["n_atoms"].append(int(sel.sum()))
        rows["true_rotation_deg"].append(float(np.degrees(np.nanmedian(t["true_rotation"][sel]))))
        rows["median_rotation_deg"].append(float(np.degrees(np.nanmedian(rot[inner]))) if inner.any() else np.nan)
        rows["median_rmsd"].append(float(np.nanmedian(rmsd[inner])) if inner.any() else np.nan)
        outer = sel & ~good & np.isfinite(rmsd)
        rows["median_rmsd_boundary"].append(float(np.median(rmsd[outer])) if outer.any() else np.nan)
        rows["boundary_fraction"].append(float(1 - inner.sum() / max(sel.sum(), 1)))
    write_table({k: np.asarray(v) for k, v in rows.items()}, Path(png).with_suffix(".csv"))
