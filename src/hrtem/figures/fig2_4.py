"""fig2_4: noise spectral density of a flat noisy image and the fitted MTF (thesis Fig. 2.4).

The thesis fits Eq. 2.21 to the NSD of an *experimental* image; here the image
is simulated (a stand-in): flat illumination, Poisson noise at the configured
dose and camera pixel, shaped by √MTF with the configured (known) c1, c2, c3.
The radially averaged, Poisson-normalised NSD is fitted with Eq. 2.21
(:func:`hrtem.optics.fit_mtf`), and the fitted numbers are compared with the
true ones.

Inputs: none. Params: ``{"detector": <config section>}`` (model eq2_21 or
exp_gauss; a null dose falls back to 10⁴ e⁻/Å² since a noise spectrum needs
noise — the normalised NSD does not depend on the dose); optional
``{"figure": {"n_images": 16, "size_px": 1024}}`` (the periodograms of
``n_images`` flat images of ``size_px``² pixels are averaged).
Data: ``fig2_4.csv`` — columns u (q/q_N), q_inv_a, nsd, n_samples, mtf_true,
mtf_fit; ``#`` comment lines before the header carry ``<name>_true``,
``<name>_fit`` and ``<name>_stderr`` for each MTF parameter, the dose, pixel
and image count.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from hrtem.errors import HrtemError
from hrtem.figures.fidelity import Claim
from hrtem.figures.style import save_figure
from hrtem.io.stores import atomic_path
from hrtem.optics import Detector, fit_mtf, noise_spectral_density
from hrtem.seeding import rng as seeded_rng

FALLBACK_DOSE = 1.0e4


def _fit(d, name: str) -> tuple[float, float, float]:
    """(fitted, standard error, true) of MTF parameter ``name`` from the CSV header."""
    m = d.meta
    return float(m[f"{name}_fit"]), float(m[f"{name}_stderr"]), float(m[f"{name}_true"])


def _claim(name: str) -> Claim:
    return Claim(
        f"MTF parameter {name} fitted to the NSD (Eq. 2.21)", "", thesis=f"the fit recovers the {name} of the detector",
        source="003 L799", ours=lambda d: "{:.4g} ± {:.2g} (true {:g})".format(*_fit(d, name)),
        holds=lambda ours, d: abs(_fit(d, name)[0] - _fit(d, name)[2]) <= 3 * _fit(d, name)[1],
        criterion="within 3 standard errors", at_scale=lambda d: d.meta.get("model") == "eq2_21",
        note="thesis: experimental image; here a simulated flat image with known MTF")


CLAIMS = [_claim(n) for n in ("c1", "c2", "c3")]


def measure(detector: Detector, n_images: int, size_px: int, seed: int):
    """NSD of ``n_images`` flat detected images and the MTF fit of ``detector``'s model."""
    if detector.mtf_model == "none":
        raise HrtemError("fig2_4 needs detector.mtf.model eq2_21 or exp_gauss (there is no MTF to fit with 'none')")
    rng = seeded_rng(seed, "fig2_4")
    flat = np.ones((size_px, size_px))
    u, nsd, n = noise_spectral_density(detector.detect(flat, detector.sampling_a, rng) for _ in range(n_images))
    return u, nsd, n, fit_mtf(u, nsd, n, model=detector.mtf_model)


def make(inputs: list[Path], png: Path, params: dict, seed: int) -> None:
    """Make fig2_4 (see module docstring); ``inputs`` is unused."""
    import matplotlib.pyplot as plt

    section = dict(params.get("detector", {}))
    dose_note = ""
    if section.get("dose_e_per_a2", FALLBACK_DOSE) is None:
        section["dose_e_per_a2"] = FALLBACK_DOSE
        dose_note = " (config: noise-free; NSD made at the fallback dose)"
    section["output"] = "counts"  # the NSD is normalised by the Poisson variance = mean count
    detector = Detector.from_config(section)
    opts = {"n_images": 16, "size_px": 1024, **params.get("figure", {})}
    n_images, size_px = int(opts["n_images"]), int(opts["size_px"])
    u, nsd, n, fit = measure(detector, n_images, size_px, seed)

    true = dict(detector.mtf_params or {})
    mtf_true = detector.mtf(u)
    fitted = Detector(sampling_a=detector.sampling_a, dose_e_per_a2=None, mtf_model=fit.model, mtf_params=fit.params)
    u_fine = np.linspace(0, u.max(), 400)
    q_nyquist = 1.0 / (2.0 * detector.sampling_a)

    fig, ax = plt.subplots(figsize=(7, 4.5), constrained_layout=True)
    ax.plot(u, nsd, ".", ms=2.5, color="0.45", label=f"NSD of {n_images} flat {size_px}² images")
    ax.plot(u_fine, detector.mtf(u_fine), "C0--", lw=1.5, zorder=4,
            label="true MTF: " + ", ".join(f"{k} = {v:.3g}" for k, v in true.items()))
    ax.plot(u_fine, fitted.mtf(u_fine), "C3-", lw=1.5,
            label="fit: " + ", ".join(f"{k} = {fit.params[k]:.3f} ± {fit.stderr[k]:.3f}" for k in true))
    ax.set_xlabel("spatial frequency q / q_N  (q_N = 1/(2δ))")
    ax.set_ylabel("normalised noise spectral density")
    ax.set_xlim(0, u.max())
    ax.set_ylim(0, 1.15)
    secax = ax.secondary_xaxis("top", functions=(lambda x: x * q_nyquist, lambda q: q / q_nyquist))
    secax.set_xlabel("q (1/Å)")
    ax.set_title(
        f"δ = {detector.sampling_a:g} Å/px, D = {detector.dose_e_per_a2:g} e⁻/Å²{dose_note}", fontsize=9
    )
    ax.legend(loc="upper right", fontsize=8)

    meta: dict[str, object] = {
        "model": fit.model,
        "sampling_a": detector.sampling_a,
        "dose_e_per_a2": detector.dose_e_per_a2,
        "n_images": n_images,
        "size_px": size_px,
        "seed": seed,
    }
    for k in true:
        meta[f"{k}_true"] = true[k]
        meta[f"{k}_fit"] = fit.params[k]
        meta[f"{k}_stderr"] = fit.stderr[k]
    csv_path = Path(png).with_suffix(".csv")
    with atomic_path(csv_path) as tmp, open(tmp, "w", newline="") as fh:
        for key, value in meta.items():
            fh.write(f"# {key}={value}\n")
        writer = csv.writer(fh)
        writer.writerow(["u", "q_inv_a", "nsd", "n_samples", "mtf_true", "mtf_fit"])
        for row in zip(u, u * q_nyquist, nsd, n, mtf_true, fitted.mtf(u)):
            writer.writerow([f"{v:.10g}" for v in row])
    save_figure(fig, png)
