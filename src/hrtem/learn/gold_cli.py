"""``hrtem gold``: exit waves of the random Au training particles and the simulated time series (issue 11).

::

    hrtem gold waves TASK -o STORE --params JSON --seed N     # TASK: detect (column labels) or count (heights)
    hrtem gold series -o DIR --params JSON --seed N           # DIR/{waves,frames,truth}.zarr + DIR/truth.csv
    hrtem gold train|heldout|evaluate …                       # column detection (hrtem.learn.gold_detect_cli)

``--params`` is ``{"learn": …, "simulate": …}`` (config sections; the gold keys
are ``learn.gold``). ``frames.zarr`` holds ``image (frame, x, y)`` for
``hrtem detect``; ``truth.zarr`` the ground truth of the sequence
(``site_xy (site, xy)`` Å, ``site_height (frame, site)`` atoms) and
``truth.csv`` the same as rows ``frame, site, x_a, y_a, height``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np


def _waves(args: argparse.Namespace) -> int:
    from hrtem.config import parse_json_object
    from hrtem.learn.commands import sections
    from hrtem.learn.gold import build_gold_exit_waves, task_section

    learn, simulate = sections(parse_json_object(args.params, "--params"))
    t0 = time.perf_counter()
    n = int(task_section(learn["gold"], args.task)["structures"]["count"])
    out = build_gold_exit_waves(learn, simulate, args.output, args.seed, task=args.task)
    print(f"[gold] {n} {args.task} exit waves in {time.perf_counter() - t0:.1f} s -> {out}", file=sys.stderr)
    return 0


def _series(args: argparse.Namespace) -> int:
    import xarray as xr

    from hrtem.config import parse_json_object
    from hrtem.io import provenance, write_dataset
    from hrtem.io.tables import write_table
    from hrtem.learn.commands import sections
    from hrtem.learn.gold import image_time_series, surface_time_series

    learn, simulate = sections(parse_json_object(args.params, "--params"))
    out = Path(args.output)
    t0 = time.perf_counter()
    ts = surface_time_series(learn["gold"], args.seed)
    image_time_series(ts, learn, simulate, out, args.seed)
    f, s = ts.site_height.shape
    truth = xr.Dataset(
        {
            "site_xy": (("site", "xy"), ts.site_xy, {"units": "Å"}),
            "site_height": (("frame", "site"), ts.site_height.astype(np.int32), {"units": "atoms"}),
            "n_atoms": (("frame",), ts.n_atoms.astype(np.int32)),
            "occupancy": (("site",), ts.occupancy, {"long_name": "fraction of frames occupied"}),
            "events": (("site",), ts.events, {"long_name": "fraction of frame pairs whose occupancy flips"}),
        },
        attrs={"long_name": "ground truth of the simulated Au time series"},
    )
    write_dataset(truth, out / "truth.zarr", attrs=provenance(config={"learn.gold": learn["gold"]}, seed=args.seed,
                                                            rule="gold_time_series"))
    frame, site = np.meshgrid(np.arange(f), np.arange(s), indexing="ij")
    write_table({"frame": frame.ravel(), "site": site.ravel(), "x_a": ts.site_xy[site.ravel(), 0],
                 "y_a": ts.site_xy[site.ravel(), 1], "height": ts.site_height.ravel()}, out / "truth.csv")
    print(f"[gold] {f} frames, {s} column sites in {time.perf_counter() - t0:.1f} s -> {out}", file=sys.stderr)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``gold`` verb (``waves``, ``series``)."""
    p = sub.add_parser("gold", help="Au particles: training exit waves and the simulated time series (issue 11)")
    cmds = p.add_subparsers(dest="gold_cmd", metavar="CMD")

    def common(q: argparse.ArgumentParser) -> None:
        q.add_argument("--params", default="", help='JSON {"learn": …, "simulate": …} (config sections)')
        q.add_argument("--seed", type=int, default=0, help="config seed")

    w = cmds.add_parser("waves", help="exit waves of the random training particles (Zarr)")
    w.add_argument("task", choices=("detect", "count"), help="detect: one class per column; count: class = height")
    w.add_argument("-o", "--output", required=True, help="output Zarr store")
    common(w)
    w.set_defaults(func=_waves)
    s = cmds.add_parser("series", help="simulated time series: frames, exit waves and ground truth in a folder")
    s.add_argument("-o", "--output", required=True, help="output folder")
    common(s)
    s.set_defaults(func=_series)
    from hrtem.learn.gold_detect_cli import register_detect

    register_detect(cmds, common)
    p.set_defaults(func=lambda a: p.print_help() or 2)
