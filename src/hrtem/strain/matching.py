"""Structural template matching (STM), vectorised over points (thesis §3.2).

For every point the local lattice is the point and its N nearest neighbours.
It is compared with a template through the RMSD that is invariant to
translation (the central points coincide), rotation and scale (thesis
Eqs. 3.7–3.10). In 2D the optimal rotation and scale have a closed form: with
neighbour vectors as complex numbers ``w_i`` (measured) and ``t_i``
(template, mean length 1),

    E = min_{s, θ} Σ |s·w_i − e^{iθ} t_i|² = Σ|t_i|² − |Σ w̄_i t_i|² / Σ|w_i|²,

the squared root-sum-square deviation (RSSD², Eq. 3.11); RMSD = √(E/N). The
correspondence between measured and template points is found in two steps:

1. **Sorting** (thesis §3.2.3): neighbours are put in shells by their rank in
   distance (shell sizes from the template), then by azimuth measured from an
   anchor point in the shell with the fewest points; one ordering per
   non-equivalent template start. The best ordering gives an upper bound.
2. **Branch and bound** on the RSSD, which never decreases as points are
   added: measured neighbours are assigned in order of distance, level by
   level, for all points at once; any partial assignment whose RSSD exceeds
   the bound is pruned. The result is the exact optimum over all
   permutations (tested against brute force). With ``r_max`` the same search
   gives partial matches (thesis "Partial matching"): the deepest level whose
   RMSD is below ``r_max``.

The strain follows from the least-squares linear map ``A·v_i ≈ w_i`` and its
left polar decomposition (Eqs. 3.12–3.14, see :mod:`hrtem.strain.tensor`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.spatial import cKDTree

from hrtem.errors import HrtemError
from hrtem.strain.templates import Template, get_template
from hrtem.strain.tensor import polar_left, wrap_angle

__all__ = [
    "StmResult",
    "MatchResult",
    "local_lattices",
    "rssd2",
    "sorted_correspondence",
    "branch_and_bound",
    "match_template",
    "linear_maps",
    "match_templates",
    "check_points",
    "calibration_points",
    "search_options",
]

#: relative slack on the branch-and-bound threshold (floating point sums differ in order)
_REL_TOL = 1e-9
_ABS_TOL = 1e-14
_DEBUG = False


def local_lattices(points: np.ndarray, n_neighbours: int, tree: cKDTree | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Indices and vectors of the N nearest neighbours of every point.

    Returns
    -------
    index
        (n, N) neighbour indices sorted by distance.
    vectors
        (n, N, 2) vectors from each point to its neighbours (same unit as points).
    """
    pts = np.asarray(points, float)
    if pts.ndim != 2 or pts.shape[1] != 2:
        raise HrtemError(f"points must be an (n, 2) array of x, y positions, got shape {pts.shape}")
    if len(pts) <= n_neighbours:
        raise HrtemError(f"{len(pts)} points are too few for a template of {n_neighbours} neighbours")
    tree = cKDTree(pts, balanced_tree=False, compact_nodes=False) if tree is None else tree
    _, idx = tree.query(pts, k=n_neighbours + 1)
    idx = idx[:, 1:]
    return idx, pts[idx] - pts[:, None, :]


def rssd2(w: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Squared RSSD after optimal rotation and scale, batched.

    Parameters
    ----------
    w
        (..., L) complex measured neighbour vectors (x + iy), central point at 0.
    t
        (..., L) complex template vectors matched to ``w`` (same order).
    """
    c = np.sum(np.conj(w) * t, axis=-1)
    sw = np.sum(w.real**2 + w.imag**2, axis=-1)
    st = np.sum(t.real**2 + t.imag**2, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        e = st - (c.real**2 + c.imag**2) / sw
    return np.maximum(e, 0.0)


def _complex(v: np.ndarray) -> np.ndarray:
    return v[..., 0] + 1j * v[..., 1]


def sorted_correspondence(w: np.ndarray, template: Template) -> tuple[np.ndarray, np.ndarray]:
    """Best correspondence among the (shell, azimuth) orderings (thesis "Sorting").

    Parameters
    ----------
    w
        (B, N, 2) measured neighbour vectors sorted by distance.
    template
        The template (N neighbours).

    Returns
    -------
    assign
        (B, N) template index matched to each measured neighbour.
    e
        (B,) squared RSSD of that correspondence (an upper bound of the optimum).
    """
    t = template
    counts = np.asarray(t.shell_counts)
    shell_of_rank = np.repeat(np.arange(len(counts)), counts)
    anchor_rank = int(counts[: t.anchor_shell].sum())
    ang = np.arctan2(w[..., 1], w[..., 0])
    rel = ang - ang[:, anchor_rank : anchor_rank + 1]
    wc = _complex(w)
    tc = _complex(t.vectors)
    best_e = np.full(len(w), np.inf)
    best = np.zeros(w.shape[:2], dtype=np.int64)
    rows = np.arange(len(w))[:, None]
    for order, wrap in zip(t.sort_orders, t.sort_wrap, strict=True):
        key = shell_of_rank * 8.0 + np.mod(rel - wrap[shell_of_rank], 2 * math.pi)
        meas = np.argsort(key, axis=1, kind="stable")
        assign = np.empty_like(meas)
        assign[rows, meas] = order[None, :]
        e = rssd2(wc, tc[assign])
        better = e < best_e
        best_e = np.where(better, e, best_e)
        best[better] = assign[better]
    return best, best_e


@dataclass
class MatchResult:
    """Correspondences of one template with every local lattice.

    Attributes
    ----------
    assign
        (n, N) template index of each measured neighbour (distance order);
        −1 for neighbours outside a partial match.
    level
        (n,) number of matched neighbours N' (0 = no match).
    rmsd
        (n,) RMSD √(E/N') in units of the template's mean neighbour distance
        (NaN where unmatched).
    exact
        (n,) False where the node budget cut the search (result = best found).
    """

    assign: np.ndarray
    level: np.ndarray
    rmsd: np.ndarray
    exact: np.ndarray


def _segments(pt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start offsets and segment ids of a sorted id array."""
    starts = np.flatnonzero(np.r_[True, pt[1:] != pt[:-1]])
    seg = np.cumsum(np.r_[False, pt[1:] != pt[:-1]])
    return starts, seg


def _argmin_per_segment(e: np.ndarray, pt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For sorted ids ``pt``: (ids, index of the minimum of e) per distinct id."""
    starts, seg = _segments(pt)
    segmin = np.minimum.reduceat(e, starts)
    idx = np.flatnonzero(e == segmin[seg])
    first = idx[np.r_[True, seg[idx][1:] != seg[idx][:-1]]]
    return pt[first], first


def branch_and_bound(
    w: np.ndarray,
    template: Template,
    upper_e: np.ndarray,
    *,
    upper_assign: np.ndarray | None = None,
    r_max: float | None = None,
    rmsd_cap: float | None = 0.3,
    max_nodes: int | None = 256,
) -> MatchResult:
    """Exact optimal correspondence by breadth-first branch and bound, batched.

    Measured neighbours are assigned in order of distance; level L holds the
    injective assignments of the first L of them to template points, with
    their running sums Σw̄t, Σ|w|², Σ|t|² so that each child costs O(1). A node
    is pruned when its RSSD² exceeds the threshold of its point: the sorted
    upper bound, or r_max²·N when partial matching is on and that is smaller.
    The first neighbour is only matched to one template point per symmetry
    orbit (the others give the same RSSD with a rotated template).

    Parameters
    ----------
    w
        (B, N, 2) measured neighbour vectors sorted by distance.
    template
        Template with N neighbours.
    upper_e
        (B,) squared RSSD of a known full correspondence (from sorting).
    upper_assign
        (B, N) that correspondence; returned where nothing better is found.
    r_max
        Partial-matching threshold on the RMSD (template units); None = off.
    rmsd_cap
        The search is exact for every point whose optimal RMSD is below this
        (template units); points whose sorted correspondence is worse are only
        searched below the cap, and keep the sorted correspondence (flagged
        inexact) when nothing better lies there. Such local lattices are not
        the template's structure anyway (edges, grain boundaries); without a
        cap their search tree grows like N!. None = no cap.
    max_nodes
        Node budget per point and level; beyond it only the best nodes are
        kept and the point is flagged inexact (a safety net; with the default
        cap it is not reached by lattice points). None or 0 = unlimited.
    """
    b, n = w.shape[:2]
    wc = _complex(w)
    aw2 = wc.real**2 + wc.imag**2
    tc = _complex(template.vectors)
    at2 = tc.real**2 + tc.imag**2
    # full_thr: RSSD² below which a full correspondence is still of interest;
    # part_thr: RSSD² below which a node may still give a partial match (−1 = none needed)
    full_thr = upper_e * (1 + _REL_TOL) + _ABS_TOL
    r2 = None if r_max is None else float(r_max) ** 2
    exact = np.ones(b, dtype=bool)
    capped = np.zeros(b, dtype=bool)
    if rmsd_cap is not None:
        capped = full_thr > rmsd_cap**2 * n
        full_thr = np.where(capped, rmsd_cap**2 * n, full_thr)
    part_thr = np.full(b, -1.0)
    if r2 is not None:
        part_thr = np.where(full_thr >= r2 * n, r2 * n, -1.0)
        full_thr = np.minimum(full_thr, r2 * n)
    sw_tot = aw2.sum(axis=1)
    st_tot = float(at2.sum())

    # best so far: the sorted full correspondence if acceptable, else a 1-point match
    best_assign = np.full((b, n), -1, dtype=np.int64)
    best_level = np.zeros(b, dtype=np.int64)
    best_e = np.full(b, np.inf)
    full_ok = np.isfinite(upper_e) if r2 is None else upper_e < r2 * n
    if upper_assign is not None:
        best_assign[full_ok] = upper_assign[full_ok]
        best_level[full_ok] = n
        best_e[full_ok] = upper_e[full_ok]
    if r2 is not None:
        lone = best_level == 0
        best_assign[lone, 0] = template.first_branch[0]
        best_level[lone] = 1
        best_e[lone] = 0.0

    fb = template.first_branch
    pt = np.repeat(np.arange(b), len(fb))
    jj = np.tile(fb, b)
    assign = jj[:, None]
    used = np.left_shift(1, jj).astype(np.int64)
    c = np.conj(wc[pt, 0]) * tc[jj]
    sw = aw2[pt, 0]
    st = at2[jj]
    allj = np.arange(n)
    for lev in range(1, n):
        m = len(pt)
        if m == 0:
            break
        node = np.repeat(np.arange(m), n)
        cj = np.tile(allj, m)
        free = (np.right_shift(used[node], cj) & 1) == 0
        node, cj = node[free], cj[free]
        cpt = pt[node]
        c2 = c[node] + np.conj(wc[cpt, lev]) * tc[cj]
        sw2 = sw[node] + aw2[cpt, lev]
        st2 = st[node] + at2[cj]
        cabs2 = c2.real**2 + c2.imag**2
        e = np.maximum(st2 - cabs2 / sw2, 0.0)
        # bound on any full completion (Cauchy–Schwarz on the unassigned rest):
        # |C_full| ≤ |C| + √(Σ_rest|w|² · Σ_free|t|²)
        if lev < n - 1:
            swt = sw_tot[cpt]
            cmax = np.sqrt(cabs2) + np.sqrt(np.maximum(swt - sw2, 0.0) * np.maximum(st_tot - st2, 0.0))
            lb = st_tot - cmax**2 / swt
        else:
            lb = e
        ft = full_thr[cpt]
        keep = ((e <= ft) & (lb <= ft)) | (e <= part_thr[cpt])
        node, cj, cpt, e = node[keep], cj[keep], cpt[keep], e[keep]
        c2, sw2, st2 = c2[keep], sw2[keep], st2[keep]
        if len(cpt) and max_nodes:
            starts, seg = _segments(cpt)
            sizes = np.diff(np.r_[starts, len(cpt)])
            if sizes.max() > max_nodes:
                order = np.lexsort((e, cpt))
                rank = np.arange(len(order)) - starts[seg[order]]
                sel = np.sort(order[rank < max_nodes])
                exact[np.unique(cpt[order[rank >= max_nodes]])] = False
                node, cj, cpt, e = node[sel], cj[sel], cpt[sel], e[sel]
                c2, sw2, st2 = c2[sel], sw2[sel], st2[sel]
        level = lev + 1
        if _DEBUG: print(level, len(cpt))
        assign = np.concatenate([assign[node], cj[:, None]], axis=1)
        used = used[node] | np.left_shift(1, cj)
        pt, c, sw, st = cpt, c2, sw2, st2
        # record the best node of each point at this level when it is acceptable
        if level == n:
            ok = e <= full_thr[pt]
        elif r2 is not None:
            ok = e < r2 * level
        else:
            continue
        if not ok.any():
            continue
        ids, first = _argmin_per_segment(e[ok], pt[ok])
        cand_e = e[ok][first]
        better = (level > best_level[ids]) | ((level == best_level[ids]) & (cand_e < best_e[ids]))
        ids, first, cand_e = ids[better], first[better], cand_e[better]
        best_level[ids] = level
        best_e[ids] = cand_e
        best_assign[ids] = -1
        best_assign[ids, :level] = assign[ok][first]
    if capped.any():
        # capped points keep the sorted correspondence unless the search found a better one
        exact &= ~(capped & (best_e >= upper_e * (1 - _REL_TOL)) & (best_level == n))
    with np.errstate(invalid="ignore", divide="ignore"):
        rmsd = np.where(best_level > 0, np.sqrt(best_e / np.maximum(best_level, 1)), np.nan)
    return MatchResult(best_assign, best_level, rmsd, exact)


def match_template(
    w: np.ndarray,
    template: Template,
    *,
    r_max: float | None = None,
    rmsd_cap: float | None = 0.3,
    max_nodes: int | None = 256,
    chunk: int = 16384,
) -> MatchResult:
    """Optimal (or partial) correspondence of one template with local lattices.

    Parameters
    ----------
    w
        (B, N, 2) measured neighbour vectors sorted by distance (from
        :func:`local_lattices` with N = ``template.n_neighbours``).
    template
        The template.
    r_max
        Partial-matching RMSD threshold (template units), None = full matches only.
    rmsd_cap, max_nodes
        See :func:`branch_and_bound`.
    chunk
        Points per batch (bounds memory).
    """
    parts = []
    for s in range(0, len(w), chunk):
        ws = w[s : s + chunk]
        ua, ue = sorted_correspondence(ws, template)
        parts.append(branch_and_bound(ws, template, ue, upper_assign=ua, r_max=r_max, rmsd_cap=rmsd_cap, max_nodes=max_nodes))
    return MatchResult(
        np.concatenate([p.assign for p in parts]),
        np.concatenate([p.level for p in parts]),
        np.concatenate([p.rmsd for p in parts]),
        np.concatenate([p.exact for p in parts]),
    )


def linear_maps(w: np.ndarray, template: Template, assign: np.ndarray) -> np.ndarray:
    """Least-squares linear maps A with A·v_i ≈ w_i over matched neighbours (Eq. 3.12).

    Returns (B, 2, 2) arrays; NaN where fewer than two non-collinear points matched.
    """
    mask = assign >= 0
    v = template.vectors[np.where(mask, assign, 0)]
    m = mask.astype(float)
    vx, vy = v[..., 0] * m, v[..., 1] * m
    wx, wy = w[..., 0], w[..., 1]
    swv = np.empty((len(w), 2, 2))
    swv[:, 0, 0] = np.sum(wx * vx, axis=1)
    swv[:, 0, 1] = np.sum(wx * vy, axis=1)
    swv[:, 1, 0] = np.sum(wy * vx, axis=1)
    swv[:, 1, 1] = np.sum(wy * vy, axis=1)
    sxx, syy, sxy = np.sum(vx * vx, axis=1), np.sum(vy * vy, axis=1), np.sum(vx * vy, axis=1)
    det = sxx * syy - sxy**2
    good = det > 1e-8 * np.maximum((sxx + syy) ** 2, 1e-300)
    with np.errstate(invalid="ignore", divide="ignore"):
        inv = np.stack([np.stack([syy, -sxy], -1), np.stack([-sxy, sxx], -1)], -2) / det[:, None, None]
    a = swv @ inv
    a[~good] = np.nan
    return a


@dataclass
class StmResult:
    """Per-point result of structural template matching.

    Attributes
    ----------
    points
        (n, 2) positions x, y (Å, or the unit of the input).
    exx, eyy, exy
        Strain components (dimensionless), NaN where unmatched.
    rotation
        Local lattice rotation (rad, counter-clockwise), reduced to the
        template's orientation period.
    rmsd
        Scale-invariant RMSD of the match (template units), NaN where unmatched.
    matched
        Number of matched neighbours N' (0 = no match).
    template
        (n,) index into ``templates`` of the matched template (−1 = none).
    templates
        Names of the templates tried.
    exact
        False where the branch-and-bound budget was hit.
    reference_distance
        Template scale (Å) per template name used to set ε = P/scale − I.
    stretch
        (n, 2, 2) left stretch P of the linear map (Å per template unit).
    """

    points: np.ndarray
    exx: np.ndarray
    eyy: np.ndarray
    exy: np.ndarray
    rotation: np.ndarray
    rmsd: np.ndarray
    matched: np.ndarray
    template: np.ndarray
    templates: list[str]
    exact: np.ndarray
    reference_distance: dict[str, float] = field(default_factory=dict)
    stretch: np.ndarray | None = None

    @property
    def planar(self) -> np.ndarray:
        """Planar strain ε_p = (ε_xx + ε_yy)/2 (Eq. 4.1)."""
        return 0.5 * (self.exx + self.eyy)

    def columns(self) -> dict[str, np.ndarray]:
        """The per-point table: x, y, exx, eyy, exy, rotation (rad), rmsd, matched, template."""
        names = np.array(self.templates + [""], dtype=object)
        return {
            "x": self.points[:, 0],
            "y": self.points[:, 1],
            "exx": self.exx,
            "eyy": self.eyy,
            "exy": self.exy,
            "rotation": self.rotation,
            "rmsd": self.rmsd,
            "matched": self.matched,
            "template": names[self.template],
        }

    def to_csv(self, path) -> None:
        """Write :meth:`columns` as CSV (atomically)."""
        from hrtem.strain.io import write_table

        write_table(self.columns(), path)


def match_templates(
    points: np.ndarray,
    templates: str | Template | Sequence[str | Template] = "hexagonal6",
    *,
    nn_distance: float | Mapping[str, float] | None = None,
    reference: np.ndarray | None = None,
    r_max: float | None = None,
    min_level: int = 2,
    rmsd_cap: float | None = 0.3,
    max_nodes: int | None = 256,
    chunk: int = 16384,
) -> StmResult:
    """Strain, rotation and RMSD of every point by structural template matching.

    Parameters
    ----------
    points
        (n, 2) positions (Å).
    templates
        One or several templates (names or :class:`Template`); per point the
        one with the lowest RMSD wins (full matches before partial ones).
    nn_distance
        Unstrained nearest-neighbour distance in Å (one value, or one per
        template name). It sets the strain scale (Eq. 3.14). When None the
        scale is calibrated so that the mean planar strain of the
        ``reference`` points is zero, counting only fully matched interior
        points (:func:`calibration_points`), so that a perfect lattice reads
        zero strain everywhere, edges and corners included.
    reference
        (n,) boolean mask of a reference region for the calibration
        (default: every point).
    r_max
        Partial matching threshold on the RMSD (template units); None = off.
    min_level
        Fewest matched neighbours a partial match may have (else no match).
    rmsd_cap, max_nodes, chunk
        See :func:`branch_and_bound` and :func:`match_template`.
    """
    pts = np.asarray(points, float)
    if isinstance(templates, (str, Template)):
        templates = [templates]
    tmpl = [get_template(t) for t in templates]
    if not tmpl:
        raise HrtemError("no template given; name at least one (e.g. hexagonal6)")
    if min_level < 2:
        raise HrtemError(f"min_level must be ≥ 2 (two points fix a 2D linear map), got {min_level}")
    n = len(pts)
    nmax = max(t.n_neighbours for t in tmpl)
    if pts.ndim != 2 or pts.shape[1] != 2 or not np.all(np.isfinite(pts)):
        check_points(pts)
    tree = cKDTree(pts, balanced_tree=False, compact_nodes=False)
    idx, wall = local_lattices(pts, nmax, tree)
    del idx
    check_points(pts)

    best_t = np.full(n, -1, dtype=np.int64)
    best_full = np.zeros(n, dtype=bool)
    best_rmsd = np.full(n, np.inf)
    maps = np.full((n, 2, 2), np.nan)
    level = np.zeros(n, dtype=np.int64)
    exact = np.ones(n, dtype=bool)
    for k, t in enumerate(tmpl):
        w = np.ascontiguousarray(wall[:, : t.n_neighbours])
        res = match_template(w, t, r_max=r_max, rmsd_cap=rmsd_cap, max_nodes=max_nodes, chunk=chunk)
        ok = (res.level >= min_level) & np.isfinite(res.rmsd)
        full = res.level == t.n_neighbours
        better = ok & ((full & ~best_full) | ((full == best_full) & (res.rmsd < best_rmsd)))
        if not better.any():
            continue
        a = linear_maps(w[better], t, res.assign[better])
        best_t[better] = k
        best_full[better] = full[better]
        best_rmsd[better] = res.rmsd[better]
        maps[better] = a
        level[better] = res.level[better]
        exact[better] = res.exact[better]
    matched = best_t >= 0
    p, theta = polar_left(np.where(matched[:, None, None], maps, np.eye(2)))
    p[~matched] = np.nan
    rotation = np.full(n, np.nan)
    scales: dict[str, float] = {}
    exx, eyy, exy = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
    for k, t in enumerate(tmpl):
        sel = best_t == k
        if not sel.any():
            continue
        rotation[sel] = wrap_angle(theta[sel], t.rotation_period_rad)
        if nn_distance is not None:
            d = nn_distance.get(t.name) if isinstance(nn_distance, Mapping) else nn_distance
            if d is None:
                raise HrtemError(f"nn_distance has no entry for template {t.name!r}")
            scale = float(d) * t.mean_over_nn
        else:
            region = sel if reference is None else sel & np.asarray(reference, bool)
            if not region.any():
                region = sel
            calibrate = region & calibration_points(pts, wall, level, t.n_neighbours)
            if calibrate.any():
                region = calibrate
            tr = 0.5 * (p[region, 0, 0] + p[region, 1, 1])
            scale = float(np.nanmean(tr))
        scales[t.name] = scale
        exx[sel] = p[sel, 0, 0] / scale - 1
        eyy[sel] = p[sel, 1, 1] / scale - 1
        exy[sel] = p[sel, 0, 1] / scale
    # a degenerate linear map (collinear partial match) leaves NaN strain: report it as unmatched
    bad = matched & ~np.isfinite(exx)
    best_t[bad] = -1
    matched &= ~bad
    rmsd = np.where(matched, best_rmsd, np.nan)
    return StmResult(
        points=pts,
        exx=exx,
        eyy=eyy,
        exy=exy,
        rotation=np.where(matched, rotation, np.nan),
        rmsd=rmsd,
        matched=np.where(matched, level, 0),
        template=best_t,
        templates=[t.name for t in tmpl],
        exact=exact,
        reference_distance=scales,
        stretch=p,
    )


def check_points(points: np.ndarray, source: str = "points") -> None:
    """Refuse empty, non-finite or duplicate positions (one line naming the first offender).

    Two points closer than 10⁻³ of the median nearest-neighbour distance are
    duplicates: they would make a zero neighbour vector (−100 % strain).
    """
    pts = np.asarray(points, float)
    if pts.ndim != 2 or pts.shape[1] != 2:
        raise HrtemError(f"{source}: need (n, 2) positions x, y, got shape {pts.shape}")
    if len(pts) == 0:
        raise HrtemError(f"{source}: no points")
    bad = ~np.all(np.isfinite(pts), axis=1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise HrtemError(
            f"{source}: {int(bad.sum())} point(s) are not finite, e.g. point {i} = ({pts[i, 0]}, {pts[i, 1]}); remove those rows"
        )
    if len(pts) < 2:
        return
    tree = cKDTree(pts)
    d, _ = tree.query(pts, k=2)
    nn = d[:, 1]
    typical = float(np.median(nn[nn > 0])) if np.any(nn > 0) else 1.0
    dup = nn <= 1e-3 * typical
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        partner = next(int(k) for k in tree.query_ball_point(pts[i], 1e-3 * typical) if k != i)
        raise HrtemError(
            f"{source}: {int(dup.sum())} duplicate point(s), e.g. points {i} and {partner} at "
            f"({pts[i, 0]:.6g}, {pts[i, 1]:.6g}); remove the duplicates"
        )


def calibration_points(points: np.ndarray, wall: np.ndarray, level: np.ndarray, n_neighbours: int) -> np.ndarray:
    """Points that may calibrate the strain scale: fully matched and interior.

    Interior: the point lies at least as far inside the convex hull of all
    points as its ``n_neighbours``-th neighbour is from it, so its whole
    neighbourhood exists (edge and corner points fit partly wrong neighbours
    and would bias the scale).
    """
    pts = np.asarray(points, float)
    full = np.asarray(level) == n_neighbours
    if len(pts) < 4:
        return full
    from scipy.spatial import ConvexHull, QhullError

    try:
        hull = ConvexHull(pts)
    except (QhullError, ValueError):
        return full
    # distance inside the hull: min over facets of −(n·x + d) (unit normals point outward)
    inside = -(pts @ hull.equations[:, :2].T + hull.equations[:, 2]).max(axis=1)
    reach = np.linalg.norm(wall[:, n_neighbours - 1], axis=1)
    return full & (inside >= 0.99 * reach)


def search_options(params: Mapping | None) -> dict:
    """``rmsd_cap`` and ``max_nodes`` keyword arguments from a config ``stm`` object.

    Missing keys take the defaults of :func:`branch_and_bound`; ``max_nodes`` 0
    means unlimited.
    """
    params = params or {}
    return {"rmsd_cap": params.get("rmsd_cap", 0.3), "max_nodes": int(params.get("max_nodes", 256)) or None}
