"""Precision and recall of detected atoms against the true ones (thesis §6.4.1, Figs. 6.17-6.19).

Matching is one-to-one: each true atom takes at most one detection and each
detection at most one true atom, within ``radius_a`` (default 0.5 Å), with the
most pairs and, among those, the smallest total distance (an assignment
problem). A second detection next to an already matched atom is therefore a
false positive, not a second true positive.

Why 0.5 Å: the thesis gives no radius. 0.5 Å is about a third of the graphene
C–C bond (1.42 Å), so a detection is never matched to the neighbouring atom
(that would need ≥ 0.71 Å), yet it is several times the localisation error of a
correct detection (≈ 0.05-0.1 Å on simulated images), so correct detections are
not lost to the radius. For columns in metals (≥ 2.4 Å apart) it is even safer.

Atoms are labelled "ideal" or "defect" as in the thesis (L5069): by the RMSD of
a structural template match of their 9 nearest neighbours to the ideal
honeycomb (``hrtem.strain``, template ``graphene9``); atoms whose neighbourhood
cannot be matched (edges of holes) are defects.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.spatial import cKDTree

from hrtem.errors import HrtemError

__all__ = [
    "DEFAULT_RADIUS_A",
    "Matching",
    "match",
    "precision_recall",
    "pr_curve",
    "ideal_mask",
]

DEFAULT_RADIUS_A = 0.5


@dataclass
class Matching:
    """One-to-one matching of detections to true atoms.

    Attributes
    ----------
    pairs
        (P, 2) indices (detection, true atom) of the matched pairs.
    detected_matched
        (M,) True where a detection is matched (a true positive).
    true_matched
        (N,) True where a true atom is found.
    distance_a
        (P,) distance of each pair in Å.
    """

    pairs: np.ndarray
    detected_matched: np.ndarray
    true_matched: np.ndarray
    distance_a: np.ndarray

    @property
    def tp(self) -> int:
        return int(self.true_matched.sum())

    @property
    def fp(self) -> int:
        return int((~self.detected_matched).sum())

    @property
    def fn(self) -> int:
        return int((~self.true_matched).sum())


def _as_points(a, what: str) -> np.ndarray:
    p = np.asarray(a, dtype=np.float64).reshape(-1, 2) if np.size(a) else np.zeros((0, 2))
    if not np.all(np.isfinite(p)):
        raise HrtemError(f"{what} positions contain NaN or infinite values")
    return p


def match(detected_a: np.ndarray, true_a: np.ndarray, radius_a: float = DEFAULT_RADIUS_A) -> Matching:
    """Match detections to true atoms one-to-one within ``radius_a`` (Å); see the module docstring."""
    if not radius_a > 0:
        raise HrtemError(f"learn.evaluation.radius_a must be positive, got {radius_a}")
    d = _as_points(detected_a, "detected")
    t = _as_points(true_a, "true")
    dm = np.zeros(len(d), bool)
    tm = np.zeros(len(t), bool)
    if len(d) == 0 or len(t) == 0:
        return Matching(np.zeros((0, 2), np.int64), dm, tm, np.zeros(0))
    sparse = cKDTree(d).sparse_distance_matrix(cKDTree(t), radius_a, output_type="coo_matrix")
    if sparse.nnz == 0:
        return Matching(np.zeros((0, 2), np.int64), dm, tm, np.zeros(0))
    # solve the assignment only on the rows/columns that have candidates
    rows = np.unique(sparse.row)
    cols = np.unique(sparse.col)
    ri = np.searchsorted(rows, sparse.row)
    ci = np.searchsorted(cols, sparse.col)
    big = 1e6 * radius_a  # an impossible pair costs more than any set of real pairs
    cost = np.full((len(rows), len(cols)), big)
    cost[ri, ci] = sparse.data
    r, c = linear_sum_assignment(cost)
    ok = cost[r, c] <= radius_a
    pairs = np.column_stack([rows[r[ok]], cols[c[ok]]]).astype(np.int64)
    dm[pairs[:, 0]] = True
    tm[pairs[:, 1]] = True
    return Matching(pairs, dm, tm, cost[r[ok], c[ok]])


def precision_recall(
    detected_a: np.ndarray,
    true_a: np.ndarray,
    radius_a: float = DEFAULT_RADIUS_A,
    true_groups: np.ndarray | None = None,
    groups: Sequence = (),
) -> dict:
    """Counts and precision/recall, overall and per group of true atoms.

    ``true_groups`` (N,) assigns each true atom a group (e.g. ``"ideal"``/``"defect"``).
    Per group, recall = found / total of that group; a detection counts for the
    group of the true atom it matches, an unmatched one (false positive) for the
    group of its nearest true atom. Returns ``{"all": {...}, group: {...}}``, each
    with ``tp``, ``fp``, ``fn``, ``precision``, ``recall`` (NaN when undefined).
    """
    m = match(detected_a, true_a, radius_a)
    out = {"all": _pr(m.tp, m.fp, m.fn)}
    if true_groups is None:
        return out
    g = np.asarray(true_groups)
    d = _as_points(detected_a, "detected")
    t = _as_points(true_a, "true")
    det_group = np.full(len(d), None, dtype=object)
    if len(d) and len(t):
        _, nearest = cKDTree(t).query(d)
        det_group[:] = g[nearest]
        det_group[m.pairs[:, 0]] = g[m.pairs[:, 1]]
    for name in groups or np.unique(g):
        sel = g == name
        tp = int((m.true_matched & sel).sum())
        fn = int((~m.true_matched & sel).sum())
        fp = int(((~m.detected_matched) & (det_group == name)).sum())
        out[str(name)] = _pr(tp, fp, fn)
    return out


def _pr(tp: int, fp: int, fn: int) -> dict:
    return {
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "precision": tp / (tp + fp) if tp + fp else float("nan"),
        "recall": tp / (tp + fn) if tp + fn else float("nan"),
    }


def pr_curve(
    detections: Sequence[tuple[np.ndarray, np.ndarray]],
    truths: Sequence[np.ndarray],
    thresholds: Sequence[float],
    radius_a: float = DEFAULT_RADIUS_A,
    true_groups: Sequence[np.ndarray] | None = None,
    groups: Sequence = (),
) -> list[dict]:
    """Precision and recall summed over images for each score threshold.

    ``detections[i] = (positions_a, score)`` of image ``i`` found with no
    threshold; at threshold t only detections with ``score ≥ t`` count.
    Returns one dict per threshold: ``{"threshold": t, "all": {...}, group: {...}}``
    with counts summed over images before dividing.
    """
    rows = []
    for th in thresholds:
        acc: dict[str, list[int]] = {}
        for i, ((pos, score), truth) in enumerate(zip(detections, truths)):
            keep = np.asarray(score) >= th
            tg = None if true_groups is None else true_groups[i]
            res = precision_recall(np.asarray(pos).reshape(-1, 2)[keep], truth, radius_a, tg, groups)
            for k, v in res.items():
                a = acc.setdefault(k, [0, 0, 0])
                a[0] += v["tp"]
                a[1] += v["fp"]
                a[2] += v["fn"]
        row = {"threshold": float(th)}
        row.update({k: _pr(*v) for k, v in acc.items()})
        rows.append(row)
    return rows


def ideal_mask(
    positions_a: np.ndarray,
    cell_a: Sequence[float] | None = None,
    bond_a: float = 1.42,
    rmsd_max: float = 0.05,
    template: str = "graphene9",
) -> tuple[np.ndarray, np.ndarray]:
    """Label atoms ideal (True) or defect (False) by the RMSD of their local template match.

    Parameters
    ----------
    positions_a
        (N, 2) atom positions in Å.
    cell_a
        Periodic cell (x, y) in Å; when given the neighbours are taken across
        the cell edges (the training sheets are periodic), else atoms near the
        edge of the point set have incomplete shells and count as defects.
    bond_a
        Nearest-neighbour distance of the ideal lattice (graphene 1.42 Å).
    rmsd_max
        Highest scale-invariant RMSD (template units: mean neighbour distance 1)
        of an ideal atom.
    template
        ``hrtem.strain`` template name (thesis: the 9 nearest neighbours).

    Returns
    -------
    ideal
        (N,) booleans.
    rmsd
        (N,) the RMSD (NaN where the neighbourhood could not be matched).
    """
    from hrtem.strain.matching import match_templates

    pts = _as_points(positions_a, "true")
    n = len(pts)
    if n == 0:
        return np.zeros(0, bool), np.zeros(0)
    if cell_a is not None:
        cx, cy = float(cell_a[0]), float(cell_a[1])
        shifts = np.array([(i * cx, j * cy) for i in (-1, 0, 1) for j in (-1, 0, 1)])
        shifts = shifts[np.argsort(np.abs(shifts).sum(1), kind="stable")]  # (0, 0) first
        tiled = (pts[None, :, :] + shifts[:, None, :]).reshape(-1, 2)
    else:
        tiled = pts
    res = match_templates(tiled, template, nn_distance=bond_a, rmsd_cap=max(0.3, 2 * rmsd_max))
    rmsd = np.asarray(res.rmsd[:n], float)
    from hrtem.strain.templates import get_template

    full = res.matched[:n] == get_template(template).n_neighbours
    ideal = full & np.isfinite(rmsd) & (rmsd <= rmsd_max)
    return ideal, rmsd
