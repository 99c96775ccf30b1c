"""Benchmark: measured columns per second through the study's measurement step, 1 vs 2 workers.

The measurement step (:func:`hrtem.strain.accuracy.measure_ensemble`, verb
``hrtem study measure``) runs, per image of an ensemble store, column
detection → STM with partial matching → pairing with the true columns →
errors, one Dask task per chunk of noise realisations. Throughput here is
(images × true columns) / wall time of the whole step (store writing
included), for 1 and 2 Dask workers, timed alternately (1, 2, 1, 2, …) and
the median of each kept, so that load from other processes hurts both alike.

Inputs: an image ensemble store and its truth store, by default those of the
default pipeline (``results/config/study/3nm/``; run
``snakemake results/config/study/study.zarr`` first).

Run:  .venv/bin/python benchmarks/bench_study.py [--images PATH] [--truth PATH] [--repeats 3]
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402


def main() -> None:
    from hrtem.io import open_store, read_dataset
    from hrtem.strain.accuracy import StudySettings, measure_ensemble

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", default="results/config/study/3nm/images_axis0.zarr")
    ap.add_argument("--truth", default="results/config/study/3nm/truth.zarr")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    truth = read_dataset(args.truth)
    truth = truth[[k for k in truth.data_vars if "slice_column" not in truth[k].dims]]
    truth = truth.drop_vars([c for c in ("slice_column", "slice_x", "slice_y") if c in truth.variables])
    img = open_store(args.images)["image"]
    n_images = int(img.sizes["tilt"] * img.sizes["defocus"] * (img.sizes["dose"] * img.sizes["sample"] + 1))
    n_cols = truth.sizes["column"]
    settings = StudySettings.from_config({"zone_axis": str(truth.attrs.get("zone_axis", "110")),
                                          "lattice_constant_a": truth.attrs.get("lattice_constant_a", 4.08)})
    times: dict[int, list[float]] = {1: [], 2: []}
    work = Path(tempfile.mkdtemp(prefix="bench-study-"))
    try:
        for r in range(args.repeats):
            for threads in (1, 2):
                out = work / f"m{threads}_{r}.zarr"
                t0 = time.perf_counter()
                measure_ensemble(args.images, truth, out, settings, threads=threads)
                times[threads].append(time.perf_counter() - t0)
                shutil.rmtree(out, ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"ensemble {args.images}: {n_images} images (incl. noise-free) × {n_cols} true columns, "
          f"{args.repeats} alternating repeats, median wall time")
    print(f"{'workers':>8} {'time (s)':>10} {'images/s':>10} {'columns/s':>10}")
    med = {k: statistics.median(v) for k, v in times.items()}
    for k in (1, 2):
        print(f"{k:>8} {med[k]:>10.2f} {n_images / med[k]:>10.1f} {n_images * n_cols / med[k]:>10.0f}")
    print(f"speed-up 2 vs 1 workers: {med[1] / med[2]:.2f}  (all times: {times})")


if __name__ == "__main__":
    main()
