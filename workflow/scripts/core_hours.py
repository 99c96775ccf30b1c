#!/usr/bin/env python3
"""Jobs and requested core-hours of a config on SLURM, from a Snakemake dry run.

Usage (what ``make cost CONFIG=config/thesis.yaml`` runs)::

    .venv/bin/python workflow/scripts/core_hours.py config/thesis.yaml [TARGET ...]

Runs ``snakemake -n --profile workflow/profiles/slurm --configfile CONFIG
--cores 100000`` (a dry run caps every rule's threads at ``--cores``, 1 by
default, which a real SLURM run does not do) and reads each job's
``threads`` and ``resources`` from what it prints. A job requests the cores
the SLURM executor plugin asks ``sbatch`` for: ``tasks × cpus_per_task`` for
MPI rules (``resources.mpi``), else ``cpus_per_task`` or, without it, the
rule's threads; and ``runtime`` minutes (the profile's default-resources fill
it in). Local rules (``localrule``) and rules without an action (``all``)
are not submitted and are left out. Prints one row per rule and the totals.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def parse_dry_run(text: str) -> list[dict]:
    """Jobs of a Snakemake dry-run printout: rule, threads, resources (dict of str)."""
    jobs: list[dict] = []
    job: dict | None = None
    for line in text.splitlines():
        head = re.match(r"^(local)?rule (\w+):$", line)
        if head:
            job = {"rule": head.group(2), "local": bool(head.group(1)), "threads": 1, "resources": {}}
            jobs.append(job)
            continue
        if job is None:
            continue
        if line.strip() == "Shell command: None":  # no action (e.g. rule all): never submitted
            job["local"] = True
        m = re.match(r"^\s+threads: (\d+)$", line)
        if m:
            job["threads"] = int(m.group(1))
        m = re.match(r"^\s+resources: (.*)$", line)
        if m:
            for item in m.group(1).split(", "):
                key, _, value = item.partition("=")
                job["resources"][key.strip()] = value.strip()
    return jobs


def requested_cores(job: dict) -> int:
    """Cores ``sbatch`` is asked for (the SLURM executor plugin's rule)."""
    res = job["resources"]
    per_task = int(res["cpus_per_task"]) if "cpus_per_task" in res else job["threads"]
    tasks = int(res.get("tasks", 1)) if "mpi" in res else 1
    return max(1, per_task) * tasks


def summary(jobs: list[dict]) -> tuple[list[tuple[str, int, int, float, float]], int, float]:
    """Per rule (rule, jobs, cores per job, runtime h per job, core-hours) and totals (jobs, core-hours)."""
    rows: dict[str, list] = defaultdict(lambda: [0, 0, 0.0, 0.0])
    for job in jobs:
        if job["local"]:
            continue
        cores = requested_cores(job)
        hours = float(job["resources"].get("runtime", 0)) / 60.0
        row = rows[job["rule"]]
        row[0] += 1
        row[1] = max(row[1], cores)
        row[2] = max(row[2], hours)
        row[3] += cores * hours
    table = [(rule, n, c, h, ch) for rule, (n, c, h, ch) in sorted(rows.items(), key=lambda kv: -kv[1][3])]
    return table, sum(r[1] for r in table), sum(r[4] for r in table)


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    config, targets = argv[0], argv[1:]
    snakemake = Path(sys.executable).with_name("snakemake")
    cmd = [str(snakemake), "-n", "--profile", str(ROOT / "workflow" / "profiles" / "slurm"),
           "--snakefile", str(ROOT / "Snakefile"), "--configfile", config, "--cores", "100000", *targets]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        print(proc.stdout[-2000:] + proc.stderr[-2000:], file=sys.stderr)
        return proc.returncode
    table, n_jobs, core_hours = summary(parse_dry_run(proc.stdout + proc.stderr))
    print(f"{'rule':<20} {'jobs':>5} {'cores/job':>9} {'runtime h/job':>13} {'core-hours':>11}")
    for rule, n, cores, hours, ch in table:
        print(f"{rule:<20} {n:>5} {cores:>9} {hours:>13.2f} {ch:>11.1f}")
    print(f"{'total':<20} {n_jobs:>5} {'':>9} {'':>13} {core_hours:>11.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
