"""3D lattice strain of MD structures by polyhedral template matching (OVITO).

The thesis (§5.4, Fig. 5.4) computes the strain of a supported particle from
positions averaged over the end of the anneal, with the method of Larsen
et al. (polyhedral template matching, PTM). Here OVITO's
``PolyhedralTemplateMatchingModifier`` gives, for every atom with an fcc
environment, the elastic deformation gradient F relative to an ideal template
normalised to the local mean interatomic distance d, and d itself. The strain
relative to a reference lattice constant a0 is then

    F_abs = (d / d0) · F,   d0 = a0 / √2 (fcc),
    F_abs = V · R  (left polar decomposition),   ε = V − 1,

a symmetric tensor in the laboratory frame (x, y in the surface plane, z the
surface normal): ε_xx, ε_yy, ε_zz are the normal strains along the axes,
independent of the lattice orientation. Atoms that are not fcc (surface,
interface, disordered) get NaN.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from ase import Atoms
from scipy.linalg import polar

from hrtem.errors import HrtemError

__all__ = ["ptm_strain", "strain_of_particle", "thermal_average"]

_COMPONENTS = ("xx", "yy", "zz", "xy", "xz", "yz")


def thermal_average(frames: Sequence[Atoms]) -> Atoms:
    """Mean positions of a trajectory, unwrapped across periodic boundaries.

    Each frame's displacement from the first frame is taken by the minimum
    image convention along periodic axes (atoms move far less than half a cell
    between snapshots), so atoms crossing a boundary average correctly.
    Charges are averaged too. The result is wrapped into the cell.
    """
    if not frames:
        raise HrtemError("thermal_average needs at least one snapshot (did the run sample any stage?)")
    first = frames[0]
    n = len(first)
    cell = np.diag(np.asarray(first.cell))
    pbc = np.asarray(first.pbc)
    acc = np.zeros((n, 3))
    qacc = np.zeros(n)
    for f in frames:
        if len(f) != n:
            raise HrtemError("snapshots differ in number of atoms; cannot average")
        d = f.positions - first.positions
        for k in range(3):
            if pbc[k] and cell[k] > 0:
                d[:, k] -= cell[k] * np.round(d[:, k] / cell[k])
        acc += d
        qacc += f.get_initial_charges()
    out = first.copy()
    out.positions = first.positions + acc / len(frames)
    out.set_initial_charges(qacc / len(frames))
    out.wrap()
    out.info["averaged_frames"] = len(frames)
    return out


def ptm_strain(atoms: Atoms, reference_a_A: float, rmsd_cutoff: float = 0.12) -> dict[str, np.ndarray]:
    """Per-atom lattice strain of fcc atoms in the laboratory frame.

    Parameters
    ----------
    atoms
        Structure (only fcc environments get a strain).
    reference_a_A
        Unstrained fcc lattice constant a0 in Å.
    rmsd_cutoff
        PTM RMSD cutoff (OVITO's default 0.1; larger accepts more distorted sites).

    Returns
    -------
    dict
        ``strain`` (N, 3, 3) with NaN for non-fcc atoms, ``eps_xx`` … ``eps_yz``
        (N,), ``fcc`` (N,) bool, ``interatomic_distance_A`` (N,).
    """
    from ovito.io.ase import ase_to_ovito  # noqa: PLC0415  (optional dependency)
    from ovito.modifiers import PolyhedralTemplateMatchingModifier  # noqa: PLC0415
    from ovito.pipeline import Pipeline, StaticSource  # noqa: PLC0415

    if reference_a_A <= 0:
        raise HrtemError(f"reference lattice constant must be positive, got {reference_a_A}")
    n = len(atoms)
    a = Atoms(numbers=atoms.numbers, positions=atoms.positions, cell=atoms.cell, pbc=atoms.pbc)
    data = ase_to_ovito(a)
    pipe = Pipeline(source=StaticSource(data=data))
    ptm = PolyhedralTemplateMatchingModifier(
        output_deformation_gradient=True, output_interatomic_distance=True, rmsd_cutoff=rmsd_cutoff
    )
    pipe.modifiers.append(ptm)
    out = pipe.compute()
    stype = np.asarray(out.particles["Structure Type"])
    fcc = stype == int(PolyhedralTemplateMatchingModifier.Type.FCC)
    grad = np.asarray(out.particles["Elastic Deformation Gradient"]).reshape(n, 3, 3)
    grad = np.transpose(grad, (0, 2, 1))  # OVITO stores column-major
    dist = np.asarray(out.particles["Interatomic Distance"], float)
    d0 = reference_a_A / np.sqrt(2.0)
    strain = np.full((n, 3, 3), np.nan)
    for i in np.flatnonzero(fcc):
        _, v = polar(grad[i] * (dist[i] / d0), side="left")
        strain[i] = v - np.eye(3)
    res: dict[str, np.ndarray] = {"strain": strain, "fcc": fcc, "interatomic_distance_A": dist}
    for c in _COMPONENTS:
        i, j = "xyz".index(c[0]), "xyz".index(c[1])
        res[f"eps_{c}"] = strain[:, i, j]
    return res


def strain_of_particle(atoms: Atoms, element: str, reference_a_A: float, rmsd_cutoff: float = 0.12) -> Atoms:
    """The ``element`` atoms of a model with per-atom strain arrays attached.

    PTM runs on the particle alone (the support's atoms are removed so they
    do not enter the neighbour shells). The returned Atoms carry
    ``arrays['eps_xx']`` … ``['eps_yz']`` (NaN where not fcc) and ``['fcc']``.
    """
    sel = np.array([s == element for s in atoms.get_chemical_symbols()])
    if not sel.any():
        raise HrtemError(f"the structure has no {element} atoms (md.particle.element)")
    part = atoms[sel]
    res = ptm_strain(part, reference_a_A, rmsd_cutoff)
    for k, v in res.items():
        if k != "strain":
            part.arrays[k] = v
    return part
