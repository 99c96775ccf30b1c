"""Config section, CLI verb and figure of hrtem.structures."""

import csv
import json

import numpy as np
import pytest

from hrtem.cli import main
from hrtem.config import validate_config
from hrtem.errors import ConfigError
from hrtem.io import read_atoms
from hrtem.structures.wulff import LATTICE_CONSTANTS_A, SURFACE_ENERGIES_J_M2


@pytest.fixture(scope="module")
def config():
    return validate_config({})


def test_schema_defaults_match_code(config):
    w = config["structures"]["wulff"]
    assert w["lattice_constants_a"] == LATTICE_CONSTANTS_A
    for el, energies in SURFACE_ENERGIES_J_M2.items():
        for hkl, gamma in energies.items():
            assert w["surface_energies_j_m2"][el]["".join(map(str, hkl))] == pytest.approx(gamma, rel=1e-9)
    assert config["structures"]["graphene"]["cell_a"] == [43.2, 43.2]
    assert config["structures"]["graphene"]["bond_a"] == 1.42


@pytest.mark.parametrize(
    "bad",
    [
        {"grown": {"element": "Ag"}},
        {"wulff": {"elements": ["Xx"]}},
        {"wulff": {"surface_energies_j_m2": {"Fe": {"111": 1.0}}}},
        {"wulff": {"zone_axis": "123"}},
        {"graphene": {"bond_a": -1}},
        {"unknown_key": 1},
    ],
)
def test_invalid_config_fails(bad):
    with pytest.raises(ConfigError, match="structures"):
        validate_config({"structures": bad})


def test_cli_wulff_and_columns(tmp_path, config, capsys):
    out = tmp_path / "wulff_Au_4nm.xyz"
    p = json.dumps(config["structures"]["wulff"])
    assert main(["structure", "wulff", "--element", "Au", "--diameter-nm", "4", "--params", p, "-o", str(out)]) == 0
    atoms = read_atoms(out)
    assert len(atoms) == 1925
    assert str(atoms.info["zone_axis"]) == "110"  # extxyz reads it back as an int
    assert np.all(atoms.positions.min(axis=0) >= 5.0 - 1e-6)  # 5 Å vacuum
    cols = tmp_path / "cols.csv"
    assert main(["structure", "columns", str(out), "-o", str(cols)]) == 0
    rows = list(csv.DictReader(open(cols)))
    assert len(rows) == 195 and sum(int(r["count"]) for r in rows) == 1925


def test_cli_fcc_cluster_reads_fig2_2_params(tmp_path, config):
    out = tmp_path / "model.xyz"
    p = json.dumps(config["simulate"]["fig2_2"])
    assert main(["structure", "fcc-cluster", "--params", p, "-o", str(out)]) == 0
    assert len(read_atoms(out)) == 675


def test_cli_seeded_generators_are_reproducible(tmp_path):
    p = json.dumps({"cell_a": [18.0, 18.0], "count": 2})
    for kind in ("graphene", "grown"):
        a, b = tmp_path / f"{kind}_a.xyz", tmp_path / f"{kind}_b.xyz"
        params = p if kind == "graphene" else json.dumps({"count": 2, "layers_range": {"100": [2, 3], "110": [2, 4], "111": [2, 3]}, "cell_a": 40.0})
        for path in (a, b):
            assert main(["structure", kind, "--seed", "5", "--params", params, "-o", str(path)]) == 0
        fa, fb = read_atoms(a, ":"), read_atoms(b, ":")
        assert len(fa) == 2
        assert all(np.array_equal(x.positions, y.positions) for x, y in zip(fa, fb))


def test_fig6_9(tmp_path, config):
    from hrtem.figures import run

    png = tmp_path / "fig6_9.png"
    run("fig6_9", [], png, config["structures"]["fig6_9"], 0)
    assert png.stat().st_size > 10_000
    rows = {r["step"]: r for r in csv.DictReader(open(png.with_suffix(".csv")))}
    assert set(rows) == {"points", "voronoi", "relaxed", "holes"}
    assert float(rows["relaxed"]["mean_bond_a"]) == pytest.approx(1.42, abs=0.03)
    assert float(rows["holes"]["mean_bond_a"]) == pytest.approx(1.42, abs=0.03)
    assert float(rows["relaxed"]["std_bond_a"]) < float(rows["voronoi"]["std_bond_a"])
    assert float(rows["relaxed"]["fraction_hexagons"]) > 0.5
    assert int(rows["holes"]["n_atoms"]) < int(rows["relaxed"]["n_atoms"])
