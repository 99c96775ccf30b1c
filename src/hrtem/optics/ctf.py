"""Objective-lens phase error, coherence envelopes and aperture (thesis §2.4).

Conventions
-----------
Units
    Lengths in Å, spatial frequencies ``q`` in 1/Å, scattering angles
    ``theta = wavelength * q`` in rad, energies in keV. Aberration coefficients
    are Å here (the config gives ``cs_mm``/``c5_mm``; :mod:`hrtem.optics.microscope`
    converts).
Defocus sign (the thesis convention)
    ``defocus_a`` is the coefficient C10 of the phase error below. For Cs > 0
    the Scherzer defocus is *negative* (underfocus): 300 kV, Cs = 0.6 mm gives
    Δf = −1.2·√(Cs·λ) = −41.25 nm (thesis L329, Fig. 2.3). abTEM's ``defocus``
    parameter is −C10, so ``abtem_defocus = -defocus_a``; the conversion lives
    in :meth:`hrtem.optics.Microscope.to_abtem_ctf` and is tested.
Phase error (thesis Eq. 2.10–2.11; the thesis prints the Cs term over 2, its
own Scherzer number proves 1/4)::

    chi(q) = 2π/λ · ( ½ Δf θ² + ¼ Cs θ⁴ + ⅙ C5 θ⁶ + ½ |C12| θ² cos(2(φ − φ12)) )

with θ = λ|q| and φ the azimuth of q. The image wave is
``psi(q) = psi0(q) · exp(−i chi) · A · Es · Et · Ed`` (Eq. 2.12, 2.20), which is
abTEM's convention as well (``exp(-1j * chi)``).
Envelopes (quasi-coherent approximation)
    * spatial (Eq. 2.16): ``Es = exp(−(β/2)² |∇_θ chi|²)`` with β the
      illumination semi-angle in rad (the 1/e half-width of the Gaussian
      distribution of incident directions, ``q_s = β/λ`` of Eq. 2.14). This is
      the form of the thesis's PyQSTEM code and equals abTEM's
      ``angular_spread`` (mrad) term exactly (tested).
    * temporal (Eq. 2.18): ``Et = exp(−(½ π Δ θ²/λ)²)`` with Δ the 1/e width of
      the focal-spread distribution (``p(δ) ∝ exp(−δ²/Δ²)``). abTEM's
      ``focal_spread`` is the same 1/e width (its docstring says so and its
      formula is identical; tested).
    * deflection/vibration (Eq. 2.19): ``Ed = exp(−σ² q²/2)``; abTEM has none.
    * objective aperture: a hard cut ``θ ≤ θ_max`` (abTEM ``soft=False``).
Scherzer defocus
    ``Δf = −sign(Cs) · 1.2 · √(|Cs| λ)`` (:data:`SCHERZER_FACTOR`, the thesis's
    number). abTEM's ``scherzer_defocus`` uses √1.5 ≈ 1.22 instead (42.09 nm
    at 300 kV / 0.6 mm), so it is *not* used here.
Point resolution
    The first zero (q > 0) of Im CTF = −sin χ; at Scherzer defocus
    ``1/q = (|Cs| λ³)^¼ / √(2·1.2)`` ≈ 0.645 (|Cs| λ³)^¼.
Illumination semi-angle vs objective aperture (SCIENCE.md §1)
    The thesis's ch. 4 "convergence angle 15 mrad" taken as β in Es erases the
    Au {111} fringes at Δf ≥ 12.5 nm, contradicting its own images. Both are
    therefore exposed: ``illumination_semiangle_mrad`` (β of Es) and
    ``objective_aperture_mrad`` (hard aperture); the ch. 4 preset uses 15 mrad
    as the aperture and a sub-mrad β.
"""

from __future__ import annotations

import numpy as np
from scipy import constants, optimize

__all__ = [
    "SCHERZER_FACTOR",
    "wavelength_a",
    "scherzer_defocus_a",
    "point_resolution_a",
    "point_resolution_scherzer_a",
    "spatial_frequencies",
    "chi",
    "chi_gradient",
    "spatial_envelope",
    "temporal_envelope",
    "deflection_envelope",
    "aperture",
]

#: Δf_Scherzer = −sign(Cs)·SCHERZER_FACTOR·√(|Cs|λ) (thesis L329: −41.25 nm at 300 kV, 0.6 mm).
SCHERZER_FACTOR = 1.2


def wavelength_a(energy_kev: float) -> float:
    """Relativistic de Broglie wavelength of an electron, Å.

    ``λ = h c / √(E (2 m c² + E))`` with E the kinetic energy (CODATA constants).
    0.019687 Å at 300 keV, 0.041757 Å at 80 keV.
    """
    if not energy_kev > 0:
        raise ValueError(f"energy_kev must be > 0, got {energy_kev}")
    e_j = energy_kev * 1e3 * constants.e
    mc2 = constants.m_e * constants.c**2
    return float(constants.h * constants.c / np.sqrt(e_j * (2.0 * mc2 + e_j)) * 1e10)


def scherzer_defocus_a(cs_a: float, energy_kev: float) -> float:
    """Scherzer defocus C10 in Å, thesis sign convention (negative for Cs > 0).

    ``Δf = −sign(Cs) · 1.2 · √(|Cs| λ)``; 300 kV, Cs = 6·10⁶ Å → −412.5 Å.
    """
    if cs_a == 0:
        raise ValueError("Scherzer defocus needs a non-zero Cs")
    return float(-np.sign(cs_a) * SCHERZER_FACTOR * np.sqrt(abs(cs_a) * wavelength_a(energy_kev)))


def point_resolution_scherzer_a(cs_a: float, energy_kev: float) -> float:
    """Analytic point resolution at Scherzer defocus, Å.

    χ = 0 again at ``λ²q² = −2Δf/Cs``; with Δf = −1.2√(Csλ) this is
    ``1/q = (|Cs| λ³)^¼ / √2.4`` (1.68 Å at 300 kV, 0.6 mm).
    """
    lam = wavelength_a(energy_kev)
    return float((abs(cs_a) * lam**3) ** 0.25 / np.sqrt(2.0 * SCHERZER_FACTOR))


def point_resolution_a(
    cs_a: float,
    energy_kev: float,
    defocus_a: float | None = None,
    c5_a: float = 0.0,
    q_max: float = 10.0,
) -> float:
    """Point resolution 1/q₀ (Å): q₀ the first zero (q > 0) of Im CTF, found numerically.

    Im CTF = −sin χ(q) on a radial line (no astigmatism); envelopes do not move
    its zeros. ``defocus_a=None`` means Scherzer defocus. The root is bracketed
    on a fine grid and refined with Brent's method.
    """
    lam = wavelength_a(energy_kev)
    if defocus_a is None:
        defocus_a = scherzer_defocus_a(cs_a, energy_kev)

    def im_ctf(q: np.ndarray | float) -> np.ndarray | float:
        return -np.sin(chi(q, 0.0, lam, defocus_a=defocus_a, cs_a=cs_a, c5_a=c5_a))

    q = np.linspace(0.0, q_max, 200_001)[1:]
    values = im_ctf(q)
    sign = np.sign(values)
    changes = np.nonzero(sign[1:] * sign[:-1] < 0)[0]
    if len(changes) == 0:
        raise ValueError(f"Im CTF has no zero below q = {q_max} 1/Å")
    i = changes[0]
    q0 = optimize.brentq(im_ctf, q[i], q[i + 1], xtol=1e-14, rtol=1e-14)
    return float(1.0 / q0)


def _as_pair(sampling_a: float | tuple[float, float]) -> tuple[float, float]:
    if np.ndim(sampling_a) == 0:
        return float(sampling_a), float(sampling_a)  # type: ignore[arg-type]
    sx, sy = sampling_a  # type: ignore[misc]
    return float(sx), float(sy)


def spatial_frequencies(
    shape: tuple[int, int], sampling_a: float | tuple[float, float]
) -> tuple[np.ndarray, np.ndarray]:
    """FFT-ordered spatial frequencies (1/Å) of an array indexed ``[x, y]``.

    Returns ``qx`` of shape (nx, 1) and ``qy`` of shape (1, ny), broadcastable
    to the grid of ``numpy.fft.fft2`` over the last two axes.
    """
    sx, sy = _as_pair(sampling_a)
    nx, ny = shape
    return np.fft.fftfreq(nx, sx)[:, None], np.fft.fftfreq(ny, sy)[None, :]


def chi(
    qx: np.ndarray | float,
    qy: np.ndarray | float,
    wavelength: float,
    defocus_a: float = 0.0,
    cs_a: float = 0.0,
    c5_a: float = 0.0,
    astigmatism_a: float = 0.0,
    astigmatism_angle_rad: float = 0.0,
) -> np.ndarray:
    """Phase error χ(qx, qy) in rad (module docstring; thesis sign convention).

    ``wavelength`` in Å, frequencies in 1/Å, coefficients in Å, angle in rad.
    """
    tx = wavelength * np.asarray(qx, dtype=float)
    ty = wavelength * np.asarray(qy, dtype=float)
    t2 = tx * tx + ty * ty
    c2, s2 = np.cos(2.0 * astigmatism_angle_rad), np.sin(2.0 * astigmatism_angle_rad)
    # ½|C12| θ² cos(2(φ − φ12)) = ½|C12| ((θx² − θy²) cos 2φ12 + 2 θx θy sin 2φ12)
    astig = 0.5 * astigmatism_a * ((tx * tx - ty * ty) * c2 + 2.0 * tx * ty * s2)
    value = 0.5 * defocus_a * t2 + 0.25 * cs_a * t2**2 + c5_a / 6.0 * t2**3 + astig
    return (2.0 * np.pi / wavelength) * value


def chi_gradient(
    qx: np.ndarray | float,
    qy: np.ndarray | float,
    wavelength: float,
    defocus_a: float = 0.0,
    cs_a: float = 0.0,
    c5_a: float = 0.0,
    astigmatism_a: float = 0.0,
    astigmatism_angle_rad: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Gradient of χ with respect to the scattering angle (θx, θy), rad/rad."""
    tx = wavelength * np.asarray(qx, dtype=float)
    ty = wavelength * np.asarray(qy, dtype=float)
    t2 = tx * tx + ty * ty
    radial = defocus_a + cs_a * t2 + c5_a * t2 * t2
    c2, s2 = np.cos(2.0 * astigmatism_angle_rad), np.sin(2.0 * astigmatism_angle_rad)
    gx = radial * tx + astigmatism_a * (tx * c2 + ty * s2)
    gy = radial * ty + astigmatism_a * (tx * s2 - ty * c2)
    k = 2.0 * np.pi / wavelength
    return k * gx, k * gy


def spatial_envelope(
    qx: np.ndarray | float,
    qy: np.ndarray | float,
    wavelength: float,
    semiangle_mrad: float,
    **aberrations: float,
) -> np.ndarray:
    """Es = exp(−(β/2)² |∇_θ χ|²), β = ``semiangle_mrad``·10⁻³ rad (Eq. 2.16).

    ``aberrations``: the keyword arguments of :func:`chi`.
    """
    beta = semiangle_mrad * 1e-3
    gx, gy = chi_gradient(qx, qy, wavelength, **aberrations)
    return np.exp(-((beta / 2.0) ** 2) * (gx * gx + gy * gy))


def temporal_envelope(
    qx: np.ndarray | float, qy: np.ndarray | float, wavelength: float, focal_spread_a: float
) -> np.ndarray:
    """Et = exp(−(½ π Δ θ²/λ)²), Δ = ``focal_spread_a`` the 1/e focal spread (Eq. 2.18)."""
    t2 = wavelength**2 * (np.asarray(qx, dtype=float) ** 2 + np.asarray(qy, dtype=float) ** 2)
    return np.exp(-((0.5 * np.pi * focal_spread_a * t2 / wavelength) ** 2))


def deflection_envelope(
    qx: np.ndarray | float, qy: np.ndarray | float, sigma_a: float
) -> np.ndarray:
    """Ed = exp(−σ² q²/2), σ = ``sigma_a`` the image deflection amplitude (Eq. 2.19)."""
    q2 = np.asarray(qx, dtype=float) ** 2 + np.asarray(qy, dtype=float) ** 2
    return np.exp(-0.5 * sigma_a**2 * q2)


def aperture(
    qx: np.ndarray | float, qy: np.ndarray | float, wavelength: float, cutoff_mrad: float | None
) -> np.ndarray:
    """Hard objective aperture: 1 where θ = λ|q| ≤ cutoff, else 0 (None: no aperture)."""
    q2 = np.asarray(qx, dtype=float) ** 2 + np.asarray(qy, dtype=float) ** 2
    if cutoff_mrad is None or not np.isfinite(cutoff_mrad):
        return np.ones_like(q2)
    return (wavelength * np.sqrt(q2) <= cutoff_mrad * 1e-3).astype(float)
