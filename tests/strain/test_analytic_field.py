"""Thesis Fig. 3.9 experiment: the analytic field (Eq. 3.15) under noise."""

from __future__ import annotations

import numpy as np

from hrtem.figures import fig3_9
from hrtem.strain.synthetic import analytic_field
from hrtem.strain.tensor import strain_from_gradient


def test_analytic_field_gradient_matches_its_displacement():
    """u of the closed form differentiates to the printed ε_xx, ε_yy (finite differences)."""
    rng = np.random.default_rng(0)
    pts = rng.uniform(-20, 20, (50, 2))
    h = 1e-5
    _, f = analytic_field(pts, amplitude=0.05, width_a=10.0, centre=(0, 0))
    for k, e in enumerate(np.eye(2)):
        up, _ = analytic_field(pts + h * e, amplitude=0.05, width_a=10.0, centre=(0, 0))
        dn, _ = analytic_field(pts - h * e, amplitude=0.05, width_a=10.0, centre=(0, 0))
        np.testing.assert_allclose((up - dn)[:, :] / (2 * h), f[:, :, k], atol=1e-7)
    x, y = pts[:, 0] / 10, pts[:, 1] / 10
    np.testing.assert_allclose(f[:, 0, 0] - 1, 0.05 * (x + y) * np.exp(-x * x - y * y), atol=1e-12)
    np.testing.assert_allclose(f[:, 1, 1] - 1, 0.05 * (x - y) * np.exp(-x * x - y * y), atol=1e-12)
    exx, eyy, _, _ = strain_from_gradient(f)
    assert np.max(np.abs(exx - (f[:, 0, 0] - 1))) < 2e-3  # finite-strain correction is second order


def test_errors_shrink_as_averaging_grows():
    """STM (4 → 8 → 12 neighbours) and GPA (mask 0.3 → 0.2 → 0.15 |g|): RMS error decreases."""
    params = {"size_px": 256, "width_fraction": 0.25, "amplitude": 0.05, "margin_a": 4.0,
              "templates": ["square4", "square8", "square12"], "mask_radii": [0.3, 0.2, 0.15]}
    out = fig3_9.compute(params, seed=0)
    stm = [r for r in out["rows"] if r[0] == "stm"]
    gpa = [r for r in out["rows"] if r[0] == "gpa"]
    for rows in (stm, gpa):
        for comp in (2, 3):
            errs = [r[comp] for r in rows]
            assert all(b < a for a, b in zip(errs, errs[1:], strict=False)), (rows, errs)
    # both methods end up at the same level (thesis: neither more nor less noise-stable)
    assert stm[-1][2] < 0.006 and gpa[-1][2] < 0.006
    assert 0.5 < stm[-1][2] / gpa[-1][2] < 2.0
    # the field itself is several times larger than the final error
    assert np.nanmax(np.abs(out["true_exx"])) > 5 * stm[-1][2]
