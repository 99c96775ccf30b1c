"""Atom-by-atom growth (Eq. 6.18) and random training particles."""

import numpy as np
import pytest

from hrtem.seeding import rng
from hrtem.structures.columns import project_columns
from hrtem.structures.growth import NEIGHBOURS, coordination, grow, random_particle, seed_crystal

A_AU = 4.078


def _ijk(atoms):
    return np.round(atoms.positions / (A_AU / 2)).astype(int)


def test_neighbour_shell():
    assert len(NEIGHBOURS) == 12
    assert np.all(np.sum(NEIGHBOURS**2, axis=1) == 2)  # |(±1, ±1, 0)|² in (a/2)²


def test_zero_temperature_fills_most_coordinated_sites_first():
    base = seed_crystal("Au", (4, 5, 4))
    grown = grow(base, 400, 0.0, rng(0, "test", "T0"))
    new = grown.arrays["growth_step"] >= 0
    chosen = grown.arrays["growth_coordination"][new]
    best = grown.arrays["growth_max_coordination"][new]
    assert np.array_equal(chosen, best)  # every step took a maximally coordinated site
    hot = grow(base, 400, 100.0, rng(0, "test", "Thot"))
    new_hot = hot.arrays["growth_step"] >= 0
    frac_best_hot = np.mean(hot.arrays["growth_coordination"][new_hot] == hot.arrays["growth_max_coordination"][new_hot])
    assert frac_best_hot < 0.1  # measured 0.0125: T → ∞ picks candidates almost uniformly


def test_roughness_grows_with_temperature():
    base = seed_crystal("Au", (4, 5, 4))
    mean_n, under = [], []
    for t in (0.0, 0.5, 2.0, 100.0):
        g = grow(base, 400, t, rng(0, "test", "rough"))
        new = g.arrays["growth_step"] >= 0
        mean_n.append(g.arrays["growth_coordination"][new].mean())
        under.append(np.mean(coordination(_ijk(g)) < 12))
    # measured mean N_i: 5.26, 5.20, 4.62, 2.66; under-coordinated fraction 0.52, 0.51, 0.66, 0.88
    assert all(np.diff(mean_n) < 0.01)
    assert mean_n[0] - mean_n[-1] > 2
    assert under[-1] > under[0] + 0.2


def test_eq_6_18_site_probabilities():
    # one growth step many times: P(N) must equal n_N exp(N/T) / Σ n_M exp(M/T)
    base = seed_crystal("Au", (2, 2, 2))
    ijk = _ijk(base)
    occupied = {tuple(p) for p in ijk}
    cand = {tuple(p + d) for p in ijk for d in NEIGHBOURS} - occupied
    n_cand = np.array([sum(tuple(np.add(c, d)) in occupied for d in NEIGHBOURS) for c in sorted(cand)])
    temperature = 2.0  # 36 sites with N=1, 24 with N=3: P(N=3) = 0.644
    levels = np.unique(n_cand)
    weights = np.array([np.sum(n_cand == n) * np.exp(n / temperature) for n in levels])
    expected = weights / weights.sum()
    draws = 600
    g = rng(0, "test", "eq618")
    got = np.zeros(len(levels))
    for _ in range(draws):
        one = grow(base, 1, temperature, g)
        got[np.searchsorted(levels, one.arrays["growth_coordination"][-1])] += 1
    got /= draws
    assert np.abs(got - expected).max() < 4 * np.sqrt(expected.max() * (1 - expected.max()) / draws) + 0.01


def test_grown_atoms_are_distinct_connected_lattice_sites():
    g = grow(seed_crystal("Au", (3, 4, 3)), 200, 1.0, rng(1, "test"))
    ijk = _ijk(g)
    assert np.allclose(ijk * A_AU / 2, g.positions)
    assert np.all(ijk.sum(axis=1) % 2 == 0)
    assert len({tuple(p) for p in ijk}) == len(g)
    assert np.all(g.arrays["growth_coordination"][g.arrays["growth_step"] >= 0] >= 1)


def test_random_particle_is_reproducible_and_placed():
    a = random_particle(7, "structure_grown", 0)
    b = random_particle(7, "structure_grown", 0)
    c = random_particle(7, "structure_grown", 1)
    assert np.array_equal(a.positions, b.positions) and a.info == b.info
    assert len(c) != len(a) or not np.allclose(c.positions, a.positions)
    for p in (a, c):
        assert np.allclose(p.cell.lengths()[:2], 50.0)
        lo, hi = p.positions[:, :2].min(0), p.positions[:, :2].max(0)
        assert np.all(lo >= 2.0 - 1e-9) and np.all(hi <= 48.0 + 1e-9)
        assert p.info["zone_axis"] in ("110", "111")
        assert 0 <= p.info["tilt_deg"] <= 3.0


def test_random_particle_untilted_columns_count_all_atoms():
    p = random_particle(3, "cols", tilt_max_deg=0.0)
    cols = project_columns(p, tolerance_a=0.4)
    assert cols.counts.sum() == len(p)
    assert cols.spread_a.max() < 1e-6
