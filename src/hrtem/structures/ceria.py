"""CeO2 (ceria, fluorite) nanoparticles with point defects and atoms-per-column labels (seed 001).

Abstract 001 (Manzorro et al.) trains a U-Net on simulated images of CeO2
nanoparticles "including variations in thickness, point defects or
modifications of electron-optical parameters" and matches the output "to a mask
based on the 3D structure data file of the nanoparticle" (atoms per column).
This module builds those structures and masks.

Crystal
    Fluorite, space group Fm-3m: Ce on the fcc sites (0, 0, 0), O on the eight
    tetrahedral sites (¼, ¼, ¼); 4 Ce + 8 O per cubic cell. The lattice
    constant a = 5.411 Å is the experimental room-temperature value of CeO2
    (JCPDS 34-0394); neither the abstract nor the thesis gives one.
Particle
    The Ce sublattice is cut by a polyhedron of {111} and {100} facets (the
    truncated octahedron that CeO2 nanoparticles show; the {100}/{111} distance
    ratio ``truncation`` sets how much {100} there is). To give particles of
    varying thickness and shape, each of the 14 facet distances is scaled by an
    independent factor ``1 + U(−jitter, +jitter)``. An O site is kept when at
    least two of its four Ce neighbours are kept, which makes {111} facets
    O-terminated (the stable CeO2 surface); that is O-rich (CeO2.16–2.4 for
    6–2 nm), so the surplus O with the fewest Ce neighbours (edges, {100}
    faces) is then removed at random until the particle is exactly CeO2
    (charge neutral, Ce⁴⁺ and O²⁻).
Defects
    Random O and Ce vacancies: a fraction of each sublattice is removed
    (``o_vacancy_fraction``, ``ce_vacancy_fraction``). The removed sites are
    recorded (:class:`CeriaParticle.vacancies`, an ``ase.Atoms`` of the missing
    atoms), so the labels say where every vacancy is.
Labels
    :func:`column_labels` groups the perfect particle into columns along the beam
    (:func:`hrtem.structures.columns.project_columns`) and counts, per column, the
    atoms left and the vacancies. Along ⟨110⟩ and ⟨100⟩ every fluorite column is
    pure Ce or pure O.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import ase
import numpy as np

from hrtem.errors import HrtemError
from hrtem.structures.columns import project_columns
from hrtem.structures.orientation import orient, place_in_cell

__all__ = [
    "CERIA_LATTICE_CONSTANT_A",
    "CeriaColumns",
    "CeriaParticle",
    "ceria_particle",
    "column_labels",
    "fluorite_cell",
]

#: experimental lattice constant of CeO2 at room temperature in Å (JCPDS 34-0394)
CERIA_LATTICE_CONSTANT_A = 5.411

_FCC = np.array([[0, 0, 0], [0, 2, 2], [2, 0, 2], [2, 2, 0]])  # in units of a/4
_TETRA = np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1], [-1, -1, -1], [-1, 1, 1], [1, -1, 1], [1, 1, -1]])


def fluorite_cell(lattice_constant_a: float = CERIA_LATTICE_CONSTANT_A, repeat: int | Sequence[int] = 1) -> ase.Atoms:
    """Return the periodic conventional CeO2 cell (Ce4O8), optionally repeated.

    Parameters
    ----------
    lattice_constant_a
        Cubic lattice constant in Å.
    repeat
        Repetitions along x, y, z.
    """
    if not lattice_constant_a > 0:
        raise HrtemError(f"ceria lattice_constant_a must be positive, got {lattice_constant_a}")
    a = float(lattice_constant_a)
    ce = _FCC * a / 4.0
    o = (np.array([[1, 1, 1]]) + 2 * np.array(list(itertools.product((0, 1), repeat=3)))) * a / 4.0
    cell = ase.Atoms(
        ["Ce"] * 4 + ["O"] * 8, positions=np.vstack([ce, o]), cell=np.eye(3) * a, pbc=True
    )
    return cell.repeat(repeat)


@dataclass
class CeriaParticle:
    """A ceria particle, the same particle without defects, and its vacancies.

    Attributes
    ----------
    atoms
        The defective particle (oriented, in its cell).
    perfect
        The particle before the vacancies were made (same orientation and cell).
    vacancies
        The removed atoms (symbols and positions in the same frame as ``atoms``).
    """

    atoms: ase.Atoms
    perfect: ase.Atoms
    vacancies: ase.Atoms


def _facet_normals(truncation: float) -> tuple[np.ndarray, np.ndarray]:
    n111 = np.array(list(itertools.product((-1, 1), repeat=3)), float) / np.sqrt(3.0)
    n100 = np.vstack([np.eye(3), -np.eye(3)])
    normals = np.vstack([n111, n100])
    dist = np.concatenate([np.ones(8), np.full(6, float(truncation))])
    return normals, dist


def ceria_particle(
    diameter_nm: float = 3.0,
    seed_rng: np.random.Generator | None = None,
    truncation: float = 0.9,
    facet_jitter: float = 0.15,
    o_vacancy_fraction: float = 0.0,
    ce_vacancy_fraction: float = 0.0,
    lattice_constant_a: float = CERIA_LATTICE_CONSTANT_A,
    zone_axis: str | Sequence[int] = "110",
    rotation_deg: float = 0.0,
    cell_a: float | Sequence[float] | None = None,
    vacuum_a: float = 5.0,
    stoichiometric: bool = True,
) -> CeriaParticle:
    """Build a CeO2 nanoparticle with random facet distances and vacancies.

    Parameters
    ----------
    diameter_nm
        Distance between opposite {111} facets of the unjittered polyhedron in nm.
    seed_rng
        Generator (from :func:`hrtem.seeding.rng`) for the facet jitter and the
        vacancies; required when either is non-zero.
    truncation
        Distance of the {100} facets over that of the {111} facets
        (1.0: no {100} facets beyond the octahedron's corners are cut … ≈ 0.58:
        a cube; 0.9 gives a truncated octahedron).
    facet_jitter
        Each facet distance is scaled by 1 + U(−jitter, jitter) (varying thickness and shape).
    o_vacancy_fraction, ce_vacancy_fraction
        Fraction of O (Ce) sites removed at random (0 … 0.5).
    lattice_constant_a
        Cubic lattice constant in Å (default 5.411 Å).
    zone_axis
        Crystal direction along the beam z (``"110"`` or ``"100"`` give pure Ce and pure O columns).
    rotation_deg
        In-plane rotation about the beam in degrees.
    cell_a, vacuum_a
        Placement, see :func:`~hrtem.structures.orientation.place_in_cell`.
    stoichiometric
        Remove the least-bonded surface O until O = 2 Ce before making vacancies
        (a charge-neutral CeO2 particle); ``False`` keeps every O with two or more Ce
        neighbours (O-rich, ≈ CeO2.2 at 4 nm).
    """
    if not diameter_nm > 0:
        raise HrtemError(f"ceria diameter_nm must be positive, got {diameter_nm}")
    if not 0.5 <= truncation <= 1.8:
        raise HrtemError(f"ceria truncation must lie in [0.5, 1.8], got {truncation}")
    if not 0 <= facet_jitter < 0.5:
        raise HrtemError(f"ceria facet_jitter must lie in [0, 0.5), got {facet_jitter}")
    for name, f in (("o_vacancy_fraction", o_vacancy_fraction), ("ce_vacancy_fraction", ce_vacancy_fraction)):
        if not 0 <= f <= 0.5:
            raise HrtemError(f"ceria {name} must lie in [0, 0.5], got {f}")
    needs_rng = facet_jitter > 0 or o_vacancy_fraction > 0 or ce_vacancy_fraction > 0
    if seed_rng is None and needs_rng:
        raise HrtemError("ceria_particle needs a random generator (hrtem.seeding.rng) for jitter or vacancies")
    a = float(lattice_constant_a)
    half = 10.0 * diameter_nm / 2.0
    normals, dist = _facet_normals(truncation)
    dist = dist * half
    if facet_jitter > 0:
        dist = dist * (1.0 + seed_rng.uniform(-facet_jitter, facet_jitter, size=dist.size))
    # Ce sites on the fcc lattice, in units of a/4 (integers, all even, sum divisible by 4)
    m = int(np.ceil(2.0 * dist.max() * np.sqrt(3.0) / a)) + 2
    r = np.arange(-2 * m, 2 * m + 1, 2)
    ijk = np.stack(np.meshgrid(r, r, r, indexing="ij"), -1).reshape(-1, 3)
    ijk = ijk[(ijk.sum(axis=1) // 2) % 2 == 0]
    inside = np.all(ijk * (a / 4.0) @ normals.T <= dist[None, :] + 1e-9, axis=1)
    ce = ijk[inside]
    if len(ce) == 0:
        raise HrtemError(f"ceria particle of diameter {diameter_nm} nm has no atoms; make it larger")
    ce_set = {tuple(v) for v in ce}
    # tetrahedral O sites around every kept Ce; keep those with >= 2 Ce neighbours
    cand = np.unique((ce[:, None, :] + _TETRA[None, :4, :]).reshape(-1, 3), axis=0)
    cand = np.unique(np.vstack([cand, (ce[:, None, :] + _TETRA[None, 4:, :]).reshape(-1, 3)]), axis=0)
    n_neigh = np.zeros(len(cand), int)
    for d in _TETRA:
        n_neigh += np.fromiter((tuple(v) in ce_set for v in cand + d), bool, count=len(cand))
    keep = n_neigh >= 2
    excess = int(keep.sum()) - 2 * len(ce)
    if stoichiometric and excess > 0:
        # drop the least-bonded surface O (2 Ce neighbours, then 3) at random until O = 2 Ce
        pick_rng = seed_rng if seed_rng is not None else np.random.Generator(np.random.PCG64(0))
        kept = np.flatnonzero(keep)
        order = np.lexsort((pick_rng.permutation(len(kept)), n_neigh[kept]))
        keep[kept[order[:excess]]] = False
    o = cand[keep]
    symbols = ["Ce"] * len(ce) + ["O"] * len(o)
    perfect = ase.Atoms(symbols, positions=np.vstack([ce, o]) * (a / 4.0))
    perfect = orient(perfect, zone_axis, rotation_deg)
    perfect = place_in_cell(perfect, cell_a=cell_a, vacuum_a=vacuum_a)
    # vacancies: exact counts, round(f * N) per sublattice
    is_o = perfect.numbers == 8
    remove = np.zeros(len(perfect), bool)
    for mask, frac in ((is_o, o_vacancy_fraction), (~is_o, ce_vacancy_fraction)):
        idx = np.flatnonzero(mask)
        k = int(round(frac * len(idx)))
        if k:
            remove[seed_rng.choice(idx, size=k, replace=False)] = True
    atoms = perfect[~remove]
    vacancies = perfect[remove]
    info = dict(
        lattice_constant_a=a,
        diameter_nm=float(diameter_nm),
        truncation=float(truncation),
        n_ce=int(np.sum(atoms.numbers == 58)),
        n_o=int(np.sum(atoms.numbers == 8)),
        n_ce_vacancies=int(np.sum(vacancies.numbers == 58)),
        n_o_vacancies=int(np.sum(vacancies.numbers == 8)),
    )
    perfect.info.update(info)
    atoms.info.update(info)
    # remember each atom's index in the perfect particle (survives extxyz)
    atoms.arrays["site"] = np.flatnonzero(~remove)
    vacancies.arrays["site"] = np.flatnonzero(remove)
    return CeriaParticle(atoms=atoms, perfect=perfect, vacancies=vacancies)


@dataclass
class CeriaColumns:
    """Columns of a ceria particle along the beam: the atoms-per-column ground truth.

    Attributes
    ----------
    positions_xy
        (n, 2) column positions in Å (means over the perfect particle's atoms).
    numbers
        (n,) atomic number of each column (58 Ce, 8 O).
    counts
        (n,) atoms present in each column of the defective particle.
    vacancies
        (n,) vacancies in each column (perfect count − present count).
    """

    positions_xy: np.ndarray
    numbers: np.ndarray
    counts: np.ndarray
    vacancies: np.ndarray


def column_labels(particle: CeriaParticle, tolerance_a: float = 0.5) -> CeriaColumns:
    """Atoms and vacancies per column along z, from the perfect particle's columns.

    Grouping uses the perfect particle, so a column keeps its position even
    when vacancies empty it completely (count 0).
    """
    cols = project_columns(particle.perfect, tolerance_a=tolerance_a, periodic=False)
    n_cols = len(cols.counts)
    if np.any([len(np.unique(particle.perfect.numbers[cols.labels == c])) > 1 for c in range(n_cols)]):
        raise HrtemError("ceria columns mix Ce and O; use zone axis 110 or 100 for per-species column labels")
    vac_sites = particle.vacancies.arrays["site"]
    vac = np.bincount(cols.labels[vac_sites], minlength=n_cols)
    return CeriaColumns(cols.positions_xy, cols.numbers, cols.counts - vac, vac)
