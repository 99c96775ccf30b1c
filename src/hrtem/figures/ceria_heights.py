"""ceria_heights: CeO2 atoms per column from a noisy image, weighted vs unweighted loss (abstract 001).

Inputs: the held-out exit waves (``test.zarr``), the U-Net trained with the
unweighted cross-entropy and the one trained with the class-weighted
cross-entropy (``*.keras`` with their ``.json`` sidecars), in that order.
``params`` is the ``ceria`` config section.

Panels: one held-out image at ``ceria.figure.dose_e_per_a2`` (noisy input), the
predicted height map of each model (argmax class where the background is not
the most probable), the ground truth (Gaussian column labels) and the error
map (predicted − true height on pixels where either is a column), then the
per-height recall of both losses over ``ceria.figure.images`` images.

Data ``ceria_heights.csv``: one row per height class h (1 … K; K collects the
taller columns) with the pixel frequency of the class in the training labels,
its weight in the weighted loss, the number of true columns in the test images,
and per loss the columns found (matched within ``figure.match_radius_a``) and
found with the right height, recall = right / columns; per loss (repeated on
every row) the columns detected in all images and the precision = found /
detected. Columns are detected by ``figure.detect_mode`` (peaks by default),
the same way for both losses.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from hrtem.errors import HrtemError
from hrtem.figures.fidelity import Claim
from hrtem.figures.style import save_figure
from hrtem.io.stores import atomic_path

LOSSES = ("unweighted", "weighted")


def _rare(d) -> np.ndarray:
    """Rows of the rarest third (by training pixel frequency) of the heights present in the test images."""
    t = d.csv
    present = np.flatnonzero(t["columns"] > 0)
    order = present[np.argsort(t["pixel_frequency"][present], kind="stable")]
    return order[: max(1, len(order) // 3)]


def _rare_gain(d) -> float:
    t = d.csv
    rows = _rare(d)
    right_w, right_u, n = (t["right_weighted"][rows].sum(), t["right_unweighted"][rows].sum(), t["columns"][rows].sum())
    return float((right_w - right_u) / n)


CLAIMS = [
    Claim("recall gain of the weighted loss on the rarest third of heights", "",
          thesis="the weighted loss (abstract 001: 'minimizing the output error using a weighted loss function')",
          source="001 L13", ours=_rare_gain, holds=lambda ours, d: ours > 0,
          criterion="weighted − unweighted recall > 0",
          note="pooled recall (right height) over the held-out images, weighted minus unweighted"),
]


def _height_map(p: np.ndarray) -> np.ndarray:
    h = np.argmax(p, axis=-1).astype(float)
    return h


def make(inputs: list[Path], png: Path, params: dict, seed: int) -> None:
    import keras
    import matplotlib.pyplot as plt

    from hrtem.learn.ceria import evaluate_heights
    from hrtem.learn.network import custom_objects

    if len(inputs) != 3:
        raise HrtemError("ceria_heights needs 3 inputs: test.zarr, unweighted.keras, weighted.keras")
    test, *model_paths = (Path(p) for p in inputs)
    models, metas = {}, {}
    for name, path in zip(LOSSES, model_paths):
        meta = json.loads(path.with_suffix(".json").read_text())
        if meta.get("hrtem_model") != "ceria_heights" or bool(meta.get("weighted")) != (name == "weighted"):
            raise HrtemError(f"{path} is not the {name} ceria U-Net (check the input order)")
        models[name] = keras.models.load_model(path, custom_objects=custom_objects(), compile=False)
        metas[name] = meta
    from hrtem.config import validate_config

    params = validate_config({"ceria": dict(params)})["ceria"]
    r = evaluate_heights(params, test, models, seed)
    k = r["n_classes"]
    heights = np.arange(1, k + 1)
    n = r["n"]
    rows = []
    for i, h in enumerate(heights):
        row = {
            "height": int(h),
            "pixel_frequency": metas["weighted"]["class_frequencies"][h],
            "class_weight": metas["weighted"]["class_weights"][h],
            "columns": int(n[i]),
        }
        for name in LOSSES:
            row[f"found_{name}"] = int(r[name]["found"][i])
            row[f"right_{name}"] = int(r[name]["right"][i])
            row[f"recall_{name}"] = float(r[name]["right"][i] / n[i]) if n[i] else float("nan")
            # per model (the same on every row): columns detected in all images, and the
            # fraction of them matched to a true column (the weighted loss trades precision for recall)
            row[f"detected_{name}"] = int(r[name]["detected"])
            row[f"precision_{name}"] = float(r[name]["found"].sum() / max(r[name]["detected"], 1))
        rows.append(row)
    csv_path = Path(png).with_suffix(".csv")
    with atomic_path(csv_path) as tmp, open(tmp, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)

    s = float(r["sampling_a"])
    img = r["example_image"]
    ext = (0, img.shape[0] * s, 0, img.shape[1] * s)
    truth = _height_map(r["example_labels"])
    fig = plt.figure(figsize=(15, 7.5))
    gs = fig.add_gridspec(2, 5, width_ratios=[1, 1, 1, 1, 1.25])
    ax = fig.add_subplot(gs[0, 0])
    ax.imshow(img.T, origin="lower", cmap="gray", extent=ext)
    ax.set_title(f"noisy input ({params.get('figure', {}).get('dose_e_per_a2', '?')} e⁻/Å²)")
    ax.set_xlabel("x (Å)")
    ax.set_ylabel("y (Å)")
    ax = fig.add_subplot(gs[1, 0])
    im = ax.imshow(np.ma.masked_equal(truth, 0).T, origin="lower", cmap="viridis", vmin=1, vmax=k, extent=ext)
    ax.set_title("ground truth (atoms per Ce column)")
    ax.set_xlabel("x (Å)")
    fig.colorbar(im, ax=ax, fraction=0.046, label="atoms per column")
    for row, name in enumerate(LOSSES):
        pred = _height_map(r[name]["example_prob"])
        ax = fig.add_subplot(gs[row, 1])
        im = ax.imshow(np.ma.masked_equal(pred, 0).T, origin="lower", cmap="viridis", vmin=1, vmax=k, extent=ext)
        ax.set_title(f"prediction, {name} loss")
        ax.set_xlabel("x (Å)")
        fig.colorbar(im, ax=ax, fraction=0.046, label="atoms per column")
        err = np.where((pred > 0) | (truth > 0), pred - truth, np.nan)
        ax = fig.add_subplot(gs[row, 2])
        lim = max(1.0, float(np.nanmax(np.abs(err))) if np.isfinite(err).any() else 1.0)
        im = ax.imshow(err.T, origin="lower", cmap="RdBu_r", vmin=-lim, vmax=lim, extent=ext)
        ax.set_title(f"error (predicted − true), {name}")
        ax.set_xlabel("x (Å)")
        fig.colorbar(im, ax=ax, fraction=0.046, label="Δ atoms")
    ax = fig.add_subplot(gs[0, 3:])
    width = 0.4
    for j, name in enumerate(LOSSES):
        rec = [row[f"recall_{name}"] for row in rows]
        ax.bar(heights + (j - 0.5) * width, rec, width, label=f"{name} loss")
    ax.set_xlabel("atoms per column (class; the last collects taller columns)")
    ax.set_ylabel("recall (right height)")
    ax.set_ylim(0, 1.05)
    ax.set_xticks(heights)
    ax.legend()
    ax.set_title(f"per-height recall over {params.get('figure', {}).get('images', '?')} held-out images; precision "
                 f"unw. {rows[0]['precision_unweighted']:.2f}, w. {rows[0]['precision_weighted']:.2f}")
    ax = fig.add_subplot(gs[1, 3:])
    ax.axis("off")
    table = [[str(row["height"]), str(row["columns"]), f"{row['class_weight']:.2g}",
              f"{row['recall_unweighted']:.2f}", f"{row['recall_weighted']:.2f}"] for row in rows]
    t = ax.table(cellText=table, colLabels=["height", "columns", "weight", "recall unw.", "recall w."],
                 loc="center")
    t.scale(1, 1.2)
    fig.tight_layout()
    save_figure(fig, png)
