"""Nanoparticle models built from ASE's cluster factories."""

from __future__ import annotations

from collections.abc import Sequence

import ase
from ase.cluster.cubic import FaceCenteredCubic

__all__ = ["fcc_cluster"]


def fcc_cluster(
    symbol: str = "Au",
    surfaces: Sequence[Sequence[int]] = ((1, 0, 0), (1, 1, 0), (1, 1, 1)),
    layers: Sequence[int] = (6, 9, 5),
    lattice_constant_a: float | None = None,
    rotation_y_deg: float = 45.0,
    vacuum_a: float = 2.0,
) -> ase.Atoms:
    """Return the fcc cluster of thesis Fig. 2.2 (or any layer specification).

    The cluster is built by :class:`ase.cluster.cubic.FaceCenteredCubic` with
    ``layers[i]`` atomic layers from the centre to the ``surfaces[i]`` facets,
    rotated by ``rotation_y_deg`` about the y axis (45° puts a ⟨110⟩ zone axis
    along the beam z) and centred in a box with ``vacuum_a`` Å of vacuum on each side.

    Parameters
    ----------
    symbol
        Chemical symbol of an fcc element (default Au).
    surfaces
        Miller indices of the facet families.
    layers
        Number of layers for each facet family (thesis: 6 {100}, 9 {110}, 5 {111}).
    lattice_constant_a
        Lattice constant in Å; ``None`` uses ASE's reference value (Au: 4.08 Å).
    rotation_y_deg
        Rotation about the y axis in degrees.
    vacuum_a
        Vacuum added on each side of the cluster in Å.
    """
    if len(surfaces) != len(layers):
        raise ValueError(f"surfaces ({len(surfaces)}) and layers ({len(layers)}) must have equal length")
    kwargs = {} if lattice_constant_a is None else {"latticeconstant": float(lattice_constant_a)}
    cluster = FaceCenteredCubic(symbol, [tuple(s) for s in surfaces], list(layers), **kwargs)
    atoms = ase.Atoms(cluster)  # plain Atoms, not the Cluster subclass
    atoms.rotate(rotation_y_deg, "y", center="COP")
    atoms.center(vacuum=vacuum_a)
    atoms.pbc = False
    return atoms
