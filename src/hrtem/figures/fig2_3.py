"""fig2_3: the contrast transfer function and its envelopes (thesis Fig. 2.3(b)).

Re and Im of the CTF H(q) = exp(−iχ)·A·Es·Et·Ed along q (1/Å, azimuth 0), the
envelopes (each factor that is active, and their product as ±envelope) and the
point resolution (first zero of Im CTF, found numerically) marked.

Inputs: none. Params: ``{"microscope": <config section>}`` (the defaults are
the thesis's 300 kV, Cs = 0.6 mm, Scherzer defocus −41.25 nm, Δ = 30 Å);
optional ``{"figure": {"q_max_inv_a": 1.5, "n_q": 3001}}``.
Data: ``fig2_3.csv`` — columns q_inv_a, re_ctf, im_ctf, aperture, spatial,
temporal, deflection, envelope; ``#`` comment lines before the header carry the
defocus, Cs, wavelength and the numeric and analytic point resolution.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from hrtem.figures.fidelity import Claim
from hrtem.figures.style import save_figure
from hrtem.io.stores import atomic_path
from hrtem.optics import Microscope, point_resolution_a, point_resolution_scherzer_a, scherzer_defocus_a


def _at_thesis_scope(d) -> bool:
    """The run's microscope is the thesis's Fig. 2.3 one (300 kV, Cs = 0.6 mm, Scherzer)."""
    m = d.meta
    return (float(m["energy_kev"]) == 300 and abs(float(m["cs_mm"]) - 0.6) < 1e-9
            and abs(float(m["defocus_a"]) - float(m.get("scherzer_defocus_a", "nan"))) < 0.5)


def _first_zero_im_ctf_a(d) -> float:
    """1/q of the first sign change of Im CTF (q > 0) in the curves, interpolated linearly."""
    q, im = d.csv["q_inv_a"], d.csv["im_ctf"]
    i = np.flatnonzero((np.sign(im[1:-1]) != np.sign(im[2:])) & (q[1:-1] > 0))[0] + 1
    q0 = q[i] - im[i] * (q[i + 1] - q[i]) / (im[i + 1] - im[i])
    return float(1 / q0)


CLAIMS = [
    Claim("Scherzer defocus (300 kV, Cs = 0.6 mm)", "nm", thesis=-41.25, source="003 L329",
          ours=lambda d: float(d.meta["scherzer_defocus_a"]) / 10, tolerance=0.05,
          at_scale=lambda d: float(d.meta["energy_kev"]) == 300 and abs(float(d.meta["cs_mm"]) - 0.6) < 1e-9,
          note="−1.2·√(Cs λ), thesis sign convention"),
    Claim("point resolution = first zero of Im CTF", "Å", thesis="maximal at Scherzer: (Cs λ³)^¼/√2.4",
          source="003 L331", ours=_first_zero_im_ctf_a,
          holds=lambda ours, d: abs(ours - float(d.meta["point_resolution_scherzer_analytic_a"])) < 0.005,
          criterion="within 0.005 Å of (Cs λ³)^¼/√2.4", at_scale=_at_thesis_scope,
          note="first sign change of the plotted Im CTF; analytic value in the CSV header"),
]


def curves(microscope: Microscope, q_max_inv_a: float = 1.5, n_q: int = 3001) -> dict[str, np.ndarray]:
    """CTF and envelopes on a radial line (azimuth 0)."""
    q = np.linspace(0.0, q_max_inv_a, n_q)
    zero = np.zeros_like(q)
    h = microscope.transfer_at(q, zero)
    env = microscope.envelopes(q, zero)
    product = env["aperture"] * env["spatial"] * env["temporal"] * env["deflection"]
    return {"q_inv_a": q, "re_ctf": h.real, "im_ctf": h.imag, **env, "envelope": product}


def make(inputs: list[Path], png: Path, params: dict, seed: int) -> None:
    """Make fig2_3 (see module docstring); ``inputs`` and ``seed`` are unused."""
    import matplotlib.pyplot as plt

    mic = Microscope.from_config(params.get("microscope", {}))
    opts = {"q_max_inv_a": 1.5, "n_q": 3001, **params.get("figure", {})}
    data = curves(mic, float(opts["q_max_inv_a"]), int(opts["n_q"]))
    pr_num = point_resolution_a(mic.cs_a, mic.energy_kev, defocus_a=mic.defocus_a, c5_a=mic.c5_a)
    meta = {
        "energy_kev": mic.energy_kev,
        "wavelength_a": mic.wavelength_a,
        "cs_mm": mic.cs_a / 1e7,
        "defocus_a": mic.defocus_a,
        "focal_spread_a": mic.focal_spread_a,
        "illumination_semiangle_mrad": mic.illumination_semiangle_mrad,
        "deflection_sigma_a": mic.deflection_sigma_a,
        "objective_aperture_mrad": mic.objective_aperture_mrad,
        "point_resolution_a": pr_num,
    }
    if mic.cs_a != 0:
        meta["scherzer_defocus_a"] = scherzer_defocus_a(mic.cs_a, mic.energy_kev)
        meta["point_resolution_scherzer_analytic_a"] = point_resolution_scherzer_a(mic.cs_a, mic.energy_kev)

    q = data["q_inv_a"]
    fig, ax = plt.subplots(figsize=(9.5, 4.5), constrained_layout=True)
    ax.axhline(0, color="0.6", lw=0.8)
    ax.plot(q, data["re_ctf"], "k--", lw=1.2, label="Re CTF")
    ax.plot(q, data["im_ctf"], "k-", lw=1.5, label="Im CTF")
    styles = {"spatial": ("C0", "Es (spatial)"), "temporal": ("C1", "Et (temporal)"),
              "deflection": ("C2", "Ed (deflection)"), "aperture": ("C4", "aperture")}
    for name, (colour, label) in styles.items():
        if np.any(data[name] < 1):
            ax.plot(q, data[name], color=colour, lw=1.2, label=label)
    ax.plot(q, -data["envelope"], color="C3", lw=1.0, ls=":", label="−(product of envelopes)")
    ax.axvline(1 / pr_num, color="C3", lw=1.0,
               label=f"point resolution: first zero of Im CTF\nq₀ = {1 / pr_num:.3f} 1/Å, 1/q₀ = {pr_num:.3f} Å")
    ax.set_xlim(0, q[-1])
    ax.set_ylim(-1.05, 1.05)
    ax.set_xlabel("spatial frequency q (1/Å)")
    ax.set_ylabel("transfer")
    ax.set_title(
        f"{mic.energy_kev:g} kV, Cs = {mic.cs_a / 1e7:g} mm, Δf = {mic.defocus_a / 10:.2f} nm, "
        f"Δ = {mic.focal_spread_a:g} Å"
    )
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8)

    csv_path = Path(png).with_suffix(".csv")
    columns = ["q_inv_a", "re_ctf", "im_ctf", "aperture", "spatial", "temporal", "deflection", "envelope"]
    with atomic_path(csv_path) as tmp, open(tmp, "w", newline="") as fh:
        for key, value in meta.items():
            fh.write(f"# {key}={value}\n")
        writer = csv.writer(fh)
        writer.writerow(columns)
        for row in zip(*(data[c] for c in columns)):
            writer.writerow([f"{v:.10g}" for v in row])
    save_figure(fig, png)
