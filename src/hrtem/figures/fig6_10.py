"""fig6_10: training loss and validation precision/recall vs step (thesis Fig. 6.10, L4896).

Input: the training history CSV of ``hrtem learn train`` (step, mean loss since
the previous row, validation precision and recall at the validation steps).
Data: ``fig6_10.csv`` = the history.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hrtem.figures.fidelity import Claim
from hrtem.figures.style import save_figure


def _drop(d) -> float:
    loss = d.csv["loss"]
    n = max(1, len(loss) // 10)
    return float(np.mean(loss[-n:]) / np.mean(loss[:n]))


def _last_recall(d) -> float:
    r = d.csv["recall"]
    r = r[np.isfinite(r)]
    return float(r[-1]) if len(r) else float("nan")


CLAIMS = [
    Claim("loss at the end / loss at the start of training", "", thesis="mostly converged after ~2,500 iterations",
          source="003 L4898", ours=_drop, holds=lambda ours, d: ours < 0.5, criterion="the loss falls by more than half",
          at_scale=lambda d: d.csv["step"].max() >= 2500,
          note="the default config trains a small network for a few hundred steps"),
    Claim("validation recall at the last step", "", thesis="(not given)", source="003 L4896", ours=_last_recall,
          holds=lambda ours, d: ours > 0.5, criterion="> 0.5 (random microscopes of Table 6.1 at the validation dose)",
          note="training structures, random microscopes: many images are hard to interpret (thesis L4910)"),
]


def make(inputs: list[Path], png: Path, params: dict, seed: int) -> None:
    """Make fig6_10 (see module docstring)."""
    import matplotlib.pyplot as plt

    from hrtem.figures._learn_common import input_of
    from hrtem.io.tables import read_table, write_table

    raw = read_table(input_of(inputs, ".csv", "training history"))
    # validation columns are empty between validation steps
    h = {k: np.array([float(v) if str(v).strip() else np.nan for v in col]) for k, col in raw.items()}
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.4))
    a.plot(h["step"], h["loss"], color="C0")
    a.set_yscale("log")
    a.set_xlabel("training step")
    a.set_ylabel("loss (sum of squared errors per image)")
    a.set_title("(a) training loss")
    ok = np.isfinite(h["precision"])
    b.plot(h["step"][ok], h["precision"][ok], "o-", label="precision")
    b.plot(h["step"][ok], h["recall"][ok], "s-", label="recall")
    b.set_ylim(0, 1.02)
    b.set_xlabel("training step")
    b.set_ylabel("validation precision / recall")
    b.set_title("(b) validation (training sheets, random optics)")
    b.legend(loc="lower right")
    fig.tight_layout()
    save_figure(fig, png)
    write_table({k: h[k] for k in ("step", "loss", "precision", "recall", "wall_s") if k in h}, png.with_suffix(".csv"))
