"""fig6_20: occlusion - the network's output when it sees only a window around each pixel (thesis Fig. 6.20, L5164-5185).

Inputs: the trained model and the held-out ideal exit-wave store. For each dose
(rows) a test image of ``field_a`` Å with the evaluation microscope; the first
panel is the image, the second the output on the full image, then one panel per
window side: every output pixel (group of ``stride_px``²) comes from a network
call on the image with everything outside a square window centred on it set to
zero (the mean of the normalised image). Data: ``fig6_20.zarr`` (image and maps
per dose and window) with the correlation of each occluded map with the full one.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hrtem.figures.fidelity import Claim
from hrtem.figures.style import save_figure


def _corr(d, row: int) -> float:
    c = np.asarray(d.zarr["correlation"].values)
    return float(c[row, -1])


CLAIMS = [
    Claim("correlation with the full output, smallest window, high dose", "", thesis="reasonable until the window is smaller than a hexagon",
          source="003 L5181", ours=lambda d: _corr(d, 0), holds=lambda ours, d: ours >= _corr(d, 1),
          criterion="≥ the same at the lower dose (noise makes the network rely on context)"),
]


def occluded_map(model, image: np.ndarray, window_px: int, stride: int, batch: int = 64) -> np.ndarray:
    """Atom probability where each pixel group sees only a window of ``window_px`` around it."""
    from hrtem.learn.train import predict

    nx, ny = image.shape[:2]
    out = np.zeros((nx, ny))
    centres = [(i, j) for i in range(0, nx, stride) for j in range(0, ny, stride)]
    h = window_px // 2
    for k in range(0, len(centres), batch):
        chunk = centres[k : k + batch]
        x = np.zeros((len(chunk), nx, ny, image.shape[2]), np.float32)
        for b, (i, j) in enumerate(chunk):
            ci, cj = i + stride // 2, j + stride // 2
            sl = (slice(max(0, ci - h), ci + h), slice(max(0, cj - h), cj + h))
            x[b][sl] = image[sl]
        p = predict(model, x)
        for b, (i, j) in enumerate(chunk):
            out[i : i + stride, j : j + stride] = 1 - p[b, i : i + stride, j : j + stride, 0]
    return out


def make(inputs: list[Path], png: Path, params: dict, seed: int) -> None:
    """Make fig6_20 (see module docstring)."""
    import matplotlib.pyplot as plt
    import xarray as xr

    from hrtem.figures._learn_common import input_of
    from hrtem.io import provenance, write_dataset
    from hrtem.learn.data import TrainingImages
    from hrtem.learn.evaluate import test_image
    from hrtem.learn.train import configure_tensorflow, load_model, predict

    model_path = input_of(inputs, ".keras", "model")
    waves = input_of(inputs, ".zarr", "held-out ideal exit waves")
    configure_tensorflow(2)
    model, info = load_model(model_path)
    fp = params.get("fig6_20", {})
    ev = params.get("evaluation", {})
    doses = [float(d) for d in fp.get("doses_e_per_a2", [5e4, 5e3])]
    windows = [float(w) for w in fp.get("windows_a", [8.0, 4.0, 2.0])]
    s = float(info["sampling_a"])
    m = 2 ** int(info["network"]["depth"])
    n = max(m, int(round(float(fp.get("field_a", 7.68)) / s / m)) * m)
    stride = int(fp.get("stride_px", 2))
    images = TrainingImages(waves, {"data": {**info["data"], "crop_px": n}, "microscope": info["microscope"]}, seed, stream="fig6_20")
    mic = ev.get("microscope", {"defocus_a": 84.0, "cs_mm": -0.012, "focal_spread_a": 35.0, "deflection_sigma_a": 0.25})
    imgs, maps, corr = [], [], []
    for r, dose in enumerate(doses):
        smp = test_image(images, r, 0, mic, dose)
        full = 1 - predict(model, smp.image[None])[0, ..., 0]
        row = [full]
        for w in windows:
            row.append(occluded_map(model, smp.image, max(2, int(round(w / s))), stride))
        imgs.append(smp.image[..., 0])
        maps.append(np.stack(row))
        corr.append([float(np.corrcoef(full.ravel(), mp.ravel())[0, 1]) for mp in row])
    fig, axes = plt.subplots(len(doses), len(windows) + 2, figsize=(2.2 * (len(windows) + 2), 2.3 * len(doses)))
    axes = np.asarray(axes).reshape(len(doses), -1)
    for r, dose in enumerate(doses):
        axes[r, 0].imshow(imgs[r].T, origin="lower", cmap="gray")
        axes[r, 0].set_ylabel(f"{dose:.3g} e⁻/Å²")
        for c in range(len(windows) + 1):
            ax = axes[r, c + 1]
            ax.imshow(maps[r][c].T, origin="lower", cmap="magma", vmin=0, vmax=1)
            if c:
                wpx = int(round(windows[c - 1] / s))
                ax.add_patch(plt.Rectangle((n / 2 - wpx / 2, n / 2 - wpx / 2), wpx, wpx, fill=False, ec="red", lw=1))
                ax.set_title(f"window {windows[c - 1]:g} Å\nr = {corr[r][c]:.2f}", fontsize=8)
            else:
                ax.set_title("full image", fontsize=8)
        for ax in axes[r]:
            ax.set_xticks([])
            ax.set_yticks([])
    axes[0, 0].set_title(f"input ({n * s:.1f} Å)", fontsize=8)
    fig.tight_layout()
    save_figure(fig, png)
    ds = xr.Dataset(
        {
            "image": (("dose", "x", "y"), np.stack(imgs)),
            "atom_probability": (("dose", "window", "x", "y"), np.stack(maps)),
            "correlation": (("dose", "window"), np.array(corr)),
        },
        coords={"dose": ("dose", doses, {"units": "e/Å²"}), "window": ("window", [np.inf] + windows, {"units": "Å"})},
        attrs={"sampling_a": s, "stride_px": stride},
    )
    write_dataset(ds, png.with_suffix(".zarr"), attrs=provenance(config=params, seed=seed, rule="fig6_20"))
