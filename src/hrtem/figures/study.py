"""Shared helpers of the ch. 4 strain-accuracy figures (fig4_2, fig4_3, fig4_6 … fig4_9, fig4_11, fig4_12).

Every figure reads the collected measurement store ``study/study.zarr``
(:func:`hrtem.strain.accuracy.collect`: dims ``size, tilt_axis, tilt,
defocus, dose, sample, column``) and writes a long CSV beside its PNG with
the columns of :data:`COLUMNS`: one row per value (``quantity``) at its sweep
coordinates, so that every thesis number of FIGURES.md is computable from
the figure's own CSV (see the figure modules' ``CLAIMS``). The potential of
the MD is written as a ``# potential=…`` line above the header.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from hrtem.errors import HrtemError

__all__ = [
    "COLUMNS",
    "load_study",
    "find_input",
    "Table",
    "noise_mae",
    "facet_mask",
    "mean_abs",
    "nearest",
    "meta_of",
    "scale_differences",
    "why",
    "THESIS_SCALE",
]

#: columns of a study figure's CSV
COLUMNS = ("quantity", "size_nm", "tilt_axis_deg", "tilt_deg", "defocus_nm", "dose", "facet", "point", "value", "n")


def find_input(inputs: Iterable[Path], name: str) -> list[Path]:
    """Inputs whose file or folder name ends with ``name``."""
    return [Path(p) for p in inputs if Path(p).name.endswith(name)]


def load_study(inputs: Iterable[Path]) -> xr.Dataset:
    """The collected study store among ``inputs`` (loaded: it is small)."""
    from hrtem.io import read_dataset

    hits = find_input(inputs, "study.zarr")
    if not hits:
        raise HrtemError("no study.zarr among the inputs; make it with `hrtem study collect` (rule study_collect)")
    return read_dataset(hits[0])


def nearest(coord: xr.DataArray, value: float) -> float:
    """The coordinate value nearest to ``value`` (error if none within 1 %)."""
    v = coord.values
    i = int(np.argmin(np.abs(v - value)))
    if abs(v[i] - value) > 0.01 * max(abs(value), 1.0):
        raise HrtemError(f"{coord.name} = {value:g} is not in the study's sweep {list(v)}; add it to images.study")
    return float(v[i])


def facet_mask(ds: xr.Dataset, facet: int) -> xr.DataArray:
    """Columns of one facet family (codes of :data:`hrtem.strain.accuracy.FACETS`)."""
    return ds["truth_facet"] == facet


def mean_abs(values: xr.DataArray, mask: xr.DataArray | None = None) -> tuple[float, int]:
    """Mean of |values| over finite entries (optionally where ``mask``) and their count."""
    v = values if mask is None else values.where(mask)
    a = np.abs(np.asarray(v.values, float))
    ok = np.isfinite(a)
    return (float(a[ok].mean()) if ok.any() else float("nan")), int(ok.sum())


def noise_mae(ds: xr.Dataset, *, outlier: float = 0.1) -> xr.DataArray:
    """MAE of the planar strain due to noise (thesis Eq. 11), per column.

    MAE_i = mean over realisations k of |ε_k,i − ε_∞,i|, ε_∞ the strain
    measured on the noise-free image; deviations above ``outlier`` (absolute
    strain; failed fits at low dose) are removed before averaging, as in the
    thesis. Keeps every dimension but ``sample``.
    """
    dev = np.abs(ds["ep"] - ds["noise_free_ep"])
    dev = dev.where(dev <= outlier)
    return dev.mean("sample", skipna=True)


class Table:
    """Rows of a study figure's CSV (see :data:`COLUMNS`)."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def add(self, quantity: str, value: float, n: int = 1, **coords: Any) -> None:
        row = {c: "" for c in COLUMNS}
        row.update({k: v for k, v in coords.items() if k in COLUMNS})
        row["quantity"], row["value"], row["n"] = quantity, float(value), int(n)
        self.rows.append(row)

    def write(self, path: Path, meta: Mapping[str, Any] | None = None) -> Path:
        from hrtem.io.stores import atomic_path

        with atomic_path(path) as tmp:
            with open(tmp, "w", newline="", encoding="utf-8") as fh:
                for k, v in (meta or {}).items():
                    fh.write(f"# {k}={v}\n")
                w = csv.DictWriter(fh, fieldnames=COLUMNS)
                w.writeheader()
                for r in self.rows:
                    w.writerow({k: (repr(v) if isinstance(v, float) and np.isfinite(v) else ("nan" if isinstance(v, float) else v))
                                for k, v in r.items()})
        return Path(path)


#: the thesis's scale and model (ch. 4; config/thesis.yaml), for the notes of the claims that differ
THESIS_SCALE = {"sizes_nm": "2 4 6", "samples": 300, "snapshots": 40, "max_defocus_nm": 14.5, "potential": "COMB3"}


def scale_differences(sizes_nm: str, samples: int, snapshots: Any, max_defocus_nm: float, potential: str) -> str:
    """Where this run's scale and model differ from the thesis's (one line; empty if nowhere)."""
    out = []
    if sizes_nm.split() != THESIS_SCALE["sizes_nm"].split():
        out.append(f"sizes {sizes_nm} nm (thesis {THESIS_SCALE['sizes_nm']} nm)")
    if int(samples) < THESIS_SCALE["samples"]:
        out.append(f"K = {int(samples)} noise realisations (thesis {THESIS_SCALE['samples']})")
    try:
        if int(snapshots) < THESIS_SCALE["snapshots"]:
            out.append(f"{int(snapshots)} MD snapshots (thesis {THESIS_SCALE['snapshots']})")
    except (TypeError, ValueError):
        pass
    if max_defocus_nm < THESIS_SCALE["max_defocus_nm"] - 1e-6:
        out.append(f"defocus up to {max_defocus_nm:g} nm (thesis {THESIS_SCALE['max_defocus_nm']:g} nm)")
    if "comb3" not in potential.lower():
        out.append(f"potential {potential} (thesis {THESIS_SCALE['potential']}; EAM relaxes the {{100}} facets by ≈ −6 %, COMB by −1.1 %)")
    return "; ".join(out)


def meta_of(ds: xr.Dataset) -> dict[str, Any]:
    """``# key=value`` lines of a study CSV: the potential, the sweep sizes and how they differ from the thesis's."""
    sizes = " ".join(f"{s:g}" for s in ds["size"].values)
    potential = str(ds.attrs.get("potential", "unknown"))
    max_df = float(np.max(ds["defocus"].values)) / 10 if "defocus" in ds.coords else float("nan")
    snapshots = ds.attrs.get("snapshots", "?")
    return {
        "potential": potential,
        "sizes_nm": sizes,
        "samples": int(ds.sizes["sample"]),
        "snapshots": snapshots,
        "defoci_nm": " ".join(f"{v / 10:g}" for v in ds["defocus"].values) if "defocus" in ds.coords else "",
        "template": ds.attrs.get("template", ""),
        "differs_from_thesis": scale_differences(sizes, int(ds.sizes["sample"]), snapshots, max_df, potential),
    }


def why(d: Any, reason: str = "") -> str:
    """Note text for a claim: a claim-specific ``reason`` and where this run's scale differs from the thesis's."""
    scale = d.meta.get("differs_from_thesis", "")
    parts = [p for p in (reason, f"this run differs from the thesis in: {scale}" if scale else "") if p]
    return "; ".join(parts)


def column_scatter(ax, ds: xr.Dataset, values: np.ndarray, *, vmax: float, cmap: str = "RdBu_r", size: float = 30.0):
    """Columns of one particle coloured by ``values`` (dimensionless; shown in %)."""
    x = np.asarray(ds["column_x"].values, float)
    y = np.asarray(ds["column_y"].values, float)
    ok = np.isfinite(x)
    sc = ax.scatter(x[ok], y[ok], c=100 * np.asarray(values, float)[ok], cmap=cmap, vmin=-100 * vmax,
                    vmax=100 * vmax, s=size, edgecolors="k", linewidths=0.2)
    ax.set_aspect("equal")
    ax.set_xlabel("x (Å)")
    ax.set_ylabel("y (Å)")
    return sc
