"""Supported-particle systems (anatase, free) and their HRTEM image study (figs 5.5–5.10)."""

from __future__ import annotations

import numpy as np
import pytest

from hrtem.errors import HrtemError
from hrtem.md.supported import beam_along_x, image_study, inplane_spacing, system_md, system_model
from hrtem.structures.supports import OXIDES, half_particle

_MD = {"particle": {"element": "Pt", "lattice_a_A": 3.91, "radius_A": 5.5}, "support": {"repeat": [5, 3]},
       "anatase": {"repeat": [5, 5], "layers": 2, "fixed_layers": 1,
                   "stages": [{"start_K": 300, "steps": 20, "sample": True}]}}


def test_anatase_systems_start_at_the_particle_or_the_substrate_lattice_constant():
    nat, sub = system_model(_MD, "anatase_natural"), system_model(_MD, "anatase_substrate")
    a_sub = OXIDES["anatase_001"]["a_A"]
    assert len(nat) == len(sub)  # the same atoms, scaled
    for model, a in ((nat, 3.91), (sub, a_sub)):
        sym = np.array(model.get_chemical_symbols())
        assert set(sym) == {"Pt", "Ti", "O"} and (sym == "O").sum() == 2 * (sym == "Ti").sum()
        pt = model[sym == "Pt"]
        # (100) interface, cube axes along x, y, z: the spacings are the start lattice constant
        assert np.allclose(inplane_spacing(pt, "Pt", 3.9), a, atol=1e-6)
    assert system_md(_MD, "anatase_natural")["stages"] == _MD["anatase"]["stages"]
    assert system_md(_MD, "zro2") == _MD


def test_free_particle_is_the_same_half_particle_in_vacuum():
    free, nat = system_model(_MD, "free"), system_model(_MD, "anatase_natural")
    assert set(free.get_chemical_symbols()) == {"Pt"}
    assert len(free) == int(sum(s == "Pt" for s in nat.get_chemical_symbols()))
    assert not free.pbc.any() and not free.arrays["fixed"].any()
    lo, hi = free.positions.min(axis=0), free.positions.max(axis=0)
    assert np.all(lo >= 9.99) and np.all(free.cell.lengths() - hi >= 9.99)
    with pytest.raises(HrtemError, match="unknown supported system"):
        system_md(_MD, "rutile")


def test_inplane_spacing_reads_a_compression_along_one_axis():
    p = half_particle(element="Pt", a_A=3.92, radius_A=7.0, interface=(1, 0, 0))
    p.positions[:, 0] *= 0.965
    ax, ay, az = inplane_spacing(p, "Pt", 3.92)
    assert ax == pytest.approx(3.92 * 0.965, abs=1e-6)
    assert ay == pytest.approx(3.92, abs=1e-6) and az == pytest.approx(3.92, abs=1e-6)


def test_beam_along_x_permutes_axes_and_cell():
    p = system_model(_MD, "anatase_natural")
    (b,) = beam_along_x([p])
    assert np.allclose(b.cell.lengths(), p.cell.lengths()[[1, 2, 0]])
    assert list(b.pbc) == [True, False, True]
    sym = np.array(p.get_chemical_symbols())
    # the particle sits above the slab along the image's y (= model z)
    assert b.positions[sym == "Pt", 1].min() > b.positions[sym == "O", 1].max()


@pytest.mark.slow
def test_image_study_measures_a_uniform_strain_put_into_a_free_particle():
    """A free Pt half particle stretched 2 % along the image x: true and measured ε_xx ≈ 0.02, ε_yy ≈ 0."""
    md = {**_MD, "particle": {**_MD["particle"], "radius_A": 8.0}}
    free = system_model(md, "free")
    free.positions[:, 1] = free.positions[:, 1].mean() + 1.02 * (free.positions[:, 1] - free.positions[:, 1].mean())
    scope = {"energy_kev": 300, "cs_mm": -0.01, "focal_spread_a": 29, "illumination_semiangle_mrad": 0.5,
             "objective_aperture_mrad": 15}
    ds = image_study([free, free], element="Pt", zone_axis="100", lattice_a_A=3.91, microscope=scope,
                     detector={"sampling_a": 0.2}, imaging={"defocus_a": 80.0},
                     seed=0, keys=("test",))
    assert ds.attrs["defocus_nm"] == pytest.approx(8.0)
    inner = ds["interior"].values == 1
    assert inner.sum() >= 5
    assert np.allclose(ds["true_exx"].values[inner], 0.02, atol=2e-3)
    assert np.allclose(ds["true_eyy"].values[inner], 0.0, atol=2e-3)
    assert ds.attrs["found_fraction"] >= 0.8
    ok = inner & (ds["found"].values == 1)
    assert np.nanmean(ds["meas_exx"].values[ok]) == pytest.approx(0.02, abs=0.005)
    assert np.nanmean(ds["meas_eyy"].values[ok]) == pytest.approx(0.0, abs=0.005)
    assert ds["image"].dims == ("x", "y") and np.isfinite(ds["image"].values).all()


def _thermo(path, offset):
    import csv

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["step", "time_ps", "potential_energy_eV", "temperature_K", "target_K", "stage"])
        for i in range(20):
            w.writerow([i, 0.01 * i, -500.0 + offset + 0.1 * np.sin(i), 300.0, 300.0, "hold" if i < 10 else "sample"])
    return path


def test_fig5_7_reads_energies_and_the_adopted_spacing(tmp_path):
    from hrtem.figures import run
    from hrtem.figures.fidelity import collect
    from hrtem.io import write_atoms

    a_sub = OXIDES["anatase_001"]["a_A"]
    nat, sub = system_model(_MD, "anatase_natural"), system_model(_MD, "anatase_substrate")
    pt = np.array(nat.get_chemical_symbols()) == "Pt"
    x0 = nat.positions[pt, 0].mean()
    nat.positions[pt, 0] = x0 + (nat.positions[pt, 0] - x0) * a_sub / 3.91  # adopted along x
    inputs = [_thermo(tmp_path / "anatase_natural" / "thermo.csv", 0.0),
              _thermo(tmp_path / "anatase_substrate" / "thermo.csv", 0.2)]
    for name, atoms in (("anatase_natural", nat), ("anatase_substrate", sub)):
        write_atoms(atoms, tmp_path / name / "structure.extxyz")
        inputs.append(tmp_path / name / "structure.extxyz")
    run("fig5_7", inputs, tmp_path / "fig5_7.png", _MD, 0)
    rows = {r.quantity: r for r in collect(["fig5_7"], tmp_path)}
    de = rows["final E_pot difference of the two starts"]
    assert float(de.ours.split()[0]) == pytest.approx(1000 * 0.2 / len(nat), rel=1e-3) and de.holds == "yes"
    assert rows["mismatch taken up along one in-plane axis"].ours.startswith("1") and \
        rows["mismatch taken up along one in-plane axis"].holds == "yes"
    # the substrate start is compressed along x and y, the natural one along x only: not the same structure
    gap = rows["final in-plane spacings a_x, a_y of the two starts, largest difference"]
    assert float(gap.ours.split()[0]) == pytest.approx(100 * (3.91 / a_sub - 1), rel=1e-3) and gap.holds == "no"


def test_fig5_8_support_effect_is_supported_minus_free(tmp_path):
    from hrtem.figures import run
    from hrtem.figures.fidelity import collect
    from hrtem.io import write_atoms
    from hrtem.md.strain3d import strain_of_particle

    a_sub = OXIDES["anatase_001"]["a_A"]
    free = half_particle(element="Pt", a_A=3.91, radius_A=9.0, interface=(1, 0, 0))
    free.center(vacuum=10.0)
    sup = free.copy()
    x0 = sup.positions[:, 0].mean()
    sup.positions[:, 0] = x0 + (sup.positions[:, 0] - x0) * a_sub / 3.91
    for name, atoms in (("anatase_natural", sup), ("free", free)):
        part = strain_of_particle(atoms, "Pt", 3.91)
        part.info["reference_a_A"] = 3.91
        (tmp_path / name).mkdir()
        write_atoms(part, tmp_path / name / "strain3d.extxyz")
    run("fig5_8", [tmp_path / "anatase_natural" / "strain3d.extxyz", tmp_path / "free" / "strain3d.extxyz"],
        tmp_path / "fig5_8.png", _MD, 0)
    rows = {r.quantity: r for r in collect(["fig5_8"], tmp_path)}
    adopted = rows["support-induced in-plane strain along the compressed axis over the mismatch"]
    assert float(adopted.ours.split()[0]) == pytest.approx(1.0, abs=0.05) and adopted.holds == "yes"
    assert rows["abs(mean ε_zz supported − free)"].holds == "yes"
    assert rows["support-induced strain along the other in-plane axis"].holds == "no"  # no Poisson expansion put in


def test_potential_input_files_resolve_shipped_and_package_files(tmp_path):
    from hrtem.md.settings import potential_input_files

    (pt,) = potential_input_files({"kind": "comb3", "file": "comb3_Pt.comb3"})
    assert pt.endswith("hrtem/data/comb3_Pt.comb3")
    (ff,) = potential_input_files({"kind": "comb3", "file": "ffield.comb3"})
    assert ff.endswith("ffield.comb3")
    assert potential_input_files({"kind": "comb3", "file": str(tmp_path / "nosuch.comb3")}) == []
    (eam,) = potential_input_files({"kind": "eam", "eam_files": {"Au": "Au_u3.eam"}})
    assert eam.endswith("Au_u3.eam")
