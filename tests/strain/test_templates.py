"""Templates: normalisation, shells, symmetry, user-defined templates."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hrtem.errors import HrtemError
from hrtem.strain.templates import TEMPLATES, Template, get_template, lattice_template, register_template


@pytest.mark.parametrize(
    ("name", "counts", "symmetry"),
    [
        ("square4", (4,), 4),
        ("square8", (4, 4), 4),
        ("hexagonal6", (6,), 6),
        ("graphene3", (3,), 3),
        ("graphene9", (3, 6), 3),
        ("graphene12", (3, 6, 3), 3),
        ("fcc110", (4, 2), 2),
        ("fcc100", (4,), 4),
    ],
)
def test_builtin_shells_and_symmetry(name, counts, symmetry):
    t = TEMPLATES[name]
    assert t.shell_counts == counts
    assert t.symmetry == symmetry
    # normalised to mean neighbour distance 1 (thesis Eq. 3.10)
    assert np.mean(np.linalg.norm(t.vectors, axis=1)) == pytest.approx(1.0, abs=1e-12)


def test_fcc110_shell_radii_are_4_plus_2():
    """<110> fcc columns: 4 neighbours at a·√(3/8), 2 at a/√2 (ratio 1.1547)."""
    t = TEMPLATES["fcc110"]
    r = np.linalg.norm(t.vectors, axis=1)
    assert r[4] / r[0] == pytest.approx(math.sqrt(4 / 3), rel=1e-9)


def test_graphene_orientation_period_is_60_degrees():
    assert math.degrees(TEMPLATES["graphene9"].rotation_period_rad) == pytest.approx(60.0)
    assert math.degrees(TEMPLATES["square8"].rotation_period_rad) == pytest.approx(90.0)


def test_user_defined_template_detects_symmetry_and_registers():
    pts = np.array([[2.0, 0.0], [0.0, 1.0], [-2.0, 0.0], [0.0, -1.0]])  # rectangle, 2-fold
    t = Template.from_points("rect_test", pts)
    assert t.symmetry == 2
    assert t.shell_counts == (2, 2)
    register_template(t, overwrite=True)
    assert get_template("rect_test") is t
    with pytest.raises(HrtemError, match="already exists"):
        register_template(t)


def test_incomplete_shell_and_unknown_name_raise():
    with pytest.raises(HrtemError, match="close a shell"):
        lattice_template("bad", np.eye(2), [[0, 0]], 5)
    with pytest.raises(HrtemError, match="unknown template 'nope'"):
        get_template("nope")
