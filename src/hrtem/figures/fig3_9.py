"""Fig. 3.9: STM vs GPA on the analytic strain field of Eq. 3.15 with noise.

A cubic (square) lattice of Gaussians of amplitude 1 is displaced by the field
ε_xx = A(x'+y')e^{−r'²}, ε_yy = A(x'−y')e^{−r'²} (x' = (x − x_c)/w),
Gaussian noise of variance ``noise_variance`` is added to every pixel, and
the strain is measured (i) by STM after Wiener filtering and Eq. 3.4 peak
refinement, with templates of increasing size, and (ii) by GPA with
decreasing mask radii. Both are compared with the exact left-stretch strain
of the field; errors are RMS over the interior (``margin_a`` from the border).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hrtem.figures.fidelity import Claim

from hrtem.seeding import rng as make_rng

DEFAULTS = {
    "size_px": 384,
    "sampling_a": 0.15,
    "lattice_a": 2.0,
    "sigma_a": 0.45,
    "amplitude": 0.05,
    "width_fraction": 0.2,
    "noise_variance": 0.05,
    "templates": ["square4", "square8", "square12"],
    "mask_radii": [0.3, 0.2, 0.15],
    "noise_factor": 3.0,
    "window_px": 5,
    "margin_a": 4.0,
}


def _best_rms(d, method: str) -> float:
    """Lowest RMS strain error (mean of ε_xx and ε_yy) of ``method`` over its averaging levels."""
    r = d.rows(method=method)
    return float(np.min(0.5 * (r["rms_error_exx"] + r["rms_error_eyy"])))


CLAIMS = [
    Claim("best RMS strain error, STM / GPA (noise variance 0.05)", "", thesis="neither more nor less stable to noise",
          source="003 L1861", ours=lambda d: _best_rms(d, "stm") / _best_rms(d, "gpa"),
          holds=lambda ours, d: 0.5 <= ours <= 2.0, criterion="between 0.5 and 2", digits=3,
          note=lambda d: (f"STM {100 * _best_rms(d, 'stm'):.2f} %, GPA {100 * _best_rms(d, 'gpa'):.2f} % "
                          "at the most averaging")),
]


def _true_on_grid(shape, sampling, amplitude, width, centre):
    from hrtem.strain.synthetic import analytic_field
    from hrtem.strain.tensor import strain_from_gradient

    x = np.arange(shape[0]) * sampling
    y = np.arange(shape[1]) * sampling
    xx, yy = np.meshgrid(x, y, indexing="ij")
    grid = np.stack([xx.ravel(), yy.ravel()], 1)
    ref = grid.copy()
    for _ in range(6):  # invert x = X + u(X) by fixed-point iteration
        moved, _ = analytic_field(ref, amplitude=amplitude, width_a=width, centre=centre)
        ref = grid - (moved - ref)
    _, f = analytic_field(ref, amplitude=amplitude, width_a=width, centre=centre)
    exx, eyy, _, _ = strain_from_gradient(f)
    return exx.reshape(shape), eyy.reshape(shape)


def compute(params: dict, seed: int) -> dict:
    """Run the experiment; returns images, maps and the error table (see module doc)."""
    from hrtem.strain.matching import search_options
    from hrtem.strain import detect_columns, gpa, match_templates, pair_points, to_grid
    from hrtem.strain.synthetic import analytic_field, gaussian_image, lattice_points
    from hrtem.strain.tensor import strain_from_gradient

    p = {**DEFAULTS, **params}
    n, s, a = int(p["size_px"]), float(p["sampling_a"]), float(p["lattice_a"])
    side = n * s
    centre = (side / 2, side / 2)
    width = p["width_fraction"] * side
    ref = lattice_points(np.eye(2) * a, [[0, 0]], (side + 4 * a, side + 4 * a), origin=(a / 2, a / 2)) - 2 * a
    pts, f = analytic_field(ref, amplitude=p["amplitude"], width_a=width, centre=centre)
    clean = gaussian_image(pts, (n, n), s, sigma_a=p["sigma_a"])
    noise = make_rng(seed, "fig3_9", "noise").normal(0.0, np.sqrt(p["noise_variance"]), clean.shape)
    image = clean + noise
    t_exx, t_eyy, _, _ = strain_from_gradient(f)
    g_exx, g_eyy = _true_on_grid((n, n), s, p["amplitude"], width, centre)

    margin = float(p["margin_a"])
    m = int(round(margin / s))
    inner_px = (slice(m, n - m), slice(m, n - m))

    pos = detect_columns(image, s, filter="wiener", noise_factor=p["noise_factor"], window_px=int(p["window_px"]),
                         min_distance_a=0.6 * a, threshold_rel=0.3)
    im, it = pair_points(pos, pts, 0.25 * a)
    inner_pt = (pos[im] > margin).all(1) & (pos[im] < side - margin).all(1)
    rows, stm_maps, gpa_maps = [], [], []
    for name in p["templates"]:
        r = match_templates(pos, name, nn_distance=a, **search_options(p.get("stm")))
        dx = r.exx[im][inner_pt] - t_exx[it][inner_pt]
        dy = r.eyy[im][inner_pt] - t_eyy[it][inner_pt]
        rows.append(("stm", name, float(np.sqrt(np.nanmean(dx**2))), float(np.sqrt(np.nanmean(dy**2))),
                     int(np.isfinite(dx).sum())))
        stm_maps.append(to_grid(pos, r.exx, (n, n), s))
    g_ref = np.eye(2) / a
    for mr in p["mask_radii"]:
        r = gpa(image, s, g=g_ref, g_reference=g_ref, mask_radius=float(mr))
        dx = (r.exx - g_exx)[inner_px]
        dy = (r.eyy - g_eyy)[inner_px]
        rows.append(("gpa", f"{mr:g}", float(np.sqrt(np.mean(dx**2))), float(np.sqrt(np.mean(dy**2))), int(dx.size)))
        gpa_maps.append(r.exx)
    return {
        "image": image,
        "true_exx": g_exx,
        "stm_exx": stm_maps,
        "gpa_exx": gpa_maps,
        "rows": rows,
        "params": p,
        "inner_px": inner_px,
        "n_peaks": len(pos),
    }


def make(inputs: list[Path], png: Path, params: dict, seed: int) -> None:
    """Write fig3_9.png and fig3_9.csv (RMS errors per method and averaging level)."""
    import matplotlib.pyplot as plt

    from hrtem.figures.style import image_extent, save_figure
    from hrtem.strain.io import write_table

    out = compute(params, seed)
    p = out["params"]
    n, s = int(p["size_px"]), float(p["sampling_a"])
    ext = image_extent(n, n, (s, s))
    k = len(p["templates"])
    ncol = max(k, len(p["mask_radii"])) + 1
    fig, axes = plt.subplots(4, ncol, figsize=(3.4 * ncol, 12.5), squeeze=False, layout="constrained")
    vmax = float(np.nanmax(np.abs(out["true_exx"])))
    emax = 0.5 * vmax
    ax = axes[0, 0]
    ax.imshow(out["image"].T, origin="lower", extent=ext, cmap="gray")
    ax.set_title(f"image, noise var {p['noise_variance']:g}")
    ax = axes[1, 0]
    im0 = ax.imshow(out["true_exx"].T, origin="lower", extent=ext, cmap="RdBu_r", vmin=-vmax, vmax=vmax)
    ax.set_title("true ε_xx (Eq. 3.15)")
    fig.colorbar(im0, ax=ax, shrink=0.8)
    axes[2, 0].axis("off")
    axes[3, 0].axis("off")
    rows = out["rows"]
    for j, (name, mp) in enumerate(zip(p["templates"], out["stm_exx"], strict=True)):
        r = rows[j]
        a1 = axes[0, j + 1].imshow(mp.T, origin="lower", extent=ext, cmap="RdBu_r", vmin=-vmax, vmax=vmax)
        axes[0, j + 1].set_title(f"STM ε_xx, {name}")
        a2 = axes[2, j + 1].imshow((mp - out["true_exx"]).T, origin="lower", extent=ext, cmap="PuOr", vmin=-emax, vmax=emax)
        axes[2, j + 1].set_title(f"STM error, rms {r[2]:.4f}")
    for j, (mr, mp) in enumerate(zip(p["mask_radii"], out["gpa_exx"], strict=True)):
        r = rows[k + j]
        a1 = axes[1, j + 1].imshow(mp.T, origin="lower", extent=ext, cmap="RdBu_r", vmin=-vmax, vmax=vmax)
        axes[1, j + 1].set_title(f"GPA ε_xx, mask {mr:g}|g|")
        a2 = axes[3, j + 1].imshow((mp - out["true_exx"]).T, origin="lower", extent=ext, cmap="PuOr", vmin=-emax, vmax=emax)
        axes[3, j + 1].set_title(f"GPA error, rms {r[2]:.4f}")
    for j in range(len(p["templates"]) + 1, ncol):
        axes[0, j].axis("off")
        axes[2, j].axis("off")
    for j in range(len(p["mask_radii"]) + 1, ncol):
        axes[1, j].axis("off")
        axes[3, j].axis("off")
    fig.colorbar(a1, ax=axes[:2, 1:].ravel().tolist(), shrink=0.6, label="ε_xx")
    fig.colorbar(a2, ax=axes[2:, 1:].ravel().tolist(), shrink=0.6, label="measured − true")
    for ax in axes.ravel():
        if ax.axison:
            ax.set_xlabel("x (Å)")
            ax.set_ylabel("y (Å)")
            ax.tick_params(labelsize=8)
            ax.title.set_fontsize(9)
    fig.suptitle("Fig. 3.9: more averaging → left to right (STM: larger template; GPA: smaller mask)")
    save_figure(fig, png)
    write_table(
        {
            "method": np.array([r[0] for r in rows], dtype=object),
            "averaging": np.array([r[1] for r in rows], dtype=object),
            "rms_error_exx": np.array([r[2] for r in rows]),
            "rms_error_eyy": np.array([r[3] for r in rows]),
            "n": np.array([r[4] for r in rows]),
        },
        Path(png).with_suffix(".csv"),
    )
