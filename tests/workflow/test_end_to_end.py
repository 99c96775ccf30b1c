"""The real workflow, run by Snakemake on a tiny config inside pytest."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from hrtem.io import read_dataset

ROOT = Path(__file__).resolve().parents[2]
SNAKEMAKE = Path(sys.executable).with_name("snakemake")

TINY = {
    "seed": 11,
    "threads": 2,
    "simulate": {
        "sampling_a": 0.2,
        "frozen_phonons": {"configurations": 2},
        "fig2_2": {"layers": [3, 4, 3]},
    },
}


def _snakemake(workdir: Path, *targets: str, extra: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    cmd = [
        str(SNAKEMAKE), *targets, "--snakefile", str(ROOT / "Snakefile"), "--directory", str(workdir),
        "--configfile", str(workdir / "tiny.yaml"), "--cores", "2", *extra,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("e2e")
    (workdir / "tiny.yaml").write_text(yaml.safe_dump(TINY))
    proc = _snakemake(workdir, "results/tiny/figures/fig2_2.png", "results/tiny/figures/fig2_3.png")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return workdir


@pytest.mark.slow
def test_figures_and_data_are_made(tiny_run):
    figures = tiny_run / "results" / "tiny" / "figures"
    for name in ("fig2_2.png", "fig2_3.png", "fig2_2.zarr"):
        assert (figures / name).exists(), name
    assert (figures / "fig2_2.png").stat().st_size > 20_000


@pytest.mark.slow
def test_stage_stores_hold_physical_numbers(tiny_run):
    stores = tiny_run / "results" / "tiny" / "fig2_2"
    waves = read_dataset(stores / "exit_wave.zarr")["exit_wave"]
    assert waves.sizes["config"] == 2
    # vacuum corner of the exit wave keeps |psi|^2 = 1 (the cluster sits in 2 A vacuum)
    assert abs(float(np.abs(waves.values[:, 0, 0]).mean()) ** 2 - 1) < 0.02
    image = read_dataset(stores / "image.zarr")["image"]
    noisy = read_dataset(stores / "noisy.zarr")["image"]
    # |H| <= 1, so by Parseval the lens can only remove intensity (envelopes
    # damp high frequencies); the low-frequency bulk of the signal survives
    exit_mean = float((np.abs(waves.values) ** 2).mean())
    assert 0.9 * exit_mean < float(image.mean()) <= exit_mean + 1e-4
    # detector pixel is the configured 0.18 A (or the nearest exact divisor of the cell)
    pixel = float(noisy.x[1] - noisy.x[0])
    assert abs(pixel - 0.18) < 0.01
    assert noisy.attrs["detector"]["dose_e_per_a2"] == 1e4


@pytest.mark.slow
def test_rerun_is_a_no_op_and_dry_run_lists_nothing(tiny_run):
    proc = _snakemake(tiny_run, "results/tiny/figures/fig2_2.png", extra=("-n",))
    assert proc.returncode == 0
    assert "Nothing to be done" in proc.stdout + proc.stderr


def test_dry_run_lists_the_whole_dag(tmp_path):
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(TINY))
    proc = _snakemake(tmp_path, extra=("-n",))
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout + proc.stderr
    for rule in ("fig2_2_model", "fig2_2_exit_wave", "fig2_2_detect", "fig2_2", "fig2_3", "all"):
        assert rule in out


def test_bad_config_stops_before_any_job(tmp_path):
    (tmp_path / "tiny.yaml").write_text("detector:\n  dose_e_per_a2: -5\n")
    proc = _snakemake(tmp_path, extra=("-n",))
    assert proc.returncode != 0
    err = proc.stdout + proc.stderr
    assert "detector.dose_e_per_a2" in err
    assert "Traceback" not in err
    assert not (tmp_path / "results").exists()


def test_lint_is_clean():
    proc = subprocess.run(
        [str(SNAKEMAKE), "--lint", "--snakefile", str(ROOT / "Snakefile"), "--directory", str(ROOT)],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "Lints for" not in proc.stdout + proc.stderr
