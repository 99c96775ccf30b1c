"""fig6_18: precision and recall vs the threshold t (thesis Fig. 6.18, L5113-5117).

Input: the evaluation table (held-out sheets, all kinds pooled, all atoms).
Data: ``fig6_18.csv`` (dose, threshold, precision, recall).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hrtem.figures.fidelity import Claim
from hrtem.figures.style import save_figure


def _spread(d, column: str, dose: float) -> float:
    r = d.rows()
    sel = np.isclose(r["dose_e_per_a2"], dose, rtol=0.05) & (r["threshold"] >= 0.1) & (r["threshold"] <= 1.0)
    v = r[column][sel]
    v = v[np.isfinite(v)]
    return float(v.max() - v.min()) if len(v) else float("nan")


CLAIMS = [
    Claim("spread of recall over t ∈ [0.1, 1] at the highest dose", "", thesis="fairly insensitive to t",
          source="003 L5115", ours=lambda d: _spread(d, "recall", float(d.csv["dose_e_per_a2"].max())),
          holds=lambda ours, d: ours <= 0.1, criterion="≤ 0.1"),
    Claim("spread of recall over t ∈ [0.1, 1] at the lowest dose", "", thesis="sensitive when noise dominates",
          source="003 L5116", ours=lambda d: _spread(d, "recall", float(d.csv["dose_e_per_a2"].min())),
          holds=lambda ours, d: ours >= _spread(d, "recall", float(d.csv["dose_e_per_a2"].max())),
          criterion="≥ the spread at the highest dose"),
]


def make(inputs: list[Path], png: Path, params: dict, seed: int) -> None:
    """Make fig6_18 (see module docstring)."""
    import matplotlib.pyplot as plt

    from hrtem.figures._learn_common import input_of, read_evaluation, subset
    from hrtem.io.tables import write_table

    t = read_evaluation(input_of(inputs, ".csv", "evaluation table"))
    doses = [float(x) for x in params.get("pr_doses_e_per_a2", [18, 100, 562, 3162, 17783, 100000])]
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.6), sharey=True)
    cols: dict[str, list] = {k: [] for k in ("dose_e_per_a2", "threshold", "precision", "recall")}
    colours = plt.cm.viridis(np.linspace(0, 0.9, len(doses)))
    for c, dose in zip(colours, doses):
        r = subset(t, kind="all", sweep="dose", group="all", dose_e_per_a2=dose)
        if not len(r["threshold"]):
            continue
        o = np.argsort(r["threshold"])
        a.plot(r["threshold"][o], r["precision"][o], "o-", ms=3, color=c, label=f"{dose:.3g}")
        b.plot(r["threshold"][o], r["recall"][o], "o-", ms=3, color=c, label=f"{dose:.3g}")
        for k in cols:
            cols[k].extend(r[k][o])
    for ax, name in ((a, "(a) precision"), (b, "(b) recall")):
        ax.set_xlabel("threshold t (learn.postprocess.threshold)")
        ax.set_title(name)
        ax.set_ylim(0, 1.02)
    a.set_ylabel("precision / recall")
    b.legend(title="dose (e⁻/Å²)", fontsize=8)
    fig.tight_layout()
    save_figure(fig, png)
    write_table({k: np.asarray(v) for k, v in cols.items()}, png.with_suffix(".csv"))
