"""Fig. 5.4: ε_xx, ε_yy, ε_zz slices through a supported particle (PTM strain).

Thesis (§5.4.1, L3416–3420, L3339–3384): Pt on c-ZrO2, positions averaged over
the last 0.05 ns of the anneal, strain by Larsen et al.'s template matching.
Upper row: vertical slice through the particle centre (x–z); lower row: the
second metal layer from the interface (x–y). Interface strain reaches 3–4
layers into the particle. Here: the first rotation's run of the md rules.
"""

from __future__ import annotations

import csv
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from ase import Atoms

from hrtem.errors import HrtemError
from hrtem.figures.fidelity import Claim
from hrtem.figures.style import save_figure
from hrtem.io import read_atoms
from hrtem.io.stores import atomic_path

_COMP = ("xx", "yy", "zz")



def _layer_strain_pct(d) -> tuple[np.ndarray, np.ndarray]:
    """Metal layers (1 = interface) and the mean |ε| (%, three normal components) of their fcc atoms."""
    t = d.csv
    fcc = t["fcc"] == 1
    layers = np.unique(t["layer"])
    mean = np.array([np.mean(np.abs(np.concatenate([t[f"eps_{c}"][fcc & (t["layer"] == k)] for c in _COMP])))
                     if np.any(fcc & (t["layer"] == k)) else np.nan for k in layers]) * 100
    return layers, mean


def penetration_layers(d, threshold_pct: float = 1.0) -> int:
    """Layers from the interface up whose mean |ε| exceeds ``threshold_pct`` before the first that does not."""
    _, mean = _layer_strain_pct(d)
    depth = 0
    for m in mean:
        if np.isfinite(m) and m > threshold_pct:
            depth += 1
        elif depth or np.isfinite(m):
            break
    return depth


def _enough_layers(d) -> bool:
    """≥ 6 metal layers with fcc atoms: enough to see strain die out 3–4 layers up."""
    _, mean = _layer_strain_pct(d)
    return int(np.sum(np.isfinite(mean))) >= 6


CLAIMS = [
    Claim("interface strain penetration (layers with mean abs(ε) > 1 %)", "layers", thesis="3–4 layers",
          source="003 L3362", ours=penetration_layers, holds=lambda ours, d: 3 <= ours <= 4,
          criterion="3 to 4 layers", at_scale=_enough_layers,
          note="default: Pt on c-ZrO₂, a few layers, 6 averaged frames"),
]


def metal_layers(z: np.ndarray, gap_A: float = 0.7) -> np.ndarray:
    """Layer index (0 = interface) of each atom from gaps > ``gap_A`` between sorted heights."""
    order = np.argsort(z)
    layer = np.zeros(len(z), int)
    layer[order] = np.concatenate([[0], np.cumsum(np.diff(z[order]) > gap_A)])
    return layer


def _strained_particle(inputs: list[Path], params: dict) -> Atoms:
    if len(inputs) != 1:
        raise HrtemError("fig5_4 needs one input: strain3d.extxyz (or a trajectory extxyz)")
    atoms = read_atoms(inputs[0], index=":")
    if "eps_xx" in atoms[-1].arrays:
        return atoms[-1]
    from hrtem.md.commands import _reference_a  # noqa: PLC0415
    from hrtem.md.strain3d import strain_of_particle, thermal_average  # noqa: PLC0415

    element = (params.get("particle") or {}).get("element", "Cu")
    rmsd = float((params.get("strain3d") or {}).get("rmsd_cutoff", 0.12))
    return strain_of_particle(thermal_average(atoms), element, _reference_a(params, element), rmsd)


def make(inputs: list[Path], png: Path, params: dict, seed: int) -> None:
    """Two slices × three normal strains (``params`` = the md section)."""
    del seed
    fp = params.get("fig5_4") or {}
    half = float(fp.get("slice_half_width_A", 1.2))
    which = int(fp.get("interface_layer", 2))
    lim = float(fp.get("limit_percent", 7.0))
    part = _strained_particle(inputs, params)
    pos = part.positions
    layer = metal_layers(pos[:, 2])
    yc = pos[:, 1].mean()
    vertical = np.abs(pos[:, 1] - yc) < half
    horizontal = layer == which - 1
    if not vertical.any() or not horizontal.any():
        raise HrtemError("fig5_4: empty slice; increase md.fig5_4.slice_half_width_A or the particle size")
    # panel heights follow the data extents (equal aspect): z-extent of the
    # vertical slice vs y-extent of the layer
    hz = np.ptp(pos[vertical, 2]) + 3.0
    hy = np.ptp(pos[horizontal, 1]) + 3.0
    fig, axes = plt.subplots(
        2, 3, figsize=(11, 1.2 + 3.2 * (hz + hy) / max(hy, 1.0)), constrained_layout=True,
        gridspec_kw={"height_ratios": [hz, hy]},
    )
    im = None
    for j, c in enumerate(_COMP):
        eps = 100 * part.arrays[f"eps_{c}"]
        for i, (sel, (u, v), lab) in enumerate(
            [(vertical, (0, 2), "z"), (horizontal, (0, 1), "y")]
        ):
            ax = axes[i, j]
            ok = sel & np.isfinite(eps)
            bad = sel & ~np.isfinite(eps)
            ax.scatter(pos[bad, u], pos[bad, v], s=60, c="0.8", marker="o", edgecolors="0.5", linewidths=0.3)
            im = ax.scatter(
                pos[ok, u], pos[ok, v], s=60, c=eps[ok], cmap="RdBu_r", vmin=-lim, vmax=lim,
                marker="o", edgecolors="k", linewidths=0.3,
            )
            ax.set_aspect("equal")
            ax.set_xlabel("x (Å)")
            ax.set_ylabel(f"{lab} (Å)")
            where = f"|y − y_c| < {half:g} Å" if i == 0 else f"metal layer {which} from interface"
            ax.set_title(f"ε_{c}, {where}", fontsize=9)
    fig.colorbar(im, ax=axes, shrink=0.8, label="strain (%)  (grey: not fcc)")
    a0 = part.info.get("reference_a_A", float("nan"))
    el = (params.get("particle") or {}).get("element", "Cu")
    n_fcc = int(np.isfinite(part.arrays["eps_xx"]).sum())
    pot = params.get("potential") or {}
    potential = f"{pot.get('kind', 'comb3')}:{pot.get('file', 'ffield.comb3')}"
    fig.suptitle(
        f"PTM lattice strain of the thermally averaged {el} particle "
        f"(reference a$_0$ = {a0:.4g} Å; {n_fcc} of {len(part)} atoms fcc)\n{potential}"
    )
    with atomic_path(png.with_suffix(".csv")) as tmp, open(tmp, "w", newline="") as fh:
        fh.write(f"# potential={potential}\n# element={el}\n# reference_a_A={a0}\n")
        w = csv.writer(fh)
        w.writerow(["atom", "x_A", "y_A", "z_A", "layer", "in_vertical_slice", "in_layer_slice", "fcc",
                    "eps_xx", "eps_yy", "eps_zz"])
        for k in range(len(part)):
            w.writerow([k, *(f"{x:.4f}" for x in pos[k]), layer[k] + 1, int(vertical[k]), int(horizontal[k]),
                        int(np.isfinite(part.arrays["eps_xx"][k])),
                        *(f"{part.arrays[f'eps_{c}'][k]:.6g}" for c in _COMP)])
    save_figure(fig, png)
