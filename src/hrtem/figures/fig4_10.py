"""fig4_10: image visibility vs dose and camera sampling, raw and Wiener filtered (thesis Fig. 4.10).

Inputs: ensemble stores (:mod:`hrtem.simulate.ensemble`), one per camera
sampling, in any order. From each, the first noise realisation at every dose
for one (tilt, defocus) is shown, raw (top block) and after an adaptive local
Wiener filter (``scipy.signal.wiener``: local mean and variance in a square
window, noise power = the mean local variance; bottom block), with the
noise-free camera image as the last column. All panels share one grey scale
(the noise-free range), as in the thesis. The filter window is
``wiener_size_a`` Å at every sampling (odd, ≥ 3 px): fixed per sampling, not
changed with the dose, as in the thesis (L6303).

Measured: the signal-to-noise ratio SNR = std(noise-free)/RMS(image −
noise-free), averaged over all realisations of the store, raw and filtered —
the numbers behind "10² barely visible, 10⁵ noise-free".
Params: ``{"fig4_10": images.fig4_10}``. Data: ``fig4_10.zarr`` (SNR tables
and the images shown, per sampling).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from hrtem.errors import HrtemError
from hrtem.figures.fidelity import Claim
from hrtem.figures.style import save_figure
from hrtem.io import open_store, provenance, write_dataset

__all__ = ["make", "window_px", "snr", "wiener_filter"]


def _snr_raw(d, dose: float) -> float:
    """Raw-image SNR at ``dose`` and the camera sampling closest to 0.2 Å/px."""
    snr = d.zarr["snr_raw"]
    s = snr["sampling"].values
    return float(snr.sel(dose=dose).isel(sampling=int(np.argmin(np.abs(s - 0.2)))))


def _has_dose(dose: float):
    return lambda d: bool(np.any(np.isclose(d.zarr["dose"].values, dose)))


CLAIMS = [
    Claim("raw-image SNR at 10² e⁻/Å² (0.2 Å/px)", "", thesis="the particle is barely visible", source="003 L2298",
          ours=lambda d: _snr_raw(d, 100.0), holds=lambda ours, d: ours <= 1.0, criterion="SNR ≤ 1",
          at_scale=_has_dose(100.0), digits=2, note="SNR = std(noise-free)/RMS(image − noise-free)"),
    Claim("raw-image SNR at 10⁵ e⁻/Å² (0.2 Å/px)", "", thesis="images essentially unaffected by noise",
          source="003 L2300", ours=lambda d: _snr_raw(d, 1e5), holds=lambda ours, d: ours >= 10.0,
          criterion="SNR ≥ 10", at_scale=_has_dose(1e5), digits=3),
]


def wiener_filter(image: np.ndarray, size_px: int) -> np.ndarray:
    """Adaptive local Wiener filter (scipy.signal.wiener) with a square window of ``size_px``."""
    from scipy.signal import wiener

    with np.errstate(divide="ignore", invalid="ignore"):
        return wiener(np.asarray(image, float), mysize=int(size_px))


def window_px(size_a: float, sampling_a: float) -> int:
    """Odd Wiener window in pixels covering about ``size_a`` Å (at least 3)."""
    n = max(3, int(round(size_a / sampling_a)))
    return n if n % 2 else n + 1


def snr(images: np.ndarray, noise_free: np.ndarray) -> float:
    """std(noise-free) / RMS(images − noise-free) over a stack (…, x, y)."""
    err = np.asarray(images, float) - np.asarray(noise_free, float)
    return float(np.std(noise_free) / np.sqrt(np.mean(err**2)))


def _tag(sampling: float) -> str:
    return f"{sampling:g}".replace(".", "p")


def make(inputs: list[Path], png: Path, params: dict, seed: int) -> None:
    """Make fig4_10 (see module docstring)."""
    import matplotlib.pyplot as plt

    if not inputs:
        raise HrtemError("fig4_10 needs ensemble stores (one per camera sampling) as inputs")
    p = params.get("fig4_10", params)
    defocus = float(p.get("defocus_a", 85.0))
    tilt = float(p.get("tilt_deg", 0.0))
    size_a = float(p.get("wiener_size_a", 0.6))

    panels = []
    doses = None
    for path in inputs:
        ds = open_store(path, variables=("image", "noise_free"))
        for name, value in (("defocus", defocus), ("tilt", tilt)):
            values = ds[name].values
            if not np.any(np.isclose(values, value)):
                raise HrtemError(
                    f"{path}: no {name} {value:g} in the ensemble (it has {values.tolist()}); "
                    f"set images.fig4_10.{'defocus_a' if name == 'defocus' else 'tilt_deg'} to one of them"
                )
        i = int(np.argmin(np.abs(ds["tilt"].values - tilt)))
        j = int(np.argmin(np.abs(ds["defocus"].values - defocus)))
        sampling = float(ds.x[1] - ds.x[0])
        if doses is None:
            doses = ds["dose"].values.astype(float)
        elif not np.array_equal(doses, ds["dose"].values):
            raise HrtemError(f"{path}: doses {ds['dose'].values.tolist()} differ from the other stores' {doses.tolist()}")
        free = ds["noise_free"].isel(tilt=i, defocus=j).values.astype(float)
        size = window_px(size_a, sampling)
        raw, filtered, snr_raw, snr_wiener = [], [], [], []
        for k in range(len(doses)):
            stack = ds["image"].isel(tilt=i, defocus=j, dose=k).values.astype(float)  # one block set, small
            smooth = np.array([wiener_filter(img, size) for img in stack])
            raw.append(stack[0])
            filtered.append(smooth[0])
            snr_raw.append(snr(stack, free))
            snr_wiener.append(snr(smooth, free))
        panels.append({"sampling": sampling, "free": free, "raw": np.array(raw), "wiener": np.array(filtered),
                       "snr_raw": snr_raw, "snr_wiener": snr_wiener, "window": size,
                       "samples": int(ds.sizes["sample"])})
    panels.sort(key=lambda q: q["sampling"])
    assert doses is not None
    lo = min(float(np.percentile(q["free"], 0.5)) for q in panels)
    hi = max(float(np.percentile(q["free"], 99.5)) for q in panels)

    n_rows, n_cols = 2 * len(panels), len(doses) + 1
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(2.6 * n_cols, 2.6 * n_rows), constrained_layout=True,
                             squeeze=False)
    im = None
    for block, kind in enumerate(("raw", "wiener")):
        for r, q in enumerate(panels):
            row = block * len(panels) + r
            nx, ny = q["free"].shape
            extent = (0.0, nx * q["sampling"], 0.0, ny * q["sampling"])
            for c in range(n_cols):
                ax = axes[row, c]
                if c < len(doses):
                    data = q[kind][c]
                    title = f"{doses[c]:.0e} e⁻/Å², SNR {q['snr_' + kind][c]:.2g}"
                else:
                    data = q["free"] if kind == "raw" else wiener_filter(q["free"], q["window"])
                    title = "noise-free"
                im = ax.imshow(data.T, origin="lower", extent=extent, cmap="gray", vmin=lo, vmax=hi)
                ax.set_title(title, fontsize=8)
                ax.set_xticks([])
                ax.set_yticks([])
                if c == 0:
                    name = "raw" if kind == "raw" else "Wiener {} px".format(q["window"])
                    label = f"{name}\n{q['sampling']:g} Å/px"
                    ax.set_ylabel(label, fontsize=9)
    assert im is not None
    fig.colorbar(im, ax=axes, shrink=0.5, label="intensity (vacuum = 1), common grey scale")
    fig.suptitle(f"(a) raw and (b) Wiener-filtered images, Δf = {defocus / 10:g} nm, tilt {tilt:g}°; "
                 f"field of view {panels[0]['free'].shape[0] * panels[0]['sampling']:.0f} Å")
    save_figure(fig, png)

    samplings = np.array([q["sampling"] for q in panels])
    variables: dict[str, xr.DataArray] = {
        "snr_raw": xr.DataArray(np.array([q["snr_raw"] for q in panels]), dims=("sampling", "dose"),
                                attrs={"units": "1", "long_name": "std(noise-free)/RMS(raw − noise-free)"}),
        "snr_wiener": xr.DataArray(np.array([q["snr_wiener"] for q in panels]), dims=("sampling", "dose"),
                                   attrs={"units": "1", "long_name": "std(noise-free)/RMS(Wiener − noise-free)"}),
    }
    for q in panels:
        t = _tag(q["sampling"])
        xy = {f"x_{t}": np.arange(q["free"].shape[0]) * q["sampling"],
              f"y_{t}": np.arange(q["free"].shape[1]) * q["sampling"]}
        dims = ("dose", f"x_{t}", f"y_{t}")
        variables[f"raw_{t}"] = xr.DataArray(q["raw"].astype(np.float32), dims=dims, coords=xy,
                                             attrs={"units": "1 (vacuum = 1)", "sampling_a": q["sampling"]})
        variables[f"wiener_{t}"] = xr.DataArray(q["wiener"].astype(np.float32), dims=dims, coords=xy,
                                                attrs={"units": "1 (vacuum = 1)", "window_px": q["window"]})
        variables[f"noise_free_{t}"] = xr.DataArray(q["free"].astype(np.float32), dims=dims[1:], coords=xy,
                                                    attrs={"units": "1 (vacuum = 1)"})
    data = xr.Dataset(variables, coords={
        "sampling": ("sampling", samplings, {"units": "Å"}),
        "dose": ("dose", doses, {"units": "e⁻/Å²"}),
    }, attrs={"defocus_a": defocus, "tilt_deg": tilt, "wiener_size_a": size_a})
    for name in data.coords:
        if name.startswith(("x_", "y_")):
            data[name].attrs["units"] = "Å"
    write_dataset(data, png.with_suffix(".zarr"), attrs=provenance(config=params, seed=seed, rule="fig4_10"))
    print("SNR raw / Wiener; rows sampling (Å/px), columns dose (e⁻/Å²) " + " ".join(f"{d:.0e}" for d in doses))
    for q in panels:
        print(f"{q['sampling']:5.2f} " + "  ".join(f"{a:6.2f}/{b:6.2f}" for a, b in zip(q["snr_raw"], q["snr_wiener"])))
