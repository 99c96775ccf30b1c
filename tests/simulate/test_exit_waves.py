"""Exit waves through abTEM: grids, normalisation, frozen phonons, determinism."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from ase.cluster.cubic import FaceCenteredCubic
from hypothesis import given
from hypothesis import strategies as st

from hrtem.config import validate_config
from hrtem.errors import HrtemError
from hrtem.io import read_dataset, write_atoms
from hrtem.simulate import exit_waves, fft_friendly, grid_for


def _smooth(n: int) -> bool:
    for p in (2, 3, 5):
        while n % p == 0:
            n //= p
    return n == 1


@given(st.integers(1, 5000))
def test_fft_friendly_is_the_smallest_smooth_size(n):
    m = fft_friendly(n)
    assert m >= n and _smooth(m)
    assert not any(_smooth(k) for k in range(n, m))


def test_fft_friendly_known_sizes():
    assert fft_friendly(935) == 960  # the DESIGN.md example: 5*11*17 -> 2^6*3*5
    assert fft_friendly(1024) == 1024


@given(st.floats(5, 200), st.floats(0.02, 0.5))
def test_grid_sampling_never_coarser_than_requested(length, sampling):
    n, _ = grid_for((length, length), sampling)
    assert length / n <= sampling * (1 + 1e-9)


@pytest.fixture(scope="module")
def cluster():
    atoms = FaceCenteredCubic("Au", [(1, 0, 0), (1, 1, 0), (1, 1, 1)], [2, 3, 2])
    atoms.center(vacuum=4.0)
    return atoms


@pytest.fixture(scope="module")
def simulate():
    return validate_config({"simulate": {"sampling_a": 0.2, "frozen_phonons": {"configurations": 3}}})["simulate"]


def test_vacuum_is_normalised_and_atoms_scatter(cluster, simulate):
    waves = exit_waves(cluster, energy_kev=300, simulate=simulate, seed=1, keys=("t",))
    assert waves.dims == ("config", "x", "y") and waves.sizes["config"] == 3
    intensity = np.abs(waves.values) ** 2
    # multislice without absorption only redistributes intensity; abTEM's
    # anti-aliasing aperture (2/3 of Nyquist) removes what scatters beyond it,
    # so the mean never grows and loses well under 1 % at 0.2 A sampling
    mean = intensity.mean(axis=(1, 2))
    assert np.all(mean <= 1 + 1e-5) and np.all(mean > 0.995)
    # in the 4 A vacuum frame only weak Fresnel fringes remain
    np.testing.assert_allclose(intensity[:, 0, 0], 1.0, atol=0.03)
    # the particle scatters: the phase varies by far more than in vacuum
    phase = np.angle(waves.values[0])
    assert np.ptp(phase) > 1.0
    assert abs(waves.attrs["sampling_a"][0] - float(waves.x[1] - waves.x[0])) < 1e-9


def test_same_seed_same_waves_other_seed_other_waves(cluster, simulate):
    a = exit_waves(cluster, energy_kev=300, simulate=simulate, seed=5, keys=("t",)).values
    b = exit_waves(cluster, energy_kev=300, simulate=simulate, seed=5, keys=("t",)).values
    c = exit_waves(cluster, energy_kev=300, simulate=simulate, seed=6, keys=("t",)).values
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    # configurations differ from each other (independent displacements)
    assert not np.array_equal(a[0], a[1])


def test_md_snapshots_are_the_configurations(cluster, simulate):
    rng = np.random.default_rng(0)
    frames = []
    for _ in range(2):
        frame = cluster.copy()
        frame.positions += rng.normal(0, 0.08, frame.positions.shape)
        frames.append(frame)
    md = dict(simulate, frozen_phonons=dict(simulate["frozen_phonons"], model="md"))
    static = dict(simulate, frozen_phonons=dict(simulate["frozen_phonons"], model="none"))
    ensemble = exit_waves(frames, energy_kev=300, simulate=md, seed=0)
    single = exit_waves(frames[1], energy_kev=300, simulate=static, seed=0)
    assert ensemble.sizes["config"] == 2 and single.sizes["config"] == 1
    np.testing.assert_allclose(ensemble.values[1], single.values[0], atol=1e-5)


def test_missing_einstein_sigma_names_the_key(simulate):
    from ase.build import bulk

    atoms = bulk("Pt", "fcc", a=3.92, cubic=True)
    with pytest.raises(HrtemError, match="simulate.frozen_phonons.sigma_a.Pt"):
        exit_waves(atoms, energy_kev=300, simulate=simulate, seed=0)


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "hrtem", *args], capture_output=True, text=True)


def test_cli_stores_are_reproducible(tmp_path, cluster):
    write_atoms(cluster, tmp_path / "m.xyz")
    sim = '{"sampling_a": 0.25, "frozen_phonons": {"configurations": 2}}'
    outs = []
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        proc = _cli("simulate", "exit-wave", str(tmp_path / "m.xyz"), "--simulate", sim,
                    "--seed", str(seed), "--key", "cli", "-o", str(tmp_path / f"{name}.zarr"))
        assert proc.returncode == 0, proc.stderr
        outs.append(read_dataset(tmp_path / f"{name}.zarr"))
    a, b, c = outs
    assert a["exit_wave"].attrs["hrtem_checksum"] == b["exit_wave"].attrs["hrtem_checksum"]
    np.testing.assert_array_equal(a["exit_wave"].values, b["exit_wave"].values)
    assert not np.array_equal(a["exit_wave"].values, c["exit_wave"].values)
    assert a.attrs["seed"] == 3 and a.attrs["config_hash"] == b.attrs["config_hash"]


def test_cli_bad_section_json_is_one_line(tmp_path, cluster):
    write_atoms(cluster, tmp_path / "m.xyz")
    proc = _cli("simulate", "exit-wave", str(tmp_path / "m.xyz"), "--simulate", '{"sampling": 0.2}',
                "-o", str(tmp_path / "x.zarr"))
    assert proc.returncode == 2
    assert "simulate.sampling is not known" in proc.stderr and "Traceback" not in proc.stderr
