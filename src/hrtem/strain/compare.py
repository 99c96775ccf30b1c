"""Measured vs true strain: pairing peaks with model columns, errors, gridding.

The "true" strain of a model is STM applied to its projected column positions
(:func:`hrtem.strain.matching.match_templates` works on any point set, no
image needed). Measured peaks are paired with model columns by nearest
neighbour within a maximum distance, and the error is measured − true per
paired column (SCIENCE.md §2).
"""

from __future__ import annotations

import numpy as np
from scipy.interpolate import griddata
from scipy.spatial import cKDTree

from hrtem.strain.matching import StmResult

__all__ = ["pair_points", "strain_error", "to_grid"]


def pair_points(measured: np.ndarray, true: np.ndarray, max_distance: float) -> tuple[np.ndarray, np.ndarray]:
    """Pair each measured point with its nearest true point within ``max_distance`` (Å).

    Pairs are one-to-one: when several measured points claim the same true
    point only the closest keeps it.

    Returns
    -------
    i_measured, i_true
        Index arrays of equal length.
    """
    m = np.asarray(measured, float)
    t = np.asarray(true, float)
    if len(m) == 0 or len(t) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    d, j = cKDTree(t).query(m, distance_upper_bound=max_distance)
    i = np.flatnonzero(np.isfinite(d))
    j, d = j[i], d[i]
    order = np.lexsort((d, j))
    i, j = i[order], j[order]
    first = np.r_[True, j[1:] != j[:-1]]
    return i[first], j[first]


def strain_error(measured: StmResult, true: StmResult, max_distance: float) -> dict[str, np.ndarray]:
    """Per paired column: x, y (true) and measured − true of exx, eyy, exy, rotation.

    Unmatched points on either side give NaN errors (kept, so that the table
    shows where matching failed).
    """
    im, it = pair_points(measured.points, true.points, max_distance)
    out = {"x": true.points[it, 0], "y": true.points[it, 1]}
    for k in ("exx", "eyy", "exy", "rotation"):
        out[f"d{k}"] = getattr(measured, k)[im] - getattr(true, k)[it]
    out["i_measured"], out["i_true"] = im, it
    return out


def to_grid(points: np.ndarray, values: np.ndarray, shape: tuple[int, int], sampling: float,
            *, origin=(0.0, 0.0), method: str = "linear") -> np.ndarray:
    """Interpolate per-point values onto the image grid [ix, iy] (NaN outside the hull).

    Used to compare STM with GPA pixel by pixel (thesis Fig. 3.9).
    """
    p = np.asarray(points, float)
    v = np.asarray(values, float)
    ok = np.isfinite(v) & np.isfinite(p).all(1)
    gx = origin[0] + np.arange(shape[0]) * sampling
    gy = origin[1] + np.arange(shape[1]) * sampling
    xx, yy = np.meshgrid(gx, gy, indexing="ij")
    return griddata(p[ok], v[ok], (xx, yy), method=method)
