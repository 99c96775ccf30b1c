"""workflow/scripts/core_hours.py: jobs and requested core-hours of a config from a dry run."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("core_hours", ROOT / "workflow" / "scripts" / "core_hours.py")
core_hours = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(core_hours)

DRY = """
rule md_anneal:
    jobid: 3
    threads: 4
    resources: tmpdir=/tmp, mem_mb=16000, runtime=600, mpi=mpiexec, tasks=4, nodes=1, cpus_per_task=1
rule images_ensemble:
    threads: 8
    resources: tmpdir=/tmp, mem_mb=4000, runtime=30
rule fig2_3:
    resources: tmpdir=/tmp, mem_mb=1000, runtime=60
localrule report:
    resources: tmpdir=/tmp, runtime=60
rule all:
    resources: tmpdir=/tmp, runtime=60
Shell command: None
"""


def test_cores_follow_the_slurm_plugin_and_actionless_rules_are_left_out():
    jobs = core_hours.parse_dry_run(DRY)
    assert [core_hours.requested_cores(j) for j in jobs[:3]] == [4, 8, 1]  # tasks×cpus_per_task, threads, 1
    table, n_jobs, total = core_hours.summary(jobs)
    assert n_jobs == 3 and {r[0] for r in table} == {"md_anneal", "images_ensemble", "fig2_3"}
    assert total == 4 * 10 + 8 * 0.5 + 1 * 1


def test_thesis_config_md_anneals_dominate():
    """The thesis config: 6 rotations × 32 ranks × 10080 min = 32,256 core-hours of MD."""
    proc = subprocess.run([sys.executable, str(ROOT / "workflow" / "scripts" / "core_hours.py"), "config/thesis.yaml"],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = {line.split()[0]: line.split()[1:] for line in proc.stdout.splitlines()[1:]}
    md = yaml.safe_load((ROOT / "config" / "thesis.yaml").read_text())["md"]
    n_rot = len(md["particle"]["rotations_deg"])
    assert rows["md_anneal"] == [str(n_rot), str(md["mpi_ranks"]), f"{md['resources']['runtime_min'] / 60:.2f}",
                                 f"{n_rot * md['mpi_ranks'] * md['resources']['runtime_min'] / 60:.1f}"]
    assert "all" not in rows
    total = float(rows["total"][-1])
    assert total == sum(float(v[-1]) for k, v in rows.items() if k != "total")
