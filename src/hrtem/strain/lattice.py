"""Column detection that knows the lattice: scale from the image, peaks that fit it.

:func:`hrtem.strain.peaks.detect_columns` finds local extrema with fixed
settings. On HRTEM images of nanoparticles at a realistic dose that yields
noise peaks in the vacuum and in the weak fringes between columns, which
then spoil template matching. Here every default comes from the lattice:

1. **Lattice scale and orientation** (:func:`lattice_from_image`): the
   autocorrelation of the filtered image (the inverse Fourier transform of its
   power spectrum, i.e. of the image's own Fourier spots) is sampled at the
   template's neighbour vectors for a grid of scales and rotations; the best
   fit gives the nearest-neighbour column distance in Å and the lattice
   orientation. A known distance (``nn_distance_a``) skips the scale search.
2. **Candidates**: local maxima (minima for dark columns) no closer than a
   Euclidean ``min_distance_a`` (default 0.7 × the nearest-neighbour
   distance), strongest first (:func:`hrtem.strain.peaks.find_peaks`).
3. **Intensity classes**: the candidate heights are split in two by Otsu's
   criterion when they are clearly bimodal (column peaks vs noise peaks in
   vacuum); the weak class is dropped.
4. **Sub-pixel refinement** (Eq. 3.4) of the kept peaks.
5. **Lattice neighbours** (:func:`lattice_neighbour_filter`): the image's
   lattice (the template's neighbour vectors at the fitted scale and
   rotation) predicts where the neighbours of a column sit. A peak is kept
   when at least half of the template's neighbours
   (``lattice_neighbours``) are found there, within ``site_tolerance`` ×
   the nearest-neighbour distance; repeated until nothing changes. A column
   of a facet or a corner has at least half its neighbours inside the
   crystal; a delocalised fringe just outside a surface, which the intensity
   classes cannot tell from a weak surface column, has fewer, and those
   rarely at lattice positions.
6. **Lattice infill** (:func:`lattice_infill`): a lattice site with all but
   one of its template neighbours found but no column (a thick central
   column whose contrast at this defocus is close to the vacuum's) gets the
   local maximum of the filtered image within ``site_tolerance`` of the
   site, if there is one; such a site is inside the crystal by
   construction.
7. **Local lattice filter** (:func:`lattice_filter`): each peak with its
   neighbours is matched against the template (partial matching); a peak is
   kept when at least ``min_level`` neighbours match with RMSD below
   ``r_max`` and the local nearest-neighbour distance of the match lies
   within ``scale_tolerance`` of the lattice's. Rejected peaks are removed
   and the test repeated until nothing changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from hrtem.errors import HrtemError
from hrtem.strain.templates import Template, get_template

__all__ = [
    "LatticeEstimate",
    "Detection",
    "lattice_from_image",
    "lattice_filter",
    "lattice_vectors",
    "lattice_neighbour_filter",
    "lattice_infill",
    "specimen_region",
    "otsu_split",
    "detect_lattice_columns",
    "detection_scores",
]


@dataclass(frozen=True)
class LatticeEstimate:
    """Nearest-neighbour column distance (Å) and in-plane rotation (rad) of a template lattice.

    ``score`` is the mean normalised autocorrelation at the fitted neighbour
    vectors (1 = perfect periodicity, ~0 = none).
    """

    nn_distance_a: float
    rotation_rad: float
    score: float


def _nn_vectors(template: Template) -> np.ndarray:
    """Template neighbour vectors in units of its nearest-neighbour distance."""
    v = np.asarray(template.vectors, float)
    return v / np.min(np.linalg.norm(v, axis=1))


@lru_cache(maxsize=8)
def _window(shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Hann window of an image shape and its (clipped) autocorrelation, computed once per shape."""
    win = np.hanning(shape[0])[:, None] * np.hanning(shape[1])[None, :]
    w = _acf(win, (2 * shape[0], 2 * shape[1]))
    return win, np.maximum(w, 0.05 * w.max())


def _acf(x: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Centred autocorrelation of ``x`` zero-padded to ``shape`` (scipy.fft: faster than numpy's)."""
    from scipy import fft

    f = fft.rfft2(x, s=shape)
    return fft.fftshift(fft.irfft2(f.real**2 + f.imag**2, s=shape))


def _autocorrelation(image: np.ndarray) -> np.ndarray:
    """Centred autocorrelation (1 at the centre) of a Hann-windowed image, divided by the window's own.

    Dividing by the window's autocorrelation removes the inward pull of its
    decreasing envelope on the lattice peaks.
    """
    img = np.asarray(image, float)
    shape = (2 * img.shape[0], 2 * img.shape[1])
    win, w = _window(img.shape)
    a = _acf((img - img.mean()) * win, shape) / w
    return a / a.max()


def _bilinear(a: np.ndarray, px: np.ndarray, py: np.ndarray) -> np.ndarray:
    """Values of ``a`` at fractional pixel positions (clamped inside)."""
    x0 = np.clip(np.floor(px).astype(np.int64), 0, a.shape[0] - 2)
    y0 = np.clip(np.floor(py).astype(np.int64), 0, a.shape[1] - 2)
    fx = np.clip(px - x0, 0, 1)
    fy = np.clip(py - y0, 0, 1)
    return (a[x0, y0] * (1 - fx) * (1 - fy) + a[x0 + 1, y0] * fx * (1 - fy)
            + a[x0, y0 + 1] * (1 - fx) * fy + a[x0 + 1, y0 + 1] * fx * fy)


def lattice_from_image(
    image: np.ndarray,
    sampling: float | tuple[float, float],
    template: str | Template,
    *,
    nn_distance_a: float | None = None,
    nn_range_a: tuple[float, float] = (1.2, 6.0),
) -> LatticeEstimate:
    """Fit the template lattice (scale, rotation) to the image's autocorrelation.

    Parameters
    ----------
    image
        2D (filtered) image indexed ``[ix, iy]``.
    sampling
        Pixel size in Å (one value or (sx, sy)).
    template
        The template whose neighbour vectors define the lattice.
    nn_distance_a
        Known nearest-neighbour column distance in Å (only the rotation is fitted).
    nn_range_a
        Range of nearest-neighbour distances searched (Å).

    Returns
    -------
    LatticeEstimate
        Of all scales whose best score is at least 85 % of the overall best
        the smallest is taken (a lattice also fits at 2×, 3× … its spacing).
    """
    t = get_template(template)
    sx, sy = (sampling, sampling) if np.isscalar(sampling) else sampling
    a = _autocorrelation(image)
    cx, cy = a.shape[0] // 2, a.shape[1] // 2
    v = _nn_vectors(t)
    period = 2 * np.pi / max(t.symmetry, 1)
    theta = np.arange(0, period, np.deg2rad(0.5))
    if nn_distance_a is not None:
        if not nn_distance_a > 0:
            raise HrtemError(f"nn_distance_a must be > 0 Å, got {nn_distance_a}")
        scales = np.array([float(nn_distance_a)])
    else:
        lo = max(nn_range_a[0], 3 * max(sx, sy))
        hi = min(nn_range_a[1], 0.25 * min(image.shape[0] * sx, image.shape[1] * sy))
        if hi <= lo:
            raise HrtemError(f"image of {image.shape} px at {sx:g} Å/px is too small to find a lattice spacing")
        scales = np.arange(lo, hi, 0.25 * min(sx, sy))
    c, s = np.cos(theta), np.sin(theta)
    rx = c[:, None] * v[None, :, 0] - s[:, None] * v[None, :, 1]  # (theta, n)
    ry = s[:, None] * v[None, :, 0] + c[:, None] * v[None, :, 1]
    px = cx + scales[:, None, None] * rx[None] / sx
    py = cy + scales[:, None, None] * ry[None] / sy
    score = _bilinear(a, px, py).mean(axis=2)  # (scale, theta)
    best_theta = np.argmax(score, axis=1)
    best = score[np.arange(len(scales)), best_theta]
    top = best.max()
    # local maxima along the scale axis that reach 85 % of the best: the smallest wins
    is_max = np.r_[True, best[1:] >= best[:-1]] & np.r_[best[:-1] >= best[1:], True]
    ok = np.flatnonzero(is_max & (best >= 0.85 * top))
    i = int(ok[0]) if len(ok) else int(np.argmax(best))
    if len(scales) > 1 and 0 < i < len(scales) - 1:  # parabolic refinement of the scale
        y0, y1, y2 = best[i - 1], best[i], best[i + 1]
        den = y0 - 2 * y1 + y2
        shift = 0.5 * (y0 - y2) / den if den < 0 else 0.0
        d = float(scales[i] + np.clip(shift, -1, 1) * (scales[1] - scales[0]))
    else:
        d = float(scales[i])
    return LatticeEstimate(nn_distance_a=d, rotation_rad=float(theta[best_theta[i]]), score=float(best[i]))


def otsu_split(values: np.ndarray, *, min_separation: float = 3.0) -> float | None:
    """Otsu threshold of ``values`` when they form two clearly separated classes.

    Returns the threshold, or None when the classes overlap (the gap between
    the class means is below ``min_separation`` × the pooled within-class
    standard deviation) or there are too few values.
    """
    v = np.sort(np.asarray(values, float))
    v = v[np.isfinite(v)]
    n = len(v)
    if n < 8:
        return None
    c = np.cumsum(v)
    c2 = np.cumsum(v * v)
    k = np.arange(1, n)  # split after k values
    m0 = c[k - 1] / k
    m1 = (c[-1] - c[k - 1]) / (n - k)
    between = k * (n - k) * (m1 - m0) ** 2
    j = int(np.argmax(between))
    kk = k[j]
    var0 = c2[kk - 1] / kk - m0[j] ** 2
    var1 = (c2[-1] - c2[kk - 1]) / (n - kk) - m1[j] ** 2
    pooled = np.sqrt(max((kk * var0 + (n - kk) * var1) / n, 1e-300))
    if (m1[j] - m0[j]) < min_separation * pooled:
        return None
    return float(0.5 * (v[kk - 1] + v[kk]))


def specimen_region(
    filtered: np.ndarray, sampling: tuple[float, float], nn_distance_a: float, *, min_separation: float = 2.0
) -> tuple[np.ndarray | None, float | None]:
    """Where the specimen is: pixels whose local image contrast is of the lattice's class.

    The local standard deviation of the filtered image over a Gaussian window
    of σ = one nearest-neighbour distance is large where columns are (their
    contrast) and small in vacuum (filtered noise only). Its logarithm is
    split in two classes by :func:`otsu_split`; when the classes are not
    clearly separated (an image filled with lattice, or nothing but noise)
    there is no mask.

    Returns
    -------
    mask, threshold
        Boolean ``[ix, iy]`` mask and the threshold on the local standard
        deviation, or (None, None).
    """
    from scipy import ndimage

    sig = (nn_distance_a / sampling[0], nn_distance_a / sampling[1])
    m = ndimage.gaussian_filter(filtered, sig, mode="nearest")
    m2 = ndimage.gaussian_filter(filtered * filtered, sig, mode="nearest")
    local = np.sqrt(np.maximum(m2 - m * m, 1e-30))
    step = max(1, int(min(sig) // 2))
    thr = otsu_split(np.log(local[::step, ::step]).ravel(), min_separation=min_separation)
    if thr is None:
        return None, None
    return local > np.exp(thr), float(np.exp(thr))


def lattice_filter(
    points: np.ndarray,
    template: str | Template,
    nn_distance_a: float,
    *,
    r_max: float = 0.15,
    min_level: int = 2,
    scale_tolerance: float = 0.15,
    max_iterations: int = 10,
) -> np.ndarray:
    """Boolean mask of the points that fit the template lattice.

    A point fits when its local lattice partially matches the template with at
    least ``min_level`` neighbours at RMSD < ``r_max`` (template units) and the
    nearest-neighbour distance of the match is within ``scale_tolerance``
    (relative) of ``nn_distance_a``. Rejected points are removed and the test
    repeated on the rest (at most ``max_iterations`` rounds).
    """
    from hrtem.strain.matching import match_templates

    t = get_template(template)
    pts = np.asarray(points, float)
    keep = np.ones(len(pts), bool)
    nn_over_mean = 1.0 / t.mean_over_nn
    for _ in range(max_iterations):
        idx = np.flatnonzero(keep)
        if len(idx) <= t.n_neighbours:
            break
        res = match_templates(pts[idx], t, r_max=r_max, min_level=min_level)
        with np.errstate(invalid="ignore"):
            scale = 0.5 * (res.stretch[:, 0, 0] + res.stretch[:, 1, 1]) * nn_over_mean
            ok = (res.matched >= min_level) & (res.rmsd < r_max) & (np.abs(scale / nn_distance_a - 1) < scale_tolerance)
        if ok.all():
            break
        keep[idx[~ok]] = False
    return keep


def lattice_vectors(template: str | Template, nn_distance_a: float, rotation_rad: float) -> np.ndarray:
    """The template's neighbour vectors (Å) at a nearest-neighbour distance and rotation.

    Rotation is counter-clockwise in the (x, y) plane, as fitted by
    :func:`lattice_from_image`.
    """
    v = _nn_vectors(get_template(template)) * float(nn_distance_a)
    c, s = np.cos(rotation_rad), np.sin(rotation_rad)
    return v @ np.array([[c, s], [-s, c]])


def _site_counts(points: np.ndarray, vectors: np.ndarray, tolerance_a: float, members: np.ndarray | None = None) -> np.ndarray:
    """For every point: how many of ``points + vectors`` have a member point within ``tolerance_a``."""
    from scipy.spatial import cKDTree

    pts = np.asarray(points, float)
    ref = pts if members is None else np.asarray(members, float)
    if len(ref) == 0:
        return np.zeros(len(pts), np.int64)
    tree = cKDTree(ref)
    count = np.zeros(len(pts), np.int64)
    for v in vectors:
        d, _ = tree.query(pts + v, k=1)
        count += d < tolerance_a
    return count


def lattice_neighbour_filter(
    points: np.ndarray,
    vectors: np.ndarray,
    *,
    min_neighbours: int,
    tolerance_a: float,
    max_iterations: int = 10,
) -> np.ndarray:
    """Boolean mask of the points with at least ``min_neighbours`` neighbours at lattice positions.

    A neighbour at lattice position ``v`` (one of ``vectors``, Å) is a kept
    point within ``tolerance_a`` of ``point + v``. Points that fail are
    removed and the count repeated on the rest until nothing changes.
    """
    pts = np.asarray(points, float)
    keep = np.ones(len(pts), bool)
    for _ in range(max_iterations):
        idx = np.flatnonzero(keep)
        ok = _site_counts(pts[idx], vectors, tolerance_a) >= int(min_neighbours)
        if ok.all():
            break
        keep[idx[~ok]] = False
    return keep


def lattice_infill(
    points: np.ndarray,
    filtered: np.ndarray,
    sampling: tuple[float, float],
    vectors: np.ndarray,
    *,
    min_neighbours: int,
    tolerance_a: float,
    search_a: float | None = None,
    origin: tuple[float, float] = (0.0, 0.0),
    rounds: int = 2,
) -> np.ndarray:
    """Integer pixels of columns at lattice sites that are surrounded by columns but have none.

    A site is ``p − v`` for a point ``p`` and lattice vector ``v``; sites
    predicted by at least ``min_neighbours`` points (within ``tolerance_a``
    of each other) and without a point within ``tolerance_a`` get the
    maximum of ``filtered`` (columns bright; negate for dark ones) in a disk
    of radius ``search_a`` (default ``2 × tolerance_a``) around the site,
    when that maximum is a local maximum (3 × 3) strictly inside the disk. ``rounds`` repeats this with
    the added columns (two neighbouring weak columns).

    Returns
    -------
    (m, 2) int array of ``(ix, iy)`` of the added columns (m may be 0).
    """
    from scipy.spatial import cKDTree

    sx, sy = sampling
    img = np.asarray(filtered, float)
    pts = np.asarray(points, float)
    added: list[np.ndarray] = []
    search = 2.0 * tolerance_a if search_a is None else float(search_a)
    rx, ry = search / sx, search / sy
    hx, hy = int(np.ceil(rx)), int(np.ceil(ry))
    ox, oy = np.meshgrid(np.arange(-hx, hx + 1), np.arange(-hy, hy + 1), indexing="ij")
    inside = (ox / rx) ** 2 + (oy / ry) ** 2 <= 1.0
    ox, oy = ox[inside], oy[inside]
    edge = (((np.abs(ox) + 1) / rx) ** 2 + (oy / ry) ** 2 > 1.0) | ((ox / rx) ** 2 + ((np.abs(oy) + 1) / ry) ** 2 > 1.0)
    for _ in range(max(1, rounds)):
        if len(pts) == 0:
            break
        sites = (pts[:, None, :] - vectors[None, :, :]).reshape(-1, 2)
        tree = cKDTree(sites)
        groups = tree.query_ball_point(sites, tolerance_a)
        support = np.array([len(g) for g in groups])
        cand = np.flatnonzero(support >= int(min_neighbours))
        if len(cand) == 0:
            break
        # one site per group: the mean of its predictions; skip sites that already have a point
        centres, seen = [], np.zeros(len(sites), bool)
        for i in cand[np.argsort(-support[cand], kind="stable")]:
            if seen[i]:
                continue
            g = groups[i]
            seen[g] = True
            centres.append(sites[g].mean(axis=0))
        centres = np.asarray(centres)
        dist, _ = cKDTree(pts).query(centres, k=1)
        centres = centres[dist >= tolerance_a]
        new = []
        for c in centres:
            cx, cy = (c[0] - origin[0]) / sx, (c[1] - origin[1]) / sy
            ix, iy = np.rint(cx + ox).astype(np.int64), np.rint(cy + oy).astype(np.int64)
            ok = (ix >= 1) & (ix < img.shape[0] - 1) & (iy >= 1) & (iy < img.shape[1] - 1)
            if not ok.all():
                continue
            k = int(np.argmax(img[ix, iy]))
            if edge[k]:
                continue
            px, py = ix[k], iy[k]
            if img[px, py] < img[px - 1:px + 2, py - 1:py + 2].max():
                continue
            new.append((px, py))
        if not new:
            break
        # one column per site: no two within the search radius of each other or of a point
        new_px, kept = np.asarray(new, np.int64), []
        xy = np.stack([origin[0] + new_px[:, 0] * sx, origin[1] + new_px[:, 1] * sy], 1)
        far = cKDTree(pts).query(xy, k=1)[0] > search
        for i in np.flatnonzero(far):
            if all(np.hypot(*(xy[i] - xy[j])) > search for j in kept):
                kept.append(i)
        if not kept:
            break
        new_px = new_px[kept]
        added.append(new_px)
        pts = np.concatenate([pts, np.stack([origin[0] + new_px[:, 0] * sx, origin[1] + new_px[:, 1] * sy], 1)])
    return np.concatenate(added) if added else np.zeros((0, 2), np.int64)


@dataclass
class Detection:
    """Columns found by :func:`detect_lattice_columns` and how.

    Attributes
    ----------
    positions
        (n, 2) refined column positions x, y in Å.
    heights
        (n,) filtered-image value at each column (negated for dark columns).
    lattice
        The lattice estimate used for the defaults.
    settings
        The settings actually used (Å, relative units), for provenance.
    rejected
        Counts of candidates dropped per stage (``intensity``, ``neighbours``,
        ``lattice``); ``settings["infilled"]`` counts the columns added by
        :func:`lattice_infill`.
    """

    positions: np.ndarray
    heights: np.ndarray
    lattice: LatticeEstimate
    settings: dict = field(default_factory=dict)
    rejected: dict = field(default_factory=dict)


def detect_lattice_columns(
    image: np.ndarray,
    sampling: float | tuple[float, float],
    template: str | Template,
    *,
    nn_distance_a: float | None = None,
    min_distance_a: float | None = None,
    threshold_rel: float | None = None,
    dark: bool = False,
    filter: str = "wiener",
    filter_size_px: int = 5,
    filter_sigma_px: float = 1.0,
    noise_factor: float = 3.0,
    window_px: int | None = None,
    r_max: float = 0.15,
    min_level: int = 2,
    scale_tolerance: float = 0.15,
    lattice_check: bool = True,
    lattice_neighbours: int | None = None,
    site_tolerance: float = 0.15,
    infill: bool = True,
    specimen_mask: bool = True,
    height_sigma_a: float | None = None,
    noise_sigmas: float = 3.0,
    weak_fraction: float = 0.25,
    origin: tuple[float, float] = (0.0, 0.0),
) -> Detection:
    """Atomic columns of a lattice image, with every default taken from the lattice.

    Parameters
    ----------
    image
        2D image indexed ``[ix, iy]``.
    sampling
        Pixel size in Å/px (one value or (sx, sy)).
    template
        STM template of the lattice (e.g. ``fcc110``, ``fcc100``).
    nn_distance_a
        Nearest-neighbour column distance in Å; None = from the image
        (:func:`lattice_from_image`).
    min_distance_a
        Euclidean minimum distance between peaks in Å; None = 0.7 × the
        nearest-neighbour distance.
    threshold_rel
        Keep peaks above ``min + threshold_rel·(max − min)`` of the filtered
        image; None = automatic (Otsu split of the peak heights when bimodal,
        else none).
    dark
        Columns are intensity minima.
    filter, filter_size_px, filter_sigma_px, noise_factor
        Noise filter (:func:`hrtem.strain.peaks.filter_image`). The Wiener
        filter's noise power is scaled by ``noise_factor`` (3: a frequency
        where only white noise is passes with probability e⁻³ ≈ 5 % instead
        of e⁻¹ ≈ 37 %), which at 10³ e⁻/Å² lowers the column position noise
        on Au ⟨110⟩ images from 0.083 to 0.061 Å rms.
    window_px
        Sub-pixel fitting window (odd, pixels); None = the odd number of
        pixels closest to 0.4 × the nearest-neighbour distance (at least 3).

    r_max, min_level, scale_tolerance
        Lattice filter (:func:`lattice_filter`).
    lattice_check
        Apply the lattice filters (neighbours at lattice positions, infill,
        local template match).
    lattice_neighbours
        Fewest template neighbours a peak must have at the lattice positions
        the image's lattice predicts (:func:`lattice_neighbour_filter`);
        None = half the template's neighbours (rounded up), 0 = no such test.
    site_tolerance
        Largest distance of a neighbour from its lattice position, in units
        of the nearest-neighbour distance (also the infill search radius).
    infill
        Add the columns at lattice sites with all but one template neighbour
        found (:func:`lattice_infill`).
    specimen_mask
        With ``threshold_rel`` None: drop peaks outside the specimen region
        (:func:`specimen_region`), i.e. noise peaks in the vacuum, and peaks
        whose height above the vacuum level is below ``noise_sigmas`` × the
        vacuum's noise or ``weak_fraction`` × the median height of the
        peaks inside (the delocalised fringes just beyond a surface).
    height_sigma_a
        The peak heights of that test (and the vacuum's level and noise) are
        the contrast of the raw image smoothed by a Gaussian of this σ (Å;
        None = 0.15 × the nearest-neighbour distance) over its local
        background (a Gaussian of σ = half the nearest-neighbour distance);
        0 = the height in the noise-filtered image. A local filter, unlike
        the Wiener filter, does not carry the lattice fringes beyond the
        surface, and the local background follows the darker mean intensity
        of a thick particle.
    origin
        Position in Å of pixel (0, 0).
    """
    from hrtem.strain.peaks import filter_image, find_peaks, refine_peaks

    t = get_template(template)
    sx, sy = (float(sampling), float(sampling)) if np.isscalar(sampling) else (float(sampling[0]), float(sampling[1]))
    filt = filter_image(image, filter, size_px=filter_size_px, sigma_px=filter_sigma_px, noise_factor=noise_factor)
    signed = -filt if dark else filt
    if nn_distance_a is not None and not nn_distance_a > 0:
        raise HrtemError(f"nn_distance_a must be > 0 Å, got {nn_distance_a}")
    if nn_distance_a is not None and not lattice_check:  # known scale, no lattice test: nothing to fit
        lat = LatticeEstimate(nn_distance_a=float(nn_distance_a), rotation_rad=float("nan"), score=float("nan"))
    else:  # scale (unless given) and rotation from the image's autocorrelation
        lat = lattice_from_image(signed, (sx, sy), t, nn_distance_a=nn_distance_a)
    d = lat.nn_distance_a
    if window_px is None:
        window_px = max(3, 2 * int(round((0.4 * d / min(sx, sy) - 1) / 2)) + 1)
    md = 0.7 * d if min_distance_a is None else float(min_distance_a)
    if not md > 0:
        raise HrtemError(f"min_distance_a must be > 0 Å, got {md}")
    dom = min(md, 0.7 * d)  # candidates dominate 0.7 nn distances at most (see find_peaks)
    pk = find_peaks(filt, min_distance_px=(md / sx, md / sy), dominance_px=(dom / sx, dom / sy), threshold_rel=0.0 if threshold_rel is None else threshold_rel,
                    dark=dark, exclude_border_px=max(1, window_px // 2))
    rejected = {"intensity": 0, "lattice": 0, "neighbours": 0}
    added = 0
    if len(pk) == 0:
        raise HrtemError("no peaks found; lower --threshold or --min-distance, or set --dark for dark columns")
    heights = signed[pk[:, 0], pk[:, 1]]
    threshold = None
    if threshold_rel is None and specimen_mask:
        mask, threshold = specimen_region(filt, (sx, sy), d)
        if mask is not None:
            inside = mask[pk[:, 0], pk[:, 1]]
            # peak contrast for the intensity classes from local (Gaussian) filters of the
            # raw image: the Wiener filter's narrow pass bands around the Bragg spots
            # carry the lattice fringes (and the noise at their frequencies) beyond the
            # surface, where they make weak lattice-like peaks. The contrast is the peak
            # over its local background (σ = half a neighbour distance), not over the
            # vacuum: a thick particle scatters out of the aperture and is darker on average.
            if height_sigma_a is None or height_sigma_a > 0:
                from scipy import ndimage

                hs = (0.15 * d) if height_sigma_a is None else float(height_sigma_a)
                raw = -np.asarray(image, float) if dark else np.asarray(image, float)
                local = (ndimage.gaussian_filter(raw, (hs / sx, hs / sy), mode="nearest")
                         - ndimage.gaussian_filter(raw, (0.5 * d / sx, 0.5 * d / sy), mode="nearest"))
                hmap = ndimage.maximum_filter(local, size=3, mode="nearest")
            else:
                local = hmap = signed
            test = hmap[pk[:, 0], pk[:, 1]]
            # vacuum level and noise outside the specimen; the weak class of peaks
            # inside (delocalised fringes just beyond the surface) is dropped
            vac = local[~mask]
            level, noise = float(np.median(vac)), float(np.std(vac))
            above = test - level
            typical = float(np.median(above[inside])) if inside.any() else 0.0
            threshold = level + max(noise_sigmas * noise, weak_fraction * typical)
            strong = inside & (test > threshold)
            rejected["intensity"] = int((~strong).sum())
            pk, heights = pk[strong], heights[strong]
    ref = refine_peaks(filt, pk, window_px=window_px, dark=dark)
    pos = np.stack([origin[0] + ref[:, 0] * sx, origin[1] + ref[:, 1] * sy], axis=1)
    need = -(-t.n_neighbours // 2) if lattice_neighbours is None else int(lattice_neighbours)
    tol_a = float(site_tolerance) * d
    if lattice_check and len(pos) > t.n_neighbours and (need > 0 or infill):
        vectors = lattice_vectors(t, d, lat.rotation_rad)
        if need > 0:
            keep = lattice_neighbour_filter(pos, vectors, min_neighbours=need, tolerance_a=tol_a)
            rejected["neighbours"] = int((~keep).sum())
            pos, heights = pos[keep], heights[keep]
        if infill and len(pos) > t.n_neighbours:
            new_px = lattice_infill(pos, signed, (sx, sy), vectors, min_neighbours=t.n_neighbours - 1,
                                    tolerance_a=tol_a, origin=origin)
            if len(new_px):
                ref = refine_peaks(filt, new_px, window_px=window_px, dark=dark)
                pos = np.concatenate([pos, np.stack([origin[0] + ref[:, 0] * sx, origin[1] + ref[:, 1] * sy], axis=1)])
                heights = np.concatenate([heights, signed[new_px[:, 0], new_px[:, 1]]])
                added = len(new_px)
    if lattice_check and len(pos) > t.n_neighbours:
        keep = lattice_filter(pos, t, d, r_max=r_max, min_level=min_level, scale_tolerance=scale_tolerance)
        rejected["lattice"] = int((~keep).sum())
        pos, heights = pos[keep], heights[keep]
    if len(pos) == 0:
        raise HrtemError("no peaks fit the lattice; check --template, --nn-distance and --dark")
    settings = {
        "template": t.name, "nn_distance_a": d, "nn_distance_from": "given" if nn_distance_a is not None else "image",
        "min_distance_a": md, "threshold": threshold, "threshold_rel": threshold_rel, "dark": dark,
        "filter": filter, "window_px": window_px, "r_max": r_max, "min_level": min_level, "scale_tolerance": scale_tolerance,
        "lattice_check": lattice_check, "lattice_neighbours": need, "site_tolerance": site_tolerance,
        "infill": infill, "infilled": added,
    }
    return Detection(positions=pos, heights=heights, lattice=lat, settings=settings, rejected=rejected)


def detection_scores(
    measured: np.ndarray,
    true: np.ndarray,
    template: str | Template,
    *,
    pair_distance_a: float = 0.8,
    rmsd_max: float = 0.1,
) -> dict[str, float]:
    """How well detected columns reproduce the true ones.

    Parameters
    ----------
    measured, true
        (n, 2) detected and model column positions (Å).
    template
        Template of the lattice; *interior* columns are the true columns whose
        full template neighbourhood exists (a full match of the true positions
        with RMSD < ``rmsd_max``).
    pair_distance_a
        Largest distance (Å) at which a detection counts as a true column
        (one-to-one, nearest first).
    rmsd_max
        RMSD (template units) below which a measured column counts as matched.

    Returns
    -------
    dict
        ``found`` (fraction of true columns with a detection), ``spurious``
        (fraction of detections without a true column), ``interior_matched``
        (fraction of interior columns whose detection fully matches the
        template with RMSD < ``rmsd_max``), and the counts ``n_true``,
        ``n_measured``, ``n_interior``.
    """
    from hrtem.strain.compare import pair_points
    from hrtem.strain.matching import match_templates

    t = get_template(template)
    m = np.asarray(measured, float)
    tr = np.asarray(true, float)
    im, it = pair_points(m, tr, pair_distance_a)
    truth = match_templates(tr, t)
    interior = (truth.matched == t.n_neighbours) & (truth.rmsd < rmsd_max)
    ok = np.zeros(len(tr), bool)
    if len(m) > t.n_neighbours:
        res = match_templates(m, t)
        good = (res.matched == t.n_neighbours) & (res.rmsd < rmsd_max)
        ok[it[good[im]]] = True
    return {
        "found": len(it) / max(len(tr), 1),
        "spurious": (len(m) - len(im)) / max(len(m), 1),
        "interior_matched": float(ok[interior].mean()) if interior.any() else float("nan"),
        "n_true": int(len(tr)),
        "n_measured": int(len(m)),
        "n_interior": int(interior.sum()),
    }
