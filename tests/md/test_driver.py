"""The MD driver on COMB3 and EAM: charges, fixed atoms, a0, blow-ups, determinism."""

from __future__ import annotations

import numpy as np
import pytest
from ase.build import bulk

from hrtem.errors import HrtemError
from hrtem.md.driver import read_thermo_csv, run_md, write_thermo_csv
from hrtem.md.properties import lattice_constant
from hrtem.md.settings import MDSettings, Minimize, Potential, Stage

EAM_AUCU = Potential(kind="eam", eam_files={"Au": "Au_u3.eam", "Cu": "Cu_u3.eam"})


@pytest.fixture(scope="module")
def comb3_run(tiny_cu_zro2, tmp_path_factory):
    settings = MDSettings(
        minimize=Minimize(max_iterations=30),
        stages=(Stage("heat", 300, 500, 60), Stage("hold", 500, 500, 40, sample=True)),
        snapshot_every=10,
    )
    work = tmp_path_factory.mktemp("comb3")
    return run_md(tiny_cu_zro2, settings, seed=5, keys=("test", "comb3"), workdir=work), work


def test_comb3_charges_signs_and_conservation(tiny_cu_zro2, comb3_run):
    """COMB3 + qeq/comb on 229-atom Cu49/Zr60O120.

    Measured: q(O) ∈ [−0.95, −0.76] e, q(Zr) ∈ [1.58, 1.85] e, mean Cu
    ≈ +0.03 e, Σq ≈ 1e-13 e (the solve keeps the initial total, 0).
    """
    res, _ = comb3_run
    for atoms in [res.minimized, res.structure, *res.snapshots]:
        q = atoms.get_initial_charges()
        sym = np.array(atoms.get_chemical_symbols())
        assert (q[sym == "O"] < -0.5).all()
        assert (q[sym == "Zr"] > 1.0).all()
        assert abs(q[sym == "Cu"].mean()) < 0.3
        assert abs(q.sum()) < 1e-6
    th = res.thermo
    assert (th["q_mean_O"] < 0).all() and (th["q_mean_Zr"] > 0).all()
    # mean charges per element from LAMMPS agree with the gathered ones
    q = res.structure.get_initial_charges()
    sym = np.array(res.structure.get_chemical_symbols())
    assert th["q_mean_Zr"][-1] == pytest.approx(q[sym == "Zr"].mean(), abs=1e-6)


def test_comb3_fixed_layer_does_not_move(tiny_cu_zro2, comb3_run):
    res, _ = comb3_run
    fixed = tiny_cu_zro2.arrays["fixed"]
    assert fixed.sum() == 90  # bottom trilayer: 15 cells × (2 Zr + 4 O)
    for atoms in [res.minimized, res.structure, *res.snapshots]:
        assert np.abs(atoms.positions[fixed] - tiny_cu_zro2.positions[fixed]).max() < 1e-8
    # while the rest moves (MD at 500 K)
    mobile_disp = np.linalg.norm(res.structure.positions[~fixed] - tiny_cu_zro2.positions[~fixed], axis=1)
    assert np.median(mobile_disp) > 0.02


def test_comb3_outputs_thermo_and_snapshots(comb3_run, tmp_path):
    res, work = comb3_run
    th = res.thermo
    assert th["step"][0] == 0 and th["step"][-1] == 100
    assert np.allclose(np.diff(th["time_ps"]), 10 * 0.5e-3)
    assert list(np.unique(th["stage"])) == ["heat", "hold"]
    assert np.isfinite(th["potential_energy_eV"]).all()
    assert [a.info["step"] for a in res.snapshots] == [70, 80, 90, 100]
    assert res.snapshots[-1].positions == pytest.approx(res.structure.positions, abs=1e-6)
    path = write_thermo_csv(th, tmp_path / "thermo.csv")
    back = read_thermo_csv(path)
    assert back["potential_energy_eV"] == pytest.approx(th["potential_energy_eV"], rel=1e-9)
    # one `run` per stage, after the `run 0` that solves the charges before FIRE (driver.QEQ_SETUP_COMMAND)
    runs = [c for c in (work / "in.lammps").read_text().splitlines() if c.startswith("run ")]
    assert runs == ["run 0", "run 60", "run 40"]


def test_eam_au_lattice_constant():
    """fcc Au with Au_u3.eam (Foiles): a0 = 4.08 Å by CG + box/relax (measured 4.0800 Å)."""
    a0 = lattice_constant("Au", Potential(kind="eam", eam_files={"Au": "Au_u3.eam"}), a_guess_A=3.95)
    assert a0 == pytest.approx(4.08, abs=0.01)


def test_overlapping_atoms_raise(aucu):
    """Two atoms 0.37 Å apart: T reaches ~4e4 K within 10 steps → HrtemError, not garbage output."""
    atoms = aucu.copy()
    atoms.positions[1] = atoms.positions[0] + [0.3, 0.2, 0.1]
    settings = MDSettings(potential=EAM_AUCU, minimize=Minimize(0), stages=(Stage("hold", 300, 300, 200),))
    with pytest.raises(HrtemError, match="blew up"):
        run_md(atoms, settings)


def test_atoms_outside_a_slab_cell_raise(aucu):
    atoms = aucu.copy()
    atoms.pbc = (True, True, False)
    atoms.positions[0, 2] = -1.0
    with pytest.raises(HrtemError, match="outside the non-periodic cell"):
        run_md(atoms, MDSettings(potential=EAM_AUCU))


def test_missing_comb3_element_is_named():
    atoms = bulk("Au", "fcc", a=4.08, cubic=True)
    with pytest.raises(HrtemError, match=r"no COMB3 parameters for \['Au'\]"):
        run_md(atoms, MDSettings())


def _langevin(atoms, seed):
    settings = MDSettings(
        potential=EAM_AUCU,
        minimize=Minimize(max_iterations=20),
        stages=(Stage("ramp", 300, 600, 100, sample=True),),
        snapshot_every=25,
    )
    return run_md(atoms, settings, seed=seed, keys=("test", "det"))


def test_same_seed_same_langevin_trajectory(aucu):
    a, b, c = _langevin(aucu, 7), _langevin(aucu, 7), _langevin(aucu, 8)
    assert len(a.snapshots) == 4
    for fa, fb in zip(a.snapshots, b.snapshots):
        assert np.array_equal(fa.positions, fb.positions)
    assert np.array_equal(a.thermo["potential_energy_eV"], b.thermo["potential_energy_eV"])
    assert not np.allclose(a.snapshots[-1].positions, c.snapshots[-1].positions)
