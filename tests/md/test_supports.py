"""Oxide slabs and supported half-particles."""

from __future__ import annotations

import numpy as np
import pytest
from ase.neighborlist import neighbor_list
from hypothesis import given, settings
from hypothesis import strategies as st

from hrtem.errors import HrtemError
from hrtem.md.model import model_from_config
from hrtem.structures.supports import anatase_001, half_particle, oxide_slab, supported_particle, zro2_111


def _symbols(atoms):
    return np.array(atoms.get_chemical_symbols())


@pytest.mark.parametrize(
    ("builder", "cation", "per_cell", "cn_bulk"),
    [(zro2_111, "Zr", 6, 8), (anatase_001, "Ti", 3, 6)],
)
def test_slab_is_stoichiometric_o_terminated_and_orthogonal(builder, cation, per_cell, cn_bulk):
    slab = builder(repeat=(3, 2), layers=3, fixed_layers=1)
    sym = _symbols(slab)
    assert (sym == "O").sum() == 2 * (sym == cation).sum()
    assert len(slab) == 3 * 2 * 3 * per_cell
    cell = np.asarray(slab.cell)
    assert np.allclose(cell, np.diag(np.diag(cell)))
    assert list(slab.pbc) == [True, True, False]
    z = slab.positions[:, 2]
    assert set(sym[z > z.max() - 0.2]) == {"O"}
    assert set(sym[z < z.min() + 0.2]) == {"O"}
    # the middle trilayer's cations have the bulk coordination (Zr 8, Ti 6)
    i, _ = neighbor_list("ij", slab, 2.45)
    cn = np.bincount(i, minlength=len(slab))
    mid = (sym == cation) & (np.abs(z - np.median(z[sym == cation])) < 0.5)
    assert mid.any() and (cn[mid] == cn_bulk).all()
    # fixed = exactly the bottom trilayer, at the bottom
    fixed = slab.arrays["fixed"]
    assert fixed.sum() == len(slab) // 3
    assert z[fixed].max() < z[~fixed].min()
    assert np.array_equal(slab.get_tags(), fixed.astype(int))


def test_zro2_111_surface_cell_and_spacing():
    slab = zro2_111(repeat=(1, 1), layers=2, a_A=5.126)
    a = 5.126
    assert slab.cell[0, 0] == pytest.approx(a / np.sqrt(2))
    assert slab.cell[1, 1] == pytest.approx(a * np.sqrt(6) / 2)
    assert slab.info["trilayer_spacing_A"] == pytest.approx(a / np.sqrt(3), abs=1e-3)


def test_half_particle_has_a_flat_close_packed_base():
    p = half_particle("Cu", a_A=3.61, radius_A=7.0)
    assert len(p) == 119
    z = p.positions[:, 2]
    base = np.abs(z) < 1e-6
    # (111) spacing a/√3 between the base and the next plane
    assert np.sort(np.unique(np.round(z, 3)))[1] == pytest.approx(3.61 / np.sqrt(3), abs=1e-3)
    i, d = neighbor_list("id", p[base], 2.6)
    assert np.bincount(i).max() == 6  # hexagonal (111) plane
    assert d.min() == pytest.approx(3.61 / np.sqrt(2), abs=1e-6)
    p100 = half_particle("Cu", a_A=3.61, radius_A=7.0, interface=(1, 0, 0))
    z = p100.positions[:, 2]
    assert np.sort(np.unique(np.round(z, 3)))[1] == pytest.approx(3.61 / 2, abs=1e-3)


@settings(max_examples=8, deadline=None)
@given(rotation=st.floats(0, 60), gap=st.floats(1.5, 3.0))
def test_supported_particle_gap_and_rotation(rotation, gap):
    slab = zro2_111(repeat=(6, 4))
    part = half_particle(radius_A=6.0)
    model = supported_particle(slab, part, gap_A=gap, rotation_deg=rotation)
    n_s = len(slab)
    zp = model.positions[n_s:, 2]
    assert zp.min() - slab.positions[:, 2].max() == pytest.approx(gap)
    assert not model.arrays["fixed"][n_s:].any()
    assert model.arrays["fixed"][:n_s].sum() == slab.arrays["fixed"].sum()
    # rotation about z preserves the particle's shape: pair distances unchanged
    d0 = np.sort(np.linalg.norm(part.positions - part.positions.mean(0), axis=1))
    p = model.positions[n_s:]
    d1 = np.sort(np.linalg.norm(p - p.mean(0), axis=1))
    assert np.allclose(d0, d1, atol=1e-9)
    assert model.positions[:, 2].max() < model.cell[2, 2] - 9.9


def test_particle_too_large_for_support_is_an_error():
    with pytest.raises(HrtemError, match="md.support.repeat"):
        supported_particle(zro2_111(repeat=(3, 2)), half_particle(radius_A=8.0))
    with pytest.raises(HrtemError, match="unknown oxide"):
        oxide_slab("rutile_110")


def test_default_model_from_config():
    model = model_from_config({})
    assert model.info["n_support"] == 288 and model.info["n_particle"] == 119
    assert len(model) == 407
    ana = model_from_config({"support": {"oxide": "anatase_001", "repeat": [6, 6], "layers": 2}}, 45.0)
    assert set(_symbols(ana)) == {"Cu", "O", "Ti"}
