"""Small CSV helpers for per-point tables (positions, strain) and image input."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from hrtem.errors import HrtemError
from hrtem.io.tables import read_table, write_table

__all__ = ["write_table", "read_table", "read_positions", "read_image"]


def read_positions(path: str | os.PathLike) -> np.ndarray:
    """(n, 2) x, y positions in Å from a CSV with columns ``x`` and ``y``.

    A headerless two-column file is accepted too.
    """
    path = Path(path)
    if not path.is_file():
        raise HrtemError(f"positions file {path} does not exist")
    with open(path, newline="") as fh:
        first = fh.readline()
    try:
        [float(v) for v in first.replace(",", " ").split()[:2]]
        headerless = True
    except ValueError:
        headerless = False
    from hrtem.strain.matching import check_points

    if headerless:
        try:
            data = np.loadtxt(path, delimiter="," if "," in first else None, ndmin=2)
        except ValueError as err:
            raise HrtemError(f"{path}: not a table of numbers x, y ({' '.join(str(err).split())})") from None
        if data.shape[1] < 2:
            raise HrtemError(f"{path}: need two columns x, y (Å)")
        points = data[:, :2].astype(float)
    else:
        tab = read_table(path)
        if "x" not in tab or "y" not in tab:
            raise HrtemError(f"{path}: CSV needs columns 'x' and 'y' (Å); found {sorted(tab)}")
        try:
            points = np.stack([np.asarray(tab["x"], float), np.asarray(tab["y"], float)], axis=1).reshape(-1, 2)
        except (TypeError, ValueError) as err:
            raise HrtemError(f"{path}: columns x, y must be numbers ({err})") from None
    check_points(points, f"positions file {path}")
    return points


def read_image(path: str | os.PathLike, *, variable: str = "image", sampling: float | None = None):
    """Read a 2D image and its sampling (Å/px) from Zarr (hrtem store), .npy or .tif.

    Zarr: the ``variable`` (default ``image``) must be 2D with dims ``x``, ``y``
    (a leading dimension of size 1 is squeezed); the sampling comes from the
    ``x``/``y`` coordinates unless ``sampling`` is given. .npy/.tif arrays are
    indexed ``[x, y]`` and need ``sampling`` (default 1 Å/px).

    Returns
    -------
    image, sampling
        2D float array indexed ``[x, y]`` and (sx, sy) in Å/px.
    """
    path = Path(path)
    if not path.exists():
        raise HrtemError(f"image {path} does not exist")
    suffix = path.suffix.lower()
    if path.is_dir() or suffix == ".zarr":
        from hrtem.io import read_dataset

        ds = read_dataset(path, variables=(variable,))
        da = ds[variable].squeeze()
        if da.ndim != 2:
            raise HrtemError(f"{path}: variable {variable!r} has dims {da.dims}; need a single 2D image (x, y)")
        if set(da.dims) == {"x", "y"}:
            da = da.transpose("x", "y")
            if sampling is None and da.sizes["x"] > 1 and da.sizes["y"] > 1:
                sx = float(da["x"][1] - da["x"][0])
                sy = float(da["y"][1] - da["y"][0])
                return np.asarray(da.values, float), (sx, sy)
        s = 1.0 if sampling is None else float(sampling)
        return np.asarray(da.values, float), (s, s)
    if suffix == ".npy":
        img = np.load(path)
    elif suffix in (".tif", ".tiff"):
        import tifffile

        img = tifffile.imread(path)
    else:
        raise HrtemError(f"{path}: unknown image format {suffix!r}; use a .zarr store, .npy or .tif")
    img = np.squeeze(np.asarray(img, float))
    if img.ndim != 2:
        raise HrtemError(f"{path}: image has shape {img.shape}; need a 2D image")
    s = 1.0 if sampling is None else float(sampling)
    return img, (s, s)
