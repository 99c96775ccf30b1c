"""fig4_2: true planar strain of Au Wulff particles, projected columns vs a central slice (thesis Fig. 4.2 / paper Fig. 5).

Inputs: the truth stores of the study (``study/<size>nm/truth.zarr``, one per
size). Top row: ε_p from STM on the snapshot-averaged projected column
positions; bottom row: ε_p of the two central atomic layers (a true 2D
lattice). Measured: the mean ε_p of the interior columns (full template
match) of each, and their difference — the "spurious bulk compression" that
projection puts in (thesis L6179–6185).
Params: ``{"study": images.study}``. Data: ``fig4_2.csv`` (long table, see
:mod:`hrtem.figures.study`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hrtem.figures.fidelity import Claim
from hrtem.figures.study import THESIS_SCALE, Table, column_scatter, scale_differences, why
from hrtem.figures.style import save_figure

__all__ = ["make", "CLAIMS"]


def _compression(d):
    rows = d.rows(quantity="spurious_compression")
    return rows["size_nm"], rows["value"]


CLAIMS = [
    Claim(
        "projected minus slice bulk ε_p, smallest size", "%",
        thesis="projection shows a spurious bulk compression that shrinks with size", source="003 L6179–6185",
        ours=lambda d: 100 * _compression(d)[1][np.argmin(_compression(d)[0])],
        holds=lambda ours, d: ours < 0 and (len(_compression(d)[0]) < 2 or bool(np.all(np.diff(
            np.abs(_compression(d)[1][np.argsort(_compression(d)[0])])) < 0))),
        criterion="< 0 (compressive), magnitude decreasing with size",
        note=lambda d: "sizes " + ", ".join(f"{s:g} nm: {100 * v:.2f} %" for s, v in zip(*_compression(d)))
        + ("; one size only, the trend with size is not tested" if len(_compression(d)[0]) < 2 else "")
        + "; " + why(d),
    ),
]


def make(inputs: list[Path], png: Path, params: dict, seed: int) -> None:
    """Make fig4_2 (see module docstring)."""
    import matplotlib.pyplot as plt

    from hrtem.io import read_dataset

    stores = sorted((Path(p) for p in inputs if Path(p).name == "truth.zarr"),
                    key=lambda p: float(p.parent.name.rstrip("nm")))
    if not stores:
        from hrtem.errors import HrtemError

        raise HrtemError("fig4_2 needs the study's truth stores (study/<size>nm/truth.zarr)")
    table = Table()
    fig, axes = plt.subplots(2, len(stores), figsize=(4.2 * len(stores), 7.5), squeeze=False)
    potential = "unknown"
    snapshots = "?"
    vmax = 0.03
    for k, path in enumerate(stores):
        size = float(path.parent.name.rstrip("nm"))
        t = read_dataset(path)
        potential = t.attrs.get("potential", potential)
        snapshots = t.attrs.get("snapshots", snapshots)
        interior = t["interior"].values == 1
        proj = float(np.nanmean(t["ep"].values[interior]))
        full_slice = t["slice_matched"].values == int(t["matched"].values.max())
        sl = float(np.nanmean(t["slice_ep"].values[full_slice]))
        table.add("bulk_ep_projected", proj, int(interior.sum()), size_nm=size)
        table.add("bulk_ep_slice", sl, int(full_slice.sum()), size_nm=size)
        table.add("spurious_compression", proj - sl, size_nm=size)
        ds = t.rename({"x": "column_x", "y": "column_y"})
        sc = column_scatter(axes[0, k], ds, t["ep"].values, vmax=vmax)
        axes[0, k].set_title(f"{size:g} nm: projected columns\nbulk ε_p = {100 * proj:.2f} %")
        ax = axes[1, k]
        ax.scatter(t["slice_x"].values, t["slice_y"].values, c=100 * t["slice_ep"].values, cmap="RdBu_r",
                   vmin=-100 * vmax, vmax=100 * vmax, s=30, edgecolors="k", linewidths=0.2)
        ax.set_aspect("equal")
        ax.set_xlabel("x (Å)")
        ax.set_ylabel("y (Å)")
        ax.set_title(f"central slice\nbulk ε_p = {100 * sl:.2f} %")
    fig.colorbar(sc, ax=axes, label="planar strain ε_p (%)", shrink=0.6)
    fig.suptitle(f"True planar strain, projected vs central slice ({potential})")
    sizes = " ".join(f"{float(p.parent.name.rstrip('nm')):g}" for p in stores)
    # no noise, defocus or K in the true strain: only the sizes, snapshots and potential can differ
    differs = scale_differences(sizes, THESIS_SCALE["samples"], snapshots, THESIS_SCALE["max_defocus_nm"], str(potential))
    table.write(png.with_suffix(".csv"), {"potential": potential, "sizes_nm": sizes, "snapshots": snapshots,
                                          "differs_from_thesis": differs})
    save_figure(fig, png)
