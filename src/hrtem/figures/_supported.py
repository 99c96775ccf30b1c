"""Shared code of the supported-particle figures fig5_5 … fig5_10 (thesis §5.4).

Image figures (fig5_5, fig5_9) read the ``hrtem md image`` store and write the
image with the column positions as ``<id>.zarr``; strain-map figures (fig5_6,
fig5_10) write one CSV row per true particle column (:data:`MAP_COLUMNS`)
with ``# key=value`` lines above the header (potential, defocus, zone, …), so
every claimed number is computable from the figure's own data.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

from hrtem.errors import HrtemError

#: columns of the strain-map CSV (fig5_6, fig5_10)
MAP_COLUMNS = ("column", "x_A", "y_A", "height_A", "interface", "interior", "count", "found",
               "true_exx", "true_eyy", "true_ep", "meas_exx", "meas_eyy", "meas_ep",
               "err_exx", "err_eyy", "err_ep")

_SYSTEM_TEXT = {"zro2": "Pt on c-ZrO$_2$(111), beam along Pt ⟨110⟩",
                "anatase_natural": "Pt on anatase(001), beam along Pt ⟨100⟩"}


def load_image_store(inputs: list[Path], figure: str) -> xr.Dataset:
    """The one ``md/images/<system>.zarr`` input of an image or strain-map figure."""
    from hrtem.io import read_dataset  # noqa: PLC0415

    if len(inputs) != 1:
        raise HrtemError(f"{figure} needs one input: the store of `hrtem md image` (md/images/<system>.zarr)")
    return read_dataset(inputs[0])


def potential_of(params: Mapping[str, Any], ds: xr.Dataset | None = None) -> str:
    """``kind:file`` of the run's potential (the store's attribute if there is one)."""
    if ds is not None and ds.attrs.get("potential"):
        return str(ds.attrs["potential"])
    pot = params.get("potential") or {}
    return f"{pot.get('kind', 'comb3')}:{pot.get('file', 'ffield.comb3')}"


def image_figure(inputs: list[Path], png: Path, params: dict, figure: str) -> None:
    """HRTEM image of a supported particle with its true and detected columns; data as ``<id>.zarr``."""
    from hrtem.figures.style import save_figure  # noqa: PLC0415
    from hrtem.io import provenance, write_dataset  # noqa: PLC0415

    ds = load_image_store(inputs, figure)
    img = np.asarray(ds["image"].values, float)
    x, y = ds["x"].values, ds["y"].values
    pixel = float(x[1] - x[0])
    fig, ax = plt.subplots(figsize=(6.4, 6.4 * (y[-1] - y[0] + pixel) / (x[-1] - x[0] + pixel) + 0.6),
                           constrained_layout=True)
    im = ax.imshow(img.T, origin="lower", cmap="gray", extent=(x[0], x[-1] + pixel, y[0], y[-1] + pixel))
    found = ds["found"].values == 1
    cx, cy = ds["column_x"].values, ds["column_y"].values
    ax.scatter(cx[found], cy[found], s=14, facecolors="none", edgecolors="tab:green", linewidths=0.7,
               label=f"true Pt columns, found ({int(found.sum())})")
    ax.scatter(cx[~found], cy[~found], s=14, facecolors="none", edgecolors="tab:red", linewidths=0.7,
               label=f"true Pt columns, not found ({int((~found).sum())})")
    ax.plot(ds["detected_x"].values, ds["detected_y"].values, "+", ms=3, color="tab:orange", mew=0.6,
            label=f"detected image columns ({ds.sizes.get('peak', 0)})")
    ax.set_xlabel("x (Å), along the interface")
    ax.set_ylabel("y (Å), surface normal")
    ax.legend(fontsize=7, loc="upper right")
    system = str(ds.attrs.get("system", ""))
    ax.set_title(f"{_SYSTEM_TEXT.get(system, system)}\nΔf = {ds.attrs['defocus_nm']:g} nm, infinite dose, "
                 f"{ds.attrs['snapshots']} MD snapshots; {potential_of(params, ds)}", fontsize=8)
    fig.colorbar(im, ax=ax, shrink=0.7, label="intensity (vacuum = 1)")
    keep = ("image", "found", "count", "height", "interface", "detected_x", "detected_y")
    out = ds[[k for k in keep if k in ds]]
    attrs = {k: ds.attrs[k] for k in ("defocus_a", "defocus_nm", "zone_axis", "template", "lattice_constant_a",
                                      "snapshots", "n_columns", "n_found", "found_fraction", "n_detected",
                                      "image_sampling_a", "potential", "system", "element") if k in ds.attrs}
    write_dataset(out, png.with_suffix(".zarr"), attrs=provenance(rule=figure, **attrs))
    save_figure(fig, png)


def image_claims(defocus_source: str, resolved_source: str, defocus_note: str) -> list[Any]:
    """The two claims of an image figure (fig5_5, fig5_9): its defocus, and the columns resolved.

    Parameters
    ----------
    defocus_source, resolved_source : str
        Thesis lines that state the defocus (8 nm) and that the Pt columns are resolved.
    defocus_note : str
        Where our defocus comes from (the config key) and any ambiguity in the thesis.
    """
    from hrtem.figures.fidelity import Claim  # noqa: PLC0415

    return [
        Claim("defocus of the supported-particle image", "nm", thesis=8.0, source=defocus_source,
              ours=lambda d: d.attrs["defocus_nm"], tolerance=0.05, note=defocus_note),
        Claim("Pt columns resolved in the image (found / true columns)", "fraction", thesis="columns resolved",
              source=resolved_source, ours=lambda d: d.attrs["found_fraction"],
              holds=lambda ours, d: ours >= 0.8, criterion="≥ 0.8 of the true columns detected and paired",
              digits=3),
    ]  # fmt: skip


def strain_map_figure(inputs: list[Path], png: Path, params: dict, figure: str) -> None:
    """True vs measured vs difference ε_xx, ε_yy per particle column; data as ``<id>.csv``."""
    from hrtem.figures.style import save_figure  # noqa: PLC0415
    from hrtem.io.stores import atomic_path  # noqa: PLC0415

    ds = load_image_store(inputs, figure)
    lim = float((params.get("imaging") or {}).get("limit_percent", 7.0))
    cx, cy = ds["column_x"].values, ds["column_y"].values
    fig, axes = plt.subplots(3, 2, figsize=(8.5, 9.5), constrained_layout=True, sharex=True, sharey=True)
    sc = None
    for i, (row, label) in enumerate((("true", "true (averaged columns)"), ("meas", "measured (image)"),
                                      ("err", "measured − true"))):
        for j, comp in enumerate(("exx", "eyy")):
            ax = axes[i, j]
            v = 100 * ds[f"{row}_{comp}"].values
            ok = np.isfinite(v)
            ax.scatter(cx[~ok], cy[~ok], s=22, c="0.85", edgecolors="0.5", linewidths=0.3)
            sc = ax.scatter(cx[ok], cy[ok], s=22, c=v[ok], cmap="RdBu_r", vmin=-lim, vmax=lim, edgecolors="k",
                            linewidths=0.3)
            ax.axhline(cy.min() + float(ds.attrs["interface_height_A"]), color="0.4", lw=0.6, ls=":")
            ax.set_aspect("equal")
            ax.set_title(f"ε_{comp[1:]}: {label}", fontsize=9)
            if i == 2:
                ax.set_xlabel("x (Å), along the interface")
            if j == 0:
                ax.set_ylabel("y (Å), normal")
    fig.colorbar(sc, ax=axes, shrink=0.6, label="strain (%)  (grey: not matched or not found)")
    system = str(ds.attrs.get("system", ""))
    fig.suptitle(
        f"{_SYSTEM_TEXT.get(system, system)}, Δf = {ds.attrs['defocus_nm']:g} nm: mean abs error "
        f"{100 * ds.attrs['mae_upper']:.2f} % above, {100 * ds.attrs['mae_interface']:.2f} % below the dotted line\n"
        f"{potential_of(params, ds)}", fontsize=9)
    meta = {
        "potential": potential_of(params, ds),
        "system": system,
        "zone_axis": ds.attrs.get("zone_axis", ""),
        "defocus_nm": ds.attrs.get("defocus_nm"),
        "snapshots": ds.attrs.get("snapshots"),
        "lattice_constant_a": ds.attrs.get("lattice_constant_a"),
        "interface_height_A": ds.attrs.get("interface_height_A"),
    }
    cols = {
        "column": ds["column"].values, "x_A": cx, "y_A": cy, "height_A": ds["height"].values,
        "interface": ds["interface"].values, "interior": ds["interior"].values, "count": ds["count"].values,
        "found": ds["found"].values,
        **{f"{r}_{c}": ds[f"{r}_{c}"].values for r in ("true", "meas", "err") for c in ("exx", "eyy", "ep")},
    }
    with atomic_path(png.with_suffix(".csv")) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
        for k, v in meta.items():
            fh.write(f"# {k}={v}\n")
        w = csv.writer(fh)
        w.writerow(MAP_COLUMNS)
        for k in range(len(cx)):
            w.writerow([_fmt(cols[c][k]) for c in MAP_COLUMNS])
    save_figure(fig, png)


def _fmt(v: Any) -> str:
    if isinstance(v, (float, np.floating)):
        return "" if not np.isfinite(v) else f"{float(v):.6g}"
    return str(v)


# ----------------------------------------------------------------------------- claim helpers (CSV)
def mean_abs_error_pct(d, region: str) -> float:
    """Mean abs(ε_xx, ε_yy error) in % over found columns of ``region`` (upper, interface, surface, interior)."""
    t = d.csv
    sel = {"upper": t["interface"] == 0, "interface": t["interface"] == 1,
           "surface": t["interior"] == 0, "interior": t["interior"] == 1}[region]
    e = np.abs(np.concatenate([t["err_exx"][sel], t["err_eyy"][sel]]))
    e = e[np.isfinite(e)]
    return float(100 * e.mean()) if len(e) else float("nan")


def n_matched(d, region: str) -> int:
    """Found and matched columns of ``region``."""
    t = d.csv
    sel = {"upper": t["interface"] == 0, "interface": t["interface"] == 1,
           "surface": t["interior"] == 0, "interior": t["interior"] == 1}[region]
    return int(np.sum(sel & np.isfinite(t["err_exx"])))


def overall_strain_gap_pct(d) -> float:
    """Largest of abs(mean measured − mean true) of ε_xx and ε_yy over the matched columns, %."""
    t = d.csv
    ok = np.isfinite(t["err_exx"]) & np.isfinite(t["true_exx"])
    if not ok.any():
        return float("nan")
    return float(100 * max(abs(np.mean(t["meas_exx"][ok]) - np.mean(t["true_exx"][ok])),
                           abs(np.mean(t["meas_eyy"][ok]) - np.mean(t["true_eyy"][ok]))))
