"""Specimen tilt: exact at 0°, rigid rotation about the cell centre, columns move as predicted."""

from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms
from ase.cluster.cubic import FaceCenteredCubic
from hypothesis import given, settings
from hypothesis import strategies as st

from hrtem.config import validate_config
from hrtem.errors import HrtemError
from hrtem.simulate import exit_waves
from hrtem.simulate.tilt import tilt_atoms, tilt_frames, tilt_rotation
from hrtem.structures.columns import project_columns


def _column(n=6, spacing=2.88, xy=(7.0, 4.0), cell=(12.0, 12.0, 30.0)):
    z0 = cell[2] / 2 - (n - 1) * spacing / 2
    pos = [(xy[0], xy[1], z0 + k * spacing) for k in range(n)]
    return Atoms(["Au"] * n, positions=pos, cell=cell, pbc=False)


@settings(max_examples=60, deadline=None)
@given(
    st.floats(-10, 10), st.floats(0, 360),
    st.tuples(st.floats(2, 10), st.floats(2, 10), st.floats(5, 15)),
)
def test_projected_positions_move_as_the_rotation_predicts(alpha, phi, point):
    atoms = Atoms("Au", positions=[point], cell=(12.0, 12.0, 20.0))
    c = np.array([6.0, 6.0, 10.0])
    out = tilt_atoms(atoms, alpha, phi, check_cell=False).positions[0]
    u = np.array([np.cos(np.radians(phi)), np.sin(np.radians(phi)), 0.0])  # tilt axis
    n = np.array([-u[1], u[0], 0.0])  # in-plane normal to it
    d = np.asarray(point) - c
    a, b, h = d @ u, d @ n, d[2]
    t = np.radians(alpha)
    # along the axis nothing moves; across it the projection is b cos α − h sin α
    expected_xy = c[:2] + a * u[:2] + (b * np.cos(t) - h * np.sin(t)) * n[:2]
    np.testing.assert_allclose(out[:2], expected_xy, atol=1e-9)
    assert out[2] - c[2] == pytest.approx(b * np.sin(t) + h * np.cos(t), abs=1e-9)
    r = tilt_rotation(alpha, phi)
    np.testing.assert_allclose(r @ r.T, np.eye(3), atol=1e-12)


def test_tilted_column_footprint_grows_with_height():
    col = _column()
    alpha = 3.0
    # about x (axis 0°): the column leans along y; its mean stays (it is centred in z)
    tilted = tilt_atoms(col, alpha, 0.0)
    proj = project_columns(tilted, tolerance_a=1.0)
    assert len(proj.counts) == 1 and proj.counts[0] == 6
    expected_y = 6.0 + (4.0 - 6.0) * np.cos(np.radians(alpha))
    np.testing.assert_allclose(proj.positions_xy[0], [7.0, expected_y], atol=1e-9)
    z = col.positions[:, 2]
    assert proj.spread_a[0] == pytest.approx(np.sin(np.radians(alpha)) * z.std(), rel=1e-9)
    # about y (axis 90°): the lean is along x instead
    lean = tilt_atoms(col, alpha, 90.0).positions
    assert np.ptp(lean[:, 1]) < 1e-9 and np.ptp(lean[:, 0]) == pytest.approx(np.sin(np.radians(alpha)) * np.ptp(z))


def test_zero_tilt_is_an_exact_copy_and_frames_share_one_centre():
    col = _column()
    assert np.array_equal(tilt_atoms(col, 0.0, 37.0).positions, col.positions)
    shifted = col.copy()
    shifted.positions += (0.3, 0.0, 0.0)
    frames = tilt_frames([col, shifted], 2.0, 0.0)
    # the same rigid motion for both snapshots: their difference is unchanged by a tilt about x
    np.testing.assert_allclose(frames[1].positions - frames[0].positions, 0.3 * np.eye(3)[[0] * 6], atol=1e-12)


def test_tilt_out_of_the_cell_is_refused():
    col = _column(cell=(12.0, 12.0, 15.5))
    with pytest.raises(HrtemError, match="out of the cell"):
        tilt_atoms(col, 60.0, 0.0)


@pytest.fixture(scope="module")
def simulate():
    return validate_config(
        {"simulate": {"sampling_a": 0.25, "frozen_phonons": {"configurations": 2}}}
    )["simulate"]


def test_zero_tilt_reproduces_the_untilted_exit_wave_exactly(simulate):
    atoms = FaceCenteredCubic("Au", [(1, 0, 0), (1, 1, 0), (1, 1, 1)], [2, 2, 2])
    atoms.center(vacuum=4.0)
    plain = exit_waves(atoms, energy_kev=300, simulate=simulate, seed=3, keys=("tilt",))
    series = exit_waves(atoms, energy_kev=300, simulate=simulate, seed=3, keys=("tilt",), tilts_deg=[0.0, 4.0])
    assert plain.dims == ("config", "x", "y")
    assert series.dims == ("tilt", "config", "x", "y") and series["tilt"].attrs["units"] == "degree"
    np.testing.assert_array_equal(series.sel(tilt=0.0).values, plain.values)
    assert not np.allclose(series.sel(tilt=4.0).values, plain.values, atol=1e-3)


def test_a_tilted_atom_moves_in_the_exit_wave_by_h_sin_alpha():
    """One Au atom 8 Å above the tilt axis: tilting by α about x moves its image by −8 Å·sin α in y."""
    h, alpha = 8.0, 6.0
    atom = Atoms("Au", positions=[(5.0, 5.0, 12.0 + h)], cell=(10.0, 10.0, 24.0))
    sim = validate_config({"simulate": {"sampling_a": 0.1, "slice_thickness_a": 1.0,
                                        "frozen_phonons": {"model": "none"}}})["simulate"]
    waves = exit_waves(atom, energy_kev=300, simulate=sim, seed=0, tilts_deg=[0.0, alpha])

    def centre(wave):
        # the phase shift of the (weak-phase) atom is localised at the atom
        w = np.clip(np.angle(wave), 0, None)
        w = np.where(w > 0.2 * w.max(), w, 0.0)
        x, y = np.meshgrid(waves.x.values, waves.y.values, indexing="ij")
        return np.array([(w * x).sum(), (w * y).sum()]) / w.sum()

    c0 = centre(waves.values[0, 0])
    c1 = centre(waves.values[1, 0])
    t = np.radians(alpha)
    expected = np.array([0.0, -h * np.sin(t)])  # b = 0 (atom above the axis), h = 8 Å
    np.testing.assert_allclose(c1 - c0, expected, atol=0.03)
