"""Per-point reference implementations of template matching (slow, for checks).

:func:`match_point` runs the same algorithm as :mod:`hrtem.strain.matching`
(sorting for an upper bound, then best-first branch and bound on the RSSD, as
in thesis Fig. 3.4) for one local lattice with plain Python loops; the
benchmark compares it with the batched version. :func:`brute_force` tries all
N! permutations and is the ground truth of the tests (N ≤ 8).
"""

from __future__ import annotations

import heapq
import itertools
import math

import numpy as np

from hrtem.strain.templates import Template

__all__ = ["rssd2_pair", "match_point", "brute_force"]


def rssd2_pair(w: np.ndarray, t: np.ndarray) -> float:
    """Squared RSSD of matched (L, 2) vector sets after optimal rotation and scale."""
    cr = float(np.sum(w[:, 0] * t[:, 0] + w[:, 1] * t[:, 1]))
    ci = float(np.sum(w[:, 0] * t[:, 1] - w[:, 1] * t[:, 0]))
    sw = float(np.sum(w * w))
    st = float(np.sum(t * t))
    return max(st - (cr * cr + ci * ci) / sw, 0.0)


def _sorted_upper(w: np.ndarray, template: Template) -> tuple[float, list[int]]:
    counts = template.shell_counts
    shell_of_rank = np.repeat(np.arange(len(counts)), counts)
    anchor_rank = int(sum(counts[: template.anchor_shell]))
    ang = np.arctan2(w[:, 1], w[:, 0])
    rel = ang - ang[anchor_rank]
    best = (math.inf, list(range(len(w))))
    for order, wrap in zip(template.sort_orders, template.sort_wrap, strict=True):
        key = [(int(shell_of_rank[i]), float(np.mod(rel[i] - wrap[shell_of_rank[i]], 2 * math.pi))) for i in range(len(w))]
        meas = sorted(range(len(w)), key=lambda i: key[i])
        assign = [0] * len(w)
        for k, i in enumerate(meas):
            assign[i] = int(order[k])
        e = rssd2_pair(w, template.vectors[assign])
        if e < best[0]:
            best = (e, assign)
    return best


def match_point(w: np.ndarray, template: Template, rmsd_cap: float | None = None) -> tuple[float, list[int]]:
    """Optimal correspondence for one local lattice (full template).

    Parameters
    ----------
    w
        (N, 2) neighbour vectors sorted by distance.
    template
        Template with N neighbours.
    rmsd_cap
        As in :func:`hrtem.strain.matching.branch_and_bound`: search only
        below this RMSD, else keep the sorted correspondence.

    Returns
    -------
    e, assign
        Squared RSSD and template index per measured neighbour.
    """
    n = len(w)
    upper, best = _sorted_upper(w, template)
    thr = upper * (1 + 1e-9) + 1e-14
    if rmsd_cap is not None:
        thr = min(thr, rmsd_cap**2 * n)
    sw_tot = float(np.sum(w * w))
    st_tot = float(np.sum(template.vectors**2))
    heap: list[tuple[float, tuple[int, ...]]] = [(0.0, (int(j),)) for j in template.first_branch]
    heapq.heapify(heap)
    while heap:
        e, partial = heapq.heappop(heap)
        if e > thr:
            break
        if len(partial) == n:
            return e, list(partial)
        lev = len(partial)
        for j in range(n):
            if j in partial:
                continue
            cand = partial + (j,)
            wl, tl = w[: lev + 1], template.vectors[list(cand)]
            ec = rssd2_pair(wl, tl)
            if lev + 1 < n:
                # Cauchy–Schwarz bound on any full completion (as the batched version)
                cr = float(np.sum(wl[:, 0] * tl[:, 0] + wl[:, 1] * tl[:, 1]))
                ci = float(np.sum(wl[:, 0] * tl[:, 1] - wl[:, 1] * tl[:, 0]))
                rest = math.sqrt(max(sw_tot - float(np.sum(wl * wl)), 0.0) * max(st_tot - float(np.sum(tl * tl)), 0.0))
                lb = st_tot - (math.hypot(cr, ci) + rest) ** 2 / sw_tot
            else:
                lb = ec
            if ec <= thr and lb <= thr:
                heapq.heappush(heap, (ec, cand))
    return upper, best


def brute_force(w: np.ndarray, template_vectors: np.ndarray) -> tuple[float, tuple[int, ...]]:
    """Minimum squared RSSD over all N! correspondences (vectorised over permutations)."""
    n = len(w)
    perms = np.array(list(itertools.permutations(range(n))), dtype=np.int64)
    t = template_vectors[perms]  # (P, N, 2)
    cr = np.sum(w[None, :, 0] * t[..., 0] + w[None, :, 1] * t[..., 1], axis=1)
    ci = np.sum(w[None, :, 0] * t[..., 1] - w[None, :, 1] * t[..., 0], axis=1)
    e = np.sum(template_vectors**2) - (cr**2 + ci**2) / np.sum(w**2)
    k = int(np.argmin(e))
    return float(max(e[k], 0.0)), tuple(int(x) for x in perms[k])
