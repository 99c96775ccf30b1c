"""Image ensembles: deterministic bytes on any worker count, chunk layout, lazy reopen, Poisson statistics."""

from __future__ import annotations

import os
from pathlib import Path

import dask.array as dsa
import numpy as np
import pytest
import xarray as xr

from hrtem.config import validate_config
from hrtem.errors import HrtemError
from hrtem.io import open_store, write_dataset
from hrtem.simulate.ensemble import image_ensemble, lens_images, noise_ensemble, write_ensemble

SAMPLING = 0.05  # simulation sampling, Å
CAMERA = 0.2  # camera pixel, Å


def _waves(n_tilt=2, n_config=2, shape=(96, 80), seed=0):
    """Smooth phase objects (a few Gaussian 'columns') as exit waves ``(tilt, config, x, y)``."""
    rng = np.random.default_rng(seed)
    x = np.arange(shape[0])[:, None] * SAMPLING
    y = np.arange(shape[1])[None, :] * SAMPLING
    out = np.empty((n_tilt, n_config, *shape), np.complex64)
    for t in range(n_tilt):
        for c in range(n_config):
            phase = np.zeros(shape)
            for cx, cy in rng.uniform(0.5, 3.5, (6, 2)):
                phase += 0.8 * np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * 0.25**2))
            out[t, c] = np.exp(1j * phase)
    coords = {d: xr.DataArray(np.arange(n) * SAMPLING, dims=d, attrs={"units": "Å"}) for d, n in zip("xy", shape)}
    return xr.DataArray(out, dims=("tilt", "config", "x", "y"),
                        coords={"tilt": [0.0, 2.0][:n_tilt], **coords}, name="exit_wave",
                        attrs={"energy_kev": 300.0})


@pytest.fixture(scope="module")
def sections():
    cfg = validate_config({})
    detector = dict(cfg["images"]["detector"], sampling_a=CAMERA)
    return cfg["images"]["microscope"], detector


def _tree(path: Path) -> dict[str, bytes]:
    out = {}
    for root, _, files in os.walk(path):
        for name in files:
            full = Path(root) / name
            out[str(full.relative_to(path))] = full.read_bytes()
    return out


def _run(tmp_path, name, sections, *, threads=1, seed=7, samples=5, block=2, waves=None):
    microscope, detector = sections
    path = tmp_path / f"{name}.zarr"
    image_ensemble(
        _waves() if waves is None else waves, path, microscope=microscope, detector=detector,
        doses_e_per_a2=[100.0, 1000.0], samples=samples, defocus_a=[50.0, 85.0], seed=seed,
        keys=("test_ensemble",), samples_per_block=block, threads=threads,
    )
    return path


def test_same_bytes_on_one_and_two_workers_and_on_reruns(tmp_path, sections):
    one = _tree(_run(tmp_path, "one", sections, threads=1))
    two = _tree(_run(tmp_path, "two", sections, threads=2))
    again = _tree(_run(tmp_path, "again", sections, threads=2))
    assert one.keys() == two.keys() == again.keys()
    assert len([k for k in one if k.startswith("image/c/")]) == 2 * 2 * 2 * 3  # tilt·defocus·dose·blocks
    for key in one:
        assert one[key] == two[key] == again[key], key
    other = open_store(_run(tmp_path, "other", sections, seed=8))
    same = open_store(tmp_path / "one.zarr")
    assert not np.array_equal(other["image"].values, same["image"].values)
    # the noise-free part does not depend on the seed
    np.testing.assert_array_equal(other["noise_free"].values, same["noise_free"].values)
    # nothing is left behind but the stores
    assert sorted(p.name for p in tmp_path.iterdir()) == ["again.zarr", "one.zarr", "other.zarr", "two.zarr"]


def test_store_reopens_lazily_with_block_chunks_and_units(tmp_path, sections):
    ds = open_store(_run(tmp_path, "lazy", sections, samples=5, block=2))
    image = ds["image"]
    assert image.dims == ("tilt", "defocus", "dose", "sample", "x", "y")
    assert isinstance(image.data, dsa.Array) and isinstance(ds["noise_free"].data, dsa.Array)
    nx, ny = image.sizes["x"], image.sizes["y"]
    assert (nx, ny) == (24, 20)  # floor(96·0.05/0.2), floor(80·0.05/0.2)
    # one chunk = one realisation block of one (tilt, defocus, dose)
    assert image.data.chunks == ((1, 1), (1, 1), (1, 1), (2, 2, 1), (nx,), (ny,))
    units = {d: ds[d].attrs.get("units") for d in ("tilt", "defocus", "dose", "x", "y")}
    assert units == {"tilt": "degree", "defocus": "Å", "dose": "e⁻/Å²", "x": "Å", "y": "Å"}
    assert float(ds.x[1] - ds.x[0]) == pytest.approx(CAMERA)
    assert ds.attrs["hrtem_format"] == "hrtem-store/1"
    assert ds.attrs["microscope"]["cs_a"] == pytest.approx(-1e5)  # Cs = −10 µm
    assert ds["defocus"].values.tolist() == [50.0, 85.0] and ds["tilt"].values.tolist() == [0.0, 2.0]
    assert not np.isnan(image.values).any()


def test_lens_image_is_computed_once_per_tilt_and_defocus(tmp_path, sections):
    calls = []

    def camera(i, j):
        calls.append((i, j))
        return np.full((16, 16), 1.0 + 0.1 * j)

    write_ensemble(tmp_path / "calls.zarr", camera, tilts_deg=[0.0, 1.0], defocus_a=[10.0, 20.0, 30.0],
                   doses_e_per_a2=[10.0, 100.0, 1000.0], samples=6, camera_shape=(16, 16),
                   detector=sections[1], seed=0, keys=("t",), samples_per_block=2, threads=2)
    # 2·3 camera images shared by 2·3·3·3 = 54 noise blocks
    assert sorted(calls) == [(i, j) for i in range(2) for j in range(3)]


def test_mean_over_samples_is_the_noise_free_image_within_poisson_error(tmp_path, sections):
    microscope, detector = sections
    perfect = dict(detector, mtf={"model": "none"})
    waves = _waves(n_tilt=1, shape=(160, 160))
    doses, k = [20.0, 500.0], 48
    path = tmp_path / "stats.zarr"
    image_ensemble(waves, path, microscope=microscope, detector=perfect, doses_e_per_a2=doses, samples=k,
                   seed=1, keys=("stats",), samples_per_block=16, threads=2)
    ds = open_store(path)
    free = ds["noise_free"].isel(tilt=0, defocus=0).values.astype(float)
    assert free.shape == (40, 40) and free.std() > 0.05  # there is contrast to see
    for d, dose in enumerate(doses):
        stack = ds["image"].isel(tilt=0, defocus=0, dose=d).values.astype(float)
        # N = D·δ²·I counts per pixel: the normalised image has variance I/(D·δ²)
        sigma_mean = np.sqrt(free / (dose * CAMERA**2) / k)
        z = (stack.mean(axis=0) - free) / sigma_mean
        print(f'dose {dose:g}: z mean {z.mean():+.3f}, z std {z.std():.3f}, var ratio {(stack.var(axis=0, ddof=1) * dose * CAMERA**2 / free).mean():.3f}')
        assert abs(z.mean()) < 0.15 and 0.93 < z.std() < 1.07, (dose, z.mean(), z.std())
        var = stack.var(axis=0, ddof=1) * dose * CAMERA**2 / free
        assert var.mean() == pytest.approx(1.0, abs=0.05)


def test_noise_ensemble_from_an_image_store(tmp_path, sections):
    microscope, detector = sections
    image = lens_images(_waves(n_tilt=1), microscope)
    assert image.dims == ("tilt", "x", "y")
    write_dataset(image, tmp_path / "image.zarr")
    lazy = open_store(tmp_path / "image.zarr")["image"]
    noise_ensemble(lazy, tmp_path / "noise.zarr", detector=detector, doses_e_per_a2=[1e5], samples=3,
                   seed=2, keys=("noise",), samples_per_block=3)
    ds = open_store(tmp_path / "noise.zarr")
    assert dict(ds["image"].sizes) == {"tilt": 1, "defocus": 1, "dose": 1, "sample": 3, "x": 24, "y": 20}
    assert float(ds["defocus"][0]) == pytest.approx(85.0)  # the image's own defocus
    # at 10⁵ e⁻/Å² (4000 counts per pixel) the images are nearly noise-free
    diff = ds["image"].values[0, 0, 0] - ds["noise_free"].values[0, 0][None]
    assert np.abs(diff).max() < 0.1 and ds["noise_free"].std() > 0.05
    # an ensemble is not a noise-free image
    with pytest.raises(HrtemError, match="noise-free intensity"):
        noise_ensemble(ds["image"], tmp_path / "bad.zarr", detector=detector, doses_e_per_a2=[10.0],
                       samples=1, seed=0)


def test_a_failing_task_leaves_no_store(tmp_path, sections):
    def broken(i, j):
        if j == 1:
            raise RuntimeError("lens failed")
        return np.ones((8, 8))

    with pytest.raises(RuntimeError, match="lens failed"):
        write_ensemble(tmp_path / "broken.zarr", broken, tilts_deg=[0.0], defocus_a=[1.0, 2.0],
                       doses_e_per_a2=[10.0], samples=2, camera_shape=(8, 8), detector=sections[1],
                       seed=0, threads=2)
    assert list(tmp_path.iterdir()) == []


def test_bad_sweeps_are_one_clear_error(tmp_path, sections):
    microscope, detector = sections
    with pytest.raises(HrtemError, match="doses_e_per_a2.*> 0"):
        image_ensemble(_waves(), tmp_path / "x.zarr", microscope=microscope, detector=detector,
                       doses_e_per_a2=[-1.0], samples=2, seed=0)
    with pytest.raises(HrtemError, match="energy"):
        image_ensemble(_waves().assign_attrs(energy_kev=80.0), tmp_path / "x.zarr", microscope=microscope,
                       detector=detector, doses_e_per_a2=[10.0], samples=2, seed=0)
