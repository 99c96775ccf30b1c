"""The ch. 4 strain-accuracy study: truth, facets, hand-made strain fields measured back (issue 8)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hrtem.strain.accuracy import (
    StudySettings,
    apply_strain_field,
    central_slice_strain,
    facet_columns,
    radial_planar_strain,
    true_strain,
)
from hrtem.structures.wulff import wulff_particle


@pytest.fixture(scope="module")
def particle3():
    return wulff_particle("Au", 3.0, zone_axis="110", vacuum_a=5.0)


def test_ideal_particle_truth_and_facets(particle3):
    """Ideal 3 nm Au (a = 4.078 Å) against the 4.08 Å reference: ε_p = −0.05 % at every matched column.

    Its ⟨110⟩ outline has {111} and {100} facets only (Au Wulff: no {110});
    the facet normals are the crystallographic ones projected on the plane.
    """
    s = StudySettings()
    t = true_strain(particle3, s)
    expected = 4.078 / 4.08 - 1
    ep = t["ep"].values
    ok = np.isfinite(ep)
    assert ok.mean() > 0.95
    np.testing.assert_allclose(ep[ok], expected, atol=2e-4)
    facet = t["facet"].values
    counts = np.bincount(facet, minlength=4)
    assert counts[1] == 24 and counts[2] == 4 and counts[3] == 0
    n = np.stack([t["normal_x"].values, t["normal_y"].values], 1)[facet > 0]
    np.testing.assert_allclose(np.linalg.norm(n, axis=1), 1.0, atol=1e-12)
    # x is [001] in this zone-axis frame: {100} normals along ±x, {111} normals at arctan √2 = 54.74° from it
    f = facet[facet > 0]
    np.testing.assert_allclose(np.abs(n[f == 2, 0]), 1.0, atol=1e-12)
    np.testing.assert_allclose(np.abs(n[f == 1, 0]), 1 / np.sqrt(3), atol=1e-12)
    en = t["en"].values[facet > 0]
    np.testing.assert_allclose(en[np.isfinite(en)], expected, atol=5e-4)
    # the interior columns carry the full template (6 neighbours)
    assert (t["interior"].values == 1).sum() == 75


def test_central_slice_is_one_atom_per_column(particle3):
    """The two central layers of an ideal particle hold one atom per projected column, at the same strain."""
    s = StudySettings()
    sl = central_slice_strain(particle3, s)
    assert sl.sizes["slice_column"] == 109
    ep = sl["ep"].values
    np.testing.assert_allclose(ep[np.isfinite(ep)], 4.078 / 4.08 - 1, atol=2e-4)


def test_uniform_and_radial_fields_in_the_truth(particle3):
    """The hand-made fields appear in the true strain: 2 % uniform; the radial profile ε_p(r)."""
    s = StudySettings(lattice_constant_a=4.078)
    (uni,) = apply_strain_field(particle3, {"kind": "uniform", "planar": 0.02})
    t = true_strain(uni, s)
    ep = t["ep"].values
    np.testing.assert_allclose(ep[np.isfinite(ep)], 0.02, atol=2e-4)
    amp, w = 0.03, 8.0
    (rad,) = apply_strain_field(particle3, {"kind": "radial", "amplitude": amp, "width_a": w})
    t = true_strain(rad, s)
    c = particle3.positions[:, :2].mean(0)
    r = np.hypot(t["x"].values - c[0], t["y"].values - c[1])
    inner = (t["interior"].values == 1)
    err = t["ep"].values[inner] - radial_planar_strain(r[inner], amp, w)
    assert np.sqrt(np.mean(err**2)) < 2e-3  # the template averages the field over ±2.9 Å


def test_md_section_potential_switch():
    """EAM now, COMB3 later: the md section and the name recorded in every output follow the switch."""
    from hrtem.config import validate_config
    from hrtem.strain.study_commands import md_section, potential_name

    study = validate_config({})["images"]["study"]
    md = md_section(study)
    assert md["potential"] == {"kind": "eam", "eam_files": {"Au": "Au_u3.eam"}}
    assert potential_name(study) == "eam:Au_u3.eam"
    snaps = study["md"]["snapshots"] * study["md"]["snapshot_every"]
    assert md["stages"][-1]["sample"] and md["stages"][-1]["steps"] == snaps
    # it is a valid md section for `hrtem md run` (schema and cross-field checks)
    assert validate_config({"md": md})["md"]["particle"]["element"] == "Au"
    comb = {**study, "potential": "comb3", "potential_files": {"comb3": "AuComb3.ffield"}}
    assert md_section(comb)["potential"]["kind"] == "comb3"
    assert potential_name(comb) == "comb3:AuComb3.ffield"


def test_facets_need_enough_points():
    f, n = facet_columns(np.zeros((3, 2)), "110")
    assert (f == 0).all() and np.isnan(n).all()


def _chain(tmp_path, field: dict, *, threads=(1,), scheduler=None):
    """The study's own verbs on a tiny particle: truth → exit waves (--md) → ensemble → measure."""
    from hrtem.cli import main
    from hrtem.config import validate_config
    from hrtem.io import read_dataset, write_atoms

    cfg = validate_config({"images": {"study": {"strain_field": field, "lattice_constant_a": 4.078,
                                                 "sizes_nm": [2.5]}}})
    study = cfg["images"]["study"]
    atoms = wulff_particle("Au", 2.5, zone_axis="110", vacuum_a=5.0)
    traj = tmp_path / "traj.extxyz"
    write_atoms([atoms], traj)
    p = json.dumps(study)
    assert main(["study", "truth", str(traj), "--params", p, "-o", str(tmp_path / "truth.zarr"),
                 "--frames", str(tmp_path / "frames.extxyz")]) == 0
    sim = {**cfg["simulate"], "sampling_a": study["simulate_sampling_a"], "slice_thickness_a": 1.0,
           "frozen_phonons": {**cfg["simulate"]["frozen_phonons"], "model": "md"}}
    assert main(["simulate", "exit-wave", str(tmp_path / "frames.extxyz"), "--md", "--simulate", json.dumps(sim),
                 "--microscope", json.dumps(cfg["images"]["microscope"]), "-o", str(tmp_path / "exit.zarr")]) == 0
    assert main(["simulate", "ensemble", str(tmp_path / "exit.zarr"), "--microscope",
                 json.dumps(cfg["images"]["microscope"]), "--detector", json.dumps(cfg["images"]["detector"]),
                 "--sampling-a", "0.2", "--defocus", "85", "--dose", "10000", "--samples", "4",
                 "--samples-per-block", "2", "--seed", "3", "-o", str(tmp_path / "images.zarr")]) == 0
    out = []
    for th in threads:
        m = tmp_path / f"measured{th}.zarr"
        assert main(["study", "measure", str(tmp_path / "images.zarr"), "--truth", str(tmp_path / "truth.zarr"),
                     "--params", p, "--threads", str(th), "-o", str(m)]) == 0
        out.append(read_dataset(m))
    if scheduler is not None:  # the same measurement on a dask.distributed cluster
        m = tmp_path / "measured_cluster.zarr"
        assert main(["study", "measure", str(tmp_path / "images.zarr"), "--truth", str(tmp_path / "truth.zarr"),
                     "--params", p, "--scheduler", scheduler, "-o", str(m)]) == 0
        out.append(read_dataset(m))
    return read_dataset(tmp_path / "truth.zarr"), out


@pytest.mark.slow
def test_chain_measures_uniform_field_back(tmp_path):
    """2 % uniform planar strain put in by hand is measured back within the noise (10⁴ e⁻/Å², 8.5 nm).

    Also: the measurement store has the sweep as dimensions and is identical on 1 and 2 Dask workers
    and on a dask.distributed LocalCluster (``--scheduler``).
    """
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        truth, (m1, m2, m3) = _chain(tmp_path, {"kind": "uniform", "planar": 0.02}, threads=(1, 2),
                                     scheduler=cluster.scheduler_address)
    inner = truth["interior"].values == 1
    np.testing.assert_allclose(np.nanmean(truth["ep"].values[inner]), 0.02, atol=5e-4)
    assert m1["ep"].dims == ("tilt", "defocus", "dose", "sample", "column")
    ep = m1["ep"].isel(tilt=0, defocus=0, dose=0).values[:, inner]  # (sample, interior column)
    per_image = np.nanmean(ep, axis=1)
    noise = np.nanstd(ep - np.nanmean(ep, axis=0), ddof=1) / np.sqrt(inner.sum())
    # the interior mean of every noisy image is 2 % within its noise plus the systematic (noise-free) error
    nf = float(np.nanmean(m1["noise_free_ep"].isel(tilt=0, defocus=0).values[inner]))
    assert abs(nf - 0.02) < 2e-3
    assert np.all(np.abs(per_image - 0.02) < abs(nf - 0.02) + 5 * noise + 1e-4)
    assert float(m1["found"].mean()) > 0.97
    for k in ("ep", "ep_error", "found", "noise_free_ep"):
        np.testing.assert_array_equal(m1[k].values, m2[k].values)
        np.testing.assert_array_equal(m1[k].values, m3[k].values)


@pytest.mark.slow
def test_chain_measures_radial_field_back(tmp_path):
    """A radial profile ε_p(r) = A e^{−q}(1 − q), q = r²/2w² (A = 3 %, w = 8 Å) is measured back.

    Why the direct comparison fails (issue 8 report: correlation 0.67, 0.7 %
    rms): the truth and the measurement are computed the same way (same STM,
    template, bulk reference, snapshot-averaged columns), but the image puts
    a column where its exit wave peaks, and in a particle that is ~0.03 Å
    toward the thicker centre (already in the exit wave's phase): a
    compressive error of ~1 % at the centre and a tensile one outside, the
    thickness-gradient error of thesis Fig. 4.3. It is there without any
    field (unstrained and uniform particles: 0.7 % rms per column; the
    uniform test checks the interior mean only). So the chain is validated
    on the field: measured with the field − measured without it (same
    particle, optics, noise seeds) against truth with − truth without.
    Measured (2.5 nm, 8.5 nm, 10⁴ e⁻/Å², noise-free): correlation 0.90,
    0.34 % rms; fitted A = 2.78 ± 0.12 % (truth 2.86 %), w = 8.25 ± 0.28 Å
    (truth 8.24 Å); without the reference A = 2.47 %.
    """
    from scipy.optimize import curve_fit

    amp, w = 0.03, 8.0
    (tmp_path / "field").mkdir()
    (tmp_path / "ref").mkdir()
    truth, (m,) = _chain(tmp_path / "field", {"kind": "radial", "amplitude": amp, "width_a": w})
    truth0, (m0,) = _chain(tmp_path / "ref", {"kind": "none"})
    inner = truth["interior"].values == 1
    np.testing.assert_array_equal(inner, truth0["interior"].values == 1)
    x, y = truth["x"].values, truth["y"].values
    c = np.array([x.mean(), y.mean()])
    r = np.hypot(x - c[0], y - c[1])[inner]
    true_ep = truth["ep"].values[inner]
    np.testing.assert_allclose(true_ep, radial_planar_strain(r, amp, w), atol=2e-3)
    d_true = true_ep - truth0["ep"].values[inner]

    def fit(values):
        ok = np.isfinite(values)
        p, cov = curve_fit(lambda rr, a, ww: radial_planar_strain(rr, a, ww), r[ok], values[ok], p0=(amp, w))
        return p, np.sqrt(np.diag(cov))

    (a_t, w_t), _ = fit(d_true)
    # the imaging error without any field: radial, compressive at the centre (≥ 0.4 % rms)
    free0 = m0["noise_free_ep"].isel(tilt=0, defocus=0).values[inner] - truth0["ep"].values[inner]
    assert np.sqrt(np.nanmean(free0**2)) > 4e-3
    assert np.nanmean(free0[r < 4]) < -3e-3
    for name, sel in (("noise_free_ep", {}), ("ep", {"dose": 0})):
        meas = m[name].isel(tilt=0, defocus=0, **sel).values
        ref = m0[name].isel(tilt=0, defocus=0, **sel).values
        if meas.ndim == 2:  # (sample, column): the mean of the K noisy images
            meas, ref = np.nanmean(meas, axis=0), np.nanmean(ref, axis=0)
        d_meas = meas[inner] - ref[inner]
        ok = np.isfinite(d_meas)
        assert ok.mean() > 0.95, name
        assert np.corrcoef(d_meas[ok], d_true[ok])[0, 1] > 0.85, name
        assert np.sqrt(np.mean((d_meas[ok] - d_true[ok]) ** 2)) < 5e-3, name
        (a_m, w_m), (sa, sw) = fit(d_meas)
        assert abs(a_m - a_t) < 3 * sa + 1e-3, (name, a_m, sa, a_t)
        assert abs(w_m - w_t) < 3 * sw + 0.2, (name, w_m, sw, w_t)
