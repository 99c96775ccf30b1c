"""fig4_8: images and ε_p error maps vs tilt about Ω1 at the working defocus (thesis Fig. 4.8 / paper Fig. 8).

First size, first tilt axis (Ω1), noise-free images at ``working_defocus_a``
for every tilt of ``images.study.tilts_deg``; bottom row the ε_p error per
column. Measured per tilt: mean |ε_p error| over all found columns and over
the interior columns. Thesis (L6260–6267): little change at 1°, small up to
2°, a sharp rise in the centre between 2° and 3°. Inputs: ``study.zarr`` and
the first size's ``images_axis<Ω1>.zarr``. Data: ``fig4_8.csv``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hrtem.figures.fidelity import Claim
from hrtem.figures.study import Table, column_scatter, find_input, load_study, meta_of, nearest, why
from hrtem.figures.style import image_extent, save_figure

__all__ = ["make", "CLAIMS"]


def _mae(d, tilt, q="mae_ep_error_interior"):
    r = d.rows(quantity=q)
    return float(r["value"][np.argmin(np.abs(r["tilt_deg"] - tilt))])


def _has(d, *tilts):
    t = d.rows(quantity="mae_ep_error")["tilt_deg"]
    return all(np.any(np.isclose(t, x)) for x in tilts)


CLAIMS = [
    Claim("interior mean absolute ε_p error, change 0° → 2° about Ω1", "%", thesis="small up to 2°", source="003 L6265",
          ours=lambda d: 100 * (_mae(d, 2.0) - _mae(d, 0.0)), holds=lambda ours, d: abs(ours) <= 0.5,
          criterion="change within ±0.5 %", at_scale=lambda d: _has(d, 0.0, 2.0),
          note=lambda d: f"Δf = working defocus, noise-free; {d.meta.get('potential', '')}; " + why(d)),
    Claim("interior mean absolute ε_p error, 3° over 2° about Ω1", "", thesis="sharp rise between 2° and 3°",
          source="003 L6266–6267", ours=lambda d: _mae(d, 3.0) / _mae(d, 2.0), holds=lambda ours, d: ours >= 1.5,
          criterion="ratio ≥ 1.5", at_scale=lambda d: _has(d, 2.0, 3.0),
          note=lambda d: why(d, "short columns of a small particle: at 3° their tilted footprint stays below the column spacing")),
]


def make(inputs: list[Path], png: Path, params: dict, seed: int) -> None:
    """Make fig4_8 (see module docstring)."""
    import matplotlib.pyplot as plt

    from hrtem.io import open_store

    ds = load_study(inputs)
    size = float(ds["size"].values[0])
    df = nearest(ds["defocus"], float(params["study"]["working_defocus_a"]))
    sub = ds.sel(size=size, defocus=df).isel(tilt_axis=0)
    sub = sub.isel(column=np.flatnonzero(np.isfinite(sub["column_x"].values)))
    axis = float(ds["tilt_axis"].values[0])
    img_store = [p for p in find_input(inputs, ".zarr") if p.name.startswith("images_axis")]
    nt = sub.sizes["tilt"]
    fig, axes = plt.subplots(2, nt + 1, figsize=(3.6 * (nt + 1), 7), squeeze=False)
    table = Table()
    interior = sub["truth_interior"].values == 1
    curve = []
    for j, t in enumerate(sub["tilt"].values):
        err = sub["noise_free_ep_error"].sel(tilt=t).values
        ok = np.isfinite(err)
        c = {"size_nm": size, "defocus_nm": df / 10, "tilt_deg": float(t), "tilt_axis_deg": axis}
        table.add("mae_ep_error", float(np.abs(err[ok]).mean()), int(ok.sum()), **c)
        mi = ok & interior
        table.add("mae_ep_error_interior", float(np.abs(err[mi]).mean()), int(mi.sum()), **c)
        curve.append((t, 100 * np.abs(err[ok]).mean(), 100 * np.abs(err[mi]).mean()))
        if img_store:
            im = open_store(img_store[0])["noise_free"].sel(defocus=df, tilt=t, method="nearest")
            s = float(im["x"][1] - im["x"][0])
            axes[0, j].imshow(im.transpose("x", "y").values.T, origin="lower", cmap="gray",
                              extent=image_extent(im.sizes["x"], im.sizes["y"], (s, s)))
        axes[0, j].set_title(f"tilt {t:g}° about Ω1")
        sc = column_scatter(axes[1, j], sub, err, vmax=0.02)
    c = np.array(curve)
    ax = axes[1, -1]
    ax.plot(c[:, 0], c[:, 1], "o-", label="all columns")
    ax.plot(c[:, 0], c[:, 2], "s-", label="interior")
    ax.set_xlabel("tilt (°)")
    ax.set_ylabel("mean |ε_p error| (%)")
    ax.legend()
    axes[0, -1].axis("off")
    fig.colorbar(sc, ax=axes[1, :-1], label="ε_p error (%)", shrink=0.8)
    table.write(png.with_suffix(".csv"), meta_of(ds))
    save_figure(fig, png)
