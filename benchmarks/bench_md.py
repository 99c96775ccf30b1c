"""Benchmark: MD atom-steps/s of the package's driver vs LAMMPS driven directly.

System: the default supported model of the md config (407 atoms, Cu119 half
particle on 2 trilayers of c-ZrO2(111), bottom trilayer fixed), COMB3
(``ffield.comb3``, polar_off) with ``fix qeq/comb`` every step and every 10
steps, Langevin at 300 K, 0.5 fs.

For each (charge interval, MPI ranks) one MPI job (``mpiexec -n RANKS`` of the
mpich wheel in this environment) runs, in the same processes:

- driver: :func:`hrtem.md.driver.run_md` (no minimisation, one Langevin stage);
  its ``atom_steps_per_s`` times the ``run`` command only;
- raw: a bare ``lammps.lammps()`` replaying the driver's exact LAMMPS input
  (``MDResult.script``: same data file, pair style, fixes, thermo/halt fixes),
  timing its ``run`` command the same way.

The two are timed alternately (raw, driver, raw, driver) and the best of each
is kept, so load from other processes on a shared machine hurts both alike.
Ratio = driver / raw (goal ≥ 0.95).

Run:  .venv/bin/python benchmarks/bench_md.py [--steps 120] [--steps-qeq1 24] [--ranks 1 2]
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from dataclasses import replace  # noqa: E402
from pathlib import Path  # noqa: E402


def _worker(qeq_every: int, steps: int, repeats: int) -> None:
    from hrtem.md.driver import run_md  # noqa: PLC0415
    from hrtem.md.lammps_loader import load_lammps  # noqa: PLC0415
    from hrtem.md.model import model_from_config  # noqa: PLC0415
    from hrtem.md.settings import MDSettings, Minimize, Stage  # noqa: PLC0415

    lammps = load_lammps()
    atoms = model_from_config({})
    base = MDSettings.from_config({})
    settings = base.with_(
        potential=replace(base.potential, qeq_every=qeq_every),
        minimize=Minimize(max_iterations=0),
        stages=(Stage("bench", 300, 300, steps),),
        thermo_every=10,
    )
    work = Path(tempfile.gettempdir()) / f"bench-md-{os.getppid()}-{qeq_every}"  # same for all ranks of one node
    n = len(atoms)

    def driver() -> tuple[float, str]:
        res = run_md(atoms, settings, seed=1, keys=("bench",), workdir=work)
        return res.atom_steps_per_s, res.script

    def raw(script: str) -> float:
        lmp = lammps.lammps(cmdargs=["-nocite", "-screen", "none", "-log", "none"])
        t_run = 0.0
        nsteps = 0
        for cmd in script.splitlines():
            if cmd.startswith("run ") and int(cmd.split()[1]) > 0:
                t0 = time.perf_counter()
                lmp.command(cmd)
                t_run += time.perf_counter() - t0
                nsteps += int(cmd.split()[1])
            else:
                lmp.command(cmd)
        lmp.close()
        return n * nsteps / t_run

    rank = None
    _, script = driver()  # warm-up (page cache, imports) and the script to replay
    d_best, r_best = 0.0, 0.0
    for _ in range(repeats):
        r_best = max(r_best, raw(script))
        d, _ = driver()
        d_best = max(d_best, d)
    lmp = lammps.lammps(cmdargs=["-nocite", "-screen", "none", "-log", "none"])
    rank = int(lmp.extract_setting("world_rank"))
    ranks = int(lmp.extract_setting("world_size"))
    lmp.close()
    if rank == 0:
        print("RESULT " + json.dumps({"atoms": n, "steps": steps, "qeq_every": qeq_every, "ranks": ranks,
                                      "driver": d_best, "raw": r_best}), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=120, help="MD steps with charges every 10 steps")
    ap.add_argument("--steps-qeq1", type=int, default=24, help="MD steps with charges every step")
    ap.add_argument("--ranks", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--repeats", type=int, default=2, help="timed pairs (best kept)")
    ap.add_argument("--worker", nargs=2, type=int, metavar=("QEQ_EVERY", "STEPS"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        _worker(args.worker[0], args.worker[1], args.repeats)
        return
    mpiexec = Path(sys.prefix) / "bin" / "mpiexec"
    rows = []
    t_all = time.perf_counter()
    for qeq, steps in ((10, args.steps), (1, args.steps_qeq1)):
        for ranks in args.ranks:
            cmd = [sys.executable, __file__, "--worker", str(qeq), str(steps), "--repeats", str(args.repeats)]
            if ranks > 1 or mpiexec.is_file():
                cmd = [str(mpiexec), "-n", str(ranks), *cmd]
            out = subprocess.run(cmd, capture_output=True, text=True, check=False)
            line = [ln for ln in out.stdout.splitlines() if ln.startswith("RESULT ")]
            if out.returncode or not line:
                print(out.stdout, out.stderr, file=sys.stderr)
                raise SystemExit(f"benchmark job failed: {' '.join(cmd)}")
            rows.append(json.loads(line[0][7:]))
    print(f"COMB3 (ffield.comb3), {rows[0]['atoms']} atoms (Cu/c-ZrO2(111) default model), "
          f"Langevin 300 K, 0.5 fs; best of {args.repeats} alternating runs")
    print(f"{'qeq every':>9} {'ranks':>5} {'steps':>5} {'driver atom-steps/s':>20} {'raw LAMMPS':>12} {'ratio':>6}")
    for r in rows:
        print(f"{r['qeq_every']:>9} {r['ranks']:>5} {r['steps']:>5} {r['driver']:>20.4g} {r['raw']:>12.4g} "
              f"{r['driver'] / r['raw']:>6.3f}")
    print(f"total wall time {time.perf_counter() - t_all:.0f} s")


if __name__ == "__main__":
    main()
