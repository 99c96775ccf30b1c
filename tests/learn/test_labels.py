"""Gaussian label maps (thesis Eq. 6.7–6.9)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hrtem.errors import HrtemError
from hrtem.learn.labels import gaussian_labels


def _separated(n: int, rng: np.random.Generator, extent_a: float, min_sep_a: float) -> np.ndarray:
    pts: list[np.ndarray] = []
    while len(pts) < n:
        p = rng.uniform(4.0, extent_a - 4.0, 2)
        if all(np.hypot(*(p - q)) >= min_sep_a for q in pts):
            pts.append(p)
    return np.array(pts)


@given(seed=st.integers(0, 2**16), n=st.integers(1, 8), sigma_a=st.floats(0.3, 0.8), sampling_a=st.floats(0.08, 0.2))
@settings(max_examples=25, deadline=None)
def test_labels_integrate_to_atoms_times_gaussian_area(seed, n, sigma_a, sampling_a):
    rng = np.random.default_rng(seed)
    extent = 30.0
    shape = (int(extent / sampling_a), int(extent / sampling_a))
    pos = _separated(n, rng, extent - 2, 8 * sigma_a)
    classes = rng.integers(1, 4, n)
    lab = gaussian_labels(pos, classes, shape, sampling_a, sigma_a=sigma_a, n_classes=3)
    assert lab.shape == (*shape, 4) and lab.dtype == np.float32
    area_px = 2 * np.pi * sigma_a**2 / sampling_a**2
    for k in (1, 2, 3):
        assert lab[..., k].sum() == pytest.approx(np.sum(classes == k) * area_px, rel=2e-3, abs=1e-3)
    # probabilities: background + classes = 1 wherever the Gaussians do not overlap
    np.testing.assert_allclose(lab.sum(-1), 1.0, atol=1e-5)
    assert lab.min() >= 0 and lab.max() <= 1


def test_peak_is_one_at_the_atom_and_background_zero():
    lab = gaussian_labels(np.array([[1.2, 2.4]]), None, (40, 40), 0.12, sigma_a=0.4)
    assert lab.shape == (40, 40, 2)
    assert lab[10, 20, 1] == pytest.approx(1.0)
    assert lab[10, 20, 0] == pytest.approx(0.0, abs=1e-6)
    # one σ away along x: exp(−1/2)
    assert lab[10 + 0, 20, 1] > lab[13, 20, 1]
    x = 1.2 + 0.4
    i = round(x / 0.12)
    assert lab[i, 20, 1] == pytest.approx(np.exp(-0.5 * ((i * 0.12 - 1.2) / 0.4) ** 2), rel=1e-5)


def test_overlap_is_clipped():
    # two atoms 0.2 Å apart with σ = 1 Å overlap: class map clipped at 1, background at 0
    lab = gaussian_labels(np.array([[2.0, 2.0], [2.2, 2.0]]), [1, 1], (40, 40), 0.1, sigma_a=1.0)
    assert lab[..., 1].max() == pytest.approx(1.0)
    assert lab[..., 0].min() == pytest.approx(0.0)


def test_bad_input_raises():
    with pytest.raises(HrtemError, match="classes start at 1"):
        gaussian_labels(np.zeros((1, 2)), [0], (4, 4), 0.1)
    with pytest.raises(HrtemError, match="exceeds n_classes"):
        gaussian_labels(np.zeros((1, 2)), [3], (4, 4), 0.1, n_classes=2)
    with pytest.raises(HrtemError, match="sigma_a"):
        gaussian_labels(np.zeros((1, 2)), [1], (4, 4), 0.1, sigma_a=0)
