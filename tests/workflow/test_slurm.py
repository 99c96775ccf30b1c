"""The slurm profile against a real single-node SLURM (started by .ci/run).

Runs when ``HRTEM_SLURM=1`` (CI starts SLURM with .ci/slurm-up and sets it) or
when ``sinfo`` reports an idle node; skipped on machines without SLURM.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SNAKEMAKE = Path(sys.executable).with_name("snakemake")


def _slurm_idle() -> bool:
    if shutil.which("sinfo") is None:
        return False
    proc = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, timeout=20)
    return proc.returncode == 0 and "idle" in proc.stdout


pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        os.environ.get("HRTEM_SLURM") != "1" and not _slurm_idle(),
        reason="no SLURM here (CI starts one with .ci/slurm-up)",
    ),
]


def test_slurm_profile_runs_rules_as_slurm_jobs(tmp_path):
    assert _slurm_idle(), "HRTEM_SLURM=1 but SLURM has no idle node"
    (tmp_path / "tiny.yaml").write_text("seed: 5\n")
    cmd = [
        "timeout", "-k", "10", "400", str(SNAKEMAKE),
        "results/tiny/figures/fig2_3.png", "results/tiny/figures/fig6_9.png",
        "--snakefile", str(ROOT / "Snakefile"), "--directory", str(tmp_path),
        "--configfile", str(tmp_path / "tiny.yaml"),
        "--profile", str(ROOT / "workflow" / "profiles" / "slurm"),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert out.count("has been submitted with SLURM jobid") == 2
    for name in ("fig2_3.png", "fig2_3.csv", "fig6_9.png", "fig6_9.csv"):
        assert (tmp_path / "results" / "tiny" / "figures" / name).stat().st_size > 0
