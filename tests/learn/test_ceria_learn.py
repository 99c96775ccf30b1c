"""Ceria study: label sites of the training particles, class weights, per-height recall."""

import numpy as np
import pytest

from hrtem.errors import HrtemError
from hrtem.learn.ceria import ceria_structures, class_weights, learn_settings, per_height_recall

SMALL = {
    "structures": {"count": 3, "test_count": 1, "diameter_nm": [1.6, 2.0], "cell_a": 30.0,
                   "o_vacancy_fraction": [0.05, 0.05], "ce_vacancy_fraction": [0.05, 0.05]},
    "labels": {"max_height": 5},
}


def test_label_sites_are_ce_columns_with_capped_heights():
    structures = ceria_structures(SMALL, seed=4)
    assert len(structures) == 3
    for atoms in structures:
        xy, cls, h = atoms.info["label_xy"], atoms.info["label_class"], atoms.info["label_height"]
        assert len(xy) == len(cls) == len(h) > 10
        assert np.all(cls == np.minimum(h, 5)) and cls.min() >= 1 and cls.max() <= 5
        assert h.max() > 5  # some columns taller than K go into class K
        # every site is a Ce column: the Ce atoms within 0.5 A in projection number exactly its height
        ce = atoms.positions[atoms.numbers == 58, :2]
        for p, n in zip(xy, h):
            assert np.sum(np.linalg.norm(ce - p, axis=1) < 0.5) == n
        # and every Ce atom belongs to a site
        d = np.min(np.linalg.norm(ce[:, None, :] - xy[None], axis=2), axis=1)
        assert np.all(d < 0.5)
        assert np.all(atoms.cell.lengths()[:2] == 30.0)
    again = ceria_structures(SMALL, seed=4)
    np.testing.assert_array_equal(again[1].positions, structures[1].positions)


def test_test_count_must_leave_training_particles():
    with pytest.raises(HrtemError, match="test_count"):
        ceria_structures({"structures": {"count": 2, "test_count": 2}}, seed=0)


def test_settings_map_onto_learn_keys():
    s = learn_settings({**SMALL, "data": {"sampling_a": 0.3}, "exit_waves": {"sampling_a": 0.15}})
    assert s["microscope"]["energy_kev"] == 300
    assert s["data"]["sampling_a"] == 0.3 and s["data"]["wave_sampling_a"] == 0.15 and s["data"]["channels"] == 1
    from hrtem.learn.data import DATA_DEFAULTS, MICROSCOPE_RANGES_DEFAULTS

    # every key is one of learn.data / learn.microscope (TrainingImages rejects unknown keys)
    assert set(s["data"]) <= set(DATA_DEFAULTS) and set(s["microscope"]) <= set(MICROSCOPE_RANGES_DEFAULTS)


def test_inverse_frequency_weights():
    f = np.array([0.9, 0.07, 0.02, 0.01, 0.0])
    w = class_weights(f, power=1.0, max_weight=1e9)
    # w_k * f_k is the same for every seen class, pixel-averaged weight is 1
    np.testing.assert_allclose((w * f)[:4], (w * f)[0])
    assert np.sum(f * w) == pytest.approx(1.0)
    assert w[4] == 1e9  # never seen: the cap
    np.testing.assert_allclose(class_weights(f, power=0.0)[:4], 1.0)
    capped = class_weights(f, 1.0, max_weight=10.0)
    assert capped.max() == 10.0 and capped[0] == pytest.approx(w[0])


def test_per_height_recall_counts():
    true = np.array([[0.0, 0.0], [5.0, 0.0], [10.0, 0.0], [15.0, 0.0]])
    tcls = np.array([1, 2, 2, 3])
    det = np.array([[30.0, 0.0], [0.1, 0.0], [5.2, 0.0], [10.0, 0.3]])
    dcls = np.array([3, 1, 3, 2])
    n, right, found = per_height_recall(det, dcls, true, tcls, 3, radius_a=0.5)
    np.testing.assert_array_equal(n, [1, 2, 1])
    np.testing.assert_array_equal(found, [1, 2, 0])
    np.testing.assert_array_equal(right, [1, 1, 0])
