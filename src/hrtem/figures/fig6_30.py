"""fig6_30: fraction of columns whose predicted height is off by 1, 2 and > 2 vs total dose (thesis Fig. 6.30).

Input: the summary table of ``hrtem gold-count evaluate`` (one row per dose,
held-out ⟨110⟩ Wulff particle and noise realisation with TP/FP/FN and the
matched columns off by 0, 1, 2, > 2 atoms). The fractions are pooled over the
particles and realisations at each dose (matched columns only; the dose is the
total of the three focal-series images, as in the thesis).

Data ``fig6_30.csv``: per dose ``n_columns``, ``n_matched``, ``precision``,
``recall``, ``off_0``, ``off_1``, ``off_2``, ``off_gt2`` and ``off_ge2``
(= off_2 + off_gt2) as fractions of the matched columns of the whole held-out
ensemble; ``n_particles``, ``tilt_min_deg``/``tilt_max_deg`` (the ensemble's
tilt range); ``off_ge2_lo95``/``off_ge2_hi95``, a 95 % bootstrap interval of
``off_ge2`` resampling whole particles
(:func:`hrtem.learn.gold_count.bootstrap_interval`); and the secondary row of
the particles tilted at most :data:`NEAR_AXIS_DEG` (the thesis's Fig. 6.29
particle was "almost exactly in the ideal ⟨110⟩"): ``n_matched_near_axis``,
``off_1_near_axis``, ``off_ge2_near_axis``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hrtem.errors import HrtemError
from hrtem.figures.fidelity import Claim
from hrtem.figures.style import save_figure
from hrtem.learn.gold import NEAR_AXIS_DEG  # the near-zone-axis subset reported beside the whole ensemble


def _at(d, column: str, dose: float) -> float:
    """``column`` at ``dose`` (NaN when the run has no such dose)."""
    return d.scalar(column, dose_e_per_a2=dose) if _has(d, dose) else float("nan")


def _has(d, dose: float) -> bool:
    return bool(np.any(np.isclose(d.csv["dose_e_per_a2"], dose)))


def _top(d, column: str) -> float:
    t = d.csv
    return float(t[column][np.argmax(t["dose_e_per_a2"])])


def _falls(d) -> float:
    """off-by-one at the lowest dose minus at the highest."""
    t = d.csv
    o = np.argsort(t["dose_e_per_a2"])
    return float(t["off_1"][o][0] - t["off_1"][o][-1])


CLAIMS = [
    Claim("off-by-one fraction at 10⁴ e⁻/Å² (total)", "", thesis=0.10, source="003 L5580",
          ours=lambda d: _at(d, "off_1", 1e4), tolerance=0.05, at_scale=lambda d: _has(d, 1e4),
          note="fraction of matched columns of the held-out Wulff particles; thesis ≈ 10 %"),
    Claim("off-by-one fraction at 10⁶ e⁻/Å² (total)", "", thesis=0.05, source="003 L5580",
          ours=lambda d: _at(d, "off_1", 1e6), tolerance=0.05, at_scale=lambda d: _has(d, 1e6),
          note="thesis ≈ 5 %"),
    Claim("off-by-one fraction falls with dose", "", thesis="falls from 10⁴ to 10⁶ e⁻/Å²", source="003 L5580",
          ours=_falls, holds=lambda ours, d: ours > 0, criterion="off₁(lowest dose) − off₁(highest dose) > 0"),
    Claim("off by ≥ 2 at the highest dose", "", thesis="very low", source="003 L5586",
          ours=lambda d: _top(d, "off_ge2"), holds=lambda ours, d: ours < 0.05, criterion="< 0.05 (issue 11)",
          note="whole held-out ensemble; its tilt range is in fig6_30.csv (tilt_min_deg, tilt_max_deg)"),
    Claim("off by ≥ 2 at the highest dose, upper end of the 95 % bootstrap interval", "", thesis="very low",
          source="003 L5586", ours=lambda d: _top(d, "off_ge2_hi95"), holds=lambda ours, d: ours < 0.05,
          criterion="< 0.05", note="resampling whole held-out particles"),
    Claim("held-out particles tilted up to", "°", thesis=3.0, source="003 L5260",
          ours=lambda d: float(d.csv["tilt_max_deg"][0]), holds=lambda ours, d: ours >= 2.0,
          criterion="the held-out ensemble reaches ≥ 2° (drawn uniformly in 0–counting.tilt_max_deg)",
          note="thesis: validation on the detection set's relaxed particles, tilts 0–3°"),
    Claim("off by ≥ 2 at the highest dose, particles tilted ≤ 1°", "", thesis="very low", source="003 L5586",
          ours=lambda d: _top(d, "off_ge2_near_axis"), holds=lambda ours, d: ours < 0.05, criterion="< 0.05",
          at_scale=lambda d: bool(np.isfinite(d.csv["off_ge2_near_axis"]).any()),
          note="secondary row: the thesis's Fig. 6.29 particle was almost exactly on ⟨110⟩"),
]


def make(inputs: list[Path], png: Path, params: dict, seed: int) -> None:
    """Make fig6_30 (see module docstring)."""
    import matplotlib.pyplot as plt

    from hrtem.figures._learn_common import read_checked_table
    from hrtem.io.tables import write_table
    from hrtem.learn.gold_count import SUMMARY_FIELDS, bootstrap_interval, error_fractions

    if len(inputs) != 1:
        raise HrtemError("fig6_30 needs one input: the summary CSV of hrtem gold-count evaluate")
    t = read_checked_table(inputs[0], SUMMARY_FIELDS, "a counting summary", "hrtem gold-count evaluate")
    f = error_fractions(t)
    nd = len(f["dose_e_per_a2"])
    tilt = np.asarray(t["tilt_deg"], float)
    f["n_particles"] = np.full(nd, float(len(np.unique(t["particle"]))))
    f["tilt_min_deg"] = np.full(nd, float(np.nanmin(tilt)) if np.isfinite(tilt).any() else np.nan)
    f["tilt_max_deg"] = np.full(nd, float(np.nanmax(tilt)) if np.isfinite(tilt).any() else np.nan)
    b = bootstrap_interval(t, "off_ge2", seed=seed)
    f["off_ge2_lo95"], f["off_ge2_hi95"] = b["lo"], b["hi"]
    for c in ("n_matched", "off_1", "off_ge2"):
        f[f"{c}_near_axis"] = np.full(nd, np.nan)
    if np.any(tilt <= NEAR_AXIS_DEG):
        near = error_fractions(t, NEAR_AXIS_DEG)
        for j, d in enumerate(near["dose_e_per_a2"]):
            i = int(np.argmin(np.abs(np.log(f["dose_e_per_a2"] / d))))
            for c in ("n_matched", "off_1", "off_ge2"):
                f[f"{c}_near_axis"][i] = near[c][j]
    write_table(f, Path(png).with_suffix(".csv"))
    n_img = len(t["dose_e_per_a2"]) // max(len(f["dose_e_per_a2"]), 1)
    fig, axes = plt.subplots(1, 2, figsize=(9.5, 4.6))
    ax = axes[0]
    for col, lab, mk in (("off_1", "off by 1", "o-"), ("off_2", "off by 2", "s-"), ("off_gt2", "off by > 2", "^-")):
        ax.plot(f["dose_e_per_a2"], f[col], mk, label=lab)
    ge2 = f["off_2"] + f["off_gt2"]
    ax.fill_between(f["dose_e_per_a2"], f["off_ge2_lo95"], f["off_ge2_hi95"], color="0.8", alpha=0.6,
                    label="off by ≥ 2, 95 % bootstrap")
    ax.plot(f["dose_e_per_a2"], ge2, "k:", lw=1, label="off by ≥ 2")
    if np.isfinite(f["off_ge2_near_axis"]).any():
        ax.plot(f["dose_e_per_a2"], f["off_ge2_near_axis"], "v--", color="0.4", ms=4,
                label=f"off by ≥ 2, tilt ≤ {NEAR_AXIS_DEG:g}°")
    ax.plot([1e4, 1e6], [0.10, 0.05], "k*", ms=10, label="thesis off by 1 (≈)")
    ax.axhline(0.05, color="tab:red", lw=0.8, ls="-.", label="goal: off by ≥ 2 below 0.05 (issue 11)")
    ax.set_xscale("log")
    ax.set_xlabel("total dose of the three images (e⁻/Å²)")
    ax.set_ylabel("fraction of matched columns")
    top = np.nanmax(np.concatenate([f[c] for c in ("off_1", "off_2", "off_gt2", "off_ge2_near_axis")]))
    ax.set_ylim(0, max(0.3, float(top) * 1.1))
    ax.set_title(f"(a) {int(f['n_columns'][0])} columns, {int(f['n_particles'][0])} particles tilted "
                 f"{f['tilt_min_deg'][0]:.1f}–{f['tilt_max_deg'][0]:.1f}°, {n_img} focal series per dose", fontsize=8)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.17), ncol=2)  # below: no curve hidden
    ax = axes[1]
    ax.plot(f["dose_e_per_a2"], f["precision"], "o-", label="precision")
    ax.plot(f["dose_e_per_a2"], f["recall"], "s-", label="recall")
    ax.set_xscale("log")
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("total dose (e⁻/Å²)")
    ax.set_ylabel("precision, recall of the columns")
    members = int(params.get("networks", 1) or 1)
    ax.set_title("(b) column detection by the counting network" if members == 1 else
                 f"(b) column detection by {members} averaged counting networks", fontsize=9)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    save_figure(fig, png)
