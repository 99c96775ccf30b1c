"""Projected atomic columns along the beam (z): the ground truth for strain and CNN labels."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import ase
import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from hrtem.errors import HrtemError

__all__ = ["ProjectedColumns", "project_columns"]


class ProjectedColumns(NamedTuple):
    """Columns of atoms seen along z.

    Attributes
    ----------
    positions_xy
        (n, 2) mean x, y of each column in Å (averaged over atoms and snapshots).
    counts
        (n,) number of atoms in each column (integer).
    labels
        (n_atoms,) column index of every atom.
    numbers
        (n,) most common atomic number in each column.
    spread_a
        (n,) RMS in-plane distance (Å) of the column's atoms from its mean position
        (over atoms and snapshots): large for tilted or disordered columns.
    """

    positions_xy: np.ndarray
    counts: np.ndarray
    labels: np.ndarray
    numbers: np.ndarray
    spread_a: np.ndarray


def project_columns(
    atoms: ase.Atoms | Sequence[ase.Atoms],
    tolerance_a: float = 0.5,
    periodic: bool | None = None,
) -> ProjectedColumns:
    """Group atoms into columns along z by their (x, y) positions.

    Two atoms belong to the same column when their (x, y) positions are closer
    than ``tolerance_a`` (single linkage: chains of such pairs form one column).
    For a list of snapshots (same atoms, same order, e.g. an MD trajectory) the
    atoms are grouped by their time-averaged positions and the column position is
    the mean over atoms and snapshots.

    Parameters
    ----------
    atoms
        One structure or a list of snapshots of the same structure.
    tolerance_a
        Grouping distance in Å; must be below the smallest projected column
        separation (fcc ⟨110⟩: a√3/4·… ≈ 2.0–2.5 Å for Au), above the thermal and tilt spread.
    periodic
        Treat x, y as periodic with the cell lengths (default: the atoms' ``pbc`` in x and y).
        Column means are then taken with the minimum-image convention and wrapped into the cell.
    """
    frames = [atoms] if isinstance(atoms, ase.Atoms) else list(atoms)
    if not frames:
        raise HrtemError("project_columns needs at least one structure")
    n = len(frames[0])
    if any(len(f) != n for f in frames):
        raise HrtemError("all snapshots given to project_columns must have the same number of atoms")
    if not tolerance_a > 0:
        raise HrtemError(f"tolerance_a must be positive, got {tolerance_a}")
    xy = np.stack([f.positions[:, :2] for f in frames])  # (t, n, 2)
    first = frames[0]
    if periodic is None:
        periodic = bool(np.all(first.pbc[:2]))
    box = None
    if periodic:
        lengths = first.cell.lengths()[:2]
        if not np.allclose(first.cell.array[:2, :2], np.diag(lengths)):
            raise HrtemError("periodic project_columns needs an orthogonal cell in x, y")
        box = lengths
        # unwrap snapshots relative to the first, then average
        d = xy - xy[:1]
        d -= box * np.round(d / box)
        xy = xy[:1] + d
    mean_xy = xy.mean(axis=0)
    if box is not None:
        mean_xy = np.mod(mean_xy, box)
    tree = cKDTree(mean_xy, boxsize=box)
    pairs = tree.query_pairs(tolerance_a, output_type="ndarray")
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n)) if n else None
    n_cols, labels = connected_components(graph, directed=False) if n else (0, np.zeros(0, int))
    counts = np.bincount(labels, minlength=n_cols)
    # column means: unwrap every atom (all snapshots) to the column's first atom under periodicity
    ref = np.zeros((n_cols, 2))
    ref[labels[::-1]] = mean_xy[::-1]  # some member of each column
    d = xy - ref[labels][None]
    if box is not None:
        d -= box * np.round(d / box)
    sums = np.zeros((n_cols, 2))
    np.add.at(sums, labels, d.sum(axis=0))
    mean_d = sums / (counts[:, None] * len(frames))
    positions = ref + mean_d
    if box is not None:
        positions = np.mod(positions, box)
    r2 = np.sum((d - mean_d[labels][None]) ** 2, axis=2).sum(axis=0)
    spread = np.sqrt(np.bincount(labels, weights=r2, minlength=n_cols) / (counts * len(frames)))
    numbers = np.zeros(n_cols, int)
    z = first.numbers
    for c in range(n_cols):
        vals, cnt = np.unique(z[labels == c], return_counts=True)
        numbers[c] = vals[np.argmax(cnt)]
    return ProjectedColumns(positions, counts.astype(int), labels.astype(int), numbers, spread)
