"""Physics of the objective lens: conventions, envelopes, abTEM agreement, contrast sign."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hrtem.optics import (
    Microscope,
    chi,
    deflection_envelope,
    point_resolution_a,
    point_resolution_scherzer_a,
    scherzer_defocus_a,
    spatial_envelope,
    spatial_frequencies,
    temporal_envelope,
    wavelength_a,
)

CS_06MM_A = 0.6e7


def test_wavelength_matches_abtem_and_textbook():
    from abtem.core.energy import energy2wavelength

    for e in (80.0, 200.0, 300.0):
        assert wavelength_a(e) == pytest.approx(energy2wavelength(e * 1e3), rel=1e-7)
    assert wavelength_a(300) == pytest.approx(0.019687, abs=1e-6)  # Kirkland table
    assert wavelength_a(80) == pytest.approx(0.041757, abs=1e-6)


def test_scherzer_defocus_thesis_number():
    """Thesis L329 / Fig. 2.3: 300 kV, Cs = 0.6 mm -> Δf = −41.25 nm (−1.2√(Csλ))."""
    df = scherzer_defocus_a(CS_06MM_A, 300.0)
    assert df / 10 == pytest.approx(-41.25, abs=0.05)  # measured −41.243 nm
    assert df == pytest.approx(-1.2 * math.sqrt(CS_06MM_A * wavelength_a(300)))
    assert scherzer_defocus_a(-CS_06MM_A, 300.0) == pytest.approx(-df)  # Cs < 0: overfocus
    m = Microscope.from_config({"energy_kev": 300, "cs_mm": 0.6, "defocus_a": "scherzer"})
    assert m.defocus_a == pytest.approx(df)


def test_point_resolution_numeric_equals_analytic():
    num = point_resolution_a(CS_06MM_A, 300.0)
    ana = point_resolution_scherzer_a(CS_06MM_A, 300.0)
    assert num == pytest.approx(ana, rel=1e-9)
    assert ana == pytest.approx((CS_06MM_A * wavelength_a(300) ** 3) ** 0.25 / math.sqrt(2.4))
    assert ana == pytest.approx(1.679, abs=1e-3)
    # Im CTF = −sin χ really vanishes there and is positive below (Δf < 0 passband)
    m = Microscope.from_config({})
    q0 = 1 / num
    assert abs(m.transfer_at(q0, 0.0).imag) < 1e-9
    q = np.linspace(0.02, 0.98, 50) * q0
    assert np.all(m.transfer_at(q, 0.0).imag > 0)
    # Cs < 0 at its (positive) Scherzer defocus: same resolution
    assert point_resolution_a(-1e5, 300.0) == pytest.approx(point_resolution_scherzer_a(-1e5, 300.0), rel=1e-9)


def test_chi_formula_at_one_q():
    lam = wavelength_a(300)
    q = 0.37
    df, cs, c5, a12, phi12 = -300.0, 1.2e6, 3e6, 40.0, 0.3
    phi = 1.1
    qx, qy = q * math.cos(phi), q * math.sin(phi)
    t = lam * q
    expected = (2 * math.pi / lam) * (
        0.5 * df * t**2 + 0.25 * cs * t**4 + c5 / 6 * t**6 + 0.5 * a12 * t**2 * math.cos(2 * (phi - phi12))
    )
    got = chi(qx, qy, lam, defocus_a=df, cs_a=cs, c5_a=c5, astigmatism_a=a12, astigmatism_angle_rad=phi12)
    assert float(got) == pytest.approx(expected, rel=1e-12)


def test_envelopes_at_one_q_equal_their_formulas():
    lam = wavelength_a(300)
    q = 0.5
    t = lam * q
    # temporal, Eq. 2.18: exp(−(½πΔθ²/λ)²)
    assert float(temporal_envelope(q, 0.0, lam, 30.0)) == pytest.approx(
        math.exp(-((0.5 * math.pi * 30.0 * t**2 / lam) ** 2)), rel=1e-12
    )
    # deflection, Eq. 2.19
    assert float(deflection_envelope(0.0, q, 0.7)) == pytest.approx(math.exp(-0.7**2 * q**2 / 2), rel=1e-12)
    # spatial, Eq. 2.16 with |∂χ/∂θ| = 2π/λ (Δf θ + Cs θ³) for isotropic aberrations
    beta = 0.8e-3
    df, cs = -412.0, 6e6
    dchi = 2 * math.pi / lam * (df * t + cs * t**3)
    assert float(spatial_envelope(q, 0.0, lam, 0.8, defocus_a=df, cs_a=cs)) == pytest.approx(
        math.exp(-((beta / 2) ** 2) * dchi**2), rel=1e-12
    )


def test_chi_gradient_matches_finite_difference():
    lam = wavelength_a(80)
    kw = dict(defocus_a=120.0, cs_a=-2e5, c5_a=4e7, astigmatism_a=60.0, astigmatism_angle_rad=0.7)
    from hrtem.optics import chi_gradient

    qx, qy, h = 0.31, -0.22, 1e-6
    gx, gy = chi_gradient(qx, qy, lam, **kw)
    fx = (chi(qx + h, qy, lam, **kw) - chi(qx - h, qy, lam, **kw)) / (2 * h * lam)
    fy = (chi(qx, qy + h, lam, **kw) - chi(qx, qy - h, lam, **kw)) / (2 * h * lam)
    assert float(gx) == pytest.approx(float(fx), rel=1e-6)
    assert float(gy) == pytest.approx(float(fy), rel=1e-6)


def test_envelopes_can_be_switched_off():
    base = {"illumination_semiangle_mrad": 0.5, "deflection_sigma_a": 0.4, "focal_spread_a": 30}
    m = Microscope.from_config(base)
    off = Microscope.from_config({**base, "envelopes": {"spatial": False, "temporal": False, "deflection": False}})
    q = np.linspace(0, 1.0, 11)
    env_on = m.envelopes(q, 0 * q)
    env_off = off.envelopes(q, 0 * q)
    for name in ("spatial", "temporal", "deflection"):
        assert np.all(env_on[name][1:] < 1)
        np.testing.assert_array_equal(env_off[name], 1.0)
    np.testing.assert_allclose(np.abs(off.transfer_at(q, 0 * q)), 1.0)


def test_everything_off_is_identity():
    m = Microscope.from_config(
        {"cs_mm": 0, "defocus_a": 0, "focal_spread_a": 0, "illumination_semiangle_mrad": 0, "deflection_sigma_a": 0}
    )
    h = m.transfer((32, 24), 0.1)
    np.testing.assert_array_equal(h, 1.0)
    rng = np.random.default_rng(0)
    waves = rng.normal(size=(3, 32, 24)) + 1j * rng.normal(size=(3, 32, 24))
    np.testing.assert_allclose(m.image(waves[0], 0.1), np.abs(waves[0]) ** 2, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(m.image(waves, 0.1), np.mean(np.abs(waves) ** 2, axis=0), rtol=1e-12, atol=1e-12)


def test_image_averages_intensities_not_waves():
    m = Microscope.from_config({"defocus_a": -200.0, "focal_spread_a": 0})  # unitary H
    rng = np.random.default_rng(1)
    waves = np.exp(1j * 1.5 * rng.normal(size=(4, 32, 32)))
    per = [np.abs(np.fft.ifft2(np.fft.fft2(w) * m.transfer(w.shape, 0.1))) ** 2 for w in waves]
    np.testing.assert_allclose(m.image(waves, 0.1), np.mean(per, axis=0), rtol=1e-12)
    coherent = np.abs(np.fft.ifft2(np.fft.fft2(waves.mean(0)) * m.transfer((32, 32), 0.1))) ** 2
    assert m.image(waves, 0.1).mean() == pytest.approx(1.0)  # Parseval: |H| = 1, |ψ| = 1
    assert coherent.mean() < 0.5  # averaging complex waves would lose the intensity


@pytest.fixture(scope="module")
def abtem64():
    import abtem

    old = abtem.config.get("precision")
    abtem.config.set({"precision": "float64"})
    yield abtem
    abtem.config.set({"precision": old})


def assert_same_phase(theirs, ours, chi_ours):
    """Phases agree to 1e-7 relative in χ (ASE's and SciPy's CODATA differ by 5e-9 in λ,
    and χ reaches 10⁴ rad at the grid corners) and moduli to 1e-9."""
    np.testing.assert_allclose(np.abs(theirs), np.abs(ours), atol=1e-9)
    live = np.abs(ours) > 1e-6
    dphase = np.angle(theirs[live] * np.conj(ours[live]))
    assert np.all(np.abs(dphase) <= 1e-7 * np.abs(chi_ours[live]) + 1e-6)


def test_transfer_agrees_with_abtem_ctf(abtem64):
    """χ, Es, Et and the aperture against abtem.transfer.CTF on a non-square, anisotropic grid."""
    m = Microscope.from_config(
        {
            "defocus_a": -350.0,
            "cs_mm": 0.6,
            "c5_mm": 2.0,
            "astigmatism_a": 50.0,
            "astigmatism_angle_deg": 30.0,
            "focal_spread_a": 30.0,
            "illumination_semiangle_mrad": 0.5,
            "objective_aperture_mrad": 25.0,
            "deflection_sigma_a": 0.3,
        }
    )
    shape, sampling = (64, 48), (0.1, 0.12)
    ctf = m.to_abtem_ctf(gpts=shape, sampling=sampling)
    qx, qy = spatial_frequencies(shape, sampling)
    env = m.envelopes(qx, qy)
    # the defocus convention at the boundary: abTEM defocus = −C10
    assert ctf.C10 == pytest.approx(m.defocus_a)
    assert ctf.defocus == pytest.approx(-m.defocus_a)
    # components, each from abTEM's public classes on the same grid
    from abtem.transfer import Aberrations, Aperture, SpatialEnvelope, TemporalEnvelope

    grid = dict(energy=m.energy_kev * 1e3, gpts=shape, sampling=sampling)
    coefficients = {"C10": m.defocus_a, "C30": m.cs_a, "C50": m.c5_a, "C12": m.astigmatism_a, "phi12": m.astigmatism_angle_rad}
    chi_grid = m.chi(qx, qy)
    assert np.abs(chi_grid).max() > 1e3  # a demanding comparison
    aberrations = Aberrations(aberration_coefficients=coefficients, **grid)._evaluate_kernel()
    assert_same_phase(aberrations, np.exp(-1j * chi_grid), chi_grid)
    spatial = SpatialEnvelope(angular_spread=m.illumination_semiangle_mrad, aberration_coefficients=coefficients, **grid)
    np.testing.assert_allclose(spatial._evaluate_kernel(), env["spatial"], rtol=1e-6, atol=1e-12)
    temporal = TemporalEnvelope(focal_spread=m.focal_spread_a, **grid)
    np.testing.assert_allclose(temporal._evaluate_kernel(), env["temporal"], rtol=1e-6, atol=1e-12)
    aperture = Aperture(semiangle_cutoff=m.objective_aperture_mrad, soft=False, **grid)
    np.testing.assert_array_equal(aperture._evaluate_kernel(), env["aperture"])
    assert env["spatial"].min() < 0.5 and env["temporal"].min() < 0.5  # envelopes do act
    # the whole CTF = ours without Ed (abTEM has no deflection envelope)
    assert_same_phase(ctf._evaluate_kernel(), m.with_(deflection=False).transfer(shape, sampling), chi_grid)
    assert env["aperture"].sum() < env["aperture"].size  # the aperture does cut here


def test_abtem_positive_defocus_is_our_negative(abtem64):
    from abtem.transfer import CTF

    shape, sampling = (32, 32), 0.1
    m = Microscope(energy_kev=300, defocus_a=-400.0, cs_a=6e6, focal_spread_a=0)
    theirs = CTF(energy=300e3, defocus=400.0, Cs=6e6, gpts=shape, sampling=sampling)._evaluate_kernel()
    qx, qy = spatial_frequencies(shape, sampling)
    assert_same_phase(theirs, m.transfer(shape, sampling), m.chi(qx, qy))
    flipped = CTF(energy=300e3, defocus=-400.0, Cs=6e6, gpts=shape, sampling=sampling)._evaluate_kernel()
    assert np.abs(flipped - m.transfer(shape, sampling)).max() > 0.5


def _weak_phase_image(defocus_a: float, cs_a: float = 6e6) -> tuple[np.ndarray, np.ndarray]:
    """A 0.05-rad Gaussian phase 'atom' (phase > 0: attractive potential, t = exp(iσV))."""
    n, s = 256, 0.05
    x = (np.arange(n) - n // 2) * s
    r2 = x[:, None] ** 2 + x[None, :] ** 2
    phase = 0.05 * np.exp(-r2 / (2 * 0.3**2))
    m = Microscope(energy_kev=300, defocus_a=defocus_a, cs_a=cs_a, focal_spread_a=30.0)
    return m.image(np.exp(1j * phase), s), phase


def test_weak_phase_object_contrast_sign_at_scherzer():
    """WPOA: I ≈ 1 + 2 φ ⊛ F⁻¹[sin χ]. With Δf = Scherzer < 0 and Cs > 0, χ < 0 over the
    passband, so sin χ < 0 and atoms (φ > 0) are dark. For Cs < 0 at its Scherzer defocus
    (Δf > 0, the ch. 4 negative-Cs imaging) χ > 0 and atoms are bright."""
    df = scherzer_defocus_a(6e6, 300)
    img, phase = _weak_phase_image(df)
    c = img.shape[0] // 2
    assert img[c, c] < 1 - 0.03  # dark atom, measured ≈ 0.93
    assert img[c, c] == img.min() or img[c, c] - img.min() < 1e-3
    bright, _ = _weak_phase_image(-df, cs_a=-6e6)
    assert bright[c, c] > 1 + 0.03
    np.testing.assert_allclose(bright - 1, -(img - 1), atol=3 * 0.05**2)  # contrast reversal
    # linear WPOA prediction agrees to second order in the phase
    m = Microscope(energy_kev=300, defocus_a=df, cs_a=6e6, focal_spread_a=30.0)
    h = m.transfer(phase.shape, 0.05)
    linear = 1 + 2 * np.real(np.fft.ifft2(np.fft.fft2(phase) * (-h.imag)))
    assert np.abs(img - linear).max() < 3 * 0.05**2


@settings(max_examples=40, deadline=None)
@given(
    defocus=st.floats(-2000, 2000),
    cs_mm=st.floats(-1, 1),
    c5_mm=st.floats(0, 10),
    astig=st.floats(0, 200),
    angle=st.floats(0, 360),
    fs=st.floats(0, 100),
    beta=st.floats(0, 2),
    sigma=st.floats(0, 2),
    ap=st.one_of(st.none(), st.floats(1, 50)),
)
def test_transfer_modulus_at_most_one_and_hermitian_phase(defocus, cs_mm, c5_mm, astig, angle, fs, beta, sigma, ap):
    m = Microscope.from_config(
        {
            "defocus_a": defocus,
            "cs_mm": cs_mm,
            "c5_mm": c5_mm,
            "astigmatism_a": astig,
            "astigmatism_angle_deg": angle,
            "focal_spread_a": fs,
            "illumination_semiangle_mrad": beta,
            "deflection_sigma_a": sigma,
            "objective_aperture_mrad": ap,
        }
    )
    h = m.transfer((16, 12), 0.2)
    assert np.all(np.abs(h) <= 1 + 1e-12)
    assert h[0, 0] == pytest.approx(1.0)
    # χ(−q) = χ(q): the transfer is point-symmetric in q
    q = np.linspace(-1, 1, 7)
    np.testing.assert_allclose(m.transfer_at(q, 0.3 * q), m.transfer_at(-q, -0.3 * q), atol=1e-12)


def test_transfer_on_a_grid_is_transfer_at_inside_the_aperture_and_zero_outside():
    """The cached grid H is evaluated only inside the aperture; it equals the
    full evaluation everywhere, and the lens image does not depend on FFT workers."""
    from hrtem.config import validate_config
    from hrtem.optics import Microscope
    from hrtem.optics import ctf as _ctf

    scope = Microscope.from_config(validate_config({})["images"]["microscope"])
    shape, sampling = (97, 80), (0.21, 0.13)
    qx, qy = _ctf.spatial_frequencies(shape, sampling)
    full = scope.transfer_at(qx, qy)
    grid = scope.transfer(shape, sampling)
    np.testing.assert_array_equal(grid, full)
    assert 0 < np.count_nonzero(grid) < grid.size  # the aperture cuts
    no_aperture = scope.with_(objective_aperture_mrad=None)
    np.testing.assert_array_equal(no_aperture.transfer(shape, sampling), no_aperture.transfer_at(qx, qy))
    waves = np.exp(1j * 0.4 * np.random.default_rng(0).standard_normal((2, *shape))).astype(np.complex64)
    np.testing.assert_array_equal(scope.image(waves, sampling, workers=1), scope.image(waves, sampling, workers=2))
