"""Pt on c-ZrO2(111) with a COMB3 file written by hrtem (Pt from the Cu entries, prescaled).

The file is what `hrtem potentials best` writes (all shipped elements plus
Pt; Pt–O and Pt–Zr start as Cu–O and Cu–Zr). Acceptance of issue 9: the
supported particle relaxes and anneals without blow-up, with charges of the
right signs and total charge 0.

Measured (229 atoms: Pt49 on Zr60O120, 30 FIRE steps, 80 MD steps to 500 K):
q(O) ∈ [−0.96, −0.79] e, q(Zr) ∈ [1.65, 1.85] e, q(Pt) ∈ [−0.10, +0.22] e
(mean +0.03), Σq ≈ 1e-14 e, T_max 461 K, E_min −1295.9 eV.
"""

from __future__ import annotations

import numpy as np
import pytest

from hrtem.md.comb3_fit import start_parameters
from hrtem.md.driver import run_md
from hrtem.md.settings import MDSettings, Minimize, Potential, Stage


@pytest.mark.slow
def test_pt_on_zro2_relaxes_and_anneals(tmp_path):
    from hrtem.structures.supports import half_particle, supported_particle, zro2_111

    # prescale factors measured for Pt (a0 3.91 Å, E_coh −5.84 eV): lengths ×1.0832, energies ×1.6305
    params = start_parameters("Pt", "Cu", "ffield.comb3", 1.0832, 1.6305)
    f = params.write(tmp_path / "PtOZr.comb3", ["test"])
    atoms = supported_particle(
        zro2_111(repeat=(5, 3)), half_particle(element="Pt", a_A=3.91, radius_A=5.5), rotation_deg=10.0
    )
    settings = MDSettings(
        potential=Potential(kind="comb3", file=str(f)),
        minimize=Minimize(max_iterations=30),
        stages=(Stage("heat", 300, 500, 40), Stage("hold", 500, 500, 40, sample=True)),
        snapshot_every=20,
    )
    res = run_md(atoms, settings, seed=1, keys=("test", "pt"), workdir=tmp_path / "md")
    sym = np.array(res.structure.get_chemical_symbols())
    assert (sym == "Pt").sum() > 20
    for a in [res.minimized, res.structure, *res.snapshots]:
        q = a.get_initial_charges()
        assert (q[sym == "O"] < -0.3).all()
        assert (q[sym == "Zr"] > 0.8).all()
        assert abs(q.sum()) < 1e-6
    th = res.thermo
    assert np.isfinite(th["potential_energy_eV"]).all()
    assert th["temperature_K"].max() < 1500
    assert res.minimized_energy_eV < 0


@pytest.mark.slow
@pytest.mark.parametrize(("oxide", "cation"), [("zro2_111", "Zr"), ("anatase_001", "Ti")])
def test_pt_with_the_shipped_complete_file_relaxes_and_anneals_on_both_supports(tmp_path, oxide, cation):
    """hrtem/data/comb3_Pt.comb3 (every Pt/Zr/Ti/O triplet): no blow-up, O < 0 < cation, Σq = 0, per step."""
    from hrtem.md.model import model_from_config
    from hrtem.md.supported import system_model

    md = {"particle": {"element": "Pt", "lattice_a_A": 3.91, "radius_A": 5.5},
          "support": {"repeat": [5, 3]}, "anatase": {"repeat": [5, 5], "layers": 2}}
    atoms = model_from_config(md, rotation_deg=10.0) if oxide == "zro2_111" else system_model(md, "anatase_natural")
    settings = MDSettings(
        potential=Potential(kind="comb3", file="comb3_Pt.comb3"),
        minimize=Minimize(max_iterations=30),
        stages=(Stage("heat", 300, 500, 40), Stage("hold", 500, 500, 40, sample=True)),
        snapshot_every=20,
        thermo_every=10,
    )
    res = run_md(atoms, settings, seed=1, keys=("test", "pt", oxide), workdir=tmp_path / "md")
    sym = np.array(res.structure.get_chemical_symbols())
    assert (sym == "Pt").sum() > 20 and (sym == cation).sum() > 20
    for a in [res.minimized, res.structure, *res.snapshots]:
        q = a.get_initial_charges()
        assert (q[sym == "O"] < -0.3).all()
        assert (q[sym == cation] > 0.8).all()
        assert abs(q.sum()) < 1e-6
    th = res.thermo
    assert np.isfinite(th["potential_energy_eV"]).all()
    assert th["temperature_K"].max() < 1500
    assert res.minimized_energy_eV < 0
    # no blow-up: no atom moved more than 3 Å from its minimised position during the 80 steps
    from ase.geometry import find_mic

    _, dist = find_mic(res.structure.positions - res.minimized.positions, res.structure.cell, res.structure.pbc)
    assert dist.max() < 3.0
