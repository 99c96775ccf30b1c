"""The MD driver on 2 MPI ranks (mpiexec of the mpich wheel): same physics as 1 rank."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from hrtem.io import read_atoms, write_atoms
from hrtem.md.driver import read_thermo_csv
from hrtem.md.lammps_loader import mpiexec_path

PARAMS = {
    "potential": {"kind": "eam", "eam_files": {"Au": "Au_u3.eam", "Cu": "Cu_u3.eam"}},
    "minimize": {"max_iterations": 50, "force_tol_eV_per_A": 1e-4},
    "stages": [{"name": "hold", "start_K": 300, "steps": 40, "sample": True}],
    "snapshot_every": 20,
    "thermo_every": 10,
}


def _run(structure, outdir, ranks):
    cmd = [sys.executable, "-m", "hrtem", "md", "run", str(structure), "-o", str(outdir),
           "--params", json.dumps(PARAMS), "--seed", "3", "--ranks", str(ranks)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_cli_on_two_ranks_matches_one_rank(aucu, tmp_path):
    """`hrtem md run --ranks 2` re-launches under mpiexec; the minimised energy
    (deterministic FIRE) agrees with 1 rank to 1e-8 relative, and the dynamics
    keep every atom and write the same tables."""
    structure = tmp_path / "aucu.extxyz"
    write_atoms(aucu, structure)
    out1 = _run(structure, tmp_path / "r1", 1)
    out2 = _run(structure, tmp_path / "r2", 2)
    assert "on 1 rank(s)" in out1 and "on 2 rank(s)" in out2
    t1, t2 = read_thermo_csv(tmp_path / "r1" / "thermo.csv"), read_thermo_csv(tmp_path / "r2" / "thermo.csv")
    assert list(t1["step"]) == list(t2["step"]) == [0, 10, 20, 30, 40]
    assert t2["potential_energy_eV"][0] == pytest.approx(t1["potential_energy_eV"][0], rel=1e-8)
    frames = read_atoms(tmp_path / "r2" / "trajectory.extxyz", index=":")
    assert len(frames) == 2 and all(len(f) == len(aucu) for f in frames)


def test_two_ranks_without_shared_workdir_is_an_error_not_a_hang(tmp_path):
    script = (
        "from ase.build import bulk\n"
        "from hrtem.md.driver import run_md\n"
        "from hrtem.md.settings import MDSettings, Potential\n"
        "run_md(bulk('Au', 'fcc', a=4.08, cubic=True).repeat(2),"
        " MDSettings(potential=Potential(kind='eam', eam_files={'Au': 'Au_u3.eam'})))\n"
    )
    proc = subprocess.run([str(mpiexec_path()), "-n", "2", sys.executable, "-c", script],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert "needs a workdir that all ranks share" in proc.stderr


# ---- COMB3 charge solve on several ranks (issue 9: the fix qeq/comb deadlock)

# Pt13 on Zr12O24 (49 atoms) with the shipped fitted set: before `run 0` was issued
# after `fix qeq/comb`, 2-rank runs of this hung in 2 of 3 (hrtem CLI) and 5 of 5
# (lmp) tries: FixQEQComb's uninitialised `firstflag` gave the ranks different
# charge-loop caps (100 or 200) inside `minimize`.
PT_TINY = yaml.safe_load((Path(__file__).parents[1] / "data" / "md_pt_zro2_tiny.yaml").read_text())


def _pt_tiny(tmp_path):
    from hrtem.md.model import model_from_config

    structure = tmp_path / "pt_zro2.extxyz"
    write_atoms(model_from_config(PT_TINY, rotation_deg=0.0), structure)
    return structure


def test_comb3_charges_are_solved_before_the_minimiser_on_every_rank(tmp_path):
    """`run 0` follows `fix qeq/comb` and precedes `minimize`: its setup() sets the
    fix's charge-loop cap on every rank and equilibrates the charges at step 0. With
    3 FIRE iterations (< qeq_every 10) the minimiser alone never solves the charges,
    so the minimised structure would keep q = 0 without it."""
    from hrtem.md.driver import QEQ_SETUP_COMMAND, run_md
    from hrtem.md.model import model_from_config
    from hrtem.md.settings import MDSettings, Minimize, Potential

    atoms = model_from_config(PT_TINY, rotation_deg=0.0)
    settings = MDSettings(potential=Potential(kind="comb3", file="comb3_Pt.comb3", qeq_every=10),
                          minimize=Minimize(max_iterations=3), stages=())
    res = run_md(atoms, settings, seed=1, workdir=tmp_path / "md")
    lines = res.script.splitlines()
    i_fix = next(i for i, c in enumerate(lines) if c.startswith("fix qeq all qeq/comb"))
    i_min = next(i for i, c in enumerate(lines) if c.startswith("minimize"))
    assert QEQ_SETUP_COMMAND in lines[i_fix + 1 : i_min]
    sym = np.array(res.minimized.get_chemical_symbols())
    q = res.minimized.get_initial_charges()
    assert (q[sym == "O"] < -0.5).all() and (q[sym == "Zr"] > 1.0).all()
    assert abs(q.sum()) < 1e-6


@pytest.mark.slow
def test_comb3_pt_on_zro2_on_two_ranks_completes_and_matches_one_rank(tmp_path):
    """Three 2-rank runs of the shipped Pt set on ZrO2 all finish (a hang FAILS via the
    subprocess timeout), and the minimised energy and charges equal 1 rank's."""
    structure = _pt_tiny(tmp_path)

    def run(outdir, ranks, seed):
        cmd = [sys.executable, "-m", "hrtem", "md", "run", str(structure), "-o", str(outdir),
               "--params", json.dumps(PT_TINY), "--seed", str(seed), "--ranks", str(ranks)]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=150)
        except subprocess.TimeoutExpired:
            pytest.fail(f"`hrtem md run --ranks {ranks}` hung (> 150 s): the COMB3 charge loop deadlocked")
        assert proc.returncode == 0, proc.stderr[-2000:]
        return read_thermo_csv(outdir / "thermo.csv")

    ref = run(tmp_path / "r1", 1, 1)
    for k in range(3):
        t2 = run(tmp_path / f"r2_{k}", 2, k + 1)
        assert t2["potential_energy_eV"][0] == pytest.approx(ref["potential_energy_eV"][0], rel=1e-9)
        for el in ("O", "Pt", "Zr"):
            assert t2[f"q_mean_{el}"][0] == pytest.approx(ref[f"q_mean_{el}"][0], abs=1e-8)
        assert np.isfinite(t2["potential_energy_eV"]).all()
