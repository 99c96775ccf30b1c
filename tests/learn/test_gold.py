"""Gold training structures, focal series and the surface time series (issue 11, hrtem.learn.gold)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial import cKDTree

from hrtem.errors import HrtemError
from hrtem.learn.gold import GOLD_DEFAULTS, gold_particle, gold_section, gold_structures, surface_time_series

HEIGHT = {"labels": {"mode": "height", "max_height": 100}}


@pytest.mark.parametrize("zone", ["110", "111"])
def test_column_heights_of_a_particle_are_the_label_classes(zone):
    # no tilt: every atom lies within 0.2 Å of its column's site, so counting atoms per nearest site
    # (independent of the single-linkage grouping) must give each label's class
    section = {**HEIGHT, "structures": {"zone_axes": [zone], "tilt_max_deg": 0.0}}
    for i in range(2):
        p = gold_particle(section, seed=3, index=i)
        xy, cls = p.info["label_xy"], p.info["label_class"]
        d, nearest = cKDTree(xy).query(p.positions[:, :2])
        assert d.max() < 0.2
        np.testing.assert_array_equal(np.bincount(nearest, minlength=len(xy)), cls)
        np.testing.assert_array_equal(cls, p.info["label_height"])
        assert p.info["zone_axis"] == zone and cls.max() >= 3  # a particle, not a monolayer
        # <110> columns of fcc are at least a·sqrt(3/8) = 2.50 Å apart, <111> a/sqrt(6) = 1.66 Å
        dmin = cKDTree(xy).query(xy, k=2)[0][:, 1].min()
        assert dmin == pytest.approx(4.078 * (np.sqrt(3 / 8) if zone == "110" else 1 / np.sqrt(6)), abs=0.02)


def test_random_particles_tilt_zone_cell_and_capped_classes():
    section = {"labels": {"mode": "height", "max_height": 4}}
    ps = gold_structures({**section, "structures": {"count": 6}}, seed=1)
    assert len(ps) == 6
    zones = {p.info["zone_axis"] for p in ps}
    assert zones <= {"110", "111"} and len(zones) == 2
    for p in ps:
        assert 0.0 <= p.info["tilt_deg"] <= 3.0
        np.testing.assert_allclose(p.cell.lengths()[:2], [50.0, 50.0])
        assert tuple(p.pbc) == (True, True, False)
        h, cls = p.info["label_height"], p.info["label_class"]
        assert h.sum() == len(p)  # every atom is in exactly one column
        np.testing.assert_array_equal(cls, np.minimum(h, 4))
        xy = p.positions[:, :2]
        assert xy.min() >= 2.0 - 1e-6 and xy.max() <= 48.0 + 1e-6  # margin_a kept
    # detection labels: one class, same sites
    q = gold_particle({"structures": {"count": 6}}, seed=1, index=0)
    np.testing.assert_array_equal(q.info["label_class"], 1)
    np.testing.assert_allclose(q.info["label_xy"], ps[0].info["label_xy"])
    # seeded: same seed same particle, other seed another
    np.testing.assert_allclose(gold_particle({}, 1, 0).positions, q.positions)
    assert len(gold_particle({}, 2, 0)) != len(q) or not np.allclose(gold_particle({}, 2, 0).positions, q.positions)


def test_bad_gold_settings_are_user_errors():
    with pytest.raises(HrtemError, match="learn.gold.labels.mode"):
        gold_section({"labels": {"mode": "atoms"}})
    with pytest.raises(HrtemError, match="learn.gold.structures: unknown"):
        gold_section({"structures": {"size": 3}})


def test_time_series_is_deterministic_per_seed():
    a, b = surface_time_series({}, seed=4), surface_time_series({}, seed=4)
    assert len(a.frames) == GOLD_DEFAULTS["time_series"]["frames"]
    np.testing.assert_array_equal(a.site_height, b.site_height)
    np.testing.assert_allclose(a.site_xy, b.site_xy)
    for fa, fb in zip(a.frames, b.frames):
        np.testing.assert_allclose(fa.positions, fb.positions)
    c = surface_time_series({}, seed=5)
    assert c.site_height.shape != a.site_height.shape or not np.array_equal(c.site_height, a.site_height)


def test_time_series_conserves_atoms_and_changes_only_the_surface():
    ts = surface_time_series({"time_series": {"frames": 6, "moves_per_frame": 5}}, seed=2)
    n0 = len(ts.frames[0])
    np.testing.assert_array_equal(ts.n_atoms, n0)  # hops only: closed system
    np.testing.assert_array_equal(ts.site_height.sum(axis=1), n0)
    occ = ts.site_height > 0
    assert ts.events.max() > 0 and 0 < ts.occupancy.min() < 1  # the surface does change
    # each frame's label sites are exactly its occupied ground-truth sites, with their heights
    for f, frame in enumerate(ts.frames):
        d, k = cKDTree(ts.site_xy).query(frame.info["label_xy"])
        assert d.max() < 1e-6
        np.testing.assert_array_equal(np.sort(k), np.flatnonzero(occ[f]))
        np.testing.assert_array_equal(frame.info["label_height"], ts.site_height[f, k])
    # a hop changes two columns by one atom each: per frame the heights change by at most 2 per move, evenly
    change = np.abs(np.diff(ts.site_height, axis=0)).sum(axis=1)
    assert np.all(change <= 2 * 5) and np.all(change % 2 == 0)
    # exchange with the surroundings changes the atom count by at most one per move
    ex = surface_time_series({"time_series": {"frames": 4, "moves_per_frame": 3, "exchange_probability": 1.0}}, seed=2)
    steps = np.abs(np.diff(ex.n_atoms))
    assert np.all(steps <= 3) and np.ptp(ex.n_atoms) > 0
    np.testing.assert_array_equal(ex.site_height.sum(axis=1), ex.n_atoms)


def test_schema_defaults_equal_the_code_and_bounds_hold():
    from hrtem.config import ConfigError, validate_config

    assert validate_config({})["learn"]["gold"] == GOLD_DEFAULTS
    with pytest.raises(ConfigError, match="tilt_max_deg"):
        validate_config({"learn": {"gold": {"structures": {"tilt_max_deg": float("inf")}}}})
