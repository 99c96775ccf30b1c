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


def meta_of(ds: xr.Dataset) -> dict[str, Any]:
    """``# key=value`` lines of a study CSV: the potential and the sweep sizes."""
    return {
        "potential": ds.attrs.get("potential", "unknown"),
        "sizes_nm": " ".join(f"{s:g}" for s in ds["size"].values),
        "samples": int(ds.sizes["sample"]),
        "template": ds.attrs.get("template", ""),
    }


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
