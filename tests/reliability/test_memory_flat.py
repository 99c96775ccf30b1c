"""Ensemble memory does not grow with the number of noise realisations K.

Before, one Dask graph held a task per block (K / samples_per_block of them, and
a sample coordinate and lazy template of the same length): 10⁹ samples grew to
10.7 GB before failing. Now the blocks run in fixed-size batches, the template
is one lazy chunk, and K is bounded (≤ 10⁶) and checked against disk and memory
before the store is created.
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from hrtem.config import validate_config
from hrtem.errors import HrtemError
from hrtem.simulate.ensemble import noise_ensemble


def _image():
    x = np.arange(16) * 0.2
    return xr.DataArray(1 + 0.1 * np.cos(np.add.outer(x, x)), dims=("x", "y"), coords={"x": x, "y": x}, name="image")


def test_tasks_per_dask_compute_do_not_grow_with_samples(tmp_path, monkeypatch):
    import dask

    sizes: list[int] = []
    real = dask.compute

    def counting(*args, **kwargs):
        sizes.append(len(args))
        return real(*args, **kwargs)

    monkeypatch.setattr(dask, "compute", counting)
    detector = validate_config({"detector": {"sampling_a": 0.2}})["detector"]
    samples, block = 300, 2  # 150 blocks: one graph would hold 151 tasks
    noise_ensemble(_image(), tmp_path / "k.zarr", detector=detector, doses_e_per_a2=[100.0],
                   samples=samples, seed=1, samples_per_block=block, threads=1)
    assert sum(sizes) >= 1 + samples // block  # every block ran
    assert max(sizes) <= 64, sizes


def test_an_ensemble_larger_than_the_disk_is_refused_before_writing(tmp_path):
    detector = validate_config({"detector": {"sampling_a": 0.2}})["detector"]
    # an 800 Å field at a 0.2 Å camera pixel: 4000² px images, 10⁶ of them are 64 TB
    image = xr.DataArray(np.ones((2, 2)), dims=("x", "y"), coords={"x": [0.0, 800.0], "y": [0.0, 800.0]}, name="image")
    with pytest.raises(HrtemError, match="samples") as info:
        noise_ensemble(image, tmp_path / "big.zarr", detector=detector, doses_e_per_a2=[100.0],
                       samples=1_000_000, seed=1, samples_per_block=10_000, threads=1)
    assert "disk" in str(info.value) or "memory" in str(info.value)
    assert not (tmp_path / "big.zarr").exists()
