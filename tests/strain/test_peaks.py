"""Peak finding and sub-pixel refinement (thesis Eq. 3.4)."""

from __future__ import annotations

import numpy as np
import pytest

from hrtem.errors import HrtemError
from hrtem.strain.peaks import detect_columns, filter_image, find_peaks, refine_peaks, wiener
from hrtem.strain.synthetic import gaussian_image


def _grid_of_gaussians(rng, sigma_px=3.0, spacing_px=16, n=6):
    base = (np.stack(np.meshgrid(np.arange(n), np.arange(n), indexing="ij"), -1).reshape(-1, 2) + 1) * spacing_px
    centres = base + rng.uniform(-0.5, 0.5, base.shape)
    shape = ((n + 1) * spacing_px, (n + 1) * spacing_px)
    return gaussian_image(centres, shape, 1.0, sigma_a=sigma_px), centres


def test_subpixel_refinement_recovers_gaussian_centres():
    """Known Gaussian centres (σ = 3 px) recovered to ≤ 0.02 px by the quadratic fit."""
    rng = np.random.default_rng(0)
    img, centres = _grid_of_gaussians(rng)
    pk = find_peaks(img, min_distance_px=5)
    assert len(pk) == len(centres)
    ref = refine_peaks(img, pk, window_px=3)
    d = np.linalg.norm(ref[:, None] - centres[None], axis=-1)
    err = d.min(axis=1)
    assert err.max() <= 0.02
    # integer peaks alone are off by up to ~0.7 px: the fit does the work
    assert np.linalg.norm(pk[:, None] - centres[None], axis=-1).min(axis=1).max() > 0.2


def test_dark_contrast_columns_are_minima():
    rng = np.random.default_rng(1)
    img, centres = _grid_of_gaussians(rng)
    pos = detect_columns(1.0 - img, 1.0, filter="none", dark=True, min_distance_a=5)
    d = np.linalg.norm(pos[:, None] - centres[None], axis=-1).min(axis=1)
    assert len(pos) == len(centres) and d.max() <= 0.02


def test_min_distance_and_threshold():
    img = np.zeros((40, 40))
    img[10, 10], img[10, 13], img[30, 30] = 1.0, 0.9, 0.1
    assert len(find_peaks(img, min_distance_px=1, threshold_rel=0.05)) == 3
    assert len(find_peaks(img, min_distance_px=4, threshold_rel=0.05)) == 2  # 10,13 within 4 px of 10,10
    assert len(find_peaks(img, min_distance_px=1, threshold_rel=0.5)) == 2  # the 0.1 peak is below


def test_filters_reduce_noise_and_wiener_is_safe_on_flat_images():
    rng = np.random.default_rng(2)
    img, centres = _grid_of_gaussians(rng)
    noisy = img + rng.normal(0, np.sqrt(0.05), img.shape)
    for method in ("wiener", "gaussian"):
        f = filter_image(noisy, method, size_px=5, sigma_px=1.0)
        assert np.std(f - img) < 0.6 * np.std(noisy - img)
    flat = wiener(np.zeros((20, 20)))
    assert np.all(np.isfinite(flat)) and np.all(flat == 0)
    with pytest.raises(HrtemError, match="unknown filter"):
        filter_image(img, "median")
