"""CeO2 fluorite particles: stoichiometry, lattice constant, vacancies where the labels say."""

import numpy as np
import pytest
from scipy.spatial import cKDTree

from hrtem.errors import HrtemError
from hrtem.io import read_atoms, write_atoms
from hrtem.seeding import rng
from hrtem.structures.ceria import CERIA_LATTICE_CONSTANT_A, ceria_particle, column_labels, fluorite_cell
from hrtem.structures.columns import project_columns


def test_fluorite_cell_is_ceo2_with_lattice_constant():
    cell = fluorite_cell(repeat=2)
    n_ce, n_o = np.sum(cell.numbers == 58), np.sum(cell.numbers == 8)
    assert (n_ce, n_o) == (32, 64)
    assert cell.get_volume() == pytest.approx(8 * 5.411**3, rel=1e-12)
    # Ce-O 8-fold at a*sqrt(3)/4, Ce-Ce 12-fold at a/sqrt(2), O-O 6-fold at a/2 (periodic distances)
    d = cell.get_all_distances(mic=True)
    ce, o = cell.numbers == 58, cell.numbers == 8
    a = CERIA_LATTICE_CONSTANT_A
    assert np.min(d[np.ix_(ce, o)]) == pytest.approx(a * np.sqrt(3) / 4, abs=1e-9)
    assert np.all(np.sum(np.isclose(d[np.ix_(ce, o)], a * np.sqrt(3) / 4), axis=1) == 8)
    assert np.all(np.sum(np.isclose(d[np.ix_(o, ce)], a * np.sqrt(3) / 4), axis=1) == 4)
    dce = d[np.ix_(ce, ce)] + np.eye(ce.sum()) * 99
    assert np.min(dce) == pytest.approx(a / np.sqrt(2), abs=1e-9)
    assert np.all(np.sum(np.isclose(dce, a / np.sqrt(2)), axis=1) == 12)


def test_particle_is_fluorite_inside_and_near_stoichiometric():
    p = ceria_particle(3.0, rng(0, "t"), facet_jitter=0.1)
    at = p.perfect
    ce, o = at.numbers == 58, at.numbers == 8
    assert o.sum() == 2 * ce.sum()  # charge-neutral CeO2
    rich = ceria_particle(3.0, rng(0, "t"), facet_jitter=0.1, stoichiometric=False).perfect
    assert np.sum(rich.numbers == 58) == ce.sum()
    assert 2.1 < np.sum(rich.numbers == 8) / ce.sum() < 2.4  # O-terminated facets without the trim
    # interior Ce atoms (away from the surface): 8 O at a*sqrt(3)/4 and 12 Ce at a/sqrt(2)
    a = CERIA_LATTICE_CONSTANT_A
    centre = at.positions.mean(axis=0)
    inner = np.flatnonzero(ce & (np.linalg.norm(at.positions - centre, axis=1) < 5.0))
    assert len(inner) >= 4
    tree_o, tree_ce = cKDTree(at.positions[o]), cKDTree(at.positions[ce])
    for i in inner:
        assert len(tree_o.query_ball_point(at.positions[i], a * np.sqrt(3) / 4 + 0.01)) == 8
        assert len(tree_ce.query_ball_point(at.positions[i], a / np.sqrt(2) + 0.01)) == 13  # incl. itself
    # lattice constant from the nearest Ce-Ce distance
    dd, _ = tree_ce.query(at.positions[ce], k=2)
    assert np.median(dd[:, 1]) * np.sqrt(2) == pytest.approx(a, abs=1e-6)


def test_vacancies_are_where_the_labels_say():
    p = ceria_particle(3.0, rng(3, "v"), o_vacancy_fraction=0.1, ce_vacancy_fraction=0.05)
    n_o, n_ce = np.sum(p.perfect.numbers == 8), np.sum(p.perfect.numbers == 58)
    assert p.atoms.info["n_o_vacancies"] == round(0.1 * n_o)
    assert p.atoms.info["n_ce_vacancies"] == round(0.05 * n_ce)
    assert len(p.atoms) + len(p.vacancies) == len(p.perfect)
    labels = column_labels(p)
    assert labels.vacancies.sum() == len(p.vacancies)
    # columns of the defective particle alone, matched to the label columns by position
    cols = project_columns(p.atoms, tolerance_a=0.5, periodic=False)
    tree = cKDTree(labels.positions_xy)
    d, j = tree.query(cols.positions_xy)
    assert np.all(d < 0.3)
    present = np.bincount(j, weights=cols.counts, minlength=len(labels.counts))
    np.testing.assert_array_equal(present, labels.counts)
    # every vacancy lies on a column whose label counts it, with the column's species
    dv, jv = tree.query(p.vacancies.positions[:, :2])
    assert np.all(dv < 0.3)
    np.testing.assert_array_equal(np.bincount(jv, minlength=len(labels.counts)), labels.vacancies)
    assert np.all(labels.numbers[jv] == p.vacancies.numbers)
    # pure Ce or pure O columns along <110>
    assert set(np.unique(labels.numbers)) == {8, 58}


def test_sizes_thickness_vary_and_seeded(tmp_path):
    a = ceria_particle(3.0, rng(1, "a"), o_vacancy_fraction=0.05)
    b = ceria_particle(3.0, rng(1, "a"), o_vacancy_fraction=0.05)
    c = ceria_particle(3.0, rng(2, "a"), o_vacancy_fraction=0.05)
    np.testing.assert_array_equal(a.atoms.positions, b.atoms.positions)
    assert len(a.perfect) != len(c.perfect) or not np.allclose(a.perfect.positions, c.perfect.positions)
    heights = column_labels(a).counts[column_labels(a).numbers == 58]
    assert heights.max() - heights.min() >= 4  # varying column heights
    write_atoms(a.atoms, tmp_path / "c.xyz")
    back = read_atoms(tmp_path / "c.xyz")
    np.testing.assert_array_equal(back.arrays["site"], a.atoms.arrays["site"])


def test_bad_inputs():
    with pytest.raises(HrtemError, match="o_vacancy_fraction"):
        ceria_particle(3.0, rng(0), o_vacancy_fraction=0.8)
    with pytest.raises(HrtemError, match="random generator"):
        ceria_particle(3.0, None)
    with pytest.raises(HrtemError, match="110 or 100"):
        column_labels(ceria_particle(3.0, rng(0), zone_axis="111"))
