"""Fig. 5.7: potential energy vs time of Pt on anatase(001), two starting lattice constants.

Thesis (§5.4.2, L3438–3468, captions L3346–3351 and L3480–3482, swapped in the text): the particle
started with the Pt potential's own lattice constant (3.93 Å) and with the
substrate's (3.78 Å), equilibrated at 300 K for 0.5 ns; the energy
oscillates at first and settles without major rearrangement, both starts end
in the same structure, and the particle adopts the substrate's spacing along
one in-plane axis. Here: the two anatase runs of the md rules
(``md.anatase``), energies from their thermo.csv and, from their final
structures, the particle's cube-edge spacings a_x, a_y, a_z
(:func:`hrtem.md.supported.inplane_spacing`). Data beside it: ``fig5_7.csv``
(thermo rows; the spacings, atom counts and the potential as ``#`` lines).
"""

from __future__ import annotations

import csv
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from hrtem.errors import HrtemError
from hrtem.figures.fidelity import Claim
from hrtem.figures.style import save_figure
from hrtem.io.stores import atomic_path

_STARTS = ("natural", "substrate")


def _final(d, start: str) -> float:
    t = d.csv
    return float(t["final_mean_potential_energy_eV"][t["start"] == _STARTS.index(start)][0])


def _de_mev_per_atom(d) -> float:
    return 1000 * abs(_final(d, "natural") - _final(d, "substrate")) / float(d.meta["n_atoms"])


def _spacing_gap_pct(d) -> float:
    """Largest relative difference of the final a_x, a_y between the two starts, %."""
    m = d.meta
    return 100 * max(abs(float(m[f"natural_a_{c}_A"]) / float(m[f"substrate_a_{c}_A"]) - 1) for c in "xy")


def _adopted_fraction(d) -> float:
    """Of the particle–substrate mismatch, the fraction taken up along the more compressed in-plane axis (natural start)."""
    m = d.meta
    a0, a_sub = float(m["particle_a0_A"]), float(m["substrate_a_A"])
    a_min = min(float(m["natural_a_x_A"]), float(m["natural_a_y_A"]))
    return (a0 - a_min) / (a0 - a_sub)


CLAIMS = [
    Claim("final E_pot difference of the two starts", "meV/atom", thesis="same final structure",
          source="003 L3457–3459", ours=_de_mev_per_atom, holds=lambda ours, d: ours <= 5.0,
          criterion="≤ 5 meV/atom", digits=3),
    Claim("final in-plane spacings a_x, a_y of the two starts, largest difference", "%",
          thesis="same final structure", source="003 L3457–3459", ours=_spacing_gap_pct,
          holds=lambda ours, d: ours <= 0.5, criterion="≤ 0.5 %", digits=3),
    Claim("mismatch taken up along one in-plane axis", "1", thesis="completely adapted (1)",
          source="003 L3461–3462", ours=_adopted_fraction, holds=lambda ours, d: 0.7 <= ours <= 1.3,
          criterion="0.7–1.3", digits=3,
          note="(a0 − min(a_x, a_y)) / (a0 − a_substrate), natural start"),
]


def make(inputs: list[Path], png: Path, params: dict, seed: int) -> None:
    """Inputs: thermo.csv and structure.extxyz of anatase_natural, then of anatase_substrate."""
    del seed
    from hrtem.io import read_atoms  # noqa: PLC0415
    from hrtem.md.driver import read_thermo_csv  # noqa: PLC0415
    from hrtem.md.supported import inplane_spacing, system_md  # noqa: PLC0415
    from hrtem.structures.supports import OXIDES  # noqa: PLC0415

    thermos = sorted((p for p in inputs if Path(p).name == "thermo.csv"), key=lambda p: "substrate" in str(p))
    structs = sorted((p for p in inputs if Path(p).suffix == ".extxyz"), key=lambda p: "substrate" in str(p))
    if len(thermos) != 2 or len(structs) != 2:
        raise HrtemError("fig5_7 needs thermo.csv and structure.extxyz of md/anatase_natural and md/anatase_substrate")
    element = (params.get("particle") or {}).get("element", "Cu")
    a0 = float((params.get("particle") or {}).get("lattice_a_A", 3.61))
    a_sub = float((system_md(params, "anatase_natural").get("support") or {}).get("lattice_a_A")
                  or OXIDES["anatase_001"]["a_A"])
    tables = [read_thermo_csv(p) for p in thermos]
    atoms = [read_atoms(p) for p in structs]
    meta = {"potential": f"{(params.get('potential') or {}).get('kind', 'comb3')}:"
                         f"{(params.get('potential') or {}).get('file', 'ffield.comb3')}",
            "element": element, "n_atoms": len(atoms[0]),
            "n_particle": int(sum(s == element for s in atoms[0].get_chemical_symbols())),
            "particle_a0_A": a0, "substrate_a_A": a_sub}
    fig, (ax, axt) = plt.subplots(2, 1, figsize=(6.4, 5.8), sharex=True, gridspec_kw={"height_ratios": [3, 1]},
                                  constrained_layout=True)
    rows, finals = [], []
    for k, (start, t, at) in enumerate(zip(_STARTS, tables, atoms)):
        last = t["stage"] == t["stage"][-1]
        last[0] = False
        e_fin = float(t["potential_energy_eV"][last].mean())
        finals.append(e_fin)
        ax_, ay_, az_ = inplane_spacing(at, element, a0)
        meta.update({f"{start}_a_x_A": f"{ax_:.5f}", f"{start}_a_y_A": f"{ay_:.5f}", f"{start}_a_z_A": f"{az_:.5f}"})
        label = (f"start a = {a0 if start == 'natural' else a_sub:.3f} Å ({start}): final ⟨E⟩ = {e_fin:.2f} eV;"
                 f" a_x, a_y, a_z = {ax_:.3f}, {ay_:.3f}, {az_:.3f} Å")
        line, = ax.plot(t["time_ps"], t["potential_energy_eV"], lw=1.0, label=label)
        axt.plot(t["time_ps"], t["temperature_K"], lw=0.8, color=line.get_color())
        for i in range(len(t["time_ps"])):
            rows.append([k, t["time_ps"][i], t["potential_energy_eV"][i], t["temperature_K"][i], t["target_K"][i],
                         e_fin])
    ax.set_ylabel("potential energy E_pot (eV)")
    ax.set_title(f"{element} half-particle on anatase(001), two starting lattice constants "
                 f"(substrate a = {a_sub:.3f} Å)\n{meta['potential']}", fontsize=9)
    ax.legend(fontsize=6.5)
    axt.set_xlabel("time (ps)")
    axt.set_ylabel("T mobile (K)")
    with atomic_path(png.with_suffix(".csv")) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
        for key, v in meta.items():
            fh.write(f"# {key}={v}\n")
        fh.write("# start_codes=0 natural (particle a0), 1 substrate lattice constant\n")
        w = csv.writer(fh)
        w.writerow(["start", "time_ps", "potential_energy_eV", "temperature_K", "target_K",
                    "final_mean_potential_energy_eV"])
        w.writerows(rows)
    save_figure(fig, png)
