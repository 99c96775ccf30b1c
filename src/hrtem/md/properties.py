"""Material properties by minimisation (thesis §5.2.3): the fcc lattice constant."""

from __future__ import annotations

import tempfile
from pathlib import Path

from ase.build import bulk

from hrtem.errors import HrtemError
from hrtem.md.driver import LammpsSession, setup_system
from hrtem.md.settings import Potential

__all__ = ["lattice_constant"]


def lattice_constant(
    element: str,
    potential: Potential,
    a_guess_A: float,
    structure: str = "fcc",
    repeat: int = 3,
    force_tol_eV_per_A: float = 1e-6,
) -> float:
    """Equilibrium cubic lattice constant (Å) by minimisation with box relaxation.

    A ``repeat``³ supercell of the conventional cubic cell is relaxed with
    conjugate gradients and ``fix box/relax iso 0`` (zero pressure, 0 K);
    the lattice constant is the relaxed box length divided by ``repeat``.

    Parameters
    ----------
    element
        Chemical symbol.
    potential
        Potential (EAM or COMB3; charges of a pure metal stay ≈ 0).
    a_guess_A
        Starting lattice constant in Å.
    structure
        ``fcc`` or ``bcc`` (any cubic structure ASE's ``bulk`` builds).
    repeat
        Supercell size (≥ 2 so that the potential cutoff fits the box).
    force_tol_eV_per_A
        Force tolerance of the minimisation.
    """
    try:
        atoms = bulk(element, structure, a=a_guess_A, cubic=True).repeat(repeat)
    except Exception as err:
        raise HrtemError(f"cannot build {structure} {element}: {err}") from err
    with tempfile.TemporaryDirectory(prefix="hrtem-a0-") as tmp, LammpsSession() as s:
        setup_system(s, atoms, potential, Path(tmp) / "data.lmp")
        s.context = "lattice-constant minimisation"
        s.commands(
            [
                "thermo_style custom step pe lx press",
                "fix br all box/relax iso 0.0 vmax 0.001",
                "min_style cg",
                f"minimize 0.0 {force_tol_eV_per_A:g} 5000 50000",
                "unfix br",
                f"minimize 0.0 {force_tol_eV_per_A:g} 1000 10000",
            ]
        )
        return s.thermo("lx") / repeat
