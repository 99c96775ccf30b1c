"""``make run`` after ``kill -9``: the stale lock is cleared, finished jobs stay, the rest is redone.

A tiny real run (the fig2_2 chain at 0.25 Å: model -> potential, exit waves ->
image -> detector) is started with the README's command (``make run`` with a
CONFIG and TARGETS) in a copy of the workflow, killed with SIGKILL (the whole
process group: make, Snakemake and its job) once the first stores exist, and
``make run`` is run again.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from hrtem.io import read_dataset
from hrtem.runlock import lock_files

ROOT = Path(__file__).resolve().parents[2]
RUN = "killtest"
CONFIG = {
    "run": RUN,
    "seed": 3,
    "threads": 1,
    "simulate": {"sampling_a": 0.25, "slice_thickness_a": 1.0, "frozen_phonons": {"configurations": 2},
                 "fig2_2": {"layers": [3, 4, 3]}},
}
TARGETS = [f"results/{RUN}/fig2_2/potential.zarr", f"results/{RUN}/fig2_2/noisy.zarr"]


def _workspace(tmp: Path) -> Path:
    work = tmp / "repo"
    work.mkdir()
    for name in ("Snakefile", "Makefile", "pyproject.toml"):
        shutil.copy2(ROOT / name, work / name)
    for name in ("workflow", "envs"):
        shutil.copytree(ROOT / name, work / name, copy_function=shutil.copy2)
    (work / ".venv").symlink_to((ROOT / ".venv").resolve())
    (work / "tiny.yaml").write_text(yaml.safe_dump(CONFIG))
    return work


def _make(work: Path, **popen) -> list[str]:
    # -o .venv/.installed: the venv exists (the copy's files are newer than its stamp)
    return ["make", "-o", ".venv/.installed", "run", "CONFIG=tiny.yaml", "CORES=1", f"TARGETS={' '.join(TARGETS)}"]


@pytest.mark.slow
def test_sigkill_then_make_run_resumes_without_redoing_finished_jobs(tmp_path):
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    work = _workspace(tmp_path)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(_make(work), cwd=work, env=env, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    first = work / "results" / RUN / "fig2_2" / "model.xyz"
    logs = work / "results" / RUN / "logs"

    def second_job_started() -> bool:
        # jobs run one at a time (CORES=1): a second job's log means the first is done and booked
        return logs.is_dir() and any(p.name != "fig2_2_model.log" for p in logs.iterdir())

    deadline = time.monotonic() + 400
    while time.monotonic() < deadline and proc.poll() is None and not second_job_started():
        time.sleep(0.1)
    assert proc.poll() is None, "the run ended before it could be killed:\n" + (proc.stdout.read() or "")[-3000:]
    assert first.exists() and second_job_started(), "no job finished in time"
    os.killpg(proc.pid, signal.SIGKILL)  # inside the second job
    proc.wait()
    assert lock_files(work), "the killed run should have left Snakemake's lock behind"
    finished = {p: p.stat().st_mtime_ns for p in (work / "results" / RUN / "fig2_2").iterdir()
                if not p.name.startswith(".")}

    again = subprocess.run(_make(work), cwd=work, env=env, capture_output=True, text=True, timeout=600)
    log = again.stdout[-4000:] + again.stderr[-4000:]
    assert again.returncode == 0, log
    assert "hrtem.runlock: no live Snakemake holds the lock" in again.stderr, log
    assert not lock_files(work)
    for target in TARGETS:
        read_dataset(work / target)  # every chunk present, checksums match
    # finished outputs were not redone (an incomplete one may have been)
    kept = [p for p, t in finished.items() if p.exists() and p.stat().st_mtime_ns == t]
    assert first in kept, f"model.xyz was redone; finished before the kill: {sorted(p.name for p in finished)}"
    # a third run has nothing to do
    dry = subprocess.run([str(work / ".venv" / "bin" / "snakemake"), *TARGETS, "-n", "--configfile", "tiny.yaml"],
                         cwd=work, env=env, capture_output=True, text=True, timeout=300)
    assert "Nothing to be done" in dry.stdout + dry.stderr, dry.stdout[-2000:] + dry.stderr[-2000:]
