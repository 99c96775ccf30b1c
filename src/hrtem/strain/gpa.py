"""Geometric phase analysis (GPA; thesis §3.1.1, Hÿtch et al. 1998).

For a Bragg spot g the image's Fourier transform is multiplied by a Gaussian
mask centred on g and transformed back, giving the complex Fourier component
H_g(r) = A_g(r)·exp(i(2π g·r + P_g(r))) (Eqs. 3.1–3.2). The geometric phase
P_g = −2π g·u (Eq. 3.3) gives the displacement u along g; two non-collinear
spots give the full displacement gradient

    ∇u = −(1/2π) G⁻¹ ∇P,        G = rows g₁ᵀ, g₂ᵀ,

and thus the strain and rotation. Phase gradients are taken from the complex
field, ∇arg H = Im(H̄ ∇H)/|H|², with ∇H computed spectrally (multiplication
by 2πik), so phase wrapping never enters.

∇u here is the Eulerian gradient (the phase is sampled at deformed
positions): ∇u = I − F⁻¹ for a deformation gradient F of the reference
lattice. We convert exactly, F = (I − ∇u)⁻¹, and report the left polar
decomposition of F like STM does (:mod:`hrtem.strain.tensor`), so both
methods measure the same quantity, also at finite strain.

The mask radius is the Gaussian's standard deviation as a fraction of the
shorter |g|; a smaller mask averages over a larger area (≈ 1/(2π σ_k)).
Images are indexed ``[ix, iy]`` with pixel (ix, iy) at (ix·sx, iy·sy) Å.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from hrtem.errors import HrtemError
from hrtem.strain.tensor import polar_left

__all__ = ["GpaResult", "find_bragg_spots", "gpa", "frequency_grid"]


def frequency_grid(shape: tuple[int, int], sampling: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """Spatial frequencies kx, ky (1/Å) of ``numpy.fft.fft2`` for an [x, y] image."""
    kx = np.fft.fftfreq(shape[0], sampling[0])
    ky = np.fft.fftfreq(shape[1], sampling[1])
    return np.meshgrid(kx, ky, indexing="ij")


def _sampling(sampling: float | tuple[float, float]) -> tuple[float, float]:
    if np.isscalar(sampling):
        return float(sampling), float(sampling)
    sx, sy = sampling
    return float(sx), float(sy)


def find_bragg_spots(
    image: np.ndarray,
    sampling: float | tuple[float, float] = 1.0,
    *,
    k_min: float | None = None,
    min_angle_deg: float = 25.0,
) -> np.ndarray:
    """Two non-collinear strong Bragg spots g₁, g₂ (1/Å), chosen automatically.

    The power spectrum of the Hann-windowed, mean-subtracted image is searched
    for local maxima above ``k_min`` (default: 4 frequency pixels); g₁ is the
    strongest, g₂ the strongest whose direction differs from g₁'s by at least
    ``min_angle_deg`` (modulo 180°). Positions are refined to sub-pixel
    accuracy by a quadratic fit of the log power (Eq. 3.4 in Fourier space).
    """
    sx, sy = _sampling(sampling)
    img = np.asarray(image, float)
    nx, ny = img.shape
    win = np.outer(np.hanning(nx), np.hanning(ny))
    power = np.abs(np.fft.fftshift(np.fft.fft2((img - img.mean()) * win))) ** 2
    dkx, dky = 1 / (nx * sx), 1 / (ny * sy)
    kx = (np.arange(nx) - nx // 2) * dkx
    ky = (np.arange(ny) - ny // 2) * dky
    kmag = np.hypot(kx[:, None], ky[None, :])
    kmin = 4 * max(dkx, dky) if k_min is None else k_min
    mx = ndimage.maximum_filter(power, size=5, mode="wrap")
    cand = (power == mx) & (kmag > kmin)
    # one of each ±g pair: the upper half plane
    cand &= (kx[:, None] > 0) | ((kx[:, None] == 0) & (ky[None, :] > 0))
    ij = np.argwhere(cand)
    if len(ij) < 2:
        raise HrtemError("GPA: fewer than two Bragg spots found; give g explicitly")
    order = np.argsort(power[ij[:, 0], ij[:, 1]])[::-1]
    ij = ij[order]
    logp = np.log(power + power.max() * 1e-12)

    def refine(i: int, j: int) -> np.ndarray:
        if 0 < i < nx - 1 and 0 < j < ny - 1:
            p = logp[i - 1 : i + 2, j - 1 : j + 2]
            ddx = 0.5 * (p[2, 1] - p[0, 1])
            ddy = 0.5 * (p[1, 2] - p[1, 0])
            hxx = p[2, 1] - 2 * p[1, 1] + p[0, 1]
            hyy = p[1, 2] - 2 * p[1, 1] + p[1, 0]
            hxy = 0.25 * (p[2, 2] - p[2, 0] - p[0, 2] + p[0, 0])
            det = hxx * hyy - hxy**2
            if det > 0 and hxx < 0:
                ox = (-ddx * hyy + ddy * hxy) / det
                oy = (-ddy * hxx + ddx * hxy) / det
                if abs(ox) <= 1 and abs(oy) <= 1:
                    return np.array([kx[i] + ox * dkx, ky[j] + oy * dky])
        return np.array([kx[i], ky[j]])

    g1 = refine(*ij[0])
    a1 = np.arctan2(g1[1], g1[0])
    for i, j in ij[1:]:
        g = refine(i, j)
        d = np.degrees(abs((np.arctan2(g[1], g[0]) - a1 + np.pi / 2) % np.pi - np.pi / 2))
        if d >= min_angle_deg:
            return np.stack([g1, g])
    raise HrtemError("GPA: no second, non-collinear Bragg spot found; give g explicitly")


@dataclass
class GpaResult:
    """Strain maps from GPA (arrays indexed [ix, iy] like the image).

    Attributes
    ----------
    exx, eyy, exy
        Strain (dimensionless, left-stretch convention as STM).
    rotation
        Lattice rotation (rad, counter-clockwise).
    phase
        (2, nx, ny) geometric phases P_g (rad, wrapped to (−π, π]).
    amplitude
        (2, nx, ny) amplitudes |H_g|.
    g
        (2, 2) mask centres (1/Å).
    g_reference
        (2, 2) reference reciprocal vectors the phases refer to (1/Å).
    sampling
        (sx, sy) Å/px.
    """

    exx: np.ndarray
    eyy: np.ndarray
    exy: np.ndarray
    rotation: np.ndarray
    phase: np.ndarray
    amplitude: np.ndarray
    g: np.ndarray
    g_reference: np.ndarray
    sampling: tuple[float, float]

    def at(self, points: np.ndarray, origin: tuple[float, float] = (0.0, 0.0)) -> dict[str, np.ndarray]:
        """Maps interpolated (bilinear) at positions (n, 2) in Å."""
        sx, sy = self.sampling
        p = np.asarray(points, float)
        coords = np.stack([(p[:, 0] - origin[0]) / sx, (p[:, 1] - origin[1]) / sy])
        return {
            k: ndimage.map_coordinates(getattr(self, k), coords, order=1, mode="nearest")
            for k in ("exx", "eyy", "exy", "rotation")
        }


def gpa(
    image: np.ndarray,
    sampling: float | tuple[float, float] = 1.0,
    *,
    g: np.ndarray | None = None,
    mask_radius: float = 0.15,
    g_reference: np.ndarray | None = None,
    reference: np.ndarray | tuple[slice, slice] | None = None,
) -> GpaResult:
    """Strain and rotation maps of an image by geometric phase analysis.

    Parameters
    ----------
    image
        2D image indexed ``[ix, iy]``.
    sampling
        Pixel size in Å (one value or (sx, sy)).
    g
        (2, 2) Bragg spots (1/Å) used as mask centres; found by
        :func:`find_bragg_spots` when None.
    mask_radius
        Standard deviation of the Gaussian masks as a fraction of the shorter |g|.
    g_reference
        (2, 2) reciprocal vectors of the unstrained reference lattice (1/Å).
        When None they are refined in the ``reference`` region (the mean local
        frequency there, so that region has zero mean displacement gradient),
        or equal ``g`` when no region is given.
    reference
        Boolean mask (same shape as the image) or a pair of slices selecting
        the reference region.

    Returns
    -------
    GpaResult
    """
    img = np.asarray(image, float)
    if img.ndim != 2:
        raise HrtemError(f"GPA needs a 2D image, got shape {img.shape}")
    sx, sy = _sampling(sampling)
    gs = find_bragg_spots(img, (sx, sy)) if g is None else np.asarray(g, float)
    if gs.shape != (2, 2) or abs(np.linalg.det(gs)) < 1e-12 * np.sum(gs**2):
        raise HrtemError(f"GPA needs two non-collinear g vectors as a (2, 2) array, got {gs.tolist()}")
    if mask_radius <= 0:
        raise HrtemError(f"mask_radius must be > 0 (fraction of |g|), got {mask_radius}")
    kx, ky = frequency_grid(img.shape, (sx, sy))
    fimg = np.fft.fft2(img - img.mean())
    sigma = mask_radius * np.min(np.linalg.norm(gs, axis=1))
    if reference is not None and not isinstance(reference, np.ndarray):
        mask_ref = np.zeros(img.shape, bool)
        mask_ref[tuple(reference)] = True
        reference = mask_ref
    x = np.arange(img.shape[0])[:, None] * sx
    y = np.arange(img.shape[1])[None, :] * sy
    grads, amps, hs = [], [], []
    for gv in gs:
        m = np.exp(-((kx - gv[0]) ** 2 + (ky - gv[1]) ** 2) / (2 * sigma**2))
        fh = fimg * m
        h = np.fft.ifft2(fh)
        hx = np.fft.ifft2(fh * (2j * np.pi * kx))
        hy = np.fft.ifft2(fh * (2j * np.pi * ky))
        a2 = np.abs(h) ** 2
        tiny = a2.max() * 1e-12
        # local 2π·frequency: ∇ arg H = Im(conj(H) ∇H) / |H|²
        fx = np.imag(np.conj(h) * hx) / (a2 + tiny)
        fy = np.imag(np.conj(h) * hy) / (a2 + tiny)
        grads.append(np.stack([fx, fy]))
        amps.append(np.sqrt(a2))
        hs.append(h)
    if g_reference is not None:
        gref = np.asarray(g_reference, float)
    elif reference is not None:
        gref = np.empty((2, 2))
        for k in range(2):
            # amplitude²-weighted mean local frequency = Σ Im(H̄∇H) / Σ|H|²
            w = amps[k][reference] ** 2
            gref[k, 0] = np.sum(grads[k][0][reference] * w) / np.sum(w) / (2 * np.pi)
            gref[k, 1] = np.sum(grads[k][1][reference] * w) / np.sum(w) / (2 * np.pi)
    else:
        gref = gs.copy()
    # D[k, b] = ∂P_gk/∂x_b ; ∇u = −(1/2π) G⁻¹ D ; F = (I − ∇u)⁻¹
    d = np.stack([grads[k] - 2 * np.pi * gref[k][:, None, None] for k in range(2)])  # (2, 2, nx, ny)
    d = np.moveaxis(d, (0, 1), (-2, -1))  # (nx, ny, 2, 2)
    ginv = np.linalg.inv(gref)
    grad_u = -(ginv @ d) / (2 * np.pi)
    f = np.linalg.inv(np.eye(2) - grad_u)
    p, theta = polar_left(f)
    phases = np.stack([np.angle(hs[k] * np.exp(-2j * np.pi * (gref[k, 0] * x + gref[k, 1] * y))) for k in range(2)])
    return GpaResult(
        exx=p[..., 0, 0] - 1,
        eyy=p[..., 1, 1] - 1,
        exy=p[..., 0, 1],
        rotation=theta,
        phase=phases,
        amplitude=np.stack(amps),
        g=gs,
        g_reference=gref,
        sampling=(sx, sy),
    )
