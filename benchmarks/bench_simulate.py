"""Benchmark the image simulation: package vs plain abTEM, multislice vs FFT bound, ensembles.

Run from the repo root (several minutes on 2 shared cores)::

    .venv/bin/python benchmarks/bench_simulate.py                 # the ~2,000-atom particle, 5 pairs
    .venv/bin/python benchmarks/bench_simulate.py --pairs 7       # more interleaved pairs
    .venv/bin/python benchmarks/bench_simulate.py --quick         # 2 nm particle, smaller ensembles (script check)

Prints one table. Everything compared is measured side by side in this run,
as interleaved repeats (A B, B A, A B, …) so that a change of the machine's
load hits both sides; the table gives medians and the spread (min–max) of the
per-pair ratios, in wall time and in process CPU time (all threads; less
sensitive to other users of a shared machine than wall time).

(a) the package's HRTEM image (``hrtem.simulate.exit_waves`` + ``hrtem.optics.Microscope.image``)
    of a 4 nm Au Wulff particle (1,925 atoms, ⟨110⟩), 4 Einstein frozen
    phonons, ch. 4 microscope, vs the same computation written directly with
    abTEM (FrozenPhonons → Potential → PlaneWave.multislice → apply_ctf →
    intensity → mean), same grid, slices, seed and Dask threads. Goal: median
    ratio ≤ 1.05.
(b) the multislice time of (a) vs its FFT bound: 2 FFTs (forward + inverse)
    per slice per configuration, timed with abTEM's own FFT (``abtem.core.fft``,
    FFTW here) on the same grid and dtype.
(c) an image ensemble (``hrtem.simulate.ensemble.image_ensemble``) from the
    stored exit waves on 1 vs 2 Dask workers (speed-up; goal ≥ 1.8), with
    what limits it: the speed-up the task graph allows (the 1-worker task
    times list-scheduled on 2 ideal workers, plus the serial time), the time
    outside tasks (serial: store template, graph, checks, rename), the summed task time on 1 and on 2 workers (its growth on 2 is
    contention: GIL, memory bandwidth, other users), and the CPU use
    (CPU time / wall). Then the peak RSS of a subprocess making K = 10 and
    K = 300 realisations (should be flat: blocks are written as they are made).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ENERGY_KEV = 300.0
SLICE_A = 2.0  # ~24 slices through the 4 nm particle (DESIGN.md's measurement)
SAMPLING_A = 0.05
CONFIGS = 4
SEED = 2026
THREADS = 2


def _microscope() -> dict:
    from hrtem.config import validate_config

    return validate_config({})["images"]["microscope"]


def _simulate() -> dict:
    from hrtem.config import validate_config

    return validate_config({"simulate": {"sampling_a": SAMPLING_A, "slice_thickness_a": SLICE_A,
                                         "frozen_phonons": {"configurations": CONFIGS}}})["simulate"]


def package_image(atoms, microscope, simulate):
    """The package path: exit waves per configuration, then the lens per configuration, mean.

    Returns (image, waves, multislice wall s, total wall s, total CPU s).
    """
    from hrtem.optics import Microscope
    from hrtem.simulate.exit_waves import exit_waves

    c0, t0 = time.process_time(), time.perf_counter()
    waves = exit_waves(atoms, energy_kev=ENERGY_KEV, simulate=simulate, seed=SEED, keys=("bench",))
    t1 = time.perf_counter()
    sampling = (float(waves.x[1] - waves.x[0]), float(waves.y[1] - waves.y[0]))
    image = Microscope.from_config(microscope).image(waves.values, sampling)
    t2 = time.perf_counter()
    return image, waves, t1 - t0, t2 - t0, time.process_time() - c0


def abtem_image(atoms, microscope, gpts):
    """The same computation written directly with abTEM. Returns (image, wall s, CPU s, slices)."""
    import abtem

    from hrtem.seeding import rng

    c0, t0 = time.process_time(), time.perf_counter()
    seed = int(rng(SEED, "bench", "frozen_phonons").integers(2**31 - 1))  # the package's Einstein seed
    fp = abtem.FrozenPhonons(atoms, num_configs=CONFIGS, sigmas={"Au": 0.087}, seed=seed)
    potential = abtem.Potential(fp, gpts=gpts, slice_thickness=SLICE_A, parametrization="lobato",
                                projection="infinite")
    waves = abtem.PlaneWave(energy=ENERGY_KEV * 1e3, normalize=False).multislice(potential)
    ctf = abtem.CTF(
        energy=ENERGY_KEV * 1e3, semiangle_cutoff=microscope["objective_aperture_mrad"], soft=False,
        focal_spread=microscope["focal_spread_a"], angular_spread=microscope["illumination_semiangle_mrad"],
        aberration_coefficients={"C10": microscope["defocus_a"], "C30": microscope["cs_mm"] * 1e7},
    )
    image = waves.apply_ctf(ctf).intensity().mean(0).compute(progress_bar=False).array
    return np.asarray(image), time.perf_counter() - t0, time.process_time() - c0, potential.num_slices


def _spread(values) -> str:
    v = np.asarray(values, dtype=float)
    return f"{np.median(v):.3f} (min {v.min():.3f}, max {v.max():.3f}, n = {v.size})"


def fft_bound(gpts, n_slices, repeats=20):
    """Seconds for 2 FFTs per slice per configuration with abTEM's FFT (complex64, this grid)."""
    from abtem.core.fft import fft2, ifft2

    rng = np.random.default_rng(0)
    x = (rng.standard_normal(gpts) + 1j * rng.standard_normal(gpts)).astype(np.complex64)
    fft2(x.copy(), overwrite_x=True)  # plan (FFTW_MEASURE) outside the timing
    ifft2(x.copy(), overwrite_x=True)
    t0 = time.perf_counter()
    for _ in range(repeats):
        y = fft2(x, overwrite_x=False)
        x = ifft2(y, overwrite_x=False)
    per_pair = (time.perf_counter() - t0) / repeats
    return per_pair, per_pair * n_slices * CONFIGS


_CHILD = r"""
import json, sys, time
from dask.diagnostics import Profiler
from hrtem.io import open_store
from hrtem.simulate.ensemble import image_ensemble
a = json.loads(sys.argv[1])
waves = open_store(a["waves"])["exit_wave"]
with Profiler() as prof:
    c, t = time.process_time(), time.perf_counter()
    image_ensemble(waves, a["out"], microscope=a["microscope"], detector=a["detector"], doses_e_per_a2=a["doses"],
                   samples=a["samples"], defocus_a=a["defocus"], seed=1, keys=("bench",),
                   samples_per_block=a["block"], threads=a["threads"])
    wall, cpu = time.perf_counter() - t, time.process_time() - c
tasks = {}
for r in prof.results:
    kind = str(r.key).split("-")[0]
    tasks[kind] = tasks.get(kind, 0.0) + r.end_time - r.start_time
span = max(r.end_time for r in prof.results) - min(r.start_time for r in prof.results)
order = sorted(prof.results, key=lambda r: r.start_time)
durations = [[str(r.key), r.end_time - r.start_time] for r in order]
print(json.dumps({"seconds": wall, "cpu": cpu, "outside_tasks": wall - span, "tasks": tasks, "durations": durations}))
"""


def run_child(args: dict) -> tuple[dict, float]:
    """Run one ensemble in a subprocess; return (its timings, peak RSS in MB polled every 10 ms)."""
    import psutil

    proc = psutil.Popen([sys.executable, "-c", _CHILD, json.dumps(args)], stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE, text=True)
    peak = 0
    while proc.poll() is None:
        try:
            peak = max(peak, proc.memory_info().rss)
        except psutil.NoSuchProcess:  # pragma: no cover
            break
        time.sleep(0.01)
    out, err = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(err)
    return json.loads(out.strip().splitlines()[-1]), peak / 2**20


def graph_bound(durations: list, workers: int) -> float:
    """Makespan of the ensemble's tasks on ``workers`` ideal workers (no contention).

    ``durations``: ``[key, seconds]`` of a 1-worker run in start order. Tasks
    are list-scheduled in that order; ``free-i-j`` and ``noise-i-j-…`` wait
    for ``camera-i-j``.
    """
    free_at = [0.0] * workers
    done: dict[str, float] = {}
    for key, seconds in durations:
        parts = key.split("-")
        ready = done.get(f"camera-{parts[1]}-{parts[2]}", 0.0) if parts[0] in ("free", "noise") else 0.0
        w = min(range(workers), key=lambda n: max(free_at[n], ready))
        start = max(free_at[w], ready)
        free_at[w] = done[key] = start + seconds
    return max(free_at)


def main() -> None:
    import dask

    from hrtem.io import write_dataset
    from hrtem.structures.wulff import wulff_particle

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 nm particle and small ensembles (checks the script)")
    parser.add_argument("--pairs", type=int, default=5, help="interleaved package/abTEM pairs (a)")
    parser.add_argument("--ensemble-repeats", type=int, default=3, help="interleaved 1-/2-worker ensemble pairs (c)")
    parser.add_argument("--no-memory", action="store_true", help="skip the K = 10 / 300 peak-RSS runs")
    cli = parser.parse_args()
    dask.config.set(scheduler="threads", num_workers=THREADS)

    diameter = 2.0 if cli.quick else 4.0
    atoms = wulff_particle("Au", diameter, zone_axis="110", vacuum_a=5.0)
    microscope, simulate = _microscope(), _simulate()
    rows: list[tuple[str, str]] = []
    print(f"# particle: {len(atoms)} Au atoms ({diameter:g} nm Wulff, ⟨110⟩), cell "
          f"{np.round(atoms.cell.lengths(), 1).tolist()} Å; {CONFIGS} frozen phonons; {THREADS} Dask threads; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs at start", flush=True)

    # warm-up: imports, FFTW plans, numba kernels of abTEM (both paths)
    small = wulff_particle("Au", 1.0, zone_axis="110", vacuum_a=3.0)
    _, small_waves, *_ = package_image(small, microscope, simulate)
    abtem_image(small, microscope, small_waves.shape[-2:])

    # (a) interleaved pairs: package first in even pairs, abTEM first in odd ones
    gpts = None
    pkg, direct = [], []
    for i in range(max(1, cli.pairs)):
        for side in ("pkg", "abtem") if i % 2 == 0 else ("abtem", "pkg"):
            if side == "pkg":
                image, waves, t_ms, t_total, c_total = package_image(atoms, microscope, simulate)
                gpts = waves.shape[-2:]
                pkg.append((t_total, t_ms, c_total))
            else:
                if gpts is None:  # the grid the package chooses, without timing it
                    from hrtem.simulate.grid import grid_for

                    gpts = grid_for(tuple(atoms.cell.lengths()[:2]), SAMPLING_A, True)
                ref, t_abt, c_abt, n_slices = abtem_image(atoms, microscope, gpts)
                direct.append((t_abt, c_abt))
        print(f"pair {i + 1}: package {pkg[-1][0]:.2f} s (multislice {pkg[-1][1]:.2f}), abTEM {direct[-1][0]:.2f} s; "
              f"ratio {pkg[-1][0] / direct[-1][0]:.3f} (CPU {pkg[-1][2] / direct[-1][1]:.3f}); "
              f"load {os.getloadavg()[0]:.1f}", flush=True)
    wall_ratio = [p[0] / d[0] for p, d in zip(pkg, direct)]
    cpu_ratio = [p[2] / d[1] for p, d in zip(pkg, direct)]
    ms_ratio = [p[1] / d[0] for p, d in zip(pkg, direct)]
    t_pkg, t_ms = float(np.median([p[0] for p in pkg])), float(np.median([p[1] for p in pkg]))
    t_abt = float(np.median([d[0] for d in direct]))
    agree = float(np.max(np.abs(image - ref)) / np.ptp(ref))
    rows += [
        ("grid, slices", f"{gpts[0]}×{gpts[1]} (0.05 Å), {n_slices} slices of {SLICE_A:g} Å"),
        ("(a) package image, median [s]", f"{t_pkg:.2f} (multislice {t_ms:.2f} + lens {t_pkg - t_ms:.2f})"),
        ("(a) abTEM directly, median [s]", f"{t_abt:.2f}"),
        ("(a) ratio package/abTEM, wall: median (spread) (goal ≤ 1.05)", _spread(wall_ratio)),
        ("(a) ratio package/abTEM, CPU time: median (spread)", _spread(cpu_ratio)),
        ("(a) ratio package multislice alone/abTEM whole, wall", _spread(ms_ratio)),
        ("(a) max |ΔI| / range(I)", f"{agree:.1e}"),
    ]
    print(*(f"{k}: {v}" for k, v in rows), sep="\n", flush=True)

    # (b) FFT bound
    per_pair, bound = fft_bound(gpts, n_slices)
    rows += [
        ("(b) one FFT pair (abTEM FFTW, complex64) [ms]", f"{per_pair * 1e3:.2f}"),
        ("(b) FFT bound 2·slices·configs [s]", f"{bound:.2f}"),
        ("(b) multislice / FFT bound", f"{t_ms / bound:.1f}×"),
    ]
    print(*(f"{k}: {v}" for k, v in rows[-3:]), sep="\n", flush=True)

    # (c) ensembles from the stored exit waves, 1 and 2 workers interleaved
    with tempfile.TemporaryDirectory(prefix="bench_ensemble_") as tmp:
        store = Path(tmp) / "waves.zarr"
        write_dataset(waves, store)
        detector = {"sampling_a": 0.2, "dose_e_per_a2": None, "mtf": {"model": "eq2_21"}}
        k_speed = 30 if cli.quick else 100
        base = {"waves": str(store), "microscope": microscope, "detector": detector, "block": 10,
                "doses": [1e2, 1e3, 1e4], "defocus": [45.0, 85.0], "samples": k_speed}
        runs: dict[int, list[dict]] = {1: [], 2: []}
        for i in range(max(1, cli.ensemble_repeats)):
            for threads in (1, 2) if i % 2 == 0 else (2, 1):
                out = Path(tmp) / f"speed{threads}_{i}.zarr"
                runs[threads].append(run_child({**base, "threads": threads, "out": str(out)})[0])
            print(f"ensemble pair {i + 1}: 1 worker {runs[1][-1]['seconds']:.2f} s, 2 workers "
                  f"{runs[2][-1]['seconds']:.2f} s; load {os.getloadavg()[0]:.1f}", flush=True)
        n_img = k_speed * 3 * 2
        speedup = [a["seconds"] / b["seconds"] for a, b in zip(runs[1], runs[2])]

        def med(n, key, sub=None):
            return float(np.median([(r[key][sub] if sub else r[key]) for r in runs[n]]))

        bound = [(r["seconds"]) / (r["outside_tasks"] + graph_bound(r["durations"], 2)) for r in runs[1]]
        tasks1 = {k: med(1, "tasks", k) for k in runs[1][0]["tasks"]}
        tasks2 = {k: med(2, "tasks", k) for k in runs[2][0]["tasks"]}
        rows += [
            (f"(c) ensemble {n_img} images (2 defoci × 3 doses × K={k_speed}), 1 worker, median [s]",
             f"{med(1, 'seconds'):.2f}"),
            ("(c) same, 2 workers, median [s]", f"{med(2, 'seconds'):.2f}"),
            ("(c) speed-up: median (spread) (goal ≥ 1.8)", _spread(speedup)),
            ("(c) speed-up the task graph allows (1-worker task times list-scheduled on 2, + serial)", _spread(bound)),
            ("(c) outside tasks (serial) 1 / 2 workers [s]", f"{med(1, 'outside_tasks'):.2f} / {med(2, 'outside_tasks'):.2f}"),
            ("(c) summed task time 1 / 2 workers [s]",
             ", ".join(f"{k} {tasks1[k]:.2f} / {tasks2.get(k, float('nan')):.2f}" for k in sorted(tasks1))),
            ("(c) CPU time / wall, 1 / 2 workers",
             f"{med(1, 'cpu') / med(1, 'seconds'):.2f} / {med(2, 'cpu') / med(2, 'seconds'):.2f}"),
        ]
        print(*(f"{k}: {v}" for k, v in rows[-7:]), sep="\n", flush=True)
        for k in () if cli.no_memory else (10, 60 if cli.quick else 300):
            out = Path(tmp) / f"mem{k}.zarr"
            timing, peak = run_child({**base, "doses": [1e3], "defocus": [85.0], "samples": k, "threads": 2,
                                      "out": str(out)})
            size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file()) / 2**20
            nx = int(np.floor(waves.sizes["x"] * SAMPLING_A / 0.2 + 1e-9))
            ram = k * nx * nx * 4 / 2**20
            rows.append((f"(c) K = {k}: peak RSS [MB] (ensemble as float32 {ram:.0f} MB, store {size:.0f} MB, "
                         f"{timing['seconds']:.1f} s)", f"{peak:.0f}"))
            print(f"{rows[-1][0]}: {rows[-1][1]}", flush=True)
    rows.append(("load average at the end (1 min)", f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"))

    width = max(len(k) for k, _ in rows)
    print("\n| measurement" + " " * (width - 11) + " | value |")
    print("|" + "-" * (width + 2) + "|-------|")
    for k, v in rows:
        print(f"| {k:<{width}} | {v} |")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    main()
