"""Strain calibration from fully matched interior points; bad point sets are refused."""

from __future__ import annotations

import numpy as np
import pytest

from hrtem.errors import HrtemError
from hrtem.strain.io import read_positions
from hrtem.strain.matching import match_templates


def _square(n: int = 10, a: float = 2.0, angle: float = 0.0, origin=(3.0, 3.0)) -> np.ndarray:
    pts = np.array([[i * a, j * a] for i in range(n) for j in range(n)], float)
    c, s = np.cos(angle), np.sin(angle)
    return pts @ np.array([[c, -s], [s, c]]).T + np.asarray(origin)


@pytest.mark.parametrize("template", ["square4", "square8", "square12"])
@pytest.mark.parametrize("angle", [0.0, 0.3])
def test_perfect_square_lattice_reads_zero_strain_without_nn_distance(template, angle):
    a = 2.0
    pts = _square(10, a, angle)
    res = match_templates(pts, template)  # scale calibrated, no --nn-distance
    # the calibrated scale is the lattice's own: nn distance × template mean/nn
    from hrtem.strain.templates import get_template

    assert res.reference_distance[template] == pytest.approx(a * get_template(template).mean_over_nn, rel=1e-12)
    ij = np.array([[i, j] for i in range(10) for j in range(10)])
    interior = (ij.min(axis=1) >= 2) & (ij.max(axis=1) <= 7)
    for comp in (res.exx, res.eyy, res.exy):
        assert np.all(np.isfinite(comp[interior]))
        assert np.max(np.abs(comp[interior])) < 1e-9


def test_uniform_strain_is_measured_against_the_given_distance_not_hidden():
    # 3 % expansion with the unstrained distance given: +3 %; calibrated: 0 (by construction)
    pts = _square(10, 2.06)
    given = match_templates(pts, "square4", nn_distance=2.0)
    ij = np.array([[i, j] for i in range(10) for j in range(10)])
    interior = (ij.min(axis=1) >= 1) & (ij.max(axis=1) <= 8)
    assert np.allclose(given.exx[interior], 0.03, atol=1e-9)
    assert np.allclose(match_templates(pts, "square4").exx[interior], 0.0, atol=1e-9)


def test_duplicate_points_are_an_error_not_minus_100_percent():
    pts = _square(6)
    with pytest.raises(HrtemError, match="duplicate point"):
        match_templates(np.vstack([pts, pts[7:8]]), "square4")


def test_nan_and_duplicate_rows_in_a_csv_name_the_file(tmp_path):
    pts = _square(5)
    good = "x,y\n" + "\n".join(f"{x},{y}" for x, y in pts) + "\n"
    (tmp_path / "nan.csv").write_text(good + "nan,1.0\n")
    (tmp_path / "dup.csv").write_text(good + f"{pts[3, 0]},{pts[3, 1]}\n")
    (tmp_path / "empty.csv").write_text("x,y\n")
    for name, fragment in (("nan.csv", "not finite"), ("dup.csv", "duplicate"), ("empty.csv", "no points")):
        with pytest.raises(HrtemError, match=fragment) as info:
            read_positions(tmp_path / name)
        assert name in str(info.value) and "\n" not in str(info.value)
