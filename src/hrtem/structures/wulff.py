"""Wulff-constructed fcc nanoparticles (thesis ch. 4, Fig. 4.1; ch. 5 §5.4).

A particle is the set of fcc lattice sites ``r`` inside the Wulff polyhedron
``{r : r·n̂ ≤ λ γ(n̂) for every facet normal n̂}``; the scale ``λ`` is chosen so
that the number of atoms matches the requested volume-equivalent diameter
``d = (6 N v_atom / π)^(1/3)`` (``v_atom = a³/4``). The thesis's 4 nm gold
particle has 1,925 atoms (L5849), i.e. d = 3.97 nm with a = 4.078 Å.

Default surface energies (J/m², only their ratios matter):

* Au, Pt — the COMB3 column of thesis Tables 5.1 and 5.2 (L3571–3575 and
  L3636–3640): Au γ(111) = 0.868, γ(100)/γ(111) = 1.19, γ(110)/γ(111) = 1.25;
  Pt γ(111) = 1.77, γ(100)/γ(111) = 1.20, γ(110)/γ(111) = 1.24. With these
  ratios γ(110) > √(3/2)·γ(111)·(1/1) ≈ 1.2247·γ(111), so the ideal shape is a
  truncated octahedron with {111} and {100} facets only; {110} appears for
  ratios below 1.2247.
* Cu — not in the thesis; full-charge-density DFT values of Vitos et al.,
  Surf. Sci. 411, 186 (1998): γ(111) = 1.952, γ(100) = 2.166, γ(110) = 2.237.

Default lattice constants (Å): Au 4.078 and Pt 3.92 (experimental, 300 K,
thesis Tables 5.1/5.2, L3543 and L3608); Cu 3.615 (experimental, not in the thesis).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

import ase
import numpy as np
from scipy.spatial import ConvexHull, HalfspaceIntersection

from hrtem.errors import HrtemError
from hrtem.structures.orientation import orient, place_in_cell

__all__ = [
    "LATTICE_CONSTANTS_A",
    "SURFACE_ENERGIES_J_M2",
    "family_normals",
    "wulff_polyhedron",
    "wulff_particle",
    "equivalent_diameter_a",
]

LATTICE_CONSTANTS_A: dict[str, float] = {"Au": 4.078, "Pt": 3.92, "Cu": 3.615}

SURFACE_ENERGIES_J_M2: dict[str, dict[tuple[int, int, int], float]] = {
    "Au": {(1, 1, 1): 0.868, (1, 0, 0): 0.868 * 1.19, (1, 1, 0): 0.868 * 1.25},
    "Pt": {(1, 1, 1): 1.77, (1, 0, 0): 1.77 * 1.20, (1, 1, 0): 1.77 * 1.24},
    "Cu": {(1, 1, 1): 1.952, (1, 0, 0): 2.166, (1, 1, 0): 2.237},
}


def _miller(key: str | Sequence[int]) -> tuple[int, int, int]:
    if isinstance(key, str):
        s = key.strip().strip("(){}[]")
        vals = [int(v) for v in s.replace(",", " ").split()] if ("," in s or " " in s) else [int(c) for c in s]
    else:
        vals = [int(v) for v in key]
    if len(vals) != 3 or not any(vals):
        raise HrtemError(f"surface {key!r} is not a Miller index like '111' or (1, 1, 1)")
    return tuple(vals)  # type: ignore[return-value]


def family_normals(hkl: Sequence[int]) -> np.ndarray:
    """Unit normals of all members of the cubic family {hkl} (permutations and signs)."""
    out = set()
    for perm in itertools.permutations(hkl):
        for signs in itertools.product((1, -1), repeat=3):
            out.add(tuple(s * p for s, p in zip(signs, perm)))
    v = np.array(sorted(out), float)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _facets(surface_energies: Mapping) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int, int]]]:
    normals, gammas, families = [], [], []
    for key, gamma in surface_energies.items():
        hkl = _miller(key)
        if not gamma > 0:
            raise HrtemError(f"surface energy of {hkl} must be positive, got {gamma}")
        n = family_normals(hkl)
        normals.append(n)
        gammas.append(np.full(len(n), float(gamma)))
        families += [hkl] * len(n)
    return np.vstack(normals), np.concatenate(gammas), families


def wulff_polyhedron(surface_energies: Mapping) -> tuple[np.ndarray, float, dict[tuple[int, int, int], float]]:
    """Continuum Wulff shape for unit scale: vertices, volume and area fraction per family.

    Facets are the planes ``r·n̂ = γ``; families whose planes do not touch the
    shape get zero area.
    """
    normals, gammas, families = _facets(surface_energies)
    hs = HalfspaceIntersection(np.hstack([normals, -gammas[:, None]]), np.zeros(3))
    verts = hs.intersections
    hull = ConvexHull(verts)
    areas: dict[tuple[int, int, int], float] = {f: 0.0 for f in families}
    for simplex, eq in zip(hull.simplices, hull.equations):
        tri = verts[simplex]
        area = 0.5 * np.linalg.norm(np.cross(tri[1] - tri[0], tri[2] - tri[0]))
        i = int(np.argmax(normals @ eq[:3]))
        areas[families[i]] += area
    total = sum(areas.values())
    return verts, float(hull.volume), {k: v / total for k, v in areas.items()}


def equivalent_diameter_a(n_atoms: int, lattice_constant_a: float) -> float:
    """Volume-equivalent sphere diameter (Å) of ``n_atoms`` fcc atoms: (6 N a³/4 / π)^(1/3)."""
    return float((6.0 * n_atoms * lattice_constant_a**3 / 4.0 / np.pi) ** (1.0 / 3.0))


def _fcc_sites(half_width_a: float, a: float) -> np.ndarray:
    m = int(np.ceil(2 * half_width_a / a)) + 1
    r = np.arange(-m, m + 1)
    ijk = np.stack(np.meshgrid(r, r, r, indexing="ij"), -1).reshape(-1, 3)
    ijk = ijk[ijk.sum(axis=1) % 2 == 0]
    return ijk * (a / 2.0)


def wulff_particle(
    symbol: str = "Au",
    diameter_nm: float = 4.0,
    surface_energies: Mapping | None = None,
    lattice_constant_a: float | None = None,
    zone_axis: str | Sequence[int] | None = "110",
    rotation_deg: float = 0.0,
    tilt_deg: float = 0.0,
    tilt_axis_deg: float = 0.0,
    cell_a: float | Sequence[float] | None = None,
    vacuum_a: float = 5.0,
    offset_a: Sequence[float] = (0.0, 0.0),
) -> ase.Atoms:
    """Return an fcc Wulff particle of a given volume-equivalent diameter.

    Parameters
    ----------
    symbol
        Element; defaults for surface energies and lattice constants exist for Au, Pt, Cu.
    diameter_nm
        Volume-equivalent sphere diameter in nm (the particle has the whole number of
        atoms, with complete facet layers, closest to π d³/(6 v_atom)).
    surface_energies
        Mapping Miller index (``"111"`` or ``(1, 1, 1)``) → γ in J/m² (only ratios
        matter); families left out are not facets. Default: see module docstring.
    lattice_constant_a
        fcc lattice constant in Å (default: :data:`LATTICE_CONSTANTS_A`).
    zone_axis
        Crystal direction along the beam z (``"110"``, ``"111"``, ``"100"``);
        ``None`` keeps the cubic axes along x, y, z.
    rotation_deg, tilt_deg, tilt_axis_deg
        In-plane rotation about z, tilt away from the zone axis and the in-plane
        direction of the tilt axis (degrees), see :func:`~hrtem.structures.orientation.orient`.
    cell_a, vacuum_a, offset_a
        Placement, see :func:`~hrtem.structures.orientation.place_in_cell`.

    Returns
    -------
    ase.Atoms
        Non-periodic particle centred in its cell; ``info`` holds the element,
        requested and equivalent diameters (nm), the number of atoms and the zone axis.
    """
    if surface_energies is None:
        if symbol not in SURFACE_ENERGIES_J_M2:
            raise HrtemError(
                f"no default surface energies for {symbol!r} (known: {', '.join(SURFACE_ENERGIES_J_M2)}); "
                "give surface_energies"
            )
        surface_energies = SURFACE_ENERGIES_J_M2[symbol]
    a = lattice_constant_a if lattice_constant_a is not None else LATTICE_CONSTANTS_A.get(symbol)
    if a is None:
        raise HrtemError(f"no default lattice constant for {symbol!r}; give lattice_constant_a")
    if not diameter_nm > 0:
        raise HrtemError(f"diameter_nm must be positive, got {diameter_nm}")
    normals, gammas, _ = _facets(surface_energies)
    n_target = np.pi * (10.0 * diameter_nm) ** 3 / 6.0 / (a**3 / 4.0)
    _, vol1, _ = wulff_polyhedron(surface_energies)
    scale = (n_target * a**3 / 4.0 / vol1) ** (1.0 / 3.0)
    sites = _fcc_sites(1.3 * scale * gammas.max() + 2 * a, a)
    # Wulff "radius" of each site: the scale at which it enters the polyhedron
    f = np.max(sites @ normals.T / gammas[None, :], axis=1)
    order = np.argsort(f, kind="stable")
    fs = f[order]
    # candidate thresholds are the distinct f values (complete layers); pick the count closest to target
    distinct = np.flatnonzero(np.diff(fs) > 1e-9 * max(fs[-1], 1.0))
    counts = distinct + 1
    best = counts[np.argmin(np.abs(counts - n_target))]
    keep = order[:best]
    atoms = ase.Atoms([symbol] * int(best), positions=sites[keep])
    if zone_axis is not None:
        atoms = orient(atoms, zone_axis, rotation_deg, tilt_deg, tilt_axis_deg)
    atoms = place_in_cell(atoms, cell_a=cell_a, vacuum_a=vacuum_a, offset_a=offset_a)
    atoms.info.update(
        element=symbol,
        lattice_constant_a=float(a),
        diameter_nm=float(diameter_nm),
        equivalent_diameter_nm=equivalent_diameter_a(int(best), a) / 10.0,
        n_atoms=int(best),
    )
    return atoms
