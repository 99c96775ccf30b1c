"""fig6_21: generated Au training particles - column heights, images and the CNN output (thesis Fig. 6.21, L5228-5262).

Inputs: the trained detection model (``.keras``) and the exit waves of the
training particles (``exit_waves_detect.zarr``); params ``{"learn": …}``.
(a) the projected columns of ``fig6_21_particles`` training particles coloured
by their height (atoms per column); (b) an image of each, drawn from the
training generator (random microscope of the gold ranges) at 10³ e⁻/Å² without
augmentation; (c) the network's output. The zone axis and tilt of each particle
come from the growth model (:func:`hrtem.learn.gold.gold_particle`, same seed).
Data: ``fig6_21.zarr`` (image, output, site_xy, site_height per particle; attrs
zone_axes, tilt_deg).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hrtem.figures.fidelity import Claim
from hrtem.figures.style import save_figure

DOSE = 1000.0

CLAIMS = [
    Claim("largest tilt of the shown particles", "°", thesis="0–3°", source="003 L5260-5262",
          ours=lambda d: float(np.max(d.attrs["tilt_deg"])), holds=lambda ours, d: 0.0 <= ours <= 3.0,
          criterion="within 0–3°"),
    Claim("zone axes of the shown particles", "", thesis="⟨110⟩ or ⟨111⟩ (issue 11)", source="003 L5258", note="the thesis prints 〈100〉 or 〈111〉 here; SCIENCE.md §4 and the issue use ⟨110⟩ or ⟨111⟩",
          ours=lambda d: " ".join(sorted(set(map(str, d.attrs["zone_axes"])))),
          holds=lambda ours, d: set(ours.split()) <= {"110", "111"}, criterion="subset of {110, 111}"),
]


def make(inputs: list[Path], png: Path, params: dict, seed: int) -> None:
    """Make fig6_21 (see module docstring)."""
    import matplotlib.pyplot as plt
    import xarray as xr

    from hrtem.figures._learn_common import input_of
    from hrtem.io import provenance, write_dataset
    from hrtem.learn.commands import sections
    from hrtem.learn.data import ExitWaveSet, TrainingImages
    from hrtem.learn.gold import gold_particle
    from hrtem.learn.gold_detect import detect_learn, heldout_settings
    from hrtem.learn.train import configure_tensorflow, load_model, predict

    learn, _ = sections(params)
    settings = detect_learn(learn)
    configure_tensorflow(2)
    model, info = load_model(input_of(inputs, ".keras", "model"))
    waves = ExitWaveSet(input_of(inputs, ".zarr", "training exit waves"))
    n = min(int(params.get("fig6_21_particles", 3)), len(waves))
    images = TrainingImages(waves, heldout_settings(settings, waves.cell_a, int(info["network"]["depth"])), seed,
                            stream="fig6_21")
    samples = [images.draw(i, overrides={"dose_e_per_a2": [DOSE, DOSE]}, augment=False, structure=i) for i in range(n)]
    out = predict(model, np.stack([s.image for s in samples]))
    meta = [gold_particle(settings["gold"], seed, i).info for i in range(n)]
    fig, axes = plt.subplots(3, n, figsize=(3.3 * n, 9.6), squeeze=False)
    hmax = max(float(waves.heights(i).max()) for i in range(n))
    m = max(len(waves.positions(i)) for i in range(n))
    site_xy = np.full((n, m, 2), np.nan)
    site_h = np.full((n, m), np.nan)
    for j, s in enumerate(samples):
        xy, hgt = waves.positions(j), waves.heights(j)
        site_xy[j, : len(xy)] = xy
        site_h[j, : len(xy)] = hgt
        sc = axes[0, j].scatter(xy[:, 0], xy[:, 1], c=hgt, s=9, cmap="viridis", vmin=1, vmax=hmax)
        axes[0, j].set_aspect("equal")
        axes[0, j].set_xlim(0, waves.cell_a[0])
        axes[0, j].set_ylim(0, waves.cell_a[1])
        axes[0, j].set_title(f"⟨{meta[j]['zone_axis']}⟩, tilt {meta[j]['tilt_deg']:.1f}°, {int(hgt.sum())} atoms", fontsize=9)
        ext = [-s.sampling_a / 2, (s.image.shape[0] - 0.5) * s.sampling_a] * 2
        axes[1, j].imshow(s.image[..., 0].T, origin="lower", cmap="gray", extent=ext)
        axes[1, j].set_title(f"Δf {s.params['microscope.defocus_a']:.0f} Å, {DOSE:.0f} e⁻/Å²", fontsize=9)
        axes[2, j].imshow(1 - out[j, ..., 0].T, origin="lower", cmap="magma", vmin=0, vmax=1, extent=ext)
    fig.colorbar(sc, ax=axes[0, -1], label="column height (atoms)")
    for i, name in enumerate(("(a) columns", "(b) image", "(c) CNN output")):
        axes[i, 0].set_ylabel(f"{name}\ny (Å)")
    for ax in axes[-1]:
        ax.set_xlabel("x (Å)")
    fig.tight_layout()
    save_figure(fig, png)
    s = samples[0].sampling_a
    nx = samples[0].image.shape[0]
    ds = xr.Dataset(
        {
            "image": (("particle", "x", "y"), np.stack([q.image[..., 0] for q in samples])),
            "output": (("particle", "x", "y"), 1 - out[..., 0]),
            "site_xy": (("particle", "site", "xy"), site_xy, {"units": "Å"}),
            "site_height": (("particle", "site"), site_h, {"units": "atoms"}),
        },
        coords={"x": np.arange(nx) * s, "y": np.arange(nx) * s},
        attrs={"zone_axes": [str(q["zone_axis"]) for q in meta], "tilt_deg": [float(q["tilt_deg"]) for q in meta],
               "dose_e_per_a2": DOSE, "sampling_a": float(s)},
    )
    write_dataset(ds, png.with_suffix(".zarr"), attrs=provenance(config={"learn.gold": settings["gold"]}, seed=seed,
                                                                  rule="fig6_21"))
