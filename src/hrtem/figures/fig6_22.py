"""fig6_22: one held-out Au particle at 10², 2.2×10², 464 and 10³ e⁻/Å² - image, CNN output, detections coloured TP / FN / FP (thesis Fig. 6.22, L5287-5295).

Inputs: the trained detection model (``.keras``) and the exit waves of the
ideal held-out particles (``ideal.zarr``); params ``{"learn": …}``. The test
images are those of ``hrtem gold evaluate`` (same particle, dose and noise
step: :func:`hrtem.learn.gold_detect.heldout_sample`, particle
``fig6_22_particle``, realisation 0), so the counts here are rows of the
evaluation table. Data: ``fig6_22.csv`` (dose, status tp/fn/fp, x_a, y_a,
height) - one row per column and per false positive.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hrtem.figures.fidelity import Claim
from hrtem.figures.style import save_figure

DOSES = (100.0, 220.0, 464.0, 1000.0)


def _n(d, status: str) -> int:
    return int(np.sum(np.asarray(d.csv["status"]).astype(str) == status))


CLAIMS = [
    Claim("false negatives / false positives over the four doses", "", thesis="FN > FP (no FP in the example)",
          source="003 L5291-5295", ours=lambda d: _n(d, "fn") / max(_n(d, "fp"), 1),
          holds=lambda ours, d: _n(d, "fn") > _n(d, "fp"), criterion="FN > FP", note="ratio FN / max(FP, 1)"),
]


def make(inputs: list[Path], png: Path, params: dict, seed: int) -> None:
    """Make fig6_22 (see module docstring)."""
    import matplotlib.pyplot as plt

    from hrtem.figures._learn_common import input_of
    from hrtem.io.tables import write_table
    from hrtem.learn.commands import sections
    from hrtem.learn.data import ExitWaveSet, TrainingImages
    from hrtem.learn.gold import gold_section
    from hrtem.learn.gold_detect import detect_learn, detect_sample, heldout_sample, heldout_settings
    from hrtem.learn.train import configure_tensorflow, load_model

    learn, _ = sections(params)
    settings = detect_learn(learn)
    h = gold_section(settings["gold"])["heldout"]
    configure_tensorflow(2)
    model, info = load_model(input_of(inputs, ".keras", "model"))
    waves = ExitWaveSet(input_of(inputs, ".zarr", "held-out exit waves"))
    images = TrainingImages(waves, heldout_settings(settings, waves.cell_a, int(info["network"]["depth"])), seed,
                            stream="gold_heldout")
    doses = [float(d) for d in h["doses_e_per_a2"]]
    picks = [i for i, d in enumerate(doses) if any(np.isclose(d, x, rtol=0.02) for x in DOSES)] or list(range(len(doses)))
    particle = min(int(params.get("fig6_22_particle", 0)), len(waves) - 1)
    n = len(picks)
    fig, axes = plt.subplots(3, n, figsize=(3.2 * n, 9.6), squeeze=False)
    cols: dict[str, list] = {c: [] for c in ("dose_e_per_a2", "status", "x_a", "y_a", "height")}
    style = {"tp": dict(marker="o", mfc="none", color="c", label="TP"), "fn": dict(marker="^", mfc="none", color="m", label="FN"),
             "fp": dict(marker="x", color="r", label="FP")}
    for j, di in enumerate(picks):
        _, sample = heldout_sample(images, h, particle, di, 0)
        r = detect_sample(model, settings, sample, float(h["margin_a"]), float(h["radius_a"]))
        s = sample.sampling_a
        ext = [-s / 2, (sample.image.shape[0] - 0.5) * s, -s / 2, (sample.image.shape[1] - 0.5) * s]
        axes[0, j].imshow(sample.image[..., 0].T, origin="lower", cmap="gray", extent=ext)
        axes[0, j].set_title(f"{doses[di]:.3g} e⁻/Å²")
        axes[1, j].imshow(1 - r["probability"][..., 0].T, origin="lower", cmap="magma", vmin=0, vmax=1, extent=ext)
        axes[2, j].imshow(sample.image[..., 0].T, origin="lower", cmap="gray", extent=ext, alpha=0.5)
        pts = {"tp": r["true_xy"][r["true_status"] == "tp"], "fn": r["true_xy"][r["true_status"] == "fn"],
               "fp": r["det_xy"][r["det_status"] == "fp"]}
        for st, p in pts.items():
            axes[2, j].plot(p[:, 0], p[:, 1], ls="none", ms=4, **{**style[st], "label": f"{style[st]['label']} {len(p)}"})
        axes[2, j].legend(fontsize=7, loc="upper right")
        heights = {"tp": r["height"][r["true_status"] == "tp"], "fn": r["height"][r["true_status"] == "fn"],
                   "fp": np.zeros(len(pts["fp"]))}
        for st in ("tp", "fn", "fp"):
            k = len(pts[st])
            cols["dose_e_per_a2"].extend([doses[di]] * k)
            cols["status"].extend([st] * k)
            cols["x_a"].extend(pts[st][:, 0])
            cols["y_a"].extend(pts[st][:, 1])
            cols["height"].extend(heights[st])
    for i, name in enumerate(("image", "CNN output (1 − background)", "detections")):
        axes[i, 0].set_ylabel(f"{name}\ny (Å)")
    for ax in axes[-1]:
        ax.set_xlabel("x (Å)")
    fig.tight_layout()
    save_figure(fig, png)
    write_table({c: np.asarray(v) for c, v in cols.items()}, png.with_suffix(".csv"))
