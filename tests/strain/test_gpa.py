"""Geometric phase analysis: homogeneous strain, automatic spots, reference refinement."""

from __future__ import annotations

import numpy as np
import pytest

from hrtem.errors import HrtemError
from hrtem.strain.gpa import find_bragg_spots, gpa
from hrtem.strain.synthetic import deform, deformation_gradient, gaussian_image, lattice_points

A, S, N = 2.0, 0.2, 160  # lattice constant (Å), sampling (Å/px), image size (px)


def _strained_image(f):
    ref = lattice_points(np.eye(2) * A, [[0, 0]], (N * S * 2, N * S * 2), origin=(-N * S / 2, -N * S / 2))
    pts = deform(ref, f, centre=(N * S / 2, N * S / 2))
    pts = pts[(pts > -2).all(1) & (pts < N * S + 2).all(1)]
    return gaussian_image(pts, (N, N), S, sigma_a=0.5)


@pytest.mark.parametrize(
    ("exx", "eyy", "exy", "theta"),
    [(0.05, -0.05, 0.0, 0.0), (0.04, -0.03, 0.02, 0.1), (-0.05, 0.02, -0.05, -0.2)],
)
def test_homogeneous_strain_recovered_away_from_edges(exx, eyy, exy, theta):
    f = deformation_gradient(exx, eyy, exy, theta)
    img = _strained_image(f)
    g_ref = np.eye(2) / A  # unstrained reciprocal vectors (rows)
    res = gpa(img, S, g=g_ref @ np.linalg.inv(f), g_reference=g_ref, mask_radius=0.2)
    inner = (slice(40, N - 40), slice(40, N - 40))
    for key, true in (("exx", exx), ("eyy", eyy), ("exy", exy), ("rotation", theta)):
        err = np.max(np.abs(getattr(res, key)[inner] - true))
        assert err < 1e-3, (key, err)


def test_automatic_spots_and_reference_refinement():
    f = deformation_gradient(0.03, 0.0, 0.0, 0.0)
    img = _strained_image(f)
    g = find_bragg_spots(img, S)
    # the two first-order spots of the strained lattice: |g| = 1/(A·1.03) and 1/A
    lengths = np.sort(np.linalg.norm(g, axis=1))
    np.testing.assert_allclose(lengths, [1 / (A * 1.03), 1 / A], rtol=2e-3)
    # referencing the strained region itself gives zero strain there
    region = (slice(50, 110), slice(50, 110))
    res = gpa(img, S, mask_radius=0.2, reference=region)
    assert np.max(np.abs(res.exx[region])) < 1e-3 and np.max(np.abs(res.eyy[region])) < 1e-3


def test_gpa_rejects_collinear_g_and_bad_mask():
    img = _strained_image(np.eye(2))
    with pytest.raises(HrtemError, match="non-collinear"):
        gpa(img, S, g=np.array([[0.5, 0.0], [1.0, 0.0]]))
    with pytest.raises(HrtemError, match="mask_radius"):
        gpa(img, S, mask_radius=0.0)
