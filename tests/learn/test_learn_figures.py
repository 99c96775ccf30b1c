"""The learning figures read the evaluation table/history and their claims compute from their own data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hrtem.figures import run
from hrtem.figures.fidelity import collect
from hrtem.io.tables import read_table, write_table
from hrtem.learn.evaluate import EVALUATION_COLUMNS


def _table(path: Path) -> Path:
    """A made-up evaluation table: recall rises with dose, defects need 10× the dose, a dip at Δf = 0."""
    rows = {c: [] for c in EVALUATION_COLUMNS}
    doses = [10, 18, 100, 562, 1000, 3162, 17783, 100000]
    thresholds = [0.0, 0.1, 0.3, 0.5, 1.0]
    n = 1000

    def add(kind, sweep, dose, defocus, t, group, recall, precision):
        tp = int(round(recall * n))
        fp = int(round(tp * (1 / precision - 1))) if precision > 0 else n
        vals = dict(kind=kind, sweep=sweep, dose_e_per_a2=float(dose), defocus_a=float(defocus), threshold=t, group=group,
                    tp=tp, fp=fp, fn=n - tp, precision=tp / (tp + fp) if tp + fp else np.nan, recall=tp / n)
        for k, v in vals.items():
            rows[k].append(v)

    def curve(dose, shift):
        return 1 / (1 + np.exp(-(np.log10(dose) - 1.6 - shift) * 4))

    for kind in ("all", "ideal"):
        for dose in doses:
            for t in thresholds:
                for group, shift in (("all", 0.3), ("ideal", 0.0), ("defect", 1.0)):
                    r = curve(dose, shift) * (1 - 0.1 * t * (dose < 100))
                    add(kind, "dose", dose, 84, t, group, r, 0.5 + 0.5 * curve(dose, shift))
        for df in range(-200, 201, 50):
            for t in thresholds:
                for group in ("all", "ideal", "defect"):
                    r = 0.95 - 0.5 * np.exp(-(df / 40) ** 2)
                    add(kind, "defocus", 2000, df, t, group, r, 0.97)
    write_table({k: np.asarray(v) for k, v in rows.items()}, path)
    return path


def test_evaluation_figures_and_claims(tmp_path):
    table = _table(tmp_path / "evaluation.csv")
    figs = tmp_path / "figures"
    for fid in ("fig6_17", "fig6_18", "fig6_19"):
        run(fid, [table], figs / f"{fid}.png", {"threshold": 0.3, "pr_doses_e_per_a2": [18, 100, 562, 3162, 17783, 100000]}, 0)
        assert (figs / f"{fid}.png").stat().st_size > 10_000
    d19 = read_table(figs / "fig6_19.csv")
    assert set(d19["panel"]) == {"dose", "defocus"}
    rows = {(r.figure, r.quantity): r for r in collect(["fig6_17", "fig6_18", "fig6_19"], figs)}
    # numbers recomputed from the figures' own CSVs
    ideal_1000 = rows[("fig6_19", "held-out ideal sheet: recall at 10³ e⁻/Å²")]
    assert float(ideal_1000.ours) == pytest.approx(1 / (1 + np.exp(-(3 - 1.9) * 4)), abs=2e-3)
    assert rows[("fig6_19", "dose for P, R ≥ 0.95: defect / ideal atoms")].holds == "yes"
    assert rows[("fig6_19", "recall at the worst defocus / at the best")].holds == "yes"
    assert rows[("fig6_17", "best F1 at 18 e⁻/Å² (all atoms)")].holds == "yes"
    assert rows[("fig6_17", "dose for F1 ≥ 0.9: defect atoms / ideal atoms")].holds == "yes"


def test_history_figure(tmp_path):
    steps = np.arange(50, 1001, 50)
    hist = {"step": steps, "loss": 600 * np.exp(-steps / 300) + 50,
            "precision": np.where(steps % 250 == 0, 0.9, np.nan), "recall": np.where(steps % 250 == 0, 0.8, np.nan),
            "wall_s": steps * 0.5}
    write_table(hist, tmp_path / "history.csv")
    run("fig6_10", [tmp_path / "history.csv"], tmp_path / "f" / "fig6_10.png", {}, 0)
    rows = {r.quantity: r for r in collect(["fig6_10"], tmp_path / "f")}
    assert rows["validation recall at the last step"].holds == "yes"
    assert rows["loss at the end / loss at the start of training"].holds == "not at this scale"
