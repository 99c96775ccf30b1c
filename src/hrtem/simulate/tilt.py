"""Specimen tilt: rotate a structure about an in-plane axis through its centre.

Thesis ch. 4 (§4.4.2, Fig. 4.8–4.9) tilts the particle by α = 0–3° about two
in-plane axes Ω1 and Ω2 before simulating the image. Here a tilt is a rigid
rotation of the atomic model, applied before the multislice, about

* an axis in the image (xy) plane at ``tilt_axis_deg`` from x (0° = about x,
  90° = about y), right-handed, by ``tilt_deg`` degrees;
* the centre of the cell (default) — the same point for every frame of an MD
  trajectory, so snapshots stay aligned; or an explicit ``centre_a``.

The cell is kept, so the grid, and therefore the x/y coordinates of the exit
waves, are the same for every tilt and the stores can carry a ``tilt``
dimension. A tilt of exactly 0 returns an unchanged copy (bit-identical
positions), so a tilt series that contains 0 reproduces the untilted wave.

Projected positions move as the rotation predicts: with the axis along the unit
vector ``a`` (in-plane) and ``R`` the rotation, ``r' = c + R (r − c)``; e.g. for
a tilt about x by α an atom at height ``z − c_z`` moves in y by
``−(z − c_z) sin α`` plus ``(y − c_y)(cos α − 1)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from ase import Atoms

from hrtem.errors import HrtemError

__all__ = ["tilt_rotation", "tilt_atoms", "tilt_frames"]


def tilt_rotation(tilt_deg: float, tilt_axis_deg: float = 0.0) -> np.ndarray:
    """3×3 rotation matrix for a tilt by ``tilt_deg`` about the in-plane axis at ``tilt_axis_deg``.

    Right-handed (Rodrigues) rotation about ``(cos φ, sin φ, 0)``, φ = ``tilt_axis_deg``.
    Exactly the identity for ``tilt_deg == 0``.
    """
    if tilt_deg == 0:
        return np.eye(3)
    phi = np.deg2rad(float(tilt_axis_deg))
    axis = np.array([np.cos(phi), np.sin(phi), 0.0])
    t = np.deg2rad(float(tilt_deg))
    k = np.array([[0.0, -axis[2], axis[1]], [axis[2], 0.0, -axis[0]], [-axis[1], axis[0], 0.0]])
    return np.eye(3) + np.sin(t) * k + (1.0 - np.cos(t)) * (k @ k)


def _centre(atoms: Atoms, centre_a: Sequence[float] | None) -> np.ndarray:
    if centre_a is not None:
        c = np.asarray(centre_a, dtype=float)
        if c.shape != (3,):
            raise HrtemError(f"tilt centre must be three coordinates (x, y, z) in Å, got {list(c.ravel())}")
        return c
    lengths = atoms.cell.lengths()
    if np.any(lengths <= 0):
        raise HrtemError("cannot tilt a structure without a cell: set one (e.g. atoms.center(vacuum=5)) or give centre_a")
    return 0.5 * np.asarray(atoms.cell.sum(axis=0), dtype=float)


def tilt_atoms(
    atoms: Atoms,
    tilt_deg: float,
    tilt_axis_deg: float = 0.0,
    centre_a: Sequence[float] | None = None,
    check_cell: bool = True,
) -> Atoms:
    """A copy of ``atoms`` tilted by ``tilt_deg`` about an in-plane axis (module docstring).

    Parameters
    ----------
    atoms
        Structure in an orthorhombic cell, beam along z.
    tilt_deg
        Tilt angle α in degrees (right-handed about the axis).
    tilt_axis_deg
        Direction of the tilt axis in the xy plane, degrees from x.
    centre_a
        Point (Å) the rotation axis passes through; default the cell centre.
    check_cell
        Raise :class:`HrtemError` if a tilted atom leaves the cell (it would be
        wrapped by the periodic potential in x/y, or dropped in z).

    Returns
    -------
    ase.Atoms
        Tilted copy (same cell); ``info['specimen_tilt_deg']`` and
        ``info['specimen_tilt_axis_deg']`` record the applied tilt.
    """
    out = atoms.copy()
    if tilt_deg != 0:
        c = _centre(atoms, centre_a)
        r = tilt_rotation(tilt_deg, tilt_axis_deg)
        out.positions = (atoms.positions - c) @ r.T + c
        if check_cell and len(out):
            lengths = out.cell.lengths()
            lo = out.positions.min(axis=0)
            hi = out.positions.max(axis=0)
            if np.any(lo < -1e-9) or np.any(hi > lengths + 1e-9):
                raise HrtemError(
                    f"tilting by {tilt_deg}° moves atoms out of the cell {np.round(lengths, 2).tolist()} Å "
                    f"(extent {np.round(lo, 2).tolist()}–{np.round(hi, 2).tolist()} Å); add vacuum "
                    "(structures.wulff.vacuum_a) or use a smaller tilt"
                )
    out.info["specimen_tilt_deg"] = float(tilt_deg)
    out.info["specimen_tilt_axis_deg"] = float(tilt_axis_deg)
    return out


def tilt_frames(
    frames: Atoms | Sequence[Atoms],
    tilt_deg: float,
    tilt_axis_deg: float = 0.0,
    centre_a: Sequence[float] | None = None,
) -> Atoms | list[Atoms]:
    """Tilt one structure or every frame of a trajectory about the same centre.

    For a trajectory the centre defaults to the first frame's cell centre, so all
    snapshots are rotated about one fixed point.
    """
    if isinstance(frames, Atoms):
        return tilt_atoms(frames, tilt_deg, tilt_axis_deg, centre_a)
    frames = list(frames)
    if not frames:
        raise HrtemError("cannot tilt an empty trajectory")
    c = None if tilt_deg == 0 else (_centre(frames[0], centre_a))
    return [tilt_atoms(f, tilt_deg, tilt_axis_deg, c) for f in frames]
