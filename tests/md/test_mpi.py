"""The MD driver on 2 MPI ranks (mpiexec of the mpich wheel): same physics as 1 rank."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

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
