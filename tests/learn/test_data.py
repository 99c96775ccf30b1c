"""Training data: stored exit waves, random microscopes, augmentation, tf.data (issue 10 §1)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hrtem.errors import HrtemError
from hrtem.learn.data import (
    DATA_DEFAULTS,
    MICROSCOPE_RANGES_DEFAULTS,
    TrainingImages,
    gaussian_blur,
    local_contrast_normalise,
    make_dataset,
)

CLEAN = {  # a fixed, aberration-free microscope with high dose: atoms show as clear dots
    "defocus_a": -40.0,
    "cs_mm": 0.0,
    "c5_mm": 0.0,
    "astigmatism_a": 0.0,
    "deflection_sigma_a": 0.0,
    "focal_spread_a": 20.0,
    "dose_e_per_a2": 1.0e7,
}


def test_store_holds_waves_and_atoms(tiny_waves):
    waves, structures, _ = tiny_waves
    assert len(waves) == 2 and waves.configurations == 1
    assert waves.shape[2:] == (108, 108)
    assert waves.sampling_a == pytest.approx((0.1, 0.1))
    assert waves.energy_kev == 80.0
    for i, atoms in enumerate(structures):
        np.testing.assert_allclose(waves.positions(i), np.mod(atoms.positions[:, :2], 10.8), atol=1e-9)
        assert np.all(waves.classes(i) == 1) and np.all(waves.heights(i) == 1)
    w = waves.wave(0)
    assert w.dtype == np.complex64 and w.shape == (1, 108, 108)
    # a phase object keeps |ψ|² ≈ 1 on average (vacuum-normalised, Fourier crop conserves the norm)
    assert float(np.mean(np.abs(w) ** 2)) == pytest.approx(1.0, abs=2e-3)
    with pytest.raises(IndexError):
        waves.positions(2)


def test_same_seed_same_images_other_step_other_image(tiny_waves):
    waves, _, TINY_DATA = tiny_waves
    a = TrainingImages(waves, {"data": TINY_DATA}, seed=3)
    b = TrainingImages(waves.path, {"data": TINY_DATA}, seed=3)
    ia, la = a.sample(5)
    ib, lb = b.sample(5)
    np.testing.assert_array_equal(ia, ib)
    np.testing.assert_array_equal(la, lb)
    assert ia.shape == (64, 64, 1) and la.shape == (64, 64, 2) and ia.dtype == np.float32
    assert not np.array_equal(ia, a.sample(6)[0])
    assert not np.array_equal(ia, TrainingImages(waves, {"data": TINY_DATA}, seed=4).sample(5)[0])


def test_microscopes_drawn_inside_the_configured_ranges(tiny_waves):
    waves, _, TINY_DATA = tiny_waves
    ranges = {
        "defocus_a": [-50.0, 30.0],
        "cs_mm": [0.001, 0.002],
        "c5_mm": [1.0, 2.0],
        "astigmatism_a": [5.0, 6.0],
        "focal_spread_a": [25.0, 26.0],
        "deflection_sigma_a": [0.1, 0.2],
        "dose_e_per_a2": [100.0, 1000.0],
        "mtf_c2": [0.45, 0.46],
    }
    ti = TrainingImages(waves, {"data": TINY_DATA, "microscope": ranges}, seed=1)
    g = np.random.default_rng(0)
    draws = [ti.draw_optics(g) for _ in range(300)]
    for key, (lo, hi) in [("defocus_a", (-50, 30)), ("focal_spread_a", (25, 26)), ("deflection_sigma_a", (0.1, 0.2)),
                          ("astigmatism_a", (5, 6))]:
        v = np.array([getattr(m, key) for m, _, _ in draws])
        assert v.min() >= lo and v.max() <= hi and v.max() - v.min() > 0.8 * (hi - lo)
    cs = np.array([m.cs_a for m, _, _ in draws]) / 1e7
    assert cs.min() >= 0.001 and cs.max() <= 0.002
    assert all(m.energy_kev == 80.0 for m, _, _ in draws)
    dose = np.array([d for _, d, _ in draws])
    assert dose.min() >= 100 and dose.max() <= 1000
    # log-uniform: half of the draws below the geometric mean √(100·1000) ≈ 316
    assert abs(np.mean(dose < math.sqrt(1e5)) - 0.5) < 0.1
    c2 = np.array([p["c2"] for _, _, p in draws])
    assert c2.min() >= 0.45 and c2.max() <= 0.46
    # draw() records what it used, also inside the ranges
    for step in range(5):
        p = ti.draw(step).params
        assert -50 <= p["microscope.defocus_a"] <= 30 and 100 <= p["dose_e_per_a2"] <= 1000
        assert abs(p["sampling_a"] / TINY_DATA.get("sampling_a", 0.12) - 1) <= DATA_DEFAULTS["scale_jitter"] + 1e-12


def test_default_ranges_are_table_6_1_with_deflection_in_pm():
    assert MICROSCOPE_RANGES_DEFAULTS["deflection_sigma_a"] == [0.0, 0.25]
    assert MICROSCOPE_RANGES_DEFAULTS["defocus_a"] == [-200.0, 200.0]
    assert MICROSCOPE_RANGES_DEFAULTS["dose_e_per_a2"] == [10.0, 10000.0]
    assert MICROSCOPE_RANGES_DEFAULTS["energy_kev"] == 80.0


def test_unaugmented_positions_are_the_structure(tiny_waves):
    waves, _, TINY_DATA = tiny_waves
    ti = TrainingImages(waves, {"data": TINY_DATA}, seed=2)
    s = ti.draw(0, augment=False)
    assert s.sampling_a == pytest.approx(0.12)
    extent = 64 * 0.12
    p = waves.positions(s.structure)
    inside = p[np.all(p <= extent - 0.5, axis=1)]
    # each atom of the crop appears at its own position
    d = np.min(np.linalg.norm(inside[:, None] - s.positions_a[None], axis=-1), axis=1)
    assert d.max() < 1e-9


@pytest.mark.parametrize("step", range(6))
def test_augmented_positions_are_periodic_images_and_labels_match_image(tiny_waves, step):
    waves, _, TINY_DATA = tiny_waves
    ti = TrainingImages(waves, {"data": TINY_DATA}, seed=11)
    s = ti.draw(step, overrides=CLEAN)
    p = s.params
    # back to the cell frame: r = origin + A f must be a stored atom modulo the cell
    k = p["rotate90"]
    c, sn = [(1, 0), (0, 1), (-1, 0), (0, -1)][k]
    a = np.array([[c, -sn], [sn, c]], float)
    if p["mirror"]:
        a = a @ np.diag([1.0, -1.0])
    r = np.asarray(p["origin_a"]) + s.positions_a @ a.T
    cell = waves.cell_a
    atoms = waves.positions(s.structure)
    diff = r[:, None, :] - atoms[None, :, :]
    diff -= cell * np.round(diff / cell)
    assert np.max(np.min(np.linalg.norm(diff, axis=-1), axis=1)) < 1e-8
    # the image and the label map line up: |cross-correlation| peaks at zero shift (±1 px)
    img = s.image[..., 0] - s.image[..., 0].mean()
    lab = s.labels[..., 1] - s.labels[..., 1].mean()
    xc = np.abs(np.fft.ifft2(np.fft.fft2(img) * np.conj(np.fft.fft2(lab))))
    i, j = np.unravel_index(np.argmax(xc), xc.shape)
    shift = [(i + 32) % 64 - 32, (j + 32) % 64 - 32]
    assert max(abs(shift[0]), abs(shift[1])) <= 1, shift
    corr = np.corrcoef(img.ravel(), lab.ravel())[0, 1]
    assert abs(corr) > 0.8  # 0.3-0.6 for a 3 px (0.36 Å) offset


def test_focal_series_channels(tiny_waves):
    waves, _, TINY_DATA = tiny_waves
    data = {**TINY_DATA, "channels": 3, "focal_step_a": 40.0}
    s = TrainingImages(waves, {"data": data}, seed=5).draw(1, overrides=CLEAN)
    assert s.image.shape == (64, 64, 3)
    assert s.params["defocus_a_channels"] == pytest.approx([-80.0, -40.0, 0.0])
    assert not np.allclose(s.image[..., 0], s.image[..., 2])


def test_dose_sets_the_noise(tiny_waves):
    waves, _, TINY_DATA = tiny_waves
    ti = TrainingImages(waves, {"data": {**TINY_DATA, "lcn_sigma_a": None}}, seed=5)
    # same structure and optics, two doses: the low-dose image is further from the noise-free one
    ref = ti.draw(2, overrides={**CLEAN, "dose_e_per_a2": 1e9}).image
    lo = ti.draw(2, overrides={**CLEAN, "dose_e_per_a2": 20.0}).image
    hi = ti.draw(2, overrides={**CLEAN, "dose_e_per_a2": 1e6}).image
    assert np.std(lo - ref) > 3 * np.std(hi - ref)


def test_local_contrast_normalisation():
    rng = np.random.default_rng(0)
    img = rng.normal(size=(96, 80)).astype(np.float32) + np.linspace(0, 5, 80)[None, :]
    out = local_contrast_normalise(img, 8.0)
    # brightness and contrast do not matter
    np.testing.assert_allclose(local_contrast_normalise(3.0 * img + 7.0, 8.0), out, atol=1e-4)
    # the ramp (uneven illumination) is removed: local mean 0, local std 1
    assert abs(gaussian_blur(out, 8.0)[20:-20, 20:-20]).max() < 0.15
    assert np.sqrt(gaussian_blur(out**2, 8.0)[20:-20, 20:-20]).mean() == pytest.approx(1.0, abs=0.05)
    glob = local_contrast_normalise(img, None)
    assert glob.mean() == pytest.approx(0.0, abs=1e-5) and glob.std() == pytest.approx(1.0, abs=1e-4)
    const = gaussian_blur(np.full((30, 40), 2.5, np.float32), 6.0)
    np.testing.assert_allclose(const, 2.5, rtol=1e-5)


def test_bad_settings_are_user_errors(tiny_waves):
    waves, _, TINY_DATA = tiny_waves
    with pytest.raises(HrtemError, match="energy_kev"):
        TrainingImages(waves, {"microscope": {"energy_kev": 300.0}}, seed=0)
    with pytest.raises(HrtemError, match="unknown key"):
        TrainingImages(waves, {"data": {"crop": 3}}, seed=0)
    with pytest.raises(HrtemError, match="low <= high"):
        TrainingImages(waves, {"microscope": {"defocus_a": [10, -10]}}, seed=0)


def test_make_dataset_is_deterministic_and_resumable(tiny_waves):
    waves, _, TINY_DATA = tiny_waves
    ti = TrainingImages(waves, {"data": {**TINY_DATA, "crop_px": 32}}, seed=9)
    first = [(x.numpy(), y.numpy()) for x, y in make_dataset(ti, batch=3, steps=3)]
    again = [(x.numpy(), y.numpy()) for x, y in make_dataset(ti, batch=3, steps=3)]
    resumed = [(x.numpy(), y.numpy()) for x, y in make_dataset(ti, batch=3, start_step=1).take(2)]
    assert len(first) == 3 and first[0][0].shape == (3, 32, 32, 1) and first[0][1].shape == (3, 32, 32, 2)
    for (x1, y1), (x2, y2) in zip(first, again):
        np.testing.assert_array_equal(x1, x2)
        np.testing.assert_array_equal(y1, y2)
    for (x1, _), (x2, _) in zip(first[1:], resumed):
        np.testing.assert_array_equal(x1, x2)
    # batch b holds images b·batch … b·batch + batch − 1
    np.testing.assert_array_equal(first[1][0][2], ti.sample(5)[0])


def test_schema_defaults_equal_the_code_and_configs_validate():
    from pathlib import Path

    from hrtem.config import ConfigError, load_config, validate_config

    learn = validate_config({})["learn"]
    assert learn["data"] == DATA_DEFAULTS
    assert learn["microscope"] == MICROSCOPE_RANGES_DEFAULTS
    root = Path(__file__).resolve().parents[2]
    thesis = load_config(root / "config" / "thesis.yaml")["learn"]
    assert thesis["data"]["structures"] == 500 and thesis["data"]["crop_px"] == 360
    assert thesis["data"]["cell_a"] == [43.2, 43.2] and thesis["microscope"]["deflection_sigma_a"] == [0.0, 0.25]
    default = load_config(root / "config" / "config.yaml")["learn"]
    assert default["data"]["crop_px"] <= 128 and default["data"]["structures"] <= 24
    with pytest.raises(ConfigError, match="learn.microscope.dose_e_per_a2"):
        validate_config({"learn": {"microscope": {"dose_e_per_a2": [10, float("inf")]}}})


def test_frozen_phonon_configurations_are_stored(tmp_path, tiny_waves):
    from hrtem.learn.data import ExitWaveSet, build_exit_waves, graphene_structures

    _, _, data = tiny_waves
    data = {**data, "phonon_configurations": 2, "phonon_sigma_a": 0.1}
    st = graphene_structures(1, data, seed=7)
    ws = ExitWaveSet(build_exit_waves(st, {"sampling_a": 0.1}, {}, tmp_path / "p.zarr", seed=7, data=data))
    w = ws.wave(0)
    assert w.shape[0] == 2 and not np.allclose(w[0], w[1])
    # the static store of the same sheet has one configuration
    assert ExitWaveSet(build_exit_waves(st, {"sampling_a": 0.1}, {}, tmp_path / "s.zarr", seed=7,
                                        data={**data, "phonon_sigma_a": 0.0})).configurations == 1


def test_fast_blur_and_transfer_agree_with_the_direct_ones(tiny_waves):
    from scipy import ndimage

    from hrtem.learn.data import _blur_exact

    rng = np.random.default_rng(0)
    x = np.arange(160)[:, None]
    y = np.arange(120)[None, :]
    img = (np.sin(x / 30.0) + 0.01 * y + 0.3 * rng.normal(size=(160, 120))).astype(np.float32)
    for sigma in (8.0, 20.0):
        ref = ndimage.gaussian_filter(img, sigma, mode="reflect", truncate=6)
        assert np.abs(gaussian_blur(img, sigma) - ref).max() < 0.01 * np.ptp(ref)
        assert np.abs(_blur_exact(img, sigma) - ref).max() < 0.002 * np.ptp(ref)
    # H evaluated only inside the envelope's disc equals H everywhere to 1e-7
    waves, _, data = tiny_waves
    ti = TrainingImages(waves, {"data": data}, seed=0)
    g = np.random.default_rng(1)
    for _ in range(3):
        mic, _, _ = ti.draw_optics(g)
        full = mic.transfer_at(*ti._q)
        assert np.abs(full - ti._transfer(mic)).max() < 1e-7
