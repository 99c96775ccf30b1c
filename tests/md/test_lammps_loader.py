"""The LAMMPS loader and energy conservation of the driver (EAM, NVE)."""

from __future__ import annotations

import ctypes

import numpy as np
import pytest

from hrtem.errors import HrtemError
from hrtem.md import lammps_loader
from hrtem.md.driver import run_md
from hrtem.md.settings import MDSettings, Minimize, Potential, Stage

EAM_AUCU = Potential(kind="eam", eam_files={"Au": "Au_u3.eam", "Cu": "Cu_u3.eam"})


def test_load_lammps_preloads_mpi_and_finds_potentials():
    lammps = lammps_loader.load_lammps()
    assert lammps_loader.mpi_library_path().is_file()
    assert lammps.lammps is not None
    pot = lammps_loader.potentials_dir()
    for name in ("ffield.comb3", "lib.comb3", "Au_u3.eam", "Cu_u3.eam", "Pt_u3.eam"):
        assert (pot / name).is_file(), name
    assert lammps_loader.mpiexec_path().is_file()
    assert lammps_loader.load_lammps() is lammps  # loaded once


def test_missing_mpi_library_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(lammps_loader, "mpi_library_path", lambda: tmp_path / "libmpi.so.12")

    def fail(*args, **kwargs):
        raise OSError("not found")

    monkeypatch.setattr(ctypes, "CDLL", fail)
    with pytest.raises(HrtemError, match="libmpi.so.12"):
        lammps_loader.load_lammps.__wrapped__()


def _nve(atoms, dt_fs):
    settings = MDSettings(
        potential=EAM_AUCU,
        timestep_fs=dt_fs,
        minimize=Minimize(max_iterations=0),
        initial_temperature_K=600.0,
        stages=(Stage("nve", 0, 0, 400, ensemble="nve"),),
        thermo_every=10,
    )
    th = run_md(atoms, settings, seed=3).thermo
    return th["total_energy_eV"], th["kinetic_energy_eV"]


def test_eam_nve_conserves_total_energy(aucu):
    """400 velocity-Verlet steps of 108-atom Au/Cu at 600 K start.

    Measured (1 fs): max |E(t) − E(0)| = 0.004 meV/atom, net drift 0.002
    meV/atom over 0.4 ps, while the kinetic energy fluctuates by ~11
    meV/atom (std). The bound 0.05 meV/atom is ~10× the measurement and
    1/200 of the KE fluctuation: a wrong force, unit or integrator breaks it
    by orders of magnitude. Verlet's energy error scales as dt²: doubling
    dt raised it 4× (measured 0.014 meV/atom at 2 fs).
    """
    n = len(aucu)
    e1, ke1 = _nve(aucu, 1.0)
    dev1 = np.abs(e1 - e1[0]).max() / n
    assert len(e1) == 41
    assert dev1 < 5e-5  # eV/atom
    assert abs(e1[-1] - e1[0]) / n < 5e-5
    assert ke1.std() / n > 100 * dev1  # energy really flows between KE and PE
    e2, _ = _nve(aucu, 2.0)
    dev2 = np.abs(e2 - e2[0]).max() / n
    assert 2.0 < dev2 / dev1 < 8.0  # ∝ dt²
