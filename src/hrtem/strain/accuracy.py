"""The strain-accuracy study of thesis ch. 4: true strain, facets, measured − true per column.

True strain (SCIENCE.md §2)
    :func:`true_strain`: the projected column positions averaged over the MD
    snapshots (:func:`hrtem.structures.columns.project_columns`), structural
    template matching with partial matching at the surface, the planar strain
    ε_p = (ε_xx + ε_yy)/2 (Eq. 4.1) and, at the outermost columns of each
    facet, the surface-normal relaxation ε_n = nᵀεn (Eq. 4.2) with the facet's
    crystallographic normal n. :func:`central_slice_strain` does the same on
    the two central atomic layers (a true 2D lattice, thesis Fig. 4.2).
Facets
    :func:`facet_columns`: edges of the convex hull of the columns, each
    classified as {111}, {100} or {110} by its outward normal in crystal
    coordinates; columns on one facet get its family and ideal normal,
    corner columns (on two facets) none.
Measurement
    :func:`measure_image`: column detection
    (:func:`hrtem.strain.lattice.detect_lattice_columns`), STM with partial
    matching, pairing of detected with true columns (one-to-one, nearest,
    within ``pair_distance_a``), then per *true* column: found, position error,
    measured ε_p, ε_n and their errors. :func:`measure_ensemble` runs it over an
    image-ensemble store block by block with Dask (one task per chunk of
    noise realisations, each writing its own Zarr region), so the result is
    never held whole in memory and does not depend on the number of workers.
Hand-made strain fields (validation)
    :func:`apply_strain_field`: a uniform planar strain or a radial profile
    ε(r) put into the atoms by hand, so that the chain can be checked to
    measure it back.

Strain is absolute: both the true and the measured STM use the bulk
nearest-neighbour column distance of the potential's lattice constant
(``lattice_constant_a``) as the template scale, so an error is measured − true
with nothing calibrated away.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from hrtem.errors import HrtemError

__all__ = [
    "FACETS",
    "StudySettings",
    "nn_distance_a",
    "facet_columns",
    "true_strain",
    "central_slice_strain",
    "apply_strain_field",
    "measure_image",
    "measure_ensemble",
    "MEASURED_VARIABLES",
]

#: facet codes stored in the ``facet`` variable
FACETS = {0: "none", 1: "{111}", 2: "{100}", 3: "{110}"}
_FAMILIES = {1: (1, 1, 1), 2: (1, 0, 0), 3: (1, 1, 0)}


@dataclass(frozen=True)
class StudySettings:
    """What the measurement needs (the ``images.study`` config section, typed).

    Attributes
    ----------
    template
        STM template of the zone (``fcc110`` for ⟨110⟩, ``fcc100`` for ⟨100⟩).
    lattice_constant_a
        Bulk fcc lattice constant (Å) of the potential: the strain reference.
    zone_axis
        Beam direction in crystal coordinates (``"110"``, ``"100"``).
    r_max, min_level
        Partial matching (template units; fewest matched neighbours).
    pair_distance_a
        Largest distance (Å) at which a detected column is paired with a true one.
    column_tolerance_a
        Atoms closer than this in projection form one column (Å).
    facet_tolerance_a
        Columns within this distance (Å) of a hull edge are on that facet.
    """

    template: str = "fcc110"
    lattice_constant_a: float = 4.08
    zone_axis: str = "110"
    r_max: float = 0.1
    min_level: int = 3
    pair_distance_a: float = 0.8
    column_tolerance_a: float = 0.8
    facet_tolerance_a: float = 0.6

    @classmethod
    def from_config(cls, study: Mapping[str, Any]) -> StudySettings:
        """From the ``images.study`` section (missing keys: defaults)."""
        zone = str(study.get("zone_axis", "110"))
        return cls(
            template=str(study.get("template") or f"fcc{zone}"),
            lattice_constant_a=float(study.get("lattice_constant_a", 4.08)),
            zone_axis=zone,
            r_max=float(study.get("r_max", 0.1)),
            min_level=int(study.get("min_level", 3)),
            pair_distance_a=float(study.get("pair_distance_a", 0.8)),
            column_tolerance_a=float(study.get("column_tolerance_a", 0.8)),
            facet_tolerance_a=float(study.get("facet_tolerance_a", 0.6)),
        )


def nn_distance_a(zone_axis: str, lattice_constant_a: float) -> float:
    """Nearest-neighbour distance (Å) of the projected fcc columns along ⟨110⟩ or ⟨100⟩."""
    if zone_axis == "110":
        return lattice_constant_a * np.sqrt(3.0 / 8.0)
    if zone_axis == "100":
        return lattice_constant_a / 2.0
    raise HrtemError(f"images.study.zone_axis: {zone_axis!r} has no column template; use 110 or 100")


# --------------------------------------------------------------------------- facets
def facet_columns(
    positions: np.ndarray, zone_axis: str, *, tolerance_a: float = 0.6
) -> tuple[np.ndarray, np.ndarray]:
    """Facet family and ideal outward normal of the outermost columns.

    Parameters
    ----------
    positions
        (n, 2) column positions (Å) of one particle seen along ``zone_axis``
        (oriented by :func:`hrtem.structures.orientation.zone_axis_rotation`
        without in-plane rotation).
    zone_axis
        Beam direction in crystal coordinates.
    tolerance_a
        Distance (Å) from a hull edge within which a column lies on it.

    Returns
    -------
    facet
        (n,) codes of :data:`FACETS` (0 = not on exactly one facet).
    normal
        (n, 2) unit outward normals in the image plane (NaN where facet 0):
        the facet's crystallographic normal projected on the plane.
    """
    from scipy.spatial import ConvexHull

    from hrtem.structures.orientation import zone_axis_rotation

    pts = np.asarray(positions, float)
    n = len(pts)
    facet = np.zeros(n, np.int64)
    normal = np.full((n, 2), np.nan)
    if n < 4:
        return facet, normal
    rot = zone_axis_rotation(zone_axis)  # rows: lab x, y, z in crystal coordinates
    hull = ConvexHull(pts)
    owner = [set() for _ in range(n)]
    ideal: dict[tuple, tuple[int, np.ndarray]] = {}
    for eq in hull.equations:
        nrm, off = eq[:2], eq[2]
        dist = pts @ nrm + off  # ≤ 0 inside
        on = np.flatnonzero(dist > -tolerance_a)
        crystal = nrm[0] * rot[0] + nrm[1] * rot[1]
        crystal /= np.linalg.norm(crystal)
        best = (0, None, -1.0)
        for code, fam in _FAMILIES.items():
            for v in _family_vectors(fam):
                c = float(crystal @ v)
                if c > best[2]:
                    best = (code, v, c)
        code, v, _ = best
        lab = rot @ v
        n2 = lab[:2] / np.linalg.norm(lab[:2])
        key = tuple(np.round(n2, 3))
        ideal[key] = (code, n2)
        for i in on:
            owner[i].add(key)
    for i, keys in enumerate(owner):
        if len(keys) == 1:
            code, n2 = ideal[next(iter(keys))]
            facet[i], normal[i] = code, n2
    return facet, normal


def _family_vectors(hkl: tuple[int, int, int]) -> list[np.ndarray]:
    import itertools

    out = set()
    for perm in itertools.permutations(hkl):
        for signs in itertools.product((1, -1), repeat=3):
            out.add(tuple(s * p for s, p in zip(signs, perm)))
    return [np.asarray(v, float) / np.linalg.norm(v) for v in sorted(out)]


# --------------------------------------------------------------------------- truth
def _stm(points: np.ndarray, s: StudySettings):
    from hrtem.strain.matching import match_templates

    return match_templates(points, s.template, nn_distance=nn_distance_a(s.zone_axis, s.lattice_constant_a),
                           r_max=s.r_max, min_level=s.min_level)


def true_strain(frames: Any, settings: StudySettings) -> xr.Dataset:
    """True per-column strain of a particle from its MD snapshots (or one structure).

    Returns
    -------
    xarray.Dataset
        dims ``column``: ``x``, ``y`` (Å, snapshot-averaged column positions),
        ``count`` (atoms), ``exx``, ``eyy``, ``exy``, ``ep`` (Eq. 4.1),
        ``rmsd``, ``matched`` (neighbours), ``interior`` (full template match),
        ``facet`` (:data:`FACETS`), ``normal_x``, ``normal_y``, ``en`` (Eq. 4.2,
        NaN off facets), ``spread`` (Å, thermal/tilt spread of the column).
    """
    from hrtem.strain.templates import get_template
    from hrtem.structures.columns import project_columns

    cols = project_columns(frames, tolerance_a=settings.column_tolerance_a, periodic=False)
    pts = cols.positions_xy
    res = _stm(pts, settings)
    facet, normal = facet_columns(pts, settings.zone_axis, tolerance_a=settings.facet_tolerance_a)
    en = _normal_strain(res.exx, res.eyy, res.exy, normal)
    full = get_template(settings.template).n_neighbours
    data = {
        "count": ("column", cols.counts.astype(np.int32), {"units": "1", "long_name": "atoms in the column"}),
        "spread": ("column", cols.spread_a, {"units": "Å", "long_name": "RMS in-plane spread of the column's atoms"}),
        "exx": ("column", res.exx, {"units": "1"}),
        "eyy": ("column", res.eyy, {"units": "1"}),
        "exy": ("column", res.exy, {"units": "1"}),
        "ep": ("column", res.planar, {"units": "1", "long_name": "planar strain (Eq. 4.1)"}),
        "rmsd": ("column", res.rmsd, {"units": "1", "long_name": "STM RMSD (template units)"}),
        "matched": ("column", res.matched.astype(np.int32), {"units": "1", "long_name": "matched neighbours"}),
        "interior": ("column", (res.matched == full).astype(np.int8), {"long_name": "full template match"}),
        "facet": ("column", facet.astype(np.int8), {"long_name": "facet " + ", ".join(f"{k}={v}" for k, v in FACETS.items())}),
        "normal_x": ("column", normal[:, 0], {"units": "1", "long_name": "outward facet normal, x"}),
        "normal_y": ("column", normal[:, 1], {"units": "1", "long_name": "outward facet normal, y"}),
        "en": ("column", en, {"units": "1", "long_name": "surface-normal strain (Eq. 4.2)"}),
    }
    return xr.Dataset(
        data,
        coords={
            "column": np.arange(len(pts)),
            "x": ("column", pts[:, 0], {"units": "Å"}),
            "y": ("column", pts[:, 1], {"units": "Å"}),
        },
        attrs={"template": settings.template, "lattice_constant_a": settings.lattice_constant_a,
               "zone_axis": settings.zone_axis,
               "nn_distance_a": nn_distance_a(settings.zone_axis, settings.lattice_constant_a),
               "snapshots": 1 if not isinstance(frames, (list, tuple)) else len(frames)},
    )


def _normal_strain(exx, eyy, exy, normal) -> np.ndarray:
    from hrtem.strain.tensor import normal_strain

    with np.errstate(invalid="ignore"):
        return normal_strain(exx, eyy, exy, np.nan_to_num(normal)) * np.where(np.isfinite(normal[:, 0]), 1.0, np.nan)


def central_slice_strain(frames: Any, settings: StudySettings) -> xr.Dataset:
    """Planar strain of the two central atomic layers along the beam (a true 2D lattice; thesis Fig. 4.2).

    Along ⟨110⟩ (⟨100⟩) the fcc layers are a/(2√2) (a/2) apart and two
    consecutive layers make up the projected column lattice; the layers are
    found from the snapshot-averaged z positions.
    """
    from ase import Atoms

    frames_l = [frames] if isinstance(frames, Atoms) else list(frames)
    pos = np.mean([f.positions for f in frames_l], axis=0)
    spacing = settings.lattice_constant_a / (2 * np.sqrt(2) if settings.zone_axis == "110" else 2.0)
    z = pos[:, 2]
    order = np.argsort(z)
    # layers: runs of sorted z with gaps below half the spacing
    breaks = np.flatnonzero(np.diff(z[order]) > 0.5 * spacing) + 1
    layers = np.split(order, breaks)
    centres = np.array([z[ix].mean() for ix in layers])
    zc = 0.5 * (z.min() + z.max())
    two = np.argsort(np.abs(centres - zc))[:2]
    pick = np.zeros(len(z), bool)
    for k in two:
        pick[layers[k]] = True
    pts = pos[pick, :2]
    res = _stm(pts, settings)
    return xr.Dataset(
        {"ep": ("slice_column", res.planar, {"units": "1", "long_name": "planar strain of the central slice"}),
         "matched": ("slice_column", res.matched.astype(np.int32))},
        coords={"slice_column": np.arange(len(pts)), "x": ("slice_column", pts[:, 0], {"units": "Å"}),
                "y": ("slice_column", pts[:, 1], {"units": "Å"})},
        attrs={"layer_spacing_a": float(spacing), "atoms": int(pick.sum())},
    )


# --------------------------------------------------------------------------- hand-made fields
def apply_strain_field(frames: Any, field: Mapping[str, Any]) -> list:
    """Displace atoms by a hand-made in-plane strain field about the particle centre.

    ``field``: ``{"kind": "none"}``; ``{"kind": "uniform", "planar": 0.02}``
    (x, y scaled by 1 + planar: ε_p = planar everywhere); or
    ``{"kind": "radial", "amplitude": 0.03, "width_a": 8.0}``, the radial
    displacement u(r) = A·r·exp(−r²/(2w²)) in the image plane, whose planar
    strain is ε_p(r) = A·exp(−r²/(2w²))·(1 − r²/(2w²)) (½ tr of ∇u in 2D) —
    compressive-free at the centre (A), changing sign at r = √2·w.
    """
    from ase import Atoms

    kind = str(field.get("kind", "none"))
    frames_l = [frames] if isinstance(frames, Atoms) else list(frames)
    if kind == "none":
        return [f.copy() for f in frames_l]
    centre = np.mean([f.positions[:, :2].mean(axis=0) for f in frames_l], axis=0)
    out = []
    for f in frames_l:
        g = f.copy()
        d = g.positions[:, :2] - centre
        if kind == "uniform":
            d = d * (1.0 + float(field.get("planar", 0.02)))
        elif kind == "radial":
            a, w = float(field.get("amplitude", 0.03)), float(field.get("width_a", 8.0))
            r2 = np.sum(d * d, axis=1, keepdims=True)
            d = d * (1.0 + a * np.exp(-r2 / (2 * w * w)))
        else:
            raise HrtemError(f"images.study.strain_field.kind: {kind!r} is not none, uniform or radial")
        g.positions[:, :2] = centre + d
        out.append(g)
    return out


def radial_planar_strain(r_a: np.ndarray, amplitude: float, width_a: float) -> np.ndarray:
    """ε_p(r) of the radial field of :func:`apply_strain_field` (small-strain, 2D)."""
    q = np.asarray(r_a, float) ** 2 / (2 * width_a**2)
    # u = A r e^{-q}: du/dr = A e^{-q}(1 − 2q), u/r = A e^{-q}; ε_p = ½(du/dr + u/r)
    return amplitude * np.exp(-q) * (1 - q)


# --------------------------------------------------------------------------- measurement
#: per-column variables of a measurement, with their units and meaning
MEASURED_VARIABLES = {
    "found": ("1", "1 where a detected column is paired with the true column"),
    "dx": ("Å", "detected − true position, x"),
    "dy": ("Å", "detected − true position, y"),
    "ep": ("1", "measured planar strain (Eq. 4.1)"),
    "ep_error": ("1", "measured − true planar strain"),
    "en_error": ("1", "measured − true surface-normal strain (Eq. 4.2), facet columns"),
    "rmsd": ("1", "STM RMSD of the detected column (template units)"),
}


def measure_image(
    image: np.ndarray,
    sampling: float | tuple[float, float],
    truth: xr.Dataset,
    settings: StudySettings,
) -> dict[str, np.ndarray]:
    """Detection → STM (partial matching) → pairing → errors, per true column.

    Returns
    -------
    dict
        :data:`MEASURED_VARIABLES` as (n_true,) float32 arrays (NaN where the
        column was not found or not matched).
    """
    from hrtem.strain.compare import pair_points
    from hrtem.strain.lattice import detect_lattice_columns

    n = truth.sizes["column"]
    out = {k: np.full(n, np.nan, np.float32) for k in MEASURED_VARIABLES}
    out["found"][:] = 0
    nn = nn_distance_a(settings.zone_axis, settings.lattice_constant_a)
    try:
        det = detect_lattice_columns(image, sampling, settings.template, nn_distance_a=nn)
    except HrtemError:
        return out
    pts = det.positions
    if len(pts) <= 8:
        return out
    res = _stm(pts, settings)
    txy = np.stack([truth["x"].values, truth["y"].values], axis=1)
    im, it = pair_points(pts, txy, settings.pair_distance_a)
    out["found"][it] = 1
    out["dx"][it] = pts[im, 0] - txy[it, 0]
    out["dy"][it] = pts[im, 1] - txy[it, 1]
    out["rmsd"][it] = res.rmsd[im]
    ep = res.planar[im]
    out["ep"][it] = ep
    out["ep_error"][it] = ep - truth["ep"].values[it]
    normal = np.stack([truth["normal_x"].values[it], truth["normal_y"].values[it]], axis=1)
    en = _normal_strain(res.exx[im], res.eyy[im], res.exy[im], normal)
    out["en_error"][it] = en - truth["en"].values[it]
    return out


def measure_ensemble(
    ensemble: str | os.PathLike,
    truth: xr.Dataset,
    path: str | os.PathLike,
    settings: StudySettings,
    *,
    threads: int = 1,
    attrs: Mapping[str, Any] | None = None,
    dask_cluster: Mapping[str, Any] | None = None,
) -> Path:
    """Measure every image of an ensemble store; write per-column results to a Zarr store.

    The store (:mod:`hrtem.simulate.ensemble`) has ``image (tilt, defocus,
    dose, sample, x, y)`` chunked by blocks of realisations and
    ``noise_free (tilt, defocus, x, y)``. The output has, for every name of
    :data:`MEASURED_VARIABLES`, ``<name> (tilt, defocus, dose, sample,
    column)`` and ``noise_free_<name> (tilt, defocus, column)``, plus the true
    columns (``truth_*``, dim ``column``). One Dask task per input chunk reads
    its images, measures them and writes its own region; the numbers do not
    depend on ``threads``. Written atomically. ``dask_cluster`` (the ``dask``
    config section) runs the tasks on a ``dask.distributed`` cluster instead
    of local threads (:mod:`hrtem.cluster`); the numbers are the same.
    """
    import dask
    import dask.array as dsa
    import zarr

    from hrtem.io import open_store
    from hrtem.io.stores import FORMAT_TAG, _jsonable, atomic_path
    from hrtem.simulate.images import sampling_of

    ds = open_store(ensemble)
    if "image" not in ds or "noise_free" not in ds:
        raise HrtemError(f"{ensemble}: not an image ensemble store (needs 'image' and 'noise_free'); "
                         "make it with 'hrtem simulate ensemble'")
    img = ds["image"]
    sampling = sampling_of(img)
    nt, nd, nq, ns = (img.sizes[k] for k in ("tilt", "defocus", "dose", "sample"))
    block = int(img.attrs.get("samples_per_block") or (img.encoding.get("chunks") or (1, 1, 1, ns))[3])
    block = max(1, min(block, ns))
    nc = truth.sizes["column"]
    dims = ("tilt", "defocus", "dose", "sample", "column")
    shape = (nt, nd, nq, ns, nc)
    chunks = (1, 1, 1, block, nc)
    data_vars = {}
    for k, (units, desc) in MEASURED_VARIABLES.items():
        data_vars[k] = (dims, dsa.full(shape, np.nan, chunks=chunks, dtype=np.float32),
                        {"units": units, "long_name": desc})
        data_vars[f"noise_free_{k}"] = (("tilt", "defocus", "column"),
                                        dsa.full((nt, nd, nc), np.nan, chunks=(1, 1, nc), dtype=np.float32),
                                        {"units": units, "long_name": desc + " (noise-free image)"})
    for k in truth.data_vars:
        data_vars[f"truth_{k}"] = ("column", truth[k].values, dict(truth[k].attrs))
    coords = {k: ds[k] for k in ("tilt", "defocus", "dose", "sample")}
    coords["column"] = ("column", np.arange(nc))
    coords["x"] = ("column", truth["x"].values, {"units": "Å", "long_name": "true column x"})
    coords["y"] = ("column", truth["y"].values, {"units": "Å", "long_name": "true column y"})
    template = xr.Dataset(data_vars, coords=coords,
                          attrs=_jsonable({**dict(attrs or {}), **truth.attrs, "hrtem_format": FORMAT_TAG,
                                           "sampling_a": list(sampling), "ensemble": str(ensemble),
                                           "samples_per_block": block}))
    encoding = {k: {"chunks": chunks} for k in MEASURED_VARIABLES}
    encoding.update({f"noise_free_{k}": {"chunks": (1, 1, nc)} for k in MEASURED_VARIABLES})

    def task(i: int, j: int, k: int, b: int, group: Any) -> int:
        lo, hi = b * block, min(ns, (b + 1) * block)
        with dask.config.set(scheduler="synchronous"):
            stack = np.asarray(img.isel(tilt=i, defocus=j, dose=k, sample=slice(lo, hi)).transpose("sample", "x", "y").values)
        res = [measure_image(stack[s], sampling, truth, settings) for s in range(hi - lo)]
        for name in MEASURED_VARIABLES:
            group[name][i, j, k, lo:hi] = np.stack([r[name] for r in res])
        return hi - lo

    def free_task(i: int, j: int, group: Any) -> int:
        with dask.config.set(scheduler="synchronous"):
            im = np.asarray(ds["noise_free"].isel(tilt=i, defocus=j).transpose("x", "y").values)
        r = measure_image(im, sampling, truth, settings)
        for name in MEASURED_VARIABLES:
            group[f"noise_free_{name}"][i, j] = r[name]
        return 1

    n_blocks = -(-ns // block)
    with atomic_path(path) as tmp:
        template.to_zarr(tmp, mode="w", compute=False, zarr_format=3, consolidated=False, encoding=encoding)
        group = zarr.open_group(tmp, mode="r+", zarr_format=3)
        tasks = []
        for i in range(nt):
            for j in range(nd):
                tasks.append(dask.delayed(free_task, pure=False)(i, j, group, dask_key_name=f"free-{i}-{j}"))
                for k in range(nq):
                    for b in range(n_blocks):
                        tasks.append(dask.delayed(task, pure=False)(i, j, k, b, group,
                                                                    dask_key_name=f"measure-{i}-{j}-{k}-{b}"))
        from hrtem.cluster import compute

        done = compute(tasks, threads=int(threads), dask=dask_cluster)
        if sum(done) != nt * nd * (1 + nq * ns):
            raise HrtemError(f"measurement store {path}: some blocks were not written; re-run the rule")
    return Path(path)


def collect(stores: Sequence[tuple[float, float, str | os.PathLike]], path: str | os.PathLike,
            *, attrs: Mapping[str, Any] | None = None) -> Path:
    """Combine per-(size, tilt axis) measurement stores into one with dims (size, tilt_axis, …, column).

    ``stores``: (size_nm, tilt_axis_deg, store path). Columns are padded with
    NaN to the largest particle (``truth_count`` 0 marks padding).
    """
    from hrtem.io import open_store, write_dataset

    by_size: dict[float, list[tuple[float, xr.Dataset]]] = {}
    for size, axis, p in stores:
        by_size.setdefault(float(size), []).append((float(axis), open_store(p).load()))
    ncol = max(d.sizes["column"] for parts in by_size.values() for _, d in parts)
    sizes = sorted(by_size)
    out = []
    for size in sizes:
        parts = sorted(by_size[size], key=lambda t: t[0])
        axes = [a for a, _ in parts]
        dsets = []
        for _, d in parts:
            d = d.reset_coords(["x", "y"]).rename({"x": "column_x", "y": "column_y"})
            d = d.reindex(column=np.arange(ncol))
            dsets.append(d)
        cat = xr.concat(dsets, dim=xr.DataArray(axes, dims="tilt_axis", name="tilt_axis"),
                        data_vars="all", coords="minimal", compat="override", join="override")
        # truth does not depend on the tilt axis
        for k in list(cat.data_vars):
            if (k.startswith("truth_") or k.startswith("column_")) and "tilt_axis" in cat[k].dims:
                cat[k] = cat[k].isel(tilt_axis=0, drop=True)
        out.append(cat)
    full = xr.concat(out, dim=xr.DataArray(sizes, dims="size", name="size"), data_vars="all",
                     join="outer", combine_attrs="drop_conflicts")
    full = full.transpose("size", "tilt_axis", "tilt", "defocus", "dose", "sample", "column", ...)
    full["size"].attrs = {"units": "nm", "long_name": "Wulff particle diameter"}
    full["tilt_axis"].attrs = {"units": "degree", "long_name": "in-plane tilt axis from x (Ω1, Ω2)"}
    write_dataset(full, path, attrs=dict(attrs or {}))
    return Path(path)
