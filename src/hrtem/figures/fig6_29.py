"""fig6_29: true column heights of a held-out particle and the deviation of the predicted heights at several doses
(thesis Fig. 6.29).

Input: the column table of ``hrtem gold-count evaluate`` (one row per true
column of every held-out ⟨110⟩ Wulff particle, dose and realisation with its
true and predicted height; predicted 0 = not detected). The figure shows
``params["figure_particle"]`` (default: the largest held-out particle tilted at most
:data:`NEAR_AXIS_DEG`, as the thesis's particle was "almost exactly in the ideal ⟨110⟩";
the largest of all when none is; realisation 0):
(a) the true number of atoms per column, then one panel per test dose with
predicted − true height per column (a cross where the column was not found).

Data ``fig6_29.csv``: the rows of that particle and realisation, all doses
(``dose_e_per_a2, tilt_deg, x_a, y_a, true_height, predicted_height, error``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hrtem.errors import HrtemError
from hrtem.figures.fidelity import Claim
from hrtem.figures.style import save_figure
from hrtem.learn.gold import NEAR_AXIS_DEG


def _wrong(d, dose: float) -> float:
    r = d.rows(dose_e_per_a2=dose)
    err = r["error"][np.isfinite(r["error"])]
    return float(np.mean(err != 0)) if len(err) else float("nan")


def _nearest(d, dose: float) -> float:
    doses = np.unique(d.csv["dose_e_per_a2"])
    return float(doses[np.argmin(np.abs(np.log(doses / dose)))])


def _off1_share_low(d) -> float:
    """Among the wrong columns at the doses below the highest, the share that is off by exactly one."""
    t = d.csv
    low = t["dose_e_per_a2"] < t["dose_e_per_a2"].max()
    err = np.abs(t["error"][low & np.isfinite(t["error"])])
    wrong = err[err > 0]
    return float(np.mean(wrong == 1)) if len(wrong) else 1.0


CLAIMS = [
    Claim("wrong heights of the example particle at the dose nearest 3×10⁴ e⁻/Å²", "", thesis=0.0, source="003 L5564",
          ours=lambda d: _wrong(d, _nearest(d, 3e4)), tolerance=0.05,
          note=lambda d: f"fraction of matched columns with a wrong height at {_nearest(d, 3e4):g} e⁻/Å²; "
                         "thesis: no errors at 3×10⁴ for a particle almost exactly in ⟨110⟩ (ours: tilted within "
                         "learn.gold.counting.tilt_max_deg; the example is the largest held-out particle tilted ≤ 1°)"),
    Claim("errors at lower doses are mostly off by one", "", thesis="generally only off by 1 atom", source="003 L5568",
          ours=_off1_share_low, holds=lambda ours, d: ours >= 0.5, criterion="≥ 50 % of the wrong heights off by 1"),
]


def make(inputs: list[Path], png: Path, params: dict, seed: int) -> None:
    """Make fig6_29 (see module docstring)."""
    import matplotlib.pyplot as plt
    from matplotlib.colors import BoundaryNorm, ListedColormap

    from hrtem.figures._learn_common import read_checked_table
    from hrtem.io.tables import write_table
    from hrtem.learn.gold_count import COLUMN_FIELDS

    if len(inputs) != 1:
        raise HrtemError("fig6_29 needs one input: the column CSV of hrtem gold-count evaluate")
    t = read_checked_table(inputs[0], COLUMN_FIELDS, "a counting column table", "hrtem gold-count evaluate")
    if not len(t["particle"]):
        raise HrtemError(f"{inputs[0]} has no columns")
    particles = np.unique(t["particle"])
    if params.get("figure_particle") is not None:
        pick = int(params["figure_particle"])
    else:  # the largest particle tilted at most NEAR_AXIS_DEG (the thesis's was almost exactly on <110>), else the largest
        tilt = np.asarray(t["tilt_deg"], float)
        near = [p for p in particles if np.all(tilt[t["particle"] == p] <= NEAR_AXIS_DEG)]
        pick = int(max(near or list(particles), key=lambda p: np.sum((t["particle"] == p) & (t["realisation"] == 0))))
    sel = (t["particle"] == pick) & (t["realisation"] == 0)
    if not sel.any():
        raise HrtemError(f"fig6_29: particle {pick} is not in {inputs[0]} (particles {particles.astype(int).tolist()})")
    rows = {k: t[k][sel] for k in ("dose_e_per_a2", "tilt_deg", "x_a", "y_a", "true_height", "predicted_height", "error")}
    write_table(rows, Path(png).with_suffix(".csv"))
    doses = np.unique(rows["dose_e_per_a2"])
    first = np.isclose(rows["dose_e_per_a2"], doses[0])
    x, y, h = rows["x_a"][first], rows["y_a"][first], rows["true_height"][first]
    pad = 3.0
    lim = (x.min() - pad, x.max() + pad, y.min() - pad, y.max() + pad)
    n = len(doses) + 1
    fig, axes = plt.subplots(1, n, figsize=(3.4 * n, 3.8), layout="constrained")
    ax = axes[0]
    sc = ax.scatter(x, y, c=h, cmap="viridis", s=60, vmin=0.5, vmax=max(float(h.max()), 1.0) + 0.5, edgecolors="k", lw=0.3)
    for xi, yi, hi in zip(x, y, h):
        ax.text(xi, yi, f"{int(hi)}", ha="center", va="center", fontsize=5, color="w")
    fig.colorbar(sc, ax=ax, shrink=0.7, label="atoms in column")
    diam = t["diameter_nm"][sel][0]
    ax.set_title(f"(a) true heights\n{diam:g} nm Wulff particle, tilt {rows['tilt_deg'][0]:.1f}°", fontsize=9)
    cmap = ListedColormap(["#08306b", "#4292c6", "#f0f0f0", "#ef3b2c", "#67000d"])
    norm = BoundaryNorm([-10.5, -1.5, -0.5, 0.5, 1.5, 10.5], cmap.N)
    for k, dose in enumerate(doses):
        ax = axes[k + 1]
        r = np.isclose(rows["dose_e_per_a2"], dose)
        e = rows["error"][r]
        found = np.isfinite(e)
        sc = ax.scatter(rows["x_a"][r][found], rows["y_a"][r][found], c=np.clip(e[found], -10, 10), cmap=cmap, norm=norm,
                        s=60, edgecolors="k", lw=0.3)
        ax.scatter(rows["x_a"][r][~found], rows["y_a"][r][~found], marker="x", c="k", s=25)
        wrong = float(np.mean(e[found] != 0)) if found.any() else float("nan")
        ax.set_title(f"({chr(98 + k)}) {dose:.0e} e⁻/Å²\n{100 * wrong:.0f} % wrong, {int((~found).sum())} missed",
                     fontsize=9)
    fig.colorbar(sc, ax=list(axes[1:]), shrink=0.7, ticks=[-2, -1, 0, 1, 2], label="predicted − true height")
    for ax in axes:
        ax.set_xlim(lim[0], lim[1])
        ax.set_ylim(lim[2], lim[3])
        ax.set_aspect("equal")
        ax.set_xlabel("x (Å)")
    axes[0].set_ylabel("y (Å)")
    save_figure(fig, png)
