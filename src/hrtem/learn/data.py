"""Training images made afresh at every step from exit waves stored once (thesis §6.3–6.4).

Pipeline
--------
1. :func:`graphene_structures`: N random graphene sheets (Poisson disc → Voronoi →
   Lloyd → holes, :func:`hrtem.structures.graphene.random_graphene`), periodic in x, y.
2. :func:`build_exit_waves`: their abTEM exit waves (:func:`hrtem.simulate.exit_waves.exit_waves`,
   at ``simulate.sampling_a``) band-limited by Fourier cropping to
   ``learn.data.wave_sampling_a`` and stored once in a Zarr store with the atom
   positions, classes and (column) heights. The crop keeps every frequency the
   lens transmits: the stored grid's Nyquist frequency 1/(2·wave_sampling_a)
   (5 Å⁻¹ at 0.1 Å) must exceed twice the information limit (the image
   intensity holds the beam's interference with waves up to that limit); at
   80 kV with a focal spread ≥ 20 Å the temporal envelope is below 2·10⁻⁴ beyond
   1.5 Å⁻¹.
3. :class:`TrainingImages`: for image number ``step`` a random stream
   ``hrtem.seeding.rng(seed, "learn", stream, step)`` draws, in this order, a
   structure and a frozen-phonon configuration, a microscope and a detector
   from the ranges of ``learn.microscope`` (uniform, dose log-uniform; Table
   6.1), the camera pixel (``sampling_a`` × a scale jitter), a random
   translation (the stored cell is periodic, so a crop may sit anywhere and be
   larger than the cell), a 90° rotation and a mirror. The image of channel c
   (a focal series when ``channels`` > 1, defocus offset (c − (C−1)/2)·``focal_step_a``;
   or, with ``focal_series``, the absolute defoci Δf_c = defoci_a[c] + U(−jitter_a, jitter_a)
   of thesis Eq. 6.19 in place of the drawn defocus, the rest of the microscope drawn once)
   is ``|F⁻¹[F[ψ]·H]|²`` with H = exp(−iχ)·A·Es·Et·Ed (:class:`hrtem.optics.Microscope`),
   sampled bilinearly (periodic) at the camera pixels → Poisson noise at the
   drawn dose (:func:`hrtem.optics.shot_noise`) → √MTF (:func:`hrtem.optics.apply_mtf`,
   on a grid with a margin that is then cut so the filter's wrap-around never
   reaches the crop) → gamma, contrast, brightness → local contrast
   normalisation. The labels (:func:`hrtem.learn.labels.gaussian_labels`) are
   drawn on the same camera grid from the same transformed positions.
4. :func:`make_dataset`: a ``tf.data`` pipeline (parallel map, prefetch) of
   ``(image_batch, label_batch)``; batch b holds images
   ``(start_step + b)·batch … (start_step + b + 1)·batch − 1``, so a training
   resumed at step k with ``start_step=k`` sees exactly the images an
   uninterrupted run would have seen.

Deflection (Table 6.1): the printed range "0–25 Å" is read as pm, σ ∈ [0, 0.25] Å
(with Ed = exp(−σ²q²/2), σ = 25 Å gives Ed(0.5 Å⁻¹) = e⁻⁷⁸ and erases every
fringe; SCIENCE.md §4). It is the config key ``learn.microscope.deflection_sigma_a``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import scipy.fft
from scipy import ndimage

from hrtem.errors import HrtemError
from hrtem.learn.labels import gaussian_labels
from hrtem.optics.detector import apply_mtf, shot_noise
from hrtem.optics.microscope import Microscope
from hrtem.optics.sampling import draw_section, sample_microscope
from hrtem.seeding import rng as make_rng

__all__ = [
    "DATA_DEFAULTS",
    "MICROSCOPE_RANGES_DEFAULTS",
    "FOCAL_SERIES_DEFAULTS",
    "graphene_structures",
    "build_exit_waves",
    "ExitWaveSet",
    "Sample",
    "TrainingImages",
    "make_dataset",
    "local_contrast_normalise",
    "gaussian_blur",
]

#: Defaults of the config section ``learn.data`` (must equal the schema's; tested).
DATA_DEFAULTS: dict[str, Any] = {
    "structures": 16,
    "cell_a": [19.2, 19.2],
    "holes": [0, 2],
    "hole_radius_a": [2.0, 4.0],
    "phonon_configurations": 1,
    "phonon_sigma_a": 0.0,
    "wave_sampling_a": 0.1,
    "sampling_a": 0.12,
    "crop_px": 128,
    "channels": 1,
    "focal_step_a": 50.0,
    "focal_series": None,
    "scale_jitter": 0.05,
    "rotate90": True,
    "mirror": True,
    "brightness": 0.05,
    "contrast": [0.8, 1.25],
    "gamma": [0.8, 1.25],
    "label_sigma_a": 0.4,
    "lcn_sigma_a": 5.0,
    "centre_on_sites": 0.0,
}

#: Defaults of ``learn.data.focal_series`` when it is given (thesis Eq. 6.19, gold atom counting).
FOCAL_SERIES_DEFAULTS: dict[str, Any] = {
    "defoci_a": [-170.0, -40.0, 90.0],
    "jitter_a": 20.0,
    "dose": "total",
}

#: Defaults of ``learn.microscope``: Table 6.1 (80 kV graphene), deflection read as pm.
MICROSCOPE_RANGES_DEFAULTS: dict[str, Any] = {
    "energy_kev": 80.0,
    "defocus_a": [-200.0, 200.0],
    "cs_mm": [-0.02, 0.02],
    "c5_mm": [0.0, 5.0],
    "astigmatism_a": [0.0, 100.0],
    "astigmatism_angle_deg": [0.0, 360.0],
    "focal_spread_a": [20.0, 40.0],
    "deflection_sigma_a": [0.0, 0.25],
    "illumination_semiangle_mrad": [0.0, 0.0],
    "dose_e_per_a2": [10.0, 10000.0],
    "mtf_c1": [0.0, 0.1],
    "mtf_c2": [0.4, 0.6],
    "mtf_c3": [2.0, 3.0],
}

_MTF_KEYS = ("mtf_c1", "mtf_c2", "mtf_c3")
_MARGIN_PX = 8


def _merge(section: Mapping[str, Any] | None, defaults: Mapping[str, Any], where: str) -> dict[str, Any]:
    section = dict(section or {})
    unknown = sorted(set(section) - set(defaults))
    if unknown:
        raise HrtemError(f"{where}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(defaults)}")
    return {**defaults, **section}


def _pair(value: Any, where: str) -> tuple[float, float]:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value), float(value)
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError) as err:
        raise HrtemError(f"{where} must be a number or a range [low, high], got {value!r}") from err
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi < lo:
        raise HrtemError(f"{where}: range [{lo}, {hi}] must be finite with low <= high")
    return lo, hi


# --------------------------------------------------------------------------- structures
def graphene_structures(
    n: int, data: Mapping[str, Any] | None, seed: int, keys: Sequence[str | int] = ("learn", "structures")
) -> list[Any]:
    """``n`` random graphene sheets of ``learn.data.cell_a`` (thesis Fig. 6.9).

    Each sheet has a number of holes drawn uniformly from ``learn.data.holes``
    (inclusive) with semi-axes in ``hole_radius_a``; sheet i uses the stream
    ``(seed, *keys, i)``.
    """
    from hrtem.structures.graphene import random_graphene

    d = _merge(data, DATA_DEFAULTS, "learn.data")
    holes = [int(h) for h in d["holes"]]
    out = []
    for i in range(int(n)):
        model = random_graphene(
            seed,
            *keys,
            i,
            cell_a=tuple(float(c) for c in d["cell_a"]),
            holes_range=holes,
            hole_radius_range_a=tuple(float(r) for r in d["hole_radius_a"]),
        )
        out.append(model.atoms)
    return out


# --------------------------------------------------------------------------- exit waves
def _fourier_crop(waves: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Band-limit periodic waves ``(..., nx, ny)`` to a coarser grid ``shape`` (same cell)."""
    nx, ny = waves.shape[-2:]
    mx, my = shape
    if (mx, my) == (nx, ny):
        return waves.astype(np.complex64)
    if mx > nx or my > ny:
        raise HrtemError(
            f"learn.data.wave_sampling_a is finer than the simulation grid ({nx}x{ny} -> {mx}x{my}); "
            "use a wave_sampling_a >= simulate.sampling_a"
        )
    f = scipy.fft.fft2(waves, axes=(-2, -1))
    ix = (np.fft.fftfreq(mx) * mx).astype(int) % nx
    iy = (np.fft.fftfreq(my) * my).astype(int) % ny
    small = f[..., ix[:, None], iy[None, :]]
    return (scipy.fft.ifft2(small, axes=(-2, -1)) * (mx * my / (nx * ny))).astype(np.complex64)


def build_exit_waves(
    structures: Sequence[Any],
    simulate: Mapping[str, Any],
    microscope: Mapping[str, Any],
    path: str | os.PathLike,
    seed: int,
    keys: Sequence[str | int] = ("learn", "exit_waves"),
    *,
    data: Mapping[str, Any] | None = None,
    n_classes: int | None = None,
    info_keys: Sequence[str] = (),
) -> Path:
    """Compute the exit waves of ``structures`` once and store them with the atoms.

    Parameters
    ----------
    structures
        ASE structures with the same orthogonal cell (x, y periodic; beam along z).
        Optional per-atom arrays ``class`` (int ≥ 1, default 1) and ``height``
        (atoms in the column, default 1). Label sites that are not the atoms
        (columns, particle centres; the atoms of a support unlabelled) are given
        by ``atoms.info["label_xy"]`` ``(M, 2)`` Å with ``info["label_class"]``
        ``(M,)`` and optionally ``info["label_height"]`` ``(M,)``; they are then
        stored instead of the atoms.
    simulate
        The ``simulate`` config section (sampling, slices, parametrisation…);
        its frozen phonons are replaced by ``learn.data.phonon_*``.
    microscope
        ``learn.microscope`` (only ``energy_kev`` is used: it must be fixed).
    path
        Target Zarr store.
    seed, keys
        Structure i uses the stream ``(seed, *keys, i)`` for its phonons.
    data
        ``learn.data`` (``wave_sampling_a``, ``phonon_configurations``, ``phonon_sigma_a``).
    n_classes
        K stored for the label maps (default: the largest class present); give it
        when several stores (training, test) must have the same label channels.
    info_keys
        Names in every structure's ``atoms.info`` (numbers: a held-out particle's
        ``tilt_deg``, ``diameter_nm``) stored as ``(structure,)`` variables of
        the same name, read back by :meth:`ExitWaveSet.structure_info`.

    Returns
    -------
    Path
        The store: ``exit_wave (structure, config, x, y)`` complex64 (vacuum
        |ψ|² = 1), ``atom_xy (atom, xy)`` Å, ``atom_class``, ``atom_height``,
        ``atom_start (structure_edge)`` (atoms of structure i are
        ``atom_start[i]:atom_start[i+1]``); attrs ``cell_a``, ``sampling_a``,
        ``energy_kev``, ``n_classes``.
    """
    import xarray as xr

    from hrtem.config import validate_config
    from hrtem.io import provenance, write_dataset
    from hrtem.simulate.exit_waves import exit_waves

    if not structures:
        raise HrtemError("build_exit_waves: no structures given; set learn.data.structures >= 1")
    reserved = {"exit_wave", "atom_xy", "atom_class", "atom_height", "atom_start"}
    for key in info_keys:
        if key in reserved:
            raise HrtemError(f"build_exit_waves: info key {key!r} is a variable of the store itself")
        lacking = [i for i, a in enumerate(structures) if key not in a.info]
        if lacking:
            raise HrtemError(f"build_exit_waves: structure(s) {lacking[:5]} have no atoms.info[{key!r}]")
    info = {key: np.asarray([float(a.info[key]) for a in structures]) for key in info_keys}
    d = _merge(data, DATA_DEFAULTS, "learn.data")
    lo, hi = _pair(_merge(microscope, MICROSCOPE_RANGES_DEFAULTS, "learn.microscope")["energy_kev"], "learn.microscope.energy_kev")
    if lo != hi:
        raise HrtemError("learn.microscope.energy_kev must be one number: the exit waves depend on it")
    energy = lo
    sim = {**validate_config({})["simulate"], **dict(simulate)}
    n_conf = int(d["phonon_configurations"])
    sigma = float(d["phonon_sigma_a"])
    if sigma > 0:
        symbols = sorted({s for a in structures for s in a.get_chemical_symbols()})
        sim["frozen_phonons"] = {"model": "einstein", "configurations": n_conf, "sigma_a": dict.fromkeys(symbols, sigma)}
    else:
        sim["frozen_phonons"] = {"model": "none", "configurations": 1, "sigma_a": {}}
    cell = np.asarray(structures[0].cell.lengths()[:2], float)
    ws = float(d["wave_sampling_a"])
    shape = (max(2, math.ceil(cell[0] / ws - 1e-9)), max(2, math.ceil(cell[1] / ws - 1e-9)))
    waves, xy, cls, height, start = [], [], [], [], [0]
    for i, atoms in enumerate(structures):
        if not np.allclose(atoms.cell.lengths()[:2], cell, atol=1e-6):
            raise HrtemError(
                f"build_exit_waves: structure {i} has cell {atoms.cell.lengths()[:2]} Å but structure 0 has {cell}; "
                "all training structures need the same cell"
            )
        # static sheets (phonon_sigma_a = 0) store one configuration
        w = exit_waves(atoms, energy_kev=energy, simulate=sim, seed=seed, keys=(*keys, i)).values
        waves.append(_fourier_crop(w, shape))
        if "label_xy" in atoms.info:
            site_xy = np.asarray(atoms.info["label_xy"], float).reshape(-1, 2)
            site_cls = np.asarray(atoms.info["label_class"], np.int32).ravel()
            site_h = np.asarray(atoms.info.get("label_height", np.ones(len(site_xy))), np.float32).ravel()
            if not len(site_cls) == len(site_h) == len(site_xy):
                raise HrtemError(f"build_exit_waves: structure {i} has label_xy, label_class, label_height of unequal length")
        else:
            site_xy = atoms.positions[:, :2]
            site_cls = np.asarray(atoms.arrays.get("class", np.ones(len(atoms), int)), np.int32)
            site_h = np.asarray(atoms.arrays.get("height", np.ones(len(atoms))), np.float32)
        xy.append(np.mod(site_xy, cell))
        cls.append(site_cls)
        height.append(site_h)
        start.append(start[-1] + len(site_xy))
    classes = np.concatenate(cls)
    if len(classes) and classes.min() < 1:
        raise HrtemError("build_exit_waves: per-atom 'class' must be >= 1 (0 is the background)")
    k = int(classes.max(initial=1)) if n_classes is None else int(n_classes)
    if len(classes) and classes.max() > k:
        raise HrtemError(f"build_exit_waves: class {classes.max()} exceeds n_classes = {k}")
    ds = xr.Dataset(
        {
            "exit_wave": (("structure", "config", "x", "y"), np.stack(waves)),
            "atom_xy": (("atom", "xy"), np.concatenate(xy), {"units": "Å"}),
            "atom_class": (("atom",), classes),
            "atom_height": (("atom",), np.concatenate(height)),
            "atom_start": (("structure_edge",), np.asarray(start, np.int64)),
            **{key: (("structure",), v) for key, v in info.items()},
        },
        attrs={
            "cell_a": cell.tolist(),
            "sampling_a": [cell[0] / shape[0], cell[1] / shape[1]],
            "energy_kev": energy,
            "n_classes": k,
            "long_name": "exit waves of the training structures",
        },
    )
    ds["exit_wave"].attrs.update(units="1 (vacuum |ψ|² = 1)")
    chunks = {"exit_wave": {"chunks": (1, 1, *shape)}}
    return write_dataset(
        ds, path, attrs=provenance(config={"simulate": sim, "learn.data": d}, seed=seed, rule="learn_exit_waves"),
        encoding=chunks,
    )


def study_settings(study: Mapping[str, Any], label_sigma_a: float, **data: Any) -> dict[str, Any]:
    """``{"microscope": …, "data": …}`` for :class:`TrainingImages` from a study's config section.

    The study section (``ceria``, ``shapes``…) gives ``microscope``,
    ``exit_waves.sampling_a`` and ``data.{sampling_a, crop_px, lcn_sigma_a}`` (Å,
    px); one static configuration and one channel; ``data`` overrides or adds
    ``learn.data`` keys (e.g. ``scale_jitter=0.0``).
    """
    d = study["data"]
    return {
        "microscope": dict(study["microscope"]),
        "data": {
            "wave_sampling_a": float(study["exit_waves"]["sampling_a"]),
            "sampling_a": float(d["sampling_a"]),
            "crop_px": int(d["crop_px"]),
            "label_sigma_a": float(label_sigma_a),
            "lcn_sigma_a": float(d["lcn_sigma_a"]),
            "phonon_configurations": 1,
            "phonon_sigma_a": 0.0,
            "channels": 1,
            **data,
        },
    }


def build_split_exit_waves(
    splits: Mapping[str, Sequence[Any]],
    exit_waves: Mapping[str, Any],
    simulate: Mapping[str, Any] | None,
    settings: Mapping[str, Any],
    out_dir: str | os.PathLike,
    seed: int,
    study: str,
    n_classes: int,
) -> dict[str, Path]:
    """Exit waves of named groups of structures (``train``, ``test``…) of one study.

    Each group goes to ``out_dir/<name>.zarr`` through :func:`build_exit_waves`,
    simulated with the ``simulate`` section (defaults filled in) at the study's
    own ``exit_waves.sampling_a`` and ``exit_waves.slice_thickness_a`` (Å), and
    seeded by ``(seed, study, "exit_waves", name)``.

    Parameters
    ----------
    splits
        ``{name: structures}``.
    exit_waves
        The study's ``exit_waves`` section (``sampling_a``, ``slice_thickness_a``).
    simulate
        The ``simulate`` config section (may be partial or ``None``).
    settings
        ``{"microscope": …, "data": …}`` as for :class:`TrainingImages`.
    out_dir, seed, study, n_classes
        Output folder, config seed, study name (``ceria``, ``shapes``…), label classes.
    """
    from hrtem.config import validate_config

    sim = {**validate_config({})["simulate"], **dict(simulate or {})}
    sim.update(
        sampling_a=float(exit_waves["sampling_a"]),
        slice_thickness_a=float(exit_waves["slice_thickness_a"]),
    )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return {
        name: build_exit_waves(
            group, sim, settings["microscope"], out / f"{name}.zarr", seed, (study, "exit_waves", name),
            data=settings["data"], n_classes=int(n_classes),
        )
        for name, group in splits.items()
    }


class ExitWaveSet:
    """A store written by :func:`build_exit_waves`, opened lazily.

    Positions, classes and heights are read at once (small); the waves are read
    per structure and kept in memory after the first read when the whole set
    is below ``cache_bytes`` (default 2 GiB).
    """

    def __init__(self, path: str | os.PathLike, cache_bytes: int = 2 << 30) -> None:
        from hrtem.io import open_store

        self.path = Path(path)
        ds = open_store(self.path, variables=("exit_wave", "atom_xy", "atom_class", "atom_height", "atom_start"))
        self.cell_a = np.asarray(ds.attrs["cell_a"], float)
        self.sampling_a = tuple(float(s) for s in ds.attrs["sampling_a"])
        self.energy_kev = float(ds.attrs["energy_kev"])
        self.n_classes = int(ds.attrs.get("n_classes", 1))
        self._xy = np.asarray(ds["atom_xy"].values, float)
        self._class = np.asarray(ds["atom_class"].values, int)
        self._height = np.asarray(ds["atom_height"].values, float)
        self._start = np.asarray(ds["atom_start"].values, int)
        self._info = {name: np.asarray(v.values, float) for name, v in ds.data_vars.items()
                      if v.dims == ("structure",)}  # build_exit_waves(info_keys=...)
        self.shape = tuple(int(n) for n in ds["exit_wave"].shape)  # (structure, config, nx, ny)
        self._cache: dict[int, np.ndarray] | None = {} if 8 * int(np.prod(self.shape)) <= cache_bytes else None
        self._array: Any = None

    def __len__(self) -> int:
        return self.shape[0]

    def structure_info(self, name: str) -> np.ndarray | None:
        """``(structure,)`` values stored by ``build_exit_waves(info_keys=...)``; None if absent."""
        return self._info.get(name)

    @property
    def configurations(self) -> int:
        """Frozen-phonon configurations stored per structure."""
        return self.shape[1]

    def _check(self, i: int) -> int:
        i = int(i)
        if not 0 <= i < len(self):
            raise IndexError(f"structure {i} out of range 0..{len(self) - 1}")
        return i

    def positions(self, i: int) -> np.ndarray:
        """``(N, 2)`` positions [x, y] of structure i in Å (wrapped into the cell)."""
        i = self._check(i)
        return self._xy[self._start[i] : self._start[i + 1]]

    def classes(self, i: int) -> np.ndarray:
        """``(N,)`` class (≥ 1) of every atom of structure i."""
        i = self._check(i)
        return self._class[self._start[i] : self._start[i + 1]]

    def heights(self, i: int) -> np.ndarray:
        """``(N,)`` column height (atoms) of every atom/column of structure i."""
        i = self._check(i)
        return self._height[self._start[i] : self._start[i + 1]]

    def wave(self, i: int) -> np.ndarray:
        """``(config, nx, ny)`` complex64 exit waves of structure i."""
        i = self._check(i)
        if self._cache is not None and i in self._cache:
            return self._cache[i]
        if self._array is None:
            import zarr

            self._array = zarr.open_group(str(self.path), mode="r")["exit_wave"]
        w = np.asarray(self._array[i], dtype=np.complex64)
        if self._cache is not None:
            self._cache[i] = w
        return w

    def __getstate__(self) -> dict[str, Any]:  # zarr handles are not shared between processes
        state = dict(self.__dict__)
        state["_array"] = None
        return state


# --------------------------------------------------------------------------- normalisation
def _blur_exact(img: np.ndarray, sigma_px: float) -> np.ndarray:
    nx, ny = img.shape[:2]
    px, py = min(int(np.ceil(3 * sigma_px)), nx), min(int(np.ceil(3 * sigma_px)), ny)
    # grow the padding so the padded grid has an FFT-friendly size
    qx = scipy.fft.next_fast_len(nx + 2 * px, real=True) - nx - px
    qy = scipy.fft.next_fast_len(ny + 2 * py, real=True) - ny - py
    pad = [(px, qx), (py, qy)] + [(0, 0)] * (img.ndim - 2)
    big = np.pad(img, pad, mode="symmetric")
    mx, my = big.shape[:2]
    fx = np.fft.fftfreq(mx)[:, None]
    fy = np.fft.rfftfreq(my)[None, :]
    h = np.exp(-2.0 * np.pi**2 * sigma_px**2 * (fx**2 + fy**2)).astype(np.float32)
    if img.ndim > 2:
        h = h.reshape(h.shape + (1,) * (img.ndim - 2))
    out = scipy.fft.irfft2(scipy.fft.rfft2(big, axes=(0, 1)) * h, s=(mx, my), axes=(0, 1))
    return out[px : px + nx, py : py + ny].astype(np.float32)


def gaussian_blur(image: np.ndarray, sigma_px: float) -> np.ndarray:
    """Gaussian filter of the first two axes of ``(nx, ny, …)``, symmetric-reflecting edges.

    σ < 8 px: in Fourier space on the image padded by reflection (3σ, at most
    the image size, per side), transfer exp(−2π²σ²f²). σ ≥ 8 px (the local
    contrast window, ~40 px): on a grid decimated by f = ⌊σ/4⌋ (block means),
    filtered there with σ/f and interpolated back bilinearly — the block mean
    adds a width f/√12 ≤ 0.15σ in quadrature (≤ 1 % on σ) and the bilinear
    interpolation of a field this smooth errs by < 1 % of its variation, at a
    fraction of the cost. A constant image stays constant either way.
    """
    img = np.asarray(image, dtype=np.float32)
    if sigma_px <= 0:
        return img.copy()
    f = int(sigma_px // 4)
    if f < 2:
        return _blur_exact(img, sigma_px)
    nx, ny = img.shape[:2]
    pad = [(0, (-nx) % f), (0, (-ny) % f)] + [(0, 0)] * (img.ndim - 2)
    big = np.pad(img, pad, mode="symmetric")
    mx, my = big.shape[0] // f, big.shape[1] // f
    small = big.reshape(mx, f, my, f, *img.shape[2:]).mean(axis=(1, 3))
    sig = [sigma_px / f, sigma_px / f] + [0.0] * (img.ndim - 2)
    small = ndimage.gaussian_filter(small, sig, mode="reflect")
    # original pixel centres in units of the decimated grid
    cx = (np.arange(nx) + 0.5) / f - 0.5
    cy = (np.arange(ny) + 0.5) / f - 0.5
    ix = np.clip(np.floor(cx).astype(int), 0, max(mx - 2, 0))
    iy = np.clip(np.floor(cy).astype(int), 0, max(my - 2, 0))
    wx = np.clip(cx - ix, 0.0, 1.0) if mx > 1 else np.zeros(nx)
    wy = np.clip(cy - iy, 0.0, 1.0) if my > 1 else np.zeros(ny)
    ix1, iy1 = np.minimum(ix + 1, mx - 1), np.minimum(iy + 1, my - 1)
    ex = (slice(None),) + (None,) * (img.ndim - 1)
    ey = (None, slice(None)) + (None,) * (img.ndim - 2)
    rows = small[ix] * (1 - wx[ex]) + small[ix1] * wx[ex]
    out = rows[:, iy] * (1 - wy[ey]) + rows[:, iy1] * wy[ey]
    return out.astype(np.float32)


def local_contrast_normalise(image: np.ndarray, sigma_px: float | None, eps: float = 1e-6) -> np.ndarray:
    """Subtractive then divisive local normalisation (thesis Eq. 6.10–6.11).

    ``G = I − ⟨w ∗ I⟩_k``, ``H = G / √⟨w ∗ G²⟩_k`` with w a normalised Gaussian
    of width ``sigma_px`` pixels (:func:`gaussian_blur`, reflecting edges) and
    ⟨·⟩_k the mean over channels (so relative intensities of a focal series
    survive). ``image``: ``(nx, ny)`` or ``(nx, ny, C)``. ``sigma_px=None``:
    global (mean 0, standard deviation 1 over the whole image). The same
    function prepares images at training and at detection.
    """
    img = np.asarray(image, dtype=np.float32)
    squeeze = img.ndim == 2
    if squeeze:
        img = img[..., None]
    if img.ndim != 3:
        raise HrtemError(f"local_contrast_normalise: expected (nx, ny) or (nx, ny, C), got shape {img.shape}")
    if sigma_px is None:
        g = img - img.mean()
        out = g / max(float(np.sqrt((g * g).mean())), eps)
    else:
        g = img - gaussian_blur(img, float(sigma_px)).mean(axis=-1, keepdims=True)
        den = np.sqrt(np.maximum(gaussian_blur(g * g, float(sigma_px)).mean(axis=-1, keepdims=True), 0.0))
        out = g / np.maximum(den, eps)
    out = out.astype(np.float32)
    return out[..., 0] if squeeze else out


# --------------------------------------------------------------------------- images
@dataclass
class Sample:
    """One generated training image with what made it.

    ``image (nx, ny, C)`` float32, ``labels (nx, ny, K+1)`` float32,
    ``positions_a (M, 2)`` the atoms in the image frame (Å, origin at pixel (0, 0)'s
    centre; periodic images included, atoms up to 4σ outside the crop too),
    ``classes``/``heights`` per position, ``sampling_a`` the camera pixel,
    ``structure`` its index, ``params`` the drawn microscope/detector/augmentation.
    """

    image: np.ndarray
    labels: np.ndarray
    positions_a: np.ndarray
    classes: np.ndarray
    heights: np.ndarray
    sampling_a: float
    structure: int
    params: dict[str, Any] = field(default_factory=dict)


def image_params(defoci_a: Sequence[float], dose_e_per_a2: float, mtf: Mapping[str, float], sampling_a: float,
                 origin_a: np.ndarray, rotate90: int, mirror: bool, gamma: float, contrast: float,
                 brightness: float) -> dict[str, Any]:
    """The drawn detector and augmentation parameters of one training image (``Sample.params``)."""
    return {
        "defocus_a_channels": [float(v) for v in defoci_a],
        "dose_e_per_a2": dose_e_per_a2,
        **{f"mtf_{k}": v for k, v in mtf.items()},
        "sampling_a": sampling_a,
        "origin_a": np.asarray(origin_a, float).tolist(),
        "rotate90": rotate90,
        "mirror": mirror,
        "gamma": gamma,
        "contrast": contrast,
        "brightness": brightness,
    }


class TrainingImages:
    """Random training images from an :class:`ExitWaveSet` (module docstring).

    Parameters
    ----------
    exit_waves
        The stored exit waves (or a path to their store).
    settings
        The ``learn`` config section (its ``data`` and ``microscope`` blocks are
        used; other keys are ignored) or ``{"data": …, "microscope": …}``.
    seed
        The config's seed; image ``step`` uses ``rng(seed, "learn", stream, step)``.
    stream
        Name of the random stream ("train"; use another for validation images).
    """

    def __init__(self, exit_waves: ExitWaveSet | str | os.PathLike, settings: Mapping[str, Any], seed: int,
                 stream: str = "train") -> None:
        self.waves = exit_waves if isinstance(exit_waves, ExitWaveSet) else ExitWaveSet(exit_waves)
        self.data = _merge(settings.get("data"), DATA_DEFAULTS, "learn.data")
        self.ranges = _merge(settings.get("microscope"), MICROSCOPE_RANGES_DEFAULTS, "learn.microscope")
        self.seed = int(seed)
        self.stream = str(stream)
        e_lo, e_hi = _pair(self.ranges["energy_kev"], "learn.microscope.energy_kev")
        if abs(e_lo - self.waves.energy_kev) > 1e-6 or e_hi != e_lo:
            raise HrtemError(
                f"learn.microscope.energy_kev is {self.ranges['energy_kev']} but the exit waves in "
                f"{self.waves.path} were computed at {self.waves.energy_kev} keV; rebuild them or use that energy"
            )
        for key in MICROSCOPE_RANGES_DEFAULTS:
            _pair(self.ranges[key], f"learn.microscope.{key}")
        if _pair(self.ranges["dose_e_per_a2"], "dose")[0] <= 0:
            raise HrtemError("learn.microscope.dose_e_per_a2 must be > 0 e⁻/Å²")
        self.crop_px = int(self.data["crop_px"])
        self.channels = int(self.data["channels"])
        self.focal_series = self._focal_series(self.data.get("focal_series"))
        self.n_classes = self.waves.n_classes
        ws = self.waves.sampling_a
        qx, qy = np.fft.fftfreq(self.waves.shape[2], ws[0])[:, None], np.fft.fftfreq(self.waves.shape[3], ws[1])[None, :]
        self._q = (qx, qy)
        q2 = (qx**2 + qy**2).ravel()
        self._spectra: dict | None = {} if 8 * int(np.prod(self.waves.shape)) <= 512 << 20 else None
        self._q_order = np.argsort(q2, kind="stable")  # frequencies by |q|, for the envelope cut-off
        self._q2_sorted = q2[self._q_order]
        self._qx_flat = np.broadcast_to(qx, (len(qx), qy.shape[1])).ravel()[self._q_order]
        self._qy_flat = np.broadcast_to(qy, (len(qx), qy.shape[1])).ravel()[self._q_order]

    def _focal_series(self, fs: Mapping[str, Any] | None) -> dict[str, Any] | None:
        """``learn.data.focal_series`` checked and completed (None: no absolute focal series)."""
        if fs is None:
            return None
        fs = _merge(fs, FOCAL_SERIES_DEFAULTS, "learn.data.focal_series")
        defoci = [float(v) for v in fs["defoci_a"]]
        if not defoci or not all(math.isfinite(v) for v in defoci):
            raise HrtemError("learn.data.focal_series.defoci_a must be a non-empty list of finite defoci in Å")
        if len(defoci) != self.channels:
            raise HrtemError(
                f"learn.data.focal_series has {len(defoci)} defoci but learn.data.channels is {self.channels}; "
                "set channels to the number of defoci"
            )
        if any(b <= a for a, b in zip(defoci, defoci[1:])):
            raise HrtemError("learn.data.focal_series.defoci_a must increase (the channels are in defocus order)")
        jitter = float(fs["jitter_a"])
        if not 0.0 <= jitter < min((b - a for a, b in zip(defoci, defoci[1:])), default=math.inf) / 2:
            raise HrtemError("learn.data.focal_series.jitter_a must be >= 0 and below half the smallest defocus step")
        if fs["dose"] not in ("total", "each"):
            raise HrtemError(f"learn.data.focal_series.dose must be 'total' or 'each', got {fs['dose']!r}")
        return {"defoci_a": defoci, "jitter_a": jitter, "dose": fs["dose"]}

    # ------------------------------------------------------------------ shapes
    @property
    def image_shape(self) -> tuple[int, int, int]:
        """``(crop_px, crop_px, channels)``."""
        return (self.crop_px, self.crop_px, self.channels)

    @property
    def label_shape(self) -> tuple[int, int, int]:
        """``(crop_px, crop_px, K + 1)``."""
        return (self.crop_px, self.crop_px, self.n_classes + 1)

    # ------------------------------------------------------------------ draws
    def draw_optics(self, g: np.random.Generator, overrides: Mapping[str, Any] | None = None
                    ) -> tuple[Microscope, float, dict[str, float]]:
        """A microscope, a dose and MTF parameters drawn from the ranges (Table 6.1 form)."""
        ranges = {**self.ranges, **dict(overrides or {})}
        mic_ranges = {k: list(_pair(v, k)) for k, v in ranges.items()
                      if k not in _MTF_KEYS and k != "dose_e_per_a2"}
        mic = sample_microscope(mic_ranges, g)
        det = draw_section(
            {"dose_e_per_a2": list(_pair(ranges["dose_e_per_a2"], "dose")),
             **{k[4:]: list(_pair(ranges[k], k)) for k in _MTF_KEYS}},
            {"dose_e_per_a2": 1.0, "c1": 0.0, "c2": 0.5, "c3": 2.5},
            g,
            "learn.microscope",
        )
        dose = float(det.pop("dose_e_per_a2"))
        return mic, dose, {k: float(v) for k, v in det.items()}

    def draw(self, step: int, overrides: Mapping[str, Any] | None = None, augment: bool = True,
             structure: int | None = None) -> Sample:
        """Image number ``step`` of this stream, with its positions and parameters.

        ``overrides``: ``learn.microscope`` keys fixed for this image (e.g.
        ``{"dose_e_per_a2": 1000}``; a number or a range). ``augment=False``:
        no translation, rotation, mirror, scale jitter or intensity changes
        (the crop starts at the cell origin). ``structure``: use this stored
        structure instead of a random one. The random draws are the same with
        or without these options, so the other parameters do not change.
        With ``learn.data.focal_series`` the channels' defoci are Eq. 6.19's
        (a ``defocus_a`` override has no effect) and ``params["dose_e_per_a2"]``
        is the total of the series when its ``dose`` is "total".
        """
        step = int(step)
        if step < 0:
            raise ValueError(f"step must be >= 0, got {step}")
        g = make_rng(self.seed, "learn", self.stream, step)
        d = self.data
        i = int(g.integers(len(self.waves)))
        conf = int(g.integers(self.waves.configurations))
        if structure is not None:
            i = self.waves._check(structure)
        mic, dose, mtf = self.draw_optics(g, overrides)
        jitter = float(g.uniform(-1.0, 1.0)) * float(d["scale_jitter"])
        origin = g.uniform(0.0, 1.0, 2) * self.waves.cell_a
        k90 = int(g.integers(4))
        flip = bool(g.integers(2))
        gamma = float(g.uniform(*_pair(d["gamma"], "learn.data.gamma")))
        contrast = float(g.uniform(*_pair(d["contrast"], "learn.data.contrast")))
        brightness = float(g.uniform(-1.0, 1.0)) * float(d["brightness"])
        if not augment:
            jitter, origin, k90, flip, gamma, contrast, brightness = 0.0, np.zeros(2), 0, False, 1.0, 1.0, 0.0
        k90 = k90 if d["rotate90"] else 0
        flip = flip if d["mirror"] else False
        s = float(d["sampling_a"]) * (1.0 + jitter)
        a = self.crop_axes(k90, flip)
        if augment:  # drawn after the augmentation draws: the default (centre_on_sites 0) stream is unchanged
            centred = self.site_origin(g, i, a, s)
            origin = origin if centred is None else centred
        n = self.crop_px + 2 * _MARGIN_PX
        u = (np.arange(n) - _MARGIN_PX) * s
        uu, vv = np.meshgrid(u, u, indexing="ij")
        rx = origin[0] + a[0, 0] * uu + a[0, 1] * vv
        ry = origin[1] + a[1, 0] * uu + a[1, 1] * vv
        ws = self.waves.sampling_a
        coords = np.stack([rx / ws[0], ry / ws[1]])
        fw = self._spectrum(i, conf)
        images = []
        channel_mics = self.channel_microscopes(mic, g)  # drawn after every other draw (focal series jitter)
        dose_channel = self.channel_dose(dose)
        for m in channel_mics:
            cam = self.clean_camera(fw, m, coords)
            images.append(self.detect(cam, dose_channel, s, mtf, g, gamma, contrast, brightness))
        image = self.normalise(np.stack(images, axis=-1), s)
        defoci = [m.defocus_a for m in channel_mics]
        pos, cls, hts, labels = self.crop_labels(i, origin, a, s)
        params = {
            **{f"microscope.{k}": v for k, v in mic.to_config().items() if not isinstance(v, dict)},
            **image_params(defoci, dose, mtf, s, origin, k90, flip, gamma, contrast, brightness),
            "configuration": conf,
        }
        return Sample(image.astype(np.float32), labels, pos, cls, hts, s, i, params)

    @staticmethod
    def crop_axes(rotate90: int, mirror: bool) -> np.ndarray:
        """Integer 2 × 2 A of camera frame → cell frame, r = origin + A·(u, v): ``rotate90`` quarter turns,
        then a mirror of v."""
        c, sn = [(1, 0), (0, 1), (-1, 0), (0, -1)][int(rotate90)]
        a = np.array([[c, -sn], [sn, c]])
        return a @ np.diag([1, -1]) if mirror else a

    def site_origin(self, g: np.random.Generator, structure: int, axes: np.ndarray, sampling_a: float
                    ) -> np.ndarray | None:
        """With probability ``learn.data.centre_on_sites``: the crop origin (Å) that puts a random column of
        ``structure``, shifted by up to a quarter crop, at the crop's centre; None otherwise (nothing is
        drawn from ``g`` when the probability is 0)."""
        centre = float(self.data["centre_on_sites"])
        if centre <= 0:
            return None
        sites = self.waves.positions(structure)
        if not len(sites) or not (centre >= 1 or g.uniform() < centre):
            return None
        half = 0.5 * self.crop_px * sampling_a
        site = sites[int(g.integers(len(sites)))] + g.uniform(-0.5, 0.5, 2) * half
        return np.mod(site - axes @ np.array([half, half]), self.waves.cell_a)

    def channel_microscopes(self, mic: Microscope, g: np.random.Generator) -> list[Microscope]:
        """The microscope of every input channel: the focal series's defoci (thesis Eq. 6.19, jitter drawn
        from ``g``) or ``mic``'s defocus ± ``learn.data.focal_step_a`` steps (nothing drawn)."""
        fs = self.focal_series
        if fs is not None:
            focal = np.asarray(fs["defoci_a"]) + g.uniform(-fs["jitter_a"], fs["jitter_a"], self.channels)
            return [mic.with_(defocus_a=float(f)) for f in focal]
        out = []
        for ch in range(self.channels):
            dz = (ch - (self.channels - 1) / 2.0) * float(self.data["focal_step_a"])
            out.append(mic.with_(defocus_a=mic.defocus_a + dz) if dz else mic)
        return out

    def channel_dose(self, dose_e_per_a2: float) -> float:
        """Dose of one channel in e⁻/Å²: the series's total split evenly when ``focal_series.dose`` is "total"."""
        fs = self.focal_series
        if fs is not None and fs["dose"] == "total":
            return float(dose_e_per_a2) / self.channels
        return float(dose_e_per_a2)

    def clean_camera(self, spectrum: np.ndarray, mic: Microscope, coords: np.ndarray) -> np.ndarray:
        """Noise-free image intensity (vacuum = 1) of a wave ``spectrum`` through ``mic``, read at the
        camera pixels ``coords`` (stored-grid units, linear interpolation, periodic cell)."""
        psi = scipy.fft.ifft2(spectrum * self._transfer(mic))
        intensity = (psi.real**2 + psi.imag**2).astype(np.float64)
        return ndimage.map_coordinates(intensity, coords, order=1, mode="grid-wrap")

    def detect(self, camera: np.ndarray, dose_e_per_a2: float, sampling_a: float, mtf: Mapping[str, float],
               g: np.random.Generator, gamma: float = 1.0, contrast: float = 1.0, brightness: float = 0.0
               ) -> np.ndarray:
        """One channel through the detector: shot noise at ``dose_e_per_a2``, the MTF (Eq. 2.21), the
        margin of ``_MARGIN_PX`` cut, then the gamma/contrast/brightness augmentation."""
        cam = shot_noise(camera, dose_e_per_a2, sampling_a, g)
        cam = apply_mtf(cam, sampling_a, "eq2_21", **mtf)
        cam = cam[_MARGIN_PX:-_MARGIN_PX, _MARGIN_PX:-_MARGIN_PX]
        cam = np.clip(cam, 0.0, None) ** gamma
        return contrast * (cam - cam.mean()) + cam.mean() + brightness

    def normalise(self, image: np.ndarray, sampling_a: float) -> np.ndarray:
        """:func:`local_contrast_normalise` with ``learn.data.lcn_sigma_a`` (Å) at this pixel size."""
        sigma_n = self.data["lcn_sigma_a"]
        return local_contrast_normalise(image, None if sigma_n is None else float(sigma_n) / float(sampling_a))

    def _spectrum(self, i: int, conf: int) -> np.ndarray:
        """F[ψ] of a stored wave; kept in memory when all spectra fit in 512 MiB."""
        key = (i, conf)
        if self._spectra is not None and key in self._spectra:
            return self._spectra[key]
        fw = scipy.fft.fft2(self.waves.wave(i)[conf])
        if self._spectra is not None:
            self._spectra[key] = fw
        return fw

    def _transfer(self, mic: Microscope) -> np.ndarray:
        """H(q) on the stored wave grid, evaluated only where Et·Ed > 1e-9 (zero beyond).

        Et·Ed = exp(−(½πΔλq²)² − σ²q²/2) falls monotonically with |q|, so the
        frequencies it keeps are a disc q² < u, u the root of
        a u² + b u = ln 10⁹ (a = (½πΔλ)², b = σ²/2); at 80 kV, Δ ≥ 20 Å this is
        ~10 % of a 0.1 Å grid, and H is evaluated 10× faster. Setting H below
        10⁻⁹ to 0 changes the image by less than that.
        """
        lam = mic.wavelength_a
        a = (0.5 * np.pi * mic.focal_spread_a * lam) ** 2 if mic.temporal else 0.0
        b = 0.5 * mic.deflection_sigma_a**2 if mic.deflection else 0.0
        c = math.log(1e9)
        if a > 0:
            u = (-b + math.sqrt(b * b + 4 * a * c)) / (2 * a)
        elif b > 0:
            u = c / b
        else:
            u = math.inf
        n = int(np.searchsorted(self._q2_sorted, u, side="right"))
        h = np.zeros(self._q2_sorted.size, np.complex64)
        h[self._q_order[:n]] = mic.transfer_at(self._qx_flat[:n], self._qy_flat[:n])
        return h.reshape(self.waves.shape[2], self.waves.shape[3])

    def crop_labels(self, i: int, origin: np.ndarray, a: np.ndarray, s: float
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(positions, classes, heights, labels)`` of the crop of structure ``i`` with origin ``origin`` (Å),
        axes ``a`` (:meth:`crop_axes`) and pixel ``s`` (Å): the atoms/columns in the camera frame
        (:meth:`_frame_positions`) and their label maps ``(crop_px, crop_px, K+1)``."""
        pos, cls, hts = self._frame_positions(i, origin, a, s, self.crop_px)
        n = self.crop_px
        return pos, cls, hts, gaussian_labels(pos, cls, (n, n), s, float(self.data["label_sigma_a"]), self.n_classes)

    def _frame_positions(self, i: int, origin: np.ndarray, a: np.ndarray, s: float, n: int
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Atoms (and their periodic images) in the camera frame within the crop + 4σ."""
        p = self.waves.positions(i)
        cell = self.waves.cell_a
        pad = 4.0 * float(self.data["label_sigma_a"])
        reach = np.ceil((n * s + pad) / cell).astype(int) + 1
        # every periodic image of the wrapped offsets r - origin within ±reach cells
        shifts = np.array(
            [(ix, iy) for ix in range(-reach[0], reach[0] + 1) for iy in range(-reach[1], reach[1] + 1)], float
        ) * cell
        rel = np.mod(p - origin, cell)
        frame = ((rel[None, :, :] + shifts[:, None, :]).reshape(-1, 2)) @ a  # rows: A^T (r - origin)
        keep = np.all((frame >= -pad) & (frame <= n * s + pad), axis=1)
        reps = len(shifts)
        return frame[keep], np.tile(self.waves.classes(i), reps)[keep], np.tile(self.waves.heights(i), reps)[keep]

    def label_frequencies(self, n_images: int) -> np.ndarray:
        """Mean label value per channel (background first) over ``n_images`` label maps placed like training crops.

        Only the geometry of :meth:`draw` is drawn (structure, scale jitter,
        origin, turn, mirror, centring on a column), from the stream's own
        ``label_frequencies`` sub-stream, and no image is rendered: a map costs
        about a millisecond against ~90 ms for a focal-series image, so the
        frequencies of rare classes (the tallest columns) can be estimated from
        thousands of crops rather than a few dozen.
        """
        n_images = int(n_images)
        if n_images < 1:
            raise HrtemError(f"label_frequencies needs at least one image, got {n_images}")
        d = self.data
        acc = np.zeros(self.n_classes + 1)
        for step in range(n_images):
            g = make_rng(self.seed, "learn", self.stream + "_label_frequencies", step)
            i = int(g.integers(len(self.waves)))
            s = float(d["sampling_a"]) * (1.0 + float(g.uniform(-1.0, 1.0)) * float(d["scale_jitter"]))
            origin = g.uniform(0.0, 1.0, 2) * self.waves.cell_a
            a = self.crop_axes(int(g.integers(4)) if d["rotate90"] else 0, bool(g.integers(2)) if d["mirror"] else False)
            centred = self.site_origin(g, i, a, s)
            origin = origin if centred is None else centred
            labels = self.crop_labels(i, origin, a, s)[3]
            acc += labels.reshape(-1, labels.shape[-1]).mean(axis=0)
        return acc / n_images

    def sample(self, step: int) -> tuple[np.ndarray, np.ndarray]:
        """``(image (nx, ny, C), labels (nx, ny, K+1))`` float32 of image number ``step``."""
        out = self.draw(step)
        return out.image, out.labels


def make_dataset(images: TrainingImages, batch: int, start_step: int = 0, steps: int | None = None,
                 parallel: int | None = None):
    """``tf.data.Dataset`` of ``(image_batch, label_batch)`` made on the fly.

    Batch b (counting from 0) holds images ``(start_step + b)·batch`` … ``+ batch − 1``
    of ``images`` (:meth:`TrainingImages.sample`), so the sequence depends only
    on the seed, and ``start_step=k`` continues a run after k steps. The map runs
    in parallel (``parallel`` calls, default AUTOTUNE) with deterministic order;
    batches are prefetched. ``steps``: number of batches (default: endless).
    """
    import tensorflow as tf

    batch = int(batch)
    if batch < 1:
        raise HrtemError(f"learn: the batch size must be >= 1, got {batch}")
    image_shape, label_shape = images.image_shape, images.label_shape

    def generate(index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return images.sample(int(index))

    def fn(index: Any) -> tuple[Any, Any]:
        img, lab = tf.numpy_function(generate, [index], (tf.float32, tf.float32), stateful=False)
        img.set_shape(image_shape)
        lab.set_shape(label_shape)
        return img, lab

    first = int(start_step) * batch
    ds = tf.data.Dataset.counter(first) if steps is None else tf.data.Dataset.range(first, first + int(steps) * batch)
    ds = ds.map(fn, num_parallel_calls=tf.data.AUTOTUNE if parallel is None else int(parallel), deterministic=True)
    return ds.batch(batch, drop_remainder=True).prefetch(tf.data.AUTOTUNE)
