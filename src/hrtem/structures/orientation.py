"""Orienting a crystal along a zone axis and placing it in a simulation cell.

Convention: the electron beam travels along z, so "zone axis [uvw]" means the
crystal direction [uvw] is rotated onto +z. All lengths in Å, angles in degrees.
"""

from __future__ import annotations

from collections.abc import Sequence

import ase
import numpy as np

from hrtem.errors import HrtemError

__all__ = [
    "parse_zone_axis",
    "zone_axis_rotation",
    "rotation_about",
    "orient",
    "place_in_cell",
]

# In-plane reference directions tried in order; the first perpendicular one becomes x.
_X_CANDIDATES = ((0, 0, 1), (0, 1, 0), (1, 0, 0), (1, -1, 0), (0, 1, -1), (1, 0, -1), (1, 1, -2), (1, -2, 1))


def parse_zone_axis(zone: str | Sequence[int]) -> tuple[int, int, int]:
    """Parse ``"110"``, ``"1,1,0"``, ``"[1-10]"`` or ``(1, 1, 0)`` into an integer triple."""
    if isinstance(zone, str):
        s = zone.strip().strip("[]<>()")
        if "," in s or " " in s:
            parts = [int(p) for p in s.replace(",", " ").split()]
        else:
            parts, sign = [], 1
            for ch in s:
                if ch == "-":
                    sign = -1
                    continue
                if not ch.isdigit():
                    raise HrtemError(f"zone axis {zone!r} is not like '110', '1,1,0' or '[1-10]'")
                parts.append(sign * int(ch))
                sign = 1
        zone = parts
    z = tuple(int(v) for v in zone)
    if len(z) != 3 or z == (0, 0, 0):
        raise HrtemError(f"zone axis {zone!r} must be three integers, not all zero (e.g. 110)")
    return z  # type: ignore[return-value]


def zone_axis_rotation(zone: str | Sequence[int]) -> np.ndarray:
    """Rotation matrix ``R`` (rows = new x, y, z in crystal coordinates) putting ``zone`` on z.

    ``R @ r_crystal`` gives the rotated position. x is the first low-index direction
    perpendicular to the zone axis from a fixed list ([001], [010], [100], [1-10], …),
    so ⟨100⟩ and ⟨110⟩ views have a cube axis along x; y = z × x.
    """
    z = np.asarray(parse_zone_axis(zone), float)
    z /= np.linalg.norm(z)
    for cand in _X_CANDIDATES:
        c = np.asarray(cand, float)
        if abs(c @ z) < 1e-9:
            x = c / np.linalg.norm(c)
            break
    else:  # pragma: no cover - high-index zone axes
        x = np.cross(z, [1.0, 0.0, 0.0] if abs(z[0]) < 0.9 else [0.0, 1.0, 0.0])
        x /= np.linalg.norm(x)
    y = np.cross(z, x)
    return np.vstack([x, y, z])


def rotation_about(axis: Sequence[float], angle_deg: float) -> np.ndarray:
    """Rotation matrix for a right-handed rotation by ``angle_deg`` about ``axis``."""
    a = np.asarray(axis, float)
    a = a / np.linalg.norm(a)
    t = np.deg2rad(angle_deg)
    k = np.array([[0, -a[2], a[1]], [a[2], 0, -a[0]], [-a[1], a[0], 0]])
    return np.eye(3) + np.sin(t) * k + (1 - np.cos(t)) * (k @ k)


def orient(
    atoms: ase.Atoms,
    zone_axis: str | Sequence[int] = (1, 1, 0),
    rotation_deg: float = 0.0,
    tilt_deg: float = 0.0,
    tilt_axis_deg: float = 0.0,
    crystal_frame: np.ndarray | None = None,
) -> ase.Atoms:
    """Return a copy rotated so ``zone_axis`` is along the beam z, then rotated and tilted.

    Parameters
    ----------
    atoms
        Crystal whose Cartesian axes are the cubic crystal axes (as built by ASE),
        or any frame given by ``crystal_frame``.
    zone_axis
        Crystal direction put along +z (the beam), e.g. ``"110"``.
    rotation_deg
        In-plane rotation about z in degrees, applied after the zone-axis rotation.
    tilt_deg
        Tilt away from the zone axis in degrees, about an in-plane axis.
    tilt_axis_deg
        Direction of the tilt axis in the xy plane, degrees from x.
    crystal_frame
        3×3 matrix whose rows are the crystal [100], [010], [001] directions in the
        current Cartesian frame (default identity).

    The rotation is about the centre of the atom positions; the cell is dropped
    (call :func:`place_in_cell` afterwards).
    """
    r = zone_axis_rotation(zone_axis)
    if crystal_frame is not None:
        r = r @ np.asarray(crystal_frame, float)
    r = rotation_about((0, 0, 1), rotation_deg) @ r
    ta = np.deg2rad(tilt_axis_deg)
    r = rotation_about((np.cos(ta), np.sin(ta), 0.0), tilt_deg) @ r
    out = atoms.copy()
    centre = out.positions.mean(axis=0)
    out.positions = (out.positions - centre) @ r.T
    out.set_cell(np.zeros((3, 3)))
    out.pbc = False
    out.info["zone_axis"] = "".join(str(v) for v in parse_zone_axis(zone_axis))
    out.info["rotation_deg"] = float(rotation_deg)
    out.info["tilt_deg"] = float(tilt_deg)
    out.info["tilt_axis_deg"] = float(tilt_axis_deg)
    return out


def place_in_cell(
    atoms: ase.Atoms,
    cell_a: float | Sequence[float] | None = None,
    vacuum_a: float = 5.0,
    offset_a: Sequence[float] = (0.0, 0.0),
) -> ase.Atoms:
    """Return a copy centred in an orthorhombic, non-periodic cell.

    Parameters
    ----------
    cell_a
        Cell size in Å: one number (square in x, y), ``(Lx, Ly)`` or ``(Lx, Ly, Lz)``.
        A missing z (or ``None`` altogether) is set by ``vacuum_a``.
    vacuum_a
        Vacuum in Å on each side for the dimensions not given by ``cell_a``.
    offset_a
        In-plane displacement (Å) of the particle centre from the cell centre.

    Raises
    ------
    HrtemError
        If the particle (plus displacement) does not fit in the given cell.
    """
    out = atoms.copy()
    pos = out.positions
    lo, hi = pos.min(axis=0), pos.max(axis=0)
    extent = hi - lo
    lengths = extent + 2.0 * vacuum_a
    if cell_a is not None:
        given = np.atleast_1d(np.asarray(cell_a, float))
        if given.size == 1:
            given = np.repeat(given, 2)
        lengths[: given.size] = given[:3]
    shift = np.zeros(3)
    shift[:2] = np.asarray(offset_a, float)[:2]
    centre = lengths / 2.0 + shift
    new_lo = centre - extent / 2.0
    new_hi = centre + extent / 2.0
    if np.any(new_lo < -1e-9) or np.any(new_hi > lengths + 1e-9):
        raise HrtemError(
            f"particle of extent {np.round(extent, 2).tolist()} Å (offset {shift[:2].tolist()} Å) does not fit "
            f"in the cell {np.round(lengths, 2).tolist()} Å; enlarge the cell (cell_a) or make the particle smaller"
        )
    out.positions = pos - (lo + hi) / 2.0 + centre
    out.set_cell(np.diag(lengths))
    out.pbc = False
    return out
