"""From probability maps to atom positions (thesis §6.2.4, Eqs. 6.14-6.16; SCIENCE.md §4).

``mode="watershed"`` (the thesis's method, any number of classes): local minima
of the background map ``p0`` below ``level`` (ε = 0.995) seed a watershed of
``p0``; every basin is cut at ``p0 < level``. For each segment S_n

- class distribution  p_n(c_k) = Σ_S P_k / Σ_{k>0} Σ_S P_k  (k > 0),
- position            the centroid of the pixel positions weighted by Σ_{k>0} P_k
                      (over the segment's core, see ``core`` in :func:`find_atoms`),
- kept when           Σ_{k>0} Σ_S P_k ≥ t · Σ_S P_0  (t ≈ 0.5).

``confidence`` is the atom fraction of the segment, Σ_{k>0} Σ_S P_k / Σ_k Σ_S P_k
in [0, 1]; the rule above keeps a segment when ``confidence ≥ t / (1 + t)``,
so a PR curve is the sweep of :func:`ratio` (= Σ_{k>0}/Σ_0) over t.

``mode="peaks"`` (one class, thesis Fig. 6.12): local maxima of the atom
probability 1 − p0 above ``threshold``, refined to sub-pixel by a three-point
Gaussian (log-parabola) fit along x and y, which is exact for a Gaussian peak;
``confidence`` is the peak value.

``min_separation_a`` (both modes): of two detections closer than this, only
the one with the higher confidence is kept (greedy, in order of confidence).
The network's map can carry a pixel-scale checkerboard ripple (transposed-
convolution upsampling); on a broad, flat-topped column blob (weak or tilted
columns) the ripple makes two or more local maxima 2 px apart, i.e. one column
reported twice ~0.2 Å apart (measured on tilted ⟨111⟩ Au, issue 11). No two
projected columns are that close, so a separation well below the smallest
column spacing removes only such duplicates; 0 keeps every maximum.

Positions are in Å, [x, y], with the origin at pixel (0, 0)'s centre (images
are indexed [x, y]).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from hrtem.errors import HrtemError

__all__ = ["find_atoms", "ratio", "MODES"]

MODES = ("watershed", "peaks")


def ratio(confidence: np.ndarray) -> np.ndarray:
    """Σ_{k>0} P_k / Σ P_0 of a segment from its ``confidence`` (atom fraction): c / (1 − c)."""
    c = np.asarray(confidence, float)
    with np.errstate(divide="ignore"):
        return np.where(c < 1.0, c / np.maximum(1.0 - c, 1e-300), np.inf)


def _check(probabilities: np.ndarray) -> np.ndarray:
    p = np.asarray(probabilities, dtype=np.float64)
    if p.ndim == 2:
        p = np.stack([1.0 - p, p], axis=-1)
    if p.ndim != 3 or p.shape[-1] < 2:
        raise HrtemError(
            f"probability maps must be (nx, ny, K+1) with K ≥ 1 (channel 0 = background), got shape {p.shape}"
        )
    if not np.all(np.isfinite(p)):
        raise HrtemError("probability maps contain NaN or infinite values")
    return p


def _descent_basins(p0: np.ndarray, markers: np.ndarray) -> np.ndarray:
    """Watershed basins by steepest descent: every pixel drains to the marker its path of lowest neighbours reaches.

    Each pixel points to the neighbour of its 3×3 neighbourhood with the
    steepest descent per unit length (itself when none is lower); pointer jumping follows the paths to their ends, which are local
    minima and so belong to a marker region. Vectorised, O(n log n).
    """
    nx, ny = p0.shape
    pad = np.pad(p0, 1, mode="constant", constant_values=np.inf)
    steepest = np.zeros_like(p0)  # largest descent per unit length
    target = np.arange(nx * ny).reshape(nx, ny)
    ix, iy = np.indices((nx, ny))
    for dx in (-1, 0, 1):
        for dy in (-1, 0, 1):
            if dx == 0 and dy == 0:
                continue
            v = pad[1 + dx : 1 + dx + nx, 1 + dy : 1 + dy + ny]
            slope = (p0 - v) / np.hypot(dx, dy)
            lower = slope > steepest
            steepest = np.where(lower, slope, steepest)
            target = np.where(lower, (ix + dx) * ny + (iy + dy), target)
    parent = target.ravel()
    for _ in range(64):
        nxt = parent[parent]
        if np.array_equal(nxt, parent):
            break
        parent = nxt
    flat = markers.ravel()
    return flat[parent].reshape(nx, ny)


def _watershed(p: np.ndarray, sampling_a: float, threshold: float, level: float, core: float):
    p0 = p[..., 0]
    atom = p[..., 1:].sum(-1)
    # seeds: local minima of p0 below the level (plateaus give one seed each)
    minima = (ndimage.minimum_filter(p0, size=3, mode="nearest") >= p0) & (p0 < level)
    markers, n = ndimage.label(minima, structure=np.ones((3, 3)))
    if n == 0:
        return np.zeros((0, 2)), np.zeros(0, np.int64), np.zeros(0)
    segments = _descent_basins(p0, markers)
    segments = np.where(p0 < level, segments, 0)
    labels = np.arange(1, n + 1)
    sum_k = np.stack([ndimage.sum_labels(p[..., k], segments, labels) for k in range(p.shape[-1])], axis=-1)
    ix, iy = np.indices(p0.shape, dtype=np.float64)
    # centroid over the segment's core (atom probability ≥ core × the segment's peak)
    peak = np.concatenate([[0.0], ndimage.maximum(atom, segments, labels)])
    cseg = np.where((segments > 0) & (atom >= core * peak[segments]), segments, 0)
    w = ndimage.sum_labels(atom, cseg, labels)
    cx = ndimage.sum_labels(atom * ix, cseg, labels)
    cy = ndimage.sum_labels(atom * iy, cseg, labels)
    s0 = sum_k[:, 0]
    s_atoms = sum_k[:, 1:].sum(-1)
    total = s0 + s_atoms
    ok = (w > 0) & (total > 0)
    confidence = np.where(ok, s_atoms / np.where(total > 0, total, 1.0), 0.0)
    keep = ok & (s_atoms >= threshold * s0)
    pos = np.column_stack([cx, cy])[keep] / w[keep, None] * sampling_a
    classes = 1 + np.argmax(sum_k[keep, 1:], axis=-1)
    return pos, classes.astype(np.int64), confidence[keep]


def _gauss_offset(m: np.ndarray, c: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Sub-pixel offset of a Gaussian peak from three samples (log-parabola vertex)."""
    lm, lc, lp = (np.log(np.maximum(v, 1e-12)) for v in (m, c, p))
    den = lm - 2.0 * lc + lp
    off = np.where(den < 0, 0.5 * (lm - lp) / np.where(den < 0, den, -1.0), 0.0)
    return np.clip(off, -0.5, 0.5)


def _peaks(p: np.ndarray, sampling_a: float, threshold: float):
    atom = p[..., 1:].sum(-1)
    nx, ny = atom.shape
    local = (ndimage.maximum_filter(atom, size=3, mode="constant", cval=-np.inf) <= atom) & (atom > threshold)
    # one pixel per plateau
    lab, n = ndimage.label(local, structure=np.ones((3, 3)))
    if n == 0:
        return np.zeros((0, 2)), np.zeros(0, np.int64), np.zeros(0)
    idx = np.array(ndimage.maximum_position(atom, lab, np.arange(1, n + 1)), dtype=np.int64).reshape(-1, 2)
    i, j = idx[:, 0], idx[:, 1]
    im, ip = np.clip(i - 1, 0, nx - 1), np.clip(i + 1, 0, nx - 1)
    jm, jp = np.clip(j - 1, 0, ny - 1), np.clip(j + 1, 0, ny - 1)
    c = atom[i, j]
    dx = np.where((i > 0) & (i < nx - 1), _gauss_offset(atom[im, j], c, atom[ip, j]), 0.0)
    dy = np.where((j > 0) & (j < ny - 1), _gauss_offset(atom[i, jm], c, atom[i, jp]), 0.0)
    xy = np.column_stack([i + dx, j + dy])
    # a flat top (a clipped map) spans several pixels: take its centre instead
    labels = np.arange(1, n + 1)
    size = ndimage.sum_labels(np.ones_like(atom), lab, labels)
    flat = size > 1
    if flat.any():
        com = np.array(ndimage.center_of_mass(np.ones_like(atom), lab, labels[flat])).reshape(-1, 2)
        xy[flat] = com
    pos = xy * sampling_a
    classes = 1 + np.argmax(p[i, j, 1:], axis=-1)
    return pos, classes.astype(np.int64), c


def _merge_close(pos: np.ndarray, classes: np.ndarray, conf: np.ndarray, min_separation_a: float):
    """Keep, of detections closer than ``min_separation_a``, the most confident (greedy, ties by index)."""
    if min_separation_a <= 0 or len(pos) < 2:
        return pos, classes, conf
    from scipy.spatial import cKDTree

    order = np.lexsort((np.arange(len(conf)), -np.asarray(conf, float)))
    tree = cKDTree(pos)
    dropped = np.zeros(len(pos), bool)
    keep = []
    for i in order:
        if dropped[i]:
            continue
        keep.append(i)
        dropped[tree.query_ball_point(pos[i], float(min_separation_a))] = True
    keep = np.sort(np.asarray(keep, np.int64))
    return pos[keep], classes[keep], conf[keep]


def find_atoms(
    probabilities: np.ndarray,
    sampling_a: float,
    threshold: float = 0.5,
    level: float = 0.995,
    mode: str = "watershed",
    core: float = 0.5,
    min_separation_a: float = 0.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Atom positions, classes and confidences from one probability map.

    Parameters
    ----------
    probabilities
        (nx, ny, K+1) map, channel 0 = background (a 2-D array is read as the
        probability of one atom class).
    sampling_a
        Pixel size in Å.
    threshold
        ``watershed``: t of Eq. 6.16 (keep a segment when Σ_{k>0} P ≥ t·Σ P_0);
        ``peaks``: the lowest peak value kept.
    level
        ``watershed``: the upper limit ε of the background map for seeds and basins.
    mode
        ``"watershed"`` or ``"peaks"`` (see the module docstring).
    core
        ``watershed``: the centroid is taken over the pixels of a segment whose
        atom probability is at least ``core`` × the segment's maximum (0 = the
        whole segment, Eq. 6.15 as printed). The whole segment biases atoms at
        an edge (a hole) by up to ~0.5 Å towards the vacuum, because their
        basins reach far into it; the half-maximum core (0.5) removes that bias.
    min_separation_a
        Of two detections closer than this (Å), keep the more confident one
        (module docstring); 0 = keep all.

    Returns
    -------
    positions_a
        (M, 2) [x, y] in Å, origin at pixel (0, 0)'s centre.
    classes
        (M,) class index 1..K (argmax of the segment's class distribution).
    confidence
        (M,) atom fraction of the segment (watershed) or peak value (peaks).
    """
    if mode not in MODES:
        raise HrtemError(f"learn.postprocess.mode must be one of {', '.join(MODES)}, got {mode!r}")
    if not sampling_a > 0:
        raise HrtemError(f"sampling_a must be positive, got {sampling_a}")
    if not 0.0 <= min_separation_a < np.inf:
        raise HrtemError(f"learn.postprocess.min_separation_a must be a finite number ≥ 0 Å, got {min_separation_a}")
    p = _check(probabilities)
    if mode == "watershed":
        if not 0.0 <= core < 1.0:
            raise HrtemError(f"learn.postprocess.core must be in [0, 1), got {core}")
        out = _watershed(p, float(sampling_a), float(threshold), float(level), float(core))
    else:
        out = _peaks(p, float(sampling_a), float(threshold))
    return _merge_close(*out, float(min_separation_a))
