"""Amorphous carbon film: density, no close pairs, bond-length first RDF peak."""

import numpy as np
import pytest

from hrtem.errors import HrtemError
from hrtem.seeding import rng
from hrtem.structures.carbon import (
    amorphous_carbon,
    density_g_cm3,
    pair_distances,
    radial_distribution,
    random_sequential_carbon,
    shifted_film,
)


@pytest.fixture(scope="module")
def film():
    # ~1,000 atoms, Tersoff anneal + quench + minimisation (a few seconds)
    return amorphous_carbon(25.0, 16.0, rng(0, "carbon_test"), density=2.0, anneal_steps=600)


def test_density_within_5_percent(film):
    assert density_g_cm3(film) == pytest.approx(2.0, rel=0.05)
    # count / volume by hand: 2 g/cm3 = 0.1003 atoms per cubic Angstrom
    assert len(film) / film.get_volume() == pytest.approx(2.0 / 12.011 * 6.02214076e23 * 1e-24, rel=0.05)
    assert np.all(film.numbers == 6)


def test_no_close_pairs_and_bond_length_peak(film):
    d = pair_distances(film, 3.0)
    assert d.min() >= 1.2
    r, g = radial_distribution(film, r_max_a=4.0, bin_a=0.02)
    peak = r[np.argmax(g)]
    assert 1.4 <= peak <= 1.6
    # a bonded network: most atoms have 2-4 neighbours within 1.85 A (sp, sp2, sp3)
    from scipy.spatial import cKDTree

    box = film.cell.lengths()
    tree = cKDTree(np.mod(film.positions, box), boxsize=box)
    coord = np.array([len(n) - 1 for n in tree.query_ball_point(np.mod(film.positions, box), 1.85)])
    assert np.mean((coord >= 2) & (coord <= 4)) > 0.8
    # almost no density between the first and second shells (a real gap, unlike a dense liquid)
    assert g[(r > 1.9) & (r < 2.1)].mean() < 0.3 * g.max()


def test_relaxation_makes_a_bond_peak(film):
    raw = random_sequential_carbon(20.0, 10.0, rng(1, "raw"), density=2.0, min_distance_a=1.3)
    d = pair_distances(raw, 3.0)
    assert d.min() >= 1.3
    assert density_g_cm3(raw) == pytest.approx(2.0, rel=0.01)
    _, g_raw = radial_distribution(raw)
    _, g = radial_distribution(film)
    assert g_raw.max() < 2.5  # hard-core gas: no bond peak
    assert g.max() > 3 * g_raw.max()


def test_seeded_and_shift_keeps_density(film):
    a = random_sequential_carbon(15.0, 8.0, rng(5, "s"))
    b = random_sequential_carbon(15.0, 8.0, rng(5, "s"))
    np.testing.assert_array_equal(a.positions, b.positions)
    s = shifted_film(film, rng(2, "shift"))
    assert len(s) == len(film)
    assert np.all((s.positions >= -1e-9) & (s.positions <= film.cell.lengths() + 1e-9))
    # a periodic translation keeps all pair distances
    np.testing.assert_allclose(np.sort(pair_distances(s, 2.0)), np.sort(pair_distances(film, 2.0)), atol=1e-6)


def test_bad_density():
    with pytest.raises(HrtemError, match="density"):
        random_sequential_carbon(10.0, 10.0, rng(0), density=10.0)
