"""fig6_26: simulated time series of an Au particle with mobile surface columns - occupancy and event maps, detected vs true (stand-in for thesis Fig. 6.26, L5405-5411; abstract 000).

The thesis's Fig. 6.26 analyses an experimental ETEM video; no such video is
available, so this is a simulated stand-in: one grown particle whose surface
changes between frames by seeded lattice hops (:func:`hrtem.learn.gold.surface_time_series`),
every frame imaged with one microscope and its own Poisson noise
(``hrtem gold series``) and analysed by the trained detection network through
``hrtem detect`` on the frame stack. Inputs: the detection table (``frame,
x_a, y_a, …``), ``truth.zarr`` and ``frames.zarr``. Per column site: occupancy
(% of frames occupied) and events (% of frame pairs whose occupancy flips),
from the detections and from the ground truth; the agreement is counted at
the sites the model detects in at least one frame
(:func:`hrtem.learn.gold.series_agreement`, matching radius
``fig6_26_radius_a``). Data: ``fig6_26.csv`` (site, x_a, y_a, height_first,
occupancy/events true and detected in %, seen, the agreements in % as
constant columns).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hrtem.figures.fidelity import Claim
from hrtem.figures.style import save_figure


def _col(d, name: str) -> float:
    return float(np.asarray(d.csv[name], float)[0])


CLAIMS = [
    Claim("per-(frame, site) occupancy agreement at the detected sites", "%", thesis="CNN ≈ human experts",
          source="003 L5395-5401", ours=lambda d: _col(d, "state_agreement_pct"),
          holds=lambda ours, d: ours >= 90.0, criterion="≥ 90 %",
          note="simulated stand-in: the thesis compares to human experts on an experimental video"),
    Claim("sites whose occupancy map value equals the truth", "%", thesis="maps agree with the sequence",
          source="000 L23", ours=lambda d: _col(d, "occupancy_agreement_pct"), holds=lambda ours, d: ours >= 80.0,
          criterion="≥ 80 %"),
    Claim("sites whose event map value equals the truth", "%", thesis="maps agree with the sequence",
          source="000 L23", ours=lambda d: _col(d, "event_agreement_pct"), holds=lambda ours, d: ours >= 80.0,
          criterion="≥ 80 %"),
]


def make(inputs: list[Path], png: Path, params: dict, seed: int) -> None:
    """Make fig6_26 (see module docstring)."""
    import matplotlib.pyplot as plt

    from hrtem.figures._learn_common import input_of
    from hrtem.io import open_store
    from hrtem.io.tables import write_table
    from hrtem.learn.gold import series_agreement

    table = input_of(inputs, ".csv", "hrtem detect table of the frames")
    truth_path = next((Path(p) for p in inputs if Path(p).name == "truth.zarr"), None)
    frames_path = next((Path(p) for p in inputs if Path(p).name == "frames.zarr"), None)
    if truth_path is None or frames_path is None:
        from hrtem.errors import HrtemError

        raise HrtemError(f"fig6_26 needs truth.zarr and frames.zarr among its inputs, got {[str(p) for p in inputs]}")
    radius = float(params.get("fig6_26_radius_a", 0.5))
    a = series_agreement(table, truth_path, radius)
    truth = open_store(truth_path)
    height = np.asarray(truth["site_height"].values)
    frames = open_store(frames_path)["image"]
    xy = a["site_xy"]
    seen = a["seen"]
    nf = height.shape[0]
    fig, axes = plt.subplots(2, 3, figsize=(13, 8.2))
    s = float(frames.attrs.get("sampling_a", frames["x"].values[1] - frames["x"].values[0]))
    img = np.asarray(frames.isel(frame=0).values)
    ext = [-s / 2, (img.shape[0] - 0.5) * s, -s / 2, (img.shape[1] - 0.5) * s]
    lo, hi = xy.min(axis=0) - 4, xy.max(axis=0) + 4

    def frame_panel(ax, f: int) -> None:
        ax.imshow(np.asarray(frames.isel(frame=f).values).T, origin="lower", cmap="gray", extent=ext)
        det = a["detected"][f]
        ax.plot(xy[det, 0], xy[det, 1], "co", mfc="none", ms=4, label="detected")
        ax.plot(xy[height[f] > 0, 0], xy[height[f] > 0, 1], "m.", ms=2, label="true column")
        ax.set_xlim(lo[0], hi[0])
        ax.set_ylim(lo[1], hi[1])
        ax.set_title(f"frame {f}")
        ax.legend(fontsize=7, loc="upper right")

    frame_panel(axes[0, 0], 0)
    frame_panel(axes[1, 0], nf - 1)
    maps = [("occupancy_true", "true occupancy (%)", axes[0, 1]), ("occupancy_detected", "detected occupancy (%)", axes[0, 2]),
            ("events_true", "true events (%)", axes[1, 1]), ("events_detected", "detected events (%)", axes[1, 2])]
    for key, title, ax in maps:
        v = 100 * np.asarray(a[key])
        sc = ax.scatter(xy[:, 0], xy[:, 1], c=v, s=22, cmap="viridis", vmin=0, vmax=100,
                        edgecolors=np.where(seen, "none", "r"))
        ax.set_aspect("equal")
        ax.set_xlim(lo[0], hi[0])
        ax.set_ylim(lo[1], hi[1])
        ax.set_title(title)
        fig.colorbar(sc, ax=ax, fraction=0.046)
    for ax in axes.ravel():
        ax.set_xlabel("x (Å)")
        ax.set_ylabel("y (Å)")
    fig.suptitle(f"simulated stand-in: {nf} frames, {len(xy)} column sites ({int(seen.sum())} detected); "
                 f"state agreement {a['state_agreement_pct']:.1f} %, occupancy {a['occupancy_agreement_pct']:.1f} %, "
                 f"events {a['event_agreement_pct']:.1f} % (red rim: never detected)", fontsize=9)
    fig.tight_layout()
    save_figure(fig, png)
    n = len(xy)
    write_table({
        "site": np.arange(n), "x_a": xy[:, 0], "y_a": xy[:, 1], "height_first": height[0],
        "occupancy_true_pct": 100 * a["occupancy_true"], "occupancy_detected_pct": 100 * a["occupancy_detected"],
        "events_true_pct": 100 * a["events_true"], "events_detected_pct": 100 * a["events_detected"],
        "seen": seen.astype(int),
        **{k: np.full(n, a[k]) for k in ("state_agreement_pct", "occupancy_agreement_pct", "event_agreement_pct",
                                          "occupancy_mae_pct", "n_seen")},
        "frames": np.full(n, nf),
    }, png.with_suffix(".csv"))
