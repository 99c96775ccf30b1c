"""PTM strain of MD structures and thermal averaging."""

from __future__ import annotations

import numpy as np
import pytest
from ase.build import bulk

from hrtem.md.strain3d import ptm_strain, strain_of_particle, thermal_average
from hrtem.seeding import rng
from hrtem.structures.supports import half_particle, supported_particle, zro2_111


def test_ptm_recovers_homogeneous_strain_in_lab_frame():
    a0 = 3.61
    atoms = bulk("Cu", "fcc", a=a0, cubic=True).repeat(4)
    eps = np.array([[0.012, 0.004, 0.0], [0.004, -0.02, 0.0], [0.0, 0.0, 0.015]])
    atoms.set_cell(atoms.cell @ (np.eye(3) + eps).T, scale_atoms=True)
    atoms.rotate(33.0, "z", rotate_cell=True)
    th = np.radians(33.0)
    rot = np.array([[np.cos(th), -np.sin(th), 0], [np.sin(th), np.cos(th), 0], [0, 0, 1]])
    expected = rot @ eps @ rot.T
    res = ptm_strain(atoms, a0)
    assert res["fcc"].all()
    assert np.allclose(res["strain"], expected, atol=2e-4)


def test_hydrostatic_strain_and_surface_atoms():
    part = half_particle("Cu", a_A=3.61 * 1.01, radius_A=7.0)
    slab = zro2_111(repeat=(6, 4))
    model = supported_particle(slab, part)
    out = strain_of_particle(model, "Cu", reference_a_A=3.61)
    fcc = out.arrays["fcc"]
    assert 10 < fcc.sum() < len(out)  # interior fcc, surface atoms are not
    for c in ("xx", "yy", "zz"):
        assert np.allclose(out.arrays[f"eps_{c}"][fcc], 0.01, atol=1e-6)
    assert np.isnan(out.arrays["eps_xx"][~fcc]).all()


def test_thermal_average_across_periodic_boundary():
    atoms = bulk("Cu", "fcc", a=3.61, cubic=True).repeat(3)
    atoms.positions[0] = [0.05, 1.0, 1.0]
    g = rng(0, "tests", "avg")
    frames = []
    for _ in range(40):
        f = atoms.copy()
        f.positions += g.normal(0, 0.1, f.positions.shape)
        f.wrap()
        frames.append(f)
    avg = thermal_average(frames)
    d = avg.positions - atoms.positions
    d -= np.diag(atoms.cell) * np.round(d / np.diag(atoms.cell))
    assert np.abs(d).max() < 4 * 0.1 / np.sqrt(40) + 1e-3
    assert avg.info["averaged_frames"] == 40
