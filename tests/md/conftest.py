"""Shared tiny systems for the MD tests."""

from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk

from hrtem.seeding import rng


@pytest.fixture
def aucu() -> Atoms:
    """108-atom periodic fcc Au with 27 random sites Cu (seeded)."""
    atoms = bulk("Au", "fcc", a=4.08, cubic=True).repeat(3)
    sym = np.array(atoms.get_chemical_symbols())
    sym[rng(0, "tests", "aucu").choice(len(atoms), 27, replace=False)] = "Cu"
    atoms.set_chemical_symbols(sym)
    return atoms


@pytest.fixture(scope="session")
def tiny_cu_zro2() -> Atoms:
    """229-atom Cu half-particle (49 atoms) on a 2-trilayer c-ZrO2(111) slab."""
    from hrtem.structures.supports import half_particle, supported_particle, zro2_111

    return supported_particle(zro2_111(repeat=(5, 3)), half_particle(radius_A=5.5), rotation_deg=10.0)
