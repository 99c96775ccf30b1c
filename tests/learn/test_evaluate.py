"""Held-out test sheets are what they claim to be; schema and CLI of `hrtem learn`."""

from __future__ import annotations

import numpy as np
import pytest

from hrtem.config import validate_config
from hrtem.learn.evaluate import BOND_A, atom_groups, heldout_structures, honeycomb, select


def _ev(**kw):
    ev = validate_config({})["learn"]["evaluation"]
    ev.update(kw)
    return ev


def test_heldout_sheets_ideal_polycrystal_holes():
    ev = _ev(polycrystal_structures=1, holes_structures=1)
    (ideal,) = heldout_structures("ideal", ev, 0)
    cell = ideal.cell.lengths()[:2]
    g = atom_groups(ideal.positions[:, :2], cell, ev["ideal_rmsd_max"])
    assert (g == "ideal").all()
    # the periodic honeycomb has exact 1.42 Å bonds across the cell edge
    from scipy.spatial import cKDTree

    d, _ = cKDTree(np.mod(ideal.positions[:, :2], cell), boxsize=cell).query(np.mod(ideal.positions[:, :2], cell), k=4)
    assert np.allclose(d[:, 1:], BOND_A, atol=1e-9)
    (poly,) = heldout_structures("polycrystal", ev, 0)
    gp = atom_groups(poly.positions[:, :2], poly.cell.lengths()[:2], ev["ideal_rmsd_max"])
    # in a ~20 Å cell the grain boundaries dominate: mostly defects, some ideal grain cores
    assert 0.02 < np.mean(gp == "ideal") < 0.5
    (holes,) = heldout_structures("holes", ev, 0)
    assert len(holes) < len(ideal)
    gh = atom_groups(holes.positions[:, :2], holes.cell.lengths()[:2], ev["ideal_rmsd_max"])
    assert 0.0 < np.mean(gh == "defect") < 0.5  # edge atoms only
    # seeded
    (again,) = heldout_structures("holes", ev, 0)
    assert np.array_equal(again.positions, holes.positions)


def test_honeycomb_cell_is_commensurate():
    h = honeycomb((2, 3))
    assert len(h) == 2 * 3 * 4
    assert np.allclose(h.cell.lengths()[:2], (2 * 3 * BOND_A, 3 * np.sqrt(3) * BOND_A))


def test_select_rows():
    rows = [{"a": 1.0, "k": "x"}, {"a": 2.0, "k": "y"}]
    assert select(rows, a=2.0) == [rows[1]]
    assert select(rows, k="x") == [rows[0]]


def test_learn_schema_defaults_and_limits():
    from hrtem.errors import ConfigError

    learn = validate_config({})["learn"]
    assert learn["evaluation"]["radius_a"] == 0.5
    assert learn["postprocess"]["level"] == 0.995
    assert learn["network"]["skip"] == "add"
    with pytest.raises(ConfigError):
        validate_config({"learn": {"train": {"learning_rate": 5.0}}})
    with pytest.raises(ConfigError):
        validate_config({"learn": {"evaluation": {"microscope": {"voltage": 3}}}})


def test_cli_rejects_bad_sets(tmp_path, capsys):
    from hrtem.cli import main

    assert main(["learn", "evaluate", str(tmp_path / "m.keras"), "--set", "bogus=x", "-o", str(tmp_path / "e.csv")]) == 2
    assert "KIND=STORE" in capsys.readouterr().err
    assert main(["learn", "exit-waves", "nonsense", "-o", str(tmp_path / "w.zarr")]) == 2
