"""Fig. 5.8: 3D strain of Pt on anatase(001) against a free particle of the same shape.

Thesis (§5.4.2, L3461–3479, L3494–3497, caption L3484–3486): strain of the
thermally averaged positions (Larsen et al.'s template matching) in slices
through the supported and the free particle. The supported particle is
compressed along one in-plane axis to the substrate's spacing (it adapts
completely along that axis), expanded along the other (Pt's large Poisson
ratio), and ε_zz hardly differs from the free particle's. Here: PTM strain
(OVITO, :mod:`hrtem.md.strain3d`) of the anatase run started at the
particle's lattice constant and of the free half particle run with the same
schedule (``md.anatase.stages``), both against the potential's a0. Data
beside it: ``fig5_8.csv``, one row per particle atom of both systems.
"""

from __future__ import annotations

import csv
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from hrtem.errors import HrtemError
from hrtem.figures.fidelity import Claim
from hrtem.figures.fig5_4 import metal_layers
from hrtem.figures.style import save_figure
from hrtem.io import read_atoms
from hrtem.io.stores import atomic_path

_COMP = ("xx", "yy", "zz")
_SYSTEMS = ("supported", "free")


def _mean(d, system: str, comp: str) -> float:
    t = d.csv
    sel = (t["system"] == _SYSTEMS.index(system)) & (t["fcc"] == 1)
    v = t[f"eps_{comp}"][sel]
    v = v[np.isfinite(v)]
    return float(v.mean()) if len(v) else float("nan")


def _delta(d, comp: str) -> float:
    """Mean ε of the supported minus the free particle's (fcc atoms), dimensionless."""
    return _mean(d, "supported", comp) - _mean(d, "free", comp)


def _adopted(d) -> float:
    mismatch = float(d.meta["mismatch"])
    return min(_delta(d, "xx"), _delta(d, "yy")) / mismatch if mismatch else float("nan")


def _other_axis_pct(d) -> float:
    return 100 * max(_delta(d, "xx"), _delta(d, "yy"))


def _enough(d) -> bool:
    t = d.csv
    return all(int(np.sum((t["system"] == k) & (t["fcc"] == 1))) >= 30 for k in (0, 1))


CLAIMS = [
    Claim("support-induced in-plane strain along the compressed axis over the mismatch", "1",
          thesis="completely adapted (1)", source="003 L3461–3462", ours=_adopted,
          holds=lambda ours, d: bool(np.isfinite(ours) and 0.5 <= ours <= 1.5), criterion="0.5–1.5", digits=3,
          at_scale=_enough, note="min over x, y of mean ε(supported) − mean ε(free), fcc atoms; mismatch a_sub/a0 − 1"),
    Claim("support-induced strain along the other in-plane axis", "%", thesis="expanded (Poisson)",
          source="003 L3494–3495", ours=_other_axis_pct, holds=lambda ours, d: bool(np.isfinite(ours) and ours > 0),
          criterion="> 0", digits=3, at_scale=_enough),
    Claim("abs(mean ε_zz supported − free)", "%", thesis="almost no difference", source="003 L3479",
          ours=lambda d: 100 * abs(_delta(d, "zz")), holds=lambda ours, d: bool(np.isfinite(ours) and ours <= 0.5),
          criterion="≤ 0.5 %", digits=3, at_scale=_enough),
]


def make(inputs: list[Path], png: Path, params: dict, seed: int) -> None:
    """Inputs: strain3d.extxyz of md/anatase_natural, then of md/free (``params`` = the md section)."""
    del seed
    from hrtem.md.supported import system_md  # noqa: PLC0415
    from hrtem.structures.supports import OXIDES  # noqa: PLC0415

    if len(inputs) != 2:
        raise HrtemError("fig5_8 needs two inputs: strain3d.extxyz of md/anatase_natural and of md/free")
    paths = sorted(inputs, key=lambda p: "free" in str(p))
    parts = [read_atoms(p) for p in paths]
    for p, part in zip(paths, parts):
        if "eps_xx" not in part.arrays:
            raise HrtemError(f"{p}: no eps_xx array; give the output of `hrtem md strain3d`")
    half = float((params.get("fig5_4") or {}).get("slice_half_width_A", 1.2))
    lim = float((params.get("fig5_4") or {}).get("limit_percent", 7.0))
    a0 = float(parts[0].info.get("reference_a_A", float("nan")))
    a_sub = float((system_md(params, "anatase_natural").get("support") or {}).get("lattice_a_A")
                  or OXIDES["anatase_001"]["a_A"])
    pot = params.get("potential") or {}
    meta = {"potential": f"{pot.get('kind', 'comb3')}:{pot.get('file', 'ffield.comb3')}",
            "reference_a_A": a0, "substrate_a_A": a_sub, "mismatch": a_sub / a0 - 1}
    fig, axes = plt.subplots(2, 3, figsize=(11, 5.6), constrained_layout=True)
    rows, im = [], None
    for i, (name, part) in enumerate(zip(_SYSTEMS, parts)):
        pos = part.positions
        layer = metal_layers(pos[:, 2])
        vertical = np.abs(pos[:, 1] - pos[:, 1].mean()) < half
        for j, c in enumerate(_COMP):
            ax = axes[i, j]
            eps = 100 * part.arrays[f"eps_{c}"]
            ok = vertical & np.isfinite(eps)
            bad = vertical & ~np.isfinite(eps)
            ax.scatter(pos[bad, 0], pos[bad, 2], s=50, c="0.8", edgecolors="0.5", linewidths=0.3)
            im = ax.scatter(pos[ok, 0], pos[ok, 2], s=50, c=eps[ok], cmap="RdBu_r", vmin=-lim, vmax=lim,
                            edgecolors="k", linewidths=0.3)
            ax.set_aspect("equal")
            ax.set_xlabel("x (Å)")
            ax.set_ylabel("z (Å)")
            fcc = np.isfinite(part.arrays[f"eps_{c}"])
            ax.set_title(f"{name}: ε_{c}, mean over fcc atoms {100 * np.nanmean(part.arrays[f'eps_{c}'][fcc]):+.2f} %",
                         fontsize=8)
        for k in range(len(part)):
            rows.append([i, k, *(f"{x:.4f}" for x in pos[k]), layer[k] + 1, int(vertical[k]),
                         int(np.isfinite(part.arrays["eps_xx"][k])),
                         *(f"{part.arrays[f'eps_{c}'][k]:.6g}" for c in _COMP)])
    fig.colorbar(im, ax=axes, shrink=0.8, label="strain (%)  (grey: not fcc)")
    fig.suptitle(f"PTM strain, vertical slices abs(y − y_c) < {half:g} Å: supported on anatase(001) "
                 f"(a = {a_sub:.3f} Å, mismatch {100 * meta['mismatch']:+.2f} %) vs free; a0 = {a0:.4g} Å; "
                 f"{meta['potential']}", fontsize=9)
    with atomic_path(png.with_suffix(".csv")) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
        for key, v in meta.items():
            fh.write(f"# {key}={v}\n")
        fh.write("# system_codes=0 supported on anatase(001), 1 free\n")
        w = csv.writer(fh)
        w.writerow(["system", "atom", "x_A", "y_A", "z_A", "layer", "in_vertical_slice", "fcc",
                    "eps_xx", "eps_yy", "eps_zz"])
        w.writerows(rows)
    save_figure(fig, png)
