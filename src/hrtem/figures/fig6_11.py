"""fig6_11: random training images, their labels and the trained network's output (thesis Fig. 6.11, L4904).

Inputs: the trained model (``.keras``) and the training exit-wave store. The
images are drawn from the training generator (random microscope of
``learn.microscope``, random dose, augmentation) on a separate random stream.
Data: ``fig6_11.zarr`` (image, label and output atom maps per example; the
drawn dose, defocus and Cs as coordinates).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hrtem.figures.fidelity import Claim
from hrtem.figures.style import save_figure

CLAIMS = [
    Claim("examples whose output is far from the label (pixel RMS error > 0.15)", "",
          thesis="a significant number are difficult to interpret", source="003 L4904-4912",
          ours=lambda d: int(np.sum(np.sqrt(((d.zarr["output"] - d.zarr["label"]) ** 2).mean(("x", "y"))).values > 0.15)),
          holds=lambda ours, d: True, criterion="shown (qualitative)"),
]


def make(inputs: list[Path], png: Path, params: dict, seed: int) -> None:
    """Make fig6_11 (see module docstring)."""
    import matplotlib.pyplot as plt
    import xarray as xr

    from hrtem.figures._learn_common import input_of
    from hrtem.io import provenance, write_dataset
    from hrtem.learn.data import TrainingImages
    from hrtem.learn.train import configure_tensorflow, load_model, predict

    model_path = input_of(inputs, ".keras", "model")
    waves = input_of(inputs, ".zarr", "training exit waves")
    configure_tensorflow(2)
    model, info = load_model(model_path)
    n = int(params.get("fig6_11", {}).get("images", 4))
    settings = {"data": info["data"], "microscope": info["microscope"]}
    images = TrainingImages(waves, settings, seed, stream="fig6_11")
    samples = [images.draw(i) for i in range(n)]
    x = np.stack([s.image for s in samples])
    out = predict(model, x)
    fig, axes = plt.subplots(3, n, figsize=(2.3 * n, 7))
    axes = np.asarray(axes).reshape(3, n)
    for j, (s, o) in enumerate(zip(samples, out)):
        axes[0, j].imshow(s.image[..., 0].T, origin="lower", cmap="gray")
        axes[0, j].set_title(f"{s.params['dose_e_per_a2']:.3g} e⁻/Å²\nΔf {s.params['microscope.defocus_a']:.0f} Å", fontsize=8)
        axes[1, j].imshow(1 - s.labels[..., 0].T, origin="lower", cmap="magma", vmin=0, vmax=1)
        axes[2, j].imshow(1 - o[..., 0].T, origin="lower", cmap="magma", vmin=0, vmax=1)
        for i in range(3):
            axes[i, j].set_xticks([])
            axes[i, j].set_yticks([])
    for i, name in enumerate(("image", "label (atoms)", "network output")):
        axes[i, 0].set_ylabel(name)
    fig.tight_layout()
    save_figure(fig, png)
    ds = xr.Dataset(
        {
            "image": (("example", "x", "y"), x[..., 0]),
            "label": (("example", "x", "y"), 1 - np.stack([s.labels[..., 0] for s in samples])),
            "output": (("example", "x", "y"), 1 - out[..., 0]),
        },
        coords={
            "dose_e_per_a2": ("example", [s.params["dose_e_per_a2"] for s in samples], {"units": "e/Å²"}),
            "defocus_a": ("example", [s.params["microscope.defocus_a"] for s in samples], {"units": "Å"}),
            "cs_mm": ("example", [s.params.get("microscope.cs_mm", np.nan) for s in samples], {"units": "mm"}),
        },
        attrs={"sampling_a": float(samples[0].sampling_a)},
    )
    write_dataset(ds, png.with_suffix(".zarr"), attrs=provenance(config=params, seed=seed, rule="fig6_11"))
