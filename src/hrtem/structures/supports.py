"""Oxide support slabs and supported half-particles for MD (thesis §5.4).

Conventions
    The surface normal is ``+z``; cells are orthogonal with vacuum above and
    below the model (LAMMPS runs them with ``boundary p p f``). Slabs are
    built from whole stoichiometric O–M–O trilayers, so both faces are
    O-terminated and the slab carries no dipole.
Fixed atoms
    Atoms of the bottom ``fixed_layers`` trilayers have ``atoms.arrays['fixed']
    = True`` (a boolean column that survives extxyz) and ASE tag 1; everything
    else is False / tag 0. The MD driver holds fixed atoms in place.
Oxides
    ``zro2_111``  cubic (fluorite) ZrO2(111), O-terminated; orthogonal surface
    cell a/√2 × a√6/2 (2 Zr + 4 O per trilayer and cell), trilayer spacing a/√3. The thesis supports Pt{111} on it.

    ``anatase_001``  anatase TiO2(001), O-terminated; the conventional
    tetragonal cell is already orthogonal (a × a in plane, 1 Ti + 2 O per
    trilayer per a², trilayer spacing c/4). We choose (001) over (101)
    because its square surface mesh is orthogonal without a supercell and
    matches an fcc(100) face (Pt(100)‖anatase(100) mismatch ≈ 3.4 %, thesis
    L3286; Cu(100) ≈ 5.5 % with the COMB3 lattice constants), which is the coherent interface the thesis
    discusses. The bulk-terminated (001) face is the textbook one, not the
    reconstructed (1×4) surface.
Particles
    :func:`half_particle` cuts the top half of an fcc truncated octahedron
    (a Wulff shape with {111} and {100} facets) through its centre, with the
    flat cut face, a (111) or (100) plane, down. The Wulff particles of
    :mod:`hrtem.structures.nanoparticles` can be used instead: any particle
    is placed by :func:`supported_particle`, which uses its lowest atomic
    plane as the interface.
Default system
    A Cu half-particle on c-ZrO2(111), the MD default because the COMB3 file
    shipped with LAMMPS (``ffield.comb3``) covers Cu, Zr and O (not Pt, not
    Au). Its Cu–Zr cross terms are not fitted: they come from the file's
    mixing rule, so the Cu/ZrO2 adhesion is qualitative.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from ase import Atoms
from ase.spacegroup import crystal

from hrtem.errors import HrtemError

__all__ = [
    "OXIDES",
    "anatase_001",
    "half_particle",
    "oxide_slab",
    "supported_particle",
    "zro2_111",
]

#: oxide id -> default lattice parameters in Å (relaxed at 0 K with the shipped
#: ffield.comb3: c-ZrO2 5.126 Å vs 5.07–5.12 Å measured; anatase a = 3.821 Å,
#: c = 9.523 Å vs 3.785 / 9.514 Å measured), cation, description
OXIDES: dict[str, dict] = {
    "zro2_111": {"a_A": 5.126, "cation": "Zr", "what": "cubic ZrO2(111), O-terminated"},
    "anatase_001": {"a_A": 3.821, "c_A": 9.523, "cation": "Ti", "what": "anatase TiO2(001), O-terminated"},
}


def _orthogonal_cell(unit: Atoms, vectors: Sequence[Sequence[float]]) -> Atoms:
    """Re-express a periodic crystal in an orthogonal cell.

    Parameters
    ----------
    unit
        Crystal with an orthogonal (e.g. cubic conventional) cell.
    vectors
        Three mutually orthogonal lattice vectors in units of the cell edges
        of ``unit``; they become the new x, y, z axes.
    """
    cell = np.asarray(unit.cell)
    vec = np.asarray(vectors, float) @ cell  # Cartesian, Å
    lengths = np.linalg.norm(vec, axis=1)
    rot = vec / lengths[:, None]  # rows: new axes in old frame
    if not np.allclose(rot @ rot.T, np.eye(3), atol=1e-8):
        raise ValueError("vectors must be mutually orthogonal")
    n = int(np.ceil(np.abs(np.asarray(vectors)).sum(axis=0).max())) + 1
    rng = np.arange(-n, n + 1)
    shifts = np.array(np.meshgrid(rng, rng, rng, indexing="ij")).reshape(3, -1).T @ cell
    pos = (unit.positions[None, :, :] + shifts[:, None, :]).reshape(-1, 3)
    num = np.tile(unit.numbers, len(shifts))
    new = pos @ rot.T
    frac = new / lengths
    eps = 1e-6
    keep = np.all((frac > -eps) & (frac < 1 - eps), axis=1)
    out = Atoms(numbers=num[keep], positions=new[keep], cell=np.diag(lengths), pbc=True)
    expected = len(unit) * abs(np.linalg.det(vec)) / abs(np.linalg.det(cell))
    if abs(len(out) - expected) > 1e-6 * expected + 1e-9:
        raise AssertionError(f"orthogonal cell has {len(out)} atoms, expected {expected:g}")
    return out


def _fluorite(a_A: float) -> Atoms:
    return crystal(
        ["Zr", "O"], basis=[(0, 0, 0), (0.25, 0.25, 0.25)], spacegroup=225, cellpar=[a_A, a_A, a_A, 90, 90, 90]
    )


def _anatase(a_A: float, c_A: float, u: float = 0.2081) -> Atoms:
    return crystal(
        ["Ti", "O"], basis=[(0, 0, 0), (0, 0, u)], spacegroup=141, cellpar=[a_A, a_A, c_A, 90, 90, 90]
    )


def _trilayer_slab(
    bulk_cell: Atoms,
    cation: str,
    repeat: tuple[int, int],
    layers: int,
    fixed_layers: int,
    vacuum_A: float,
) -> Atoms:
    """Cut ``layers`` whole O–M–O trilayers from an orthogonal bulk cell (z = normal)."""
    if layers < 1:
        raise HrtemError(f"md.support.layers must be ≥ 1, got {layers}")
    if not 0 <= fixed_layers < layers:
        raise HrtemError(
            f"md.support.fixed_layers must be in [0, layers) = [0, {layers}), got {fixed_layers}"
        )
    if min(repeat) < 1:
        raise HrtemError(f"md.support.repeat must be positive integers, got {list(repeat)}")
    is_cat = np.array([s == cation for s in bulk_cell.get_chemical_symbols()])
    zc = np.unique(np.round(bulk_cell.positions[is_cat, 2], 4))
    per_cell = len(zc)
    nz = int(np.ceil((layers + 2) / per_cell)) + 1
    big = bulk_cell.repeat((1, 1, nz))
    z = big.positions[:, 2]
    cat = np.array([s == cation for s in big.get_chemical_symbols()])
    planes = np.unique(np.round(z[cat], 3))
    # assign every atom to its nearest cation plane (O sits ±d/4 from its plane)
    idx = np.abs(z[:, None] - planes[None, :]).argmin(axis=1)
    first = 1  # skip the lowest plane: its lower O may be missing at the cell edge
    chosen = (idx >= first) & (idx < first + layers)
    slab = big[chosen]
    layer = idx[chosen] - first
    slab = slab.repeat((repeat[0], repeat[1], 1))
    layer = np.tile(layer, repeat[0] * repeat[1])
    z = slab.positions[:, 2]
    slab.positions[:, 2] -= z.min() - vacuum_A
    cell = np.array(slab.cell)
    cell[2, 2] = z.max() - z.min() + 2 * vacuum_A
    slab.set_cell(cell)
    slab.pbc = (True, True, False)
    fixed = layer < fixed_layers
    slab.arrays["fixed"] = fixed
    slab.set_tags(fixed.astype(int))
    slab.info["trilayers"] = int(layers)
    slab.info["trilayer_spacing_A"] = float(np.diff(planes).mean())
    return slab


def zro2_111(
    repeat: tuple[int, int] = (6, 4),
    layers: int = 2,
    fixed_layers: int = 1,
    a_A: float = OXIDES["zro2_111"]["a_A"],
    vacuum_A: float = 10.0,
) -> Atoms:
    """O-terminated cubic ZrO2(111) slab in an orthogonal cell.

    Parameters
    ----------
    repeat
        Surface cells along x ([1-10], a/√2 = 3.62 Å at a = 5.126 Å) and
        y ([11-2], a√6/2 = 6.28 Å).
    layers
        Number of O–Zr–O trilayers (6 atoms per surface cell each).
    fixed_layers
        Bottom trilayers tagged fixed.
    a_A
        Cubic lattice constant in Å (default: the COMB3 value; measured c-ZrO2 ≈ 5.07–5.12 Å).
    vacuum_A
        Vacuum below and above the slab in Å (the particle goes in the upper one).
    """
    cell = _orthogonal_cell(_fluorite(a_A), [(0.5, -0.5, 0.0), (0.5, 0.5, -1.0), (1.0, 1.0, 1.0)])
    slab = _trilayer_slab(cell, "Zr", tuple(repeat), layers, fixed_layers, vacuum_A)
    slab.info["support"] = "zro2_111"
    return slab


def anatase_001(
    repeat: tuple[int, int] = (6, 6),
    layers: int = 3,
    fixed_layers: int = 1,
    a_A: float = OXIDES["anatase_001"]["a_A"],
    c_A: float = OXIDES["anatase_001"]["c_A"],
    vacuum_A: float = 10.0,
) -> Atoms:
    """O-terminated anatase TiO2(001) slab (see the module docstring for the choice).

    Parameters
    ----------
    repeat
        Surface cells a × a along x and y (a = 3.821 Å with COMB3).
    layers
        Number of O–Ti–O trilayers (spacing c/4 = 2.38 Å; 3 atoms per a² each).
    fixed_layers
        Bottom trilayers tagged fixed.
    a_A, c_A
        Tetragonal lattice parameters in Å.
    vacuum_A
        Vacuum below and above the slab in Å.
    """
    slab = _trilayer_slab(_anatase(a_A, c_A), "Ti", tuple(repeat), layers, fixed_layers, vacuum_A)
    slab.info["support"] = "anatase_001"
    return slab


def oxide_slab(oxide: str, **kwargs) -> Atoms:
    """Build a slab by id (``'zro2_111'`` or ``'anatase_001'``); kwargs as the builders."""
    builders = {"zro2_111": zro2_111, "anatase_001": anatase_001}
    if oxide not in builders:
        raise HrtemError(f"md.support.oxide: unknown oxide {oxide!r}; choose one of {sorted(builders)}")
    kwargs = {k: v for k, v in kwargs.items() if v is not None}
    return builders[oxide](**kwargs)


_FACETS = {(1, 1, 1): [(0.5, -0.5, 0.0), (0.5, 0.5, -1.0), (1.0, 1.0, 1.0)], (1, 0, 0): [(0, 1, 0), (0, 0, 1), (1, 0, 0)]}


def half_particle(
    element: str = "Cu",
    a_A: float = 3.61,
    radius_A: float = 7.0,
    interface: Sequence[int] = (1, 1, 1),
    d100_over_d111: float = 1.10,
) -> Atoms:
    """Top half of an fcc truncated octahedron, flat face down.

    The full particle is the set of fcc sites within ``radius_A`` of the
    centre along the eight ⟨111⟩ facet normals and within
    ``d100_over_d111 · radius_A`` along the six ⟨100⟩ normals (a Wulff shape;
    1.10 ≈ the √3/2·γ100/γ111 ratio of typical fcc metals gives small
    {100} facets; √3 removes them). It is cut through its centre by the
    ``interface`` plane, and the half above (including the central plane) is
    kept, oriented with that plane normal along +z and the face at z = 0.

    Parameters
    ----------
    element, a_A
        fcc metal and lattice constant in Å (Cu 3.61 with the shipped COMB3,
        3.615 measured; Pt 3.92; Au 4.08).
    radius_A
        Distance of the {111} facets from the centre, in Å.
    interface
        Miller indices of the flat face: (1, 1, 1) or (1, 0, 0).
    d100_over_d111
        Ratio of {100} to {111} facet distances (> 1).
    """
    key = tuple(int(i) for i in interface)
    if key not in _FACETS:
        raise HrtemError(f"md.particle.interface must be [1,1,1] or [1,0,0], got {list(interface)}")
    if radius_A <= 0 or d100_over_d111 <= 0:
        raise HrtemError("md.particle.radius_A and d100_over_d111 must be positive")
    n = int(np.ceil(radius_A * max(1.0, d100_over_d111) * np.sqrt(3) / a_A)) + 1
    g = np.arange(-n, n + 1)
    base = np.array([[0, 0, 0], [0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0]])
    cells = np.array(np.meshgrid(g, g, g, indexing="ij")).reshape(3, -1).T
    pos = ((cells[:, None, :] + base[None, :, :]).reshape(-1, 3)) * a_A  # cubic frame, atom at origin
    n111 = np.array([[i, j, k] for i in (-1, 1) for j in (-1, 1) for k in (-1, 1)]) / np.sqrt(3)
    n100 = np.vstack([np.eye(3), -np.eye(3)])
    tol = 1e-6
    inside = np.all(pos @ n111.T <= radius_A + tol, axis=1) & np.all(
        pos @ n100.T <= d100_over_d111 * radius_A + tol, axis=1
    )
    pos = pos[inside]
    axes = np.asarray(_FACETS[key], float)
    rot = axes / np.linalg.norm(axes, axis=1)[:, None]
    pos = pos @ rot.T
    pos = pos[pos[:, 2] > -tol]
    pos[:, 2] -= pos[:, 2].min()
    pos[:, :2] -= pos[:, :2].mean(axis=0)
    atoms = Atoms(element * len(pos), positions=pos)
    atoms.info["interface"] = list(key)
    atoms.info["lattice_a_A"] = float(a_A)
    return atoms


def supported_particle(
    slab: Atoms,
    particle: Atoms,
    gap_A: float = 2.0,
    rotation_deg: float = 0.0,
    margin_A: float = 3.0,
) -> Atoms:
    """Place a particle's lowest atomic plane ``gap_A`` above the slab's top atoms.

    Parameters
    ----------
    slab
        Support from :func:`oxide_slab` (z = normal, ``arrays['fixed']`` set).
    particle
        Any particle; its lowest plane becomes the interface. It is rotated
        by ``rotation_deg`` about the surface normal (the in-plane rotation
        the thesis scans for Pt/ZrO2, Fig. 5.3) and centred laterally.
    gap_A
        Vertical distance between the top O plane and the particle's bottom
        plane, in Å (metal–O bonds are ≈ 2 Å).
    margin_A
        Minimum lateral distance between the particle and its periodic image;
        a smaller one raises :class:`HrtemError` (enlarge md.support.repeat).

    Returns
    -------
    Atoms
        Slab then particle; ``arrays['fixed']`` False for the particle, the
        cell height extended so that 10 Å of vacuum (at least the slab's
        lower vacuum) remain above the particle.
    """
    part = particle.copy()
    part.rotate(rotation_deg, "z", center=(0, 0, 0))
    p = part.positions
    extent = p[:, :2].max(axis=0) - p[:, :2].min(axis=0)
    cell = np.array(slab.cell)
    lx, ly = cell[0, 0], cell[1, 1]
    if extent[0] + margin_A > lx or extent[1] + margin_A > ly:
        raise HrtemError(
            f"particle footprint {extent[0]:.1f} × {extent[1]:.1f} Å does not fit the "
            f"{lx:.1f} × {ly:.1f} Å support with {margin_A} Å between periodic images; "
            "increase md.support.repeat or decrease md.particle.radius_A"
        )
    top = slab.positions[:, 2].max()
    shift = np.array([lx / 2, ly / 2, top + gap_A]) - np.array(
        [(p[:, 0].max() + p[:, 0].min()) / 2, (p[:, 1].max() + p[:, 1].min()) / 2, p[:, 2].min()]
    )
    part.positions = p + shift
    part.arrays["fixed"] = np.zeros(len(part), bool)
    part.set_tags(0)
    for key in list(part.arrays):
        if key not in ("numbers", "positions", "fixed", "tags"):
            del part.arrays[key]
    base = slab.copy()
    for key in list(base.arrays):
        if key not in ("numbers", "positions", "fixed", "tags"):
            del base.arrays[key]
    model = base + part
    bottom_vac = slab.positions[:, 2].min()
    cell[2, 2] = model.positions[:, 2].max() + max(10.0, bottom_vac)
    model.set_cell(cell)
    model.pbc = (True, True, False)
    model.info = {
        "support": slab.info.get("support", ""),
        "n_support": len(slab),
        "n_particle": len(part),
        "rotation_deg": float(rotation_deg),
        "gap_A": float(gap_A),
    }
    return model
