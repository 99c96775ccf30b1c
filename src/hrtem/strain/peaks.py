"""Column positions from an image: filter, local extrema, sub-pixel refinement.

Thesis §3.1.2 (steps 1–3): noise filtering (Wiener or Gaussian), detection of
the intensity extrema (maxima, or minima for dark-contrast columns) with a
minimum separation and an intensity threshold, and sub-pixel refinement by a
least-squares fit of the quadratic

    I(x, y) = c0 + c1 x + c2 y + c3 x² + c4 y² + c5 x y        (Eq. 3.4)

over a small window around each extremum; the refined position is where the
gradient vanishes. Everything is vectorised over peaks.

Images are indexed ``[ix, iy]``; pixel ``(ix, iy)`` sits at
``(x0 + ix·sx, y0 + iy·sy)`` Å.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from hrtem.errors import HrtemError

__all__ = ["wiener", "wiener_local", "filter_image", "find_peaks", "refine_peaks", "detect_columns"]


def wiener(image: np.ndarray, noise_power: float | None = None, *, noise_band: float = 0.7,
           noise_factor: float = 1.0) -> np.ndarray:
    """Fourier-space Wiener filter for lattice images with white noise.

    With the power spectrum P(k) = |Ĩ(k)|² and a white-noise power ν, the
    filter is H(k) = max(P − ν, 0)/P (signal power over total power, the
    signal power estimated as P − ν). ν is the mean of P beyond
    ``noise_band`` × the Nyquist frequency (where a sampled lattice image has
    only noise) unless given. ``noise_factor`` > 1 scales ν up, which also
    suppresses the frequencies where the noise alone fluctuates above ν
    (a fraction e^(−factor) of them for white noise).
    """
    img = np.asarray(image, float)
    mean = img.mean()
    f = np.fft.fft2(img - mean)
    p = np.abs(f) ** 2
    if noise_power is None:
        kx = np.fft.fftfreq(img.shape[0])[:, None] * 2
        ky = np.fft.fftfreq(img.shape[1])[None, :] * 2
        band = np.hypot(kx, ky) > noise_band
        noise_power = float(np.mean(p[band])) if band.any() else 0.0
    nu = noise_factor * noise_power
    h = np.maximum(p - nu, 0.0) / np.maximum(p, 1e-300)
    return np.real(np.fft.ifft2(f * h)) + mean


def wiener_local(image: np.ndarray, size_px: int = 5, noise: float | None = None) -> np.ndarray:
    """Adaptive local Wiener filter (as scipy.signal.wiener, but safe on flat regions).

    out = μ + max(σ² − ν, 0)/max(σ², ν)·(I − μ), with μ, σ² the local mean and
    variance in a ``size_px`` square and ν the noise power (default: the mean
    local variance).
    """
    img = np.asarray(image, float)
    mu = ndimage.uniform_filter(img, size=int(size_px), mode="reflect")
    var = np.maximum(ndimage.uniform_filter(img * img, size=int(size_px), mode="reflect") - mu * mu, 0.0)
    nu = float(var.mean()) if noise is None else float(noise)
    gain = np.maximum(var - nu, 0.0) / np.maximum(np.maximum(var, nu), 1e-300)
    return mu + gain * (img - mu)


def filter_image(image: np.ndarray, method: str = "wiener", *, size_px: int = 5, sigma_px: float = 1.0,
                 noise_factor: float = 1.0) -> np.ndarray:
    """Noise filter before peak finding.

    Parameters
    ----------
    image
        2D image.
    method
        ``"wiener"`` (Fourier-space Wiener filter, :func:`wiener`, with
        ``noise_factor``),
        ``"wiener_local"`` (adaptive local Wiener filter, window ``size_px``),
        ``"gaussian"`` (Gaussian of standard deviation
        ``sigma_px`` pixels) or ``"none"``.
    """
    img = np.asarray(image, float)
    if method == "wiener":
        return wiener(img, noise_factor=noise_factor)
    if method == "wiener_local":
        return wiener_local(img, size_px)
    if method == "gaussian":
        return ndimage.gaussian_filter(img, float(sigma_px), mode="nearest")
    if method == "none":
        return img.copy()
    raise HrtemError(f"unknown filter {method!r}; choose wiener, wiener_local, gaussian or none")


def _disk(radius_px: tuple[float, float]) -> np.ndarray:
    """Elliptical footprint of half-axes ``radius_px`` (a disk for square pixels)."""
    hx, hy = (max(1, int(np.floor(r))) for r in radius_px)
    ix = np.arange(-hx, hx + 1)[:, None] / max(radius_px[0], 1e-12)
    iy = np.arange(-hy, hy + 1)[None, :] / max(radius_px[1], 1e-12)
    return ix**2 + iy**2 <= 1.0 + 1e-9


def find_peaks(
    image: np.ndarray,
    *,
    min_distance_px: float | tuple[float, float] = 3,
    dominance_px: float | tuple[float, float] | None = None,
    threshold_rel: float = 0.2,
    threshold_abs: float | None = None,
    dark: bool = False,
    exclude_border_px: int = 1,
) -> np.ndarray:
    """Integer pixel positions of local maxima (or minima when ``dark``).

    A candidate is a pixel that is the largest within a disk of radius
    ``dominance_px`` (default ``min_distance_px``; one per flat plateau) and
    above the threshold. Then, strongest first, a candidate is kept unless a
    kept peak lies closer than ``min_distance_px`` (non-maximum suppression by
    Euclidean distance), so the returned peaks are pairwise at least
    ``min_distance_px`` apart. A dominance radius below the minimum distance
    keeps a weak column whose bright neighbour's flank reaches within
    ``min_distance_px`` of it, while still suppressing weak shoulders and
    fringes within ``dominance_px`` of a brighter pixel.

    Parameters
    ----------
    image
        2D (filtered) image.
    min_distance_px
        Euclidean minimum distance between peaks in pixels (one value, or
        (along x, along y) for non-square pixels).
    dominance_px
        Radius (pixels) of the disk a candidate must be the maximum of
        (default: ``min_distance_px``).
    threshold_rel
        Keep peaks above ``min + threshold_rel·(max − min)`` of the image.
    threshold_abs
        Absolute threshold (overrides ``threshold_rel``), in image units
        (for ``dark``: of the negated image).
    dark
        Columns are dark (intensity minima).
    exclude_border_px
        Peaks closer than this to the image border are dropped.

    Returns
    -------
    (n, 2) int array of ``(ix, iy)``, strongest first.
    """
    from scipy.spatial import cKDTree

    img = -np.asarray(image, float) if dark else np.asarray(image, float)
    rx, ry = (float(min_distance_px),) * 2 if np.isscalar(min_distance_px) else map(float, min_distance_px)
    if not (rx > 0 and ry > 0):
        raise HrtemError(f"min_distance_px must be > 0, got {min_distance_px}")
    if dominance_px is None:
        dx, dy = rx, ry
    else:
        dx, dy = (float(dominance_px),) * 2 if np.isscalar(dominance_px) else map(float, dominance_px)
    thr = threshold_abs if threshold_abs is not None else img.min() + threshold_rel * (img.max() - img.min())
    mask = (img == ndimage.maximum_filter(img, size=3, mode="nearest")) & (img > thr)
    b = int(exclude_border_px)
    if b > 0:
        mask[:b], mask[-b:], mask[:, :b], mask[:, -b:] = False, False, False, False
    # dominance: a candidate must be the maximum of the disk around it (checked on the
    # few 3 × 3 maxima only: much cheaper than a maximum filter with a disk footprint)
    cand = np.argwhere(mask)
    if len(cand):
        fp = _disk((dx, dy))
        hx, hy = fp.shape[0] // 2, fp.shape[1] // 2
        ox, oy = np.nonzero(fp)
        padded = np.pad(img, ((hx, hx), (hy, hy)), mode="edge")
        vals = padded[cand[:, 0:1] + ox[None, :], cand[:, 1:2] + oy[None, :]]
        dominated = (vals > img[cand[:, 0], cand[:, 1]][:, None]).any(axis=1)
        mask[cand[dominated, 0], cand[dominated, 1]] = False
    peaks = np.argwhere(mask)
    if len(peaks) > 1:
        # plateaus give several equal maxima: keep one per connected group
        lab, _ = ndimage.label(mask, structure=np.ones((3, 3)))
        _, first = np.unique(lab[peaks[:, 0], peaks[:, 1]], return_index=True)
        peaks = peaks[np.sort(first)]
    if len(peaks) > 1:
        order = np.argsort(-img[peaks[:, 0], peaks[:, 1]], kind="stable")
        peaks = peaks[order]
        scaled = peaks / np.array([rx, ry])
        near = cKDTree(scaled).query_ball_point(scaled, 1.0 - 1e-9)
        keep = np.ones(len(peaks), bool)
        for i, js in enumerate(near):
            if keep[i]:
                for j in js:
                    if j > i:
                        keep[j] = False
        peaks = peaks[keep]
    return peaks


def _design(h: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r = np.arange(-h, h + 1, dtype=float)
    dx, dy = np.meshgrid(r, r, indexing="ij")
    dx, dy = dx.ravel(), dy.ravel()
    x = np.stack([np.ones_like(dx), dx, dy, dx**2, dy**2, dx * dy], axis=1)
    return np.linalg.pinv(x), dx, dy


def refine_peaks(
    image: np.ndarray,
    peaks: np.ndarray,
    *,
    window_px: int = 3,
    dark: bool = False,
    iterations: int = 2,
) -> np.ndarray:
    """Sub-pixel extremum positions by a least-squares 2D quadratic (Eq. 3.4).

    Parameters
    ----------
    image
        2D image (the same one peaks were found in, or the unfiltered one).
    peaks
        (n, 2) integer ``(ix, iy)`` starting positions.
    window_px
        Odd side of the square fitting window in pixels (3 = the 9 nearest pixels).
    dark
        Refine minima instead of maxima.
    iterations
        If the vertex falls more than half a pixel from the window centre the
        window is moved to the nearest pixel and the fit repeated.

    Returns
    -------
    (n, 2) float pixel coordinates. Where the fit has no extremum of the right
    kind inside the window the integer position is kept.
    """
    if window_px < 3 or window_px % 2 == 0:
        raise HrtemError(f"window_px must be odd and ≥ 3, got {window_px}")
    img = -np.asarray(image, float) if dark else np.asarray(image, float)
    h = window_px // 2
    pinv, dx, dy = _design(h)
    nx, ny = img.shape
    centre = np.asarray(peaks, dtype=np.int64).copy()
    out = centre.astype(float)
    active = np.ones(len(centre), dtype=bool)
    for _ in range(max(1, iterations)):
        cx = np.clip(centre[:, 0], h, nx - 1 - h)
        cy = np.clip(centre[:, 1], h, ny - 1 - h)
        vals = img[(cx[:, None] + dx.astype(np.int64)[None, :]), (cy[:, None] + dy.astype(np.int64)[None, :])]
        c = vals @ pinv.T  # (n, 6)
        a11, a22, a12 = 2 * c[:, 3], 2 * c[:, 4], c[:, 5]
        det = a11 * a22 - a12**2
        ok = (det > 0) & (a11 < 0)
        with np.errstate(invalid="ignore", divide="ignore"):
            ox = (-c[:, 1] * a22 + c[:, 2] * a12) / det
            oy = (-c[:, 2] * a11 + c[:, 1] * a12) / det
        ok &= (np.abs(ox) <= h) & (np.abs(oy) <= h)
        upd = active & ok
        out[upd, 0] = cx[upd] + ox[upd]
        out[upd, 1] = cy[upd] + oy[upd]
        move = upd & ((np.abs(ox) > 0.5) | (np.abs(oy) > 0.5))
        if not move.any():
            break
        centre[move] = np.rint(out[move]).astype(np.int64)
        active = move
    return out


def detect_columns(
    image: np.ndarray,
    sampling: float | tuple[float, float] = 1.0,
    *,
    origin: tuple[float, float] = (0.0, 0.0),
    filter: str = "wiener",
    filter_size_px: int = 5,
    filter_sigma_px: float = 1.0,
    noise_factor: float = 1.0,
    min_distance_a: float = 1.0,
    threshold_rel: float = 0.2,
    dark: bool = False,
    window_px: int = 3,
    refine_on: str = "filtered",
) -> np.ndarray:
    """Column positions (Å) from an image: filter → extrema → Eq. 3.4 refinement.

    Parameters
    ----------
    image
        2D image indexed ``[ix, iy]``.
    sampling
        Pixel size (Å/px), one value or (sx, sy).
    origin
        Position (Å) of pixel (0, 0).
    filter, filter_size_px, filter_sigma_px, noise_factor
        See :func:`filter_image`.
    min_distance_a
        Minimum peak separation in Å (Euclidean).
    threshold_rel, dark
        See :func:`find_peaks`.
    window_px
        Fitting window of :func:`refine_peaks`.
    refine_on
        ``"filtered"`` or ``"raw"``: the image the quadratic is fitted to.

    Returns
    -------
    (n, 2) positions x, y in Å.
    """
    sx, sy = (sampling, sampling) if np.isscalar(sampling) else sampling
    filt = filter_image(image, filter, size_px=filter_size_px, sigma_px=filter_sigma_px, noise_factor=noise_factor)
    if not min_distance_a > 0:
        raise HrtemError(f"min_distance_a must be > 0 Å, got {min_distance_a}")
    pk = find_peaks(filt, min_distance_px=(min_distance_a / sx, min_distance_a / sy), threshold_rel=threshold_rel, dark=dark,
                    exclude_border_px=max(1, window_px // 2))
    if len(pk) == 0:
        raise HrtemError("no peaks found; lower threshold_rel or min_distance_a, or set dark for dark columns")
    ref = refine_peaks(filt if refine_on == "filtered" else image, pk, window_px=window_px, dark=dark)
    return np.stack([origin[0] + ref[:, 0] * sx, origin[1] + ref[:, 1] * sy], axis=1)
