"""Supported Pt particles of thesis §5.4 beyond fig5_3/fig5_4: the anatase runs, the free particle, HRTEM images.

Systems (one MD run each, besides the c-ZrO2(111) rotations of ``md_anneal``)
    ``anatase_natural``, ``anatase_substrate``: the half-particle with its
    (100) face on O-terminated anatase(001) (``md.anatase``), started with the
    particle's own lattice constant (``md.particle.lattice_a_A``) or with the
    substrate's (thesis Fig. 5.7: 3.93 vs 3.78 Å; the same atoms, scaled); ``free``: the same half
    particle (natural lattice constant) without support, in vacuum (Fig. 5.8).
    All three run the ``md.anatase.stages`` schedule (thesis: 300 K for 0.5 ns).
HRTEM images (Figs. 5.5, 5.6, 5.9, 5.10)
    :func:`image_study`: the MD snapshots, seen along the model's x axis (the
    particle's [1-10] on ZrO2(111), [010] on anatase(001); the slab is periodic
    along the beam and across the image), are the frozen-phonon configurations
    of abTEM exit waves; the ch. 4 microscope at ``md.imaging.defocus_a``
    (thesis Δf = 8 nm) and the camera resampling give the image, at infinite
    dose (no shot noise) as in the thesis. "True" strain = structural template
    matching of the particle's projected columns averaged over the snapshots;
    "measured" = the same STM on the columns detected in the image (support
    columns included, so interface columns see them); both use the bulk
    column distance of the potential's lattice constant as the scale.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr
from ase import Atoms

from hrtem.errors import HrtemError

__all__ = ["SYSTEMS", "system_md", "system_model", "beam_along_x", "image_study", "ZONES"]

#: systems of the anatase/free runs (wildcard values of the md_system rules)
SYSTEMS = ("anatase_natural", "anatase_substrate", "free")

#: zone axis of the particle seen along the model's x axis, by interface plane
ZONES = {(1, 1, 1): "110", (1, 0, 0): "100"}

_ANATASE_DEFAULTS = {"repeat": [6, 6], "layers": 2, "fixed_layers": 1, "radius_A": None}


def _anatase(md: Mapping[str, Any]) -> dict[str, Any]:
    return {**_ANATASE_DEFAULTS, **dict(md.get("anatase") or {})}


def system_md(md: Mapping[str, Any], system: str) -> dict[str, Any]:
    """The ``md`` section that builds and runs ``system`` (see the module docstring).

    ``zro2`` returns ``md`` itself (the fig5_3 runs); the others replace the
    support (anatase(001), or none for ``free``), the particle's interface
    ((100)), its radius (``md.anatase.radius_A`` if set) and the stages
    (``md.anatase.stages``); :func:`system_model` scales the substrate start.

    Raises
    ------
    HrtemError
        For an unknown system.
    """
    md = dict(md)
    if system == "zro2":
        return md
    if system not in SYSTEMS:
        raise HrtemError(f"unknown supported system {system!r}; choose zro2 or one of {', '.join(SYSTEMS)}")
    an = _anatase(md)
    sup = dict(md.get("support") or {})
    par = dict(md.get("particle") or {})
    new_sup = {
        **{k: v for k, v in sup.items() if k in ("vacuum_A",)},
        "oxide": "anatase_001",
        "repeat": list(an["repeat"]),
        "layers": int(an["layers"]),
        "fixed_layers": int(an["fixed_layers"]),
        "lattice_a_A": an.get("lattice_a_A"),
        "lattice_c_A": an.get("lattice_c_A"),
    }
    new_par = {**par, "interface": [1, 0, 0]}
    if an.get("radius_A"):
        new_par["radius_A"] = float(an["radius_A"])
    out = {**md, "support": new_sup, "particle": new_par}
    if an.get("stages") is not None:
        out["stages"] = list(an["stages"])
    return out


def system_model(md: Mapping[str, Any], system: str) -> Atoms:
    """The starting model of ``system``: half-particle on anatase(001), or free in vacuum.

    The free particle sits in a box with ``md.support.vacuum_A`` (≥ 10 Å) of
    vacuum on every side and is non-periodic; no atom is fixed.
    """
    from hrtem.md.model import model_from_config  # noqa: PLC0415
    from hrtem.structures.supports import half_particle  # noqa: PLC0415

    sec = system_md(md, system)
    if system != "free":
        model = model_from_config(sec, rotation_deg=0.0)
        a_nat = float((sec.get("particle") or {}).get("lattice_a_A", 3.61))
        a_start = a_nat
        if system == "anatase_substrate":
            # the same atoms as the natural start, scaled about the interface centre to the substrate's a
            a_start = float(model.info["oxide_lattice_a_A"])
            n_sup = int(model.info["n_support"])
            p = model.positions[n_sup:]
            origin = np.array([*p[:, :2].mean(axis=0), p[:, 2].min()])
            model.positions[n_sup:] = origin + (p - origin) * (a_start / a_nat)
        model.info["system"] = system
        model.info["particle_lattice_a_A"] = a_start
        return model
    par = dict(sec.get("particle") or {})
    part = half_particle(
        element=par.get("element", "Cu"),
        a_A=float(par.get("lattice_a_A", 3.61)),
        radius_A=float(par.get("radius_A", 7.0)),
        interface=(1, 0, 0),
        d100_over_d111=float(par.get("d100_over_d111", 1.1)),
    )
    vac = max(10.0, float((sec.get("support") or {}).get("vacuum_A", 10.0)))
    part.center(vacuum=vac)
    part.pbc = False
    part.arrays["fixed"] = np.zeros(len(part), bool)
    part.info = {"system": "free", "n_support": 0, "n_particle": len(part),
                 "particle_lattice_a_A": float(par.get("lattice_a_A", 3.61))}
    return part


def beam_along_x(frames: Sequence[Atoms]) -> list[Atoms]:
    """Snapshots re-axed so that the model's x axis is the beam (abTEM's z).

    (x, y, z) → (y, z, x): the image's x is the model's y (along the
    interface), the image's y the surface normal (particle up), the beam the
    model's x. The cell is permuted likewise and positions along periodic
    axes are wrapped into it; pbc follows the axes.
    """
    out = []
    perm = [1, 2, 0]
    for f in frames:
        g = f.copy()
        cell = np.diag(f.cell.lengths()[perm])
        g.positions = f.positions[:, perm]
        g.set_cell(cell)
        g.pbc = np.asarray(f.pbc)[perm]
        if g.pbc.any():
            g.wrap()
        out.append(g)
    return out


def _stm(points: np.ndarray, template: str, nn_a: float, r_max: float, min_level: int):
    from hrtem.strain.matching import match_templates  # noqa: PLC0415

    return match_templates(points, template, nn_distance=nn_a, r_max=r_max, min_level=min_level)


def image_study(
    frames: Sequence[Atoms],
    *,
    element: str,
    zone_axis: str,
    lattice_a_A: float,
    microscope: Mapping[str, Any],
    detector: Mapping[str, Any],
    imaging: Mapping[str, Any],
    seed: int,
    keys: Sequence[str | int] = (),
) -> xr.Dataset:
    """HRTEM image of the snapshots along the beam (model x) and true vs measured column strain.

    Parameters
    ----------
    frames
        MD snapshots of a supported (or free) particle, slab normal along z.
    element
        The particle's metal (its atoms are the "true" columns).
    zone_axis
        ``"110"`` or ``"100"``: the particle's zone along the model's x axis
        (:data:`ZONES`); sets the STM template ``fcc<zone>``.
    lattice_a_A
        Unstrained lattice constant of the particle's potential (Å): the strain scale.
    microscope, detector
        The ch. 4 ``images.microscope`` and ``images.detector`` sections; the
        defocus is replaced by ``imaging['defocus_a']`` and no shot noise is
        added (infinite dose, as in the thesis).
    imaging
        The ``md.imaging`` section: ``defocus_a``, ``sampling_a``,
        ``slice_thickness_a``, ``r_max``, ``min_level``, ``pair_distance_a``,
        ``column_tolerance_a``, ``interface_height_A``.
    seed, keys
        Config seed and rule keys (no random step is taken at infinite dose;
        kept for the exit-wave call).

    Returns
    -------
    xarray.Dataset
        ``image`` (x, y) at the camera sampling; per true column (dim
        ``column``): ``x``, ``y``, ``height`` (Å above the lowest particle
        column), ``interface`` (1 within ``interface_height_A``), ``count``,
        ``true_exx``, ``true_eyy``, ``true_exy``, ``true_ep``, ``found``,
        ``meas_*`` and ``err_*`` (measured − true; NaN where not found or not
        matched). Attributes: defocus, zone, scale, the number of columns and
        found ones, and the mean abs errors of the upper part and the interface.
    """
    from hrtem.simulate.exit_waves import exit_waves  # noqa: PLC0415
    from hrtem.simulate.images import detector_image, lens_image  # noqa: PLC0415
    from hrtem.strain.accuracy import nn_distance_a  # noqa: PLC0415
    from hrtem.strain.compare import pair_points  # noqa: PLC0415
    from hrtem.strain.lattice import detect_lattice_columns  # noqa: PLC0415
    from hrtem.strain.templates import get_template  # noqa: PLC0415
    from hrtem.structures.columns import project_columns  # noqa: PLC0415

    if zone_axis not in ("110", "100"):
        raise HrtemError(f"zone axis {zone_axis!r}: supported particles are imaged along 110 or 100")
    frames = list(frames)
    if not frames:
        raise HrtemError("no MD snapshots to image")
    beam = beam_along_x(frames)
    sel = np.array([s == element for s in beam[0].get_chemical_symbols()])
    if sel.sum() < 10:
        raise HrtemError(f"the snapshots have {int(sel.sum())} {element} atoms (md.particle.element); need ≥ 10")
    template = f"fcc{zone_axis}"
    nn = nn_distance_a(zone_axis, lattice_a_A)
    r_max = float(imaging.get("r_max", 0.1))
    min_level = int(imaging.get("min_level", 3))

    # truth: the particle's columns, averaged over the snapshots
    cols = project_columns([f[sel] for f in beam], tolerance_a=float(imaging.get("column_tolerance_a", 0.8)),
                           periodic=False)
    txy = cols.positions_xy
    truth = _stm(txy, template, nn, r_max, min_level)
    height = txy[:, 1] - txy[:, 1].min()
    interface = height < float(imaging.get("interface_height_A", 3.0))

    # image: MD snapshots as frozen-phonon configurations, ch. 4 optics at the imaging defocus, no noise
    simulate = {
        "sampling_a": float(imaging.get("sampling_a", 0.05)),
        "slice_thickness_a": float(imaging.get("slice_thickness_a", 0.5)),
        "frozen_phonons": {"model": "md"},
    }
    scope = {**dict(microscope), "defocus_a": float(imaging.get("defocus_a", 80.0))}
    waves = exit_waves(beam, energy_kev=float(scope.get("energy_kev", 300.0)), simulate=simulate, seed=seed,
                       keys=tuple(keys))
    lens = lens_image(waves, scope)
    image = detector_image(lens, {**dict(detector), "dose_e_per_a2": None}, seed=seed, keys=tuple(keys))
    pixel = float(image["x"][1] - image["x"][0])

    n = len(txy)
    meas = {k: np.full(n, np.nan) for k in ("x", "y", "exx", "eyy", "exy", "ep")}
    found = np.zeros(n, np.int8)
    detected = np.zeros((0, 2))
    try:
        det = detect_lattice_columns(image.values, pixel, template, nn_distance_a=nn)
        detected = det.positions
    except HrtemError:
        pass
    if len(detected) > 8:
        res = _stm(detected, template, nn, r_max, min_level)
        im, it = pair_points(detected, txy, float(imaging.get("pair_distance_a", 0.8)))
        found[it] = 1
        meas["x"][it], meas["y"][it] = detected[im, 0], detected[im, 1]
        for k, v in (("exx", res.exx), ("eyy", res.eyy), ("exy", res.exy), ("ep", res.planar)):
            meas[k][it] = v[im]
    tv = {"exx": truth.exx, "eyy": truth.eyy, "exy": truth.exy, "ep": truth.planar}
    err = {k: meas[k] - tv[k] for k in tv}

    def _mae(mask: np.ndarray) -> float:
        e = np.abs(np.concatenate([err["exx"][mask], err["eyy"][mask]]))
        e = e[np.isfinite(e)]
        return float(e.mean()) if len(e) else float("nan")

    def _mean(values: np.ndarray) -> float:
        v = values[np.isfinite(values) & np.isfinite(err["exx"])]
        return float(v.mean()) if len(v) else float("nan")

    col = {"units": "1"}
    data = {
        "count": ("column", cols.counts.astype(np.int32), {"units": "1", "long_name": "atoms in the column"}),
        "height": ("column", height, {"units": "Å", "long_name": "height above the lowest particle column"}),
        "interface": ("column", interface.astype(np.int8), {"long_name": "1 = within interface_height_A"}),
        "found": ("column", found, {"long_name": "1 = paired with a detected image column"}),
        "interior": ("column", (np.asarray(truth.matched) == get_template(template).n_neighbours).astype(np.int8),
                     {"long_name": "1 = full template match of the true column (not surface/interface)"}),
        "meas_x": ("column", meas["x"], {"units": "Å"}),
        "meas_y": ("column", meas["y"], {"units": "Å"}),
        **{f"true_{k}": ("column", np.asarray(v, float), col) for k, v in tv.items()},
        **{f"meas_{k}": ("column", meas[k], col) for k in tv},
        **{f"err_{k}": ("column", err[k], {"units": "1", "long_name": f"measured − true ε_{k}"}) for k in tv},
        "image": (("x", "y"), image.values, {"long_name": "HRTEM image (infinite dose)", "units": "1 (vacuum = 1)"}),
        "detected_x": ("peak", detected[:, 0], {"units": "Å"}),
        "detected_y": ("peak", detected[:, 1], {"units": "Å"}),
    }
    upper = ~interface
    attrs = {
        "defocus_a": float(scope["defocus_a"]),
        "defocus_nm": float(scope["defocus_a"]) / 10.0,
        "zone_axis": zone_axis,
        "template": template,
        "lattice_constant_a": float(lattice_a_A),
        "nn_distance_a": float(nn),
        "snapshots": len(frames),
        "n_columns": int(n),
        "n_found": int(found.sum()),
        "found_fraction": float(found.mean()) if n else float("nan"),
        "n_detected": int(len(detected)),
        "interface_height_A": float(imaging.get("interface_height_A", 3.0)),
        "mae_upper": _mae(upper),
        "mae_interface": _mae(interface),
        "n_upper": int(np.sum(upper & np.isfinite(err["exx"]))),
        "n_interface": int(np.sum(interface & np.isfinite(err["exx"]))),
        "mean_true_exx": _mean(tv["exx"]),
        "mean_true_eyy": _mean(tv["eyy"]),
        "mean_meas_exx": _mean(meas["exx"]),
        "mean_meas_eyy": _mean(meas["eyy"]),
        "dose": "infinite",
        "image_sampling_a": pixel,
    }
    return xr.Dataset(
        data,
        coords={
            "column": np.arange(n),
            "x": ("x", image["x"].values, {"units": "Å"}),
            "y": ("y", image["y"].values, {"units": "Å"}),
            "column_x": ("column", txy[:, 0], {"units": "Å"}),
            "column_y": ("column", txy[:, 1], {"units": "Å"}),
        },
        attrs=attrs,
    )


def inplane_spacing(atoms: Atoms, element: str, a_guess_A: float) -> tuple[float, float, float]:
    """Mean fcc cube-edge spacings (a_x, a_y, a_z) of the ``element`` atoms, Å.

    For a particle with its cube axes along x, y, z (the (100)-interface half
    particle) every nearest-neighbour vector is (±a/2, ±a/2, 0) up to
    permutation; a_i = 2·mean|d_i| over the neighbour pairs whose i-component
    exceeds a/4. Surface and thermal disorder average out over the pairs.
    """
    from scipy.spatial import cKDTree  # noqa: PLC0415

    pos = atoms.positions[np.array([s == element for s in atoms.get_chemical_symbols()])]
    if len(pos) < 4:
        raise HrtemError(f"fewer than 4 {element} atoms: no lattice spacing")
    pairs = cKDTree(pos).query_pairs(0.85 * a_guess_A, output_type="ndarray")
    d = np.abs(pos[pairs[:, 1]] - pos[pairs[:, 0]])
    out = []
    for i in range(3):
        di = d[:, i][d[:, i] > 0.25 * a_guess_A]
        out.append(float(2 * di.mean()) if len(di) else float("nan"))
    return out[0], out[1], out[2]
