"""Stored exit waves -> lens image -> detector image, as the rules run them."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from hrtem.config import validate_config
from hrtem.errors import HrtemError
from hrtem.simulate.images import detector_image, lens_image


def _waves(n_config=2, shape=(64, 48), sampling=0.1, energy=300.0, seed=0):
    rng = np.random.default_rng(seed)
    phase = 0.3 * rng.standard_normal((n_config, *shape))
    coords = {d: xr.DataArray(np.arange(n) * sampling, dims=d, attrs={"units": "Å"}) for d, n in zip("xy", shape)}
    return xr.DataArray(np.exp(1j * phase).astype(np.complex64), dims=("config", "x", "y"),
                        coords={"config": np.arange(n_config), **coords}, name="exit_wave",
                        attrs={"energy_kev": energy})


def _section(name, **values):
    return validate_config({name: values})[name]


def test_perfect_lens_gives_mean_of_intensities():
    waves = _waves()
    scope = _section("microscope", defocus_a=0.0, cs_mm=0.0, focal_spread_a=0.0,
                     envelopes={"spatial": False, "temporal": False, "deflection": False})
    image = lens_image(waves, scope)
    np.testing.assert_allclose(image.values, (np.abs(waves.values) ** 2).mean(axis=0), rtol=1e-5)
    assert image.attrs["microscope"]["energy_kev"] == 300.0


def test_intensities_not_waves_are_averaged():
    # two configurations whose waves cancel when averaged: the image must not
    waves = _waves(n_config=1)
    both = xr.concat([waves, -waves], dim="config")
    both["config"] = [0, 1]
    scope = _section("microscope", defocus_a=-200.0, cs_mm=0.0)
    single = lens_image(waves, scope).values
    np.testing.assert_allclose(lens_image(both, scope).values, single, rtol=1e-5)


def test_energy_mismatch_is_refused():
    with pytest.raises(HrtemError, match="energy"):
        lens_image(_waves(energy=80.0), _section("microscope", energy_kev=300))


@pytest.mark.parametrize("mtf", ["none", "eq2_21"])
def test_detected_counts_have_mean_dose_times_pixel_area(mtf):
    flat = xr.DataArray(np.ones((200, 200), np.float32), dims=("x", "y"),
                        coords={d: np.arange(200) * 0.05 for d in "xy"}, name="image")
    dose = 1e3
    det = _section("detector", sampling_a=0.2, dose_e_per_a2=dose, output="counts", mtf={"model": mtf})
    counts = detector_image(flat, det, seed=4, keys=("t",))
    expected = dose * 0.2**2  # N = D * delta^2 * I with I = 1
    sigma_of_mean = np.sqrt(expected / counts.size)
    assert abs(float(counts.mean()) - expected) < 3 * sigma_of_mean
    assert float(counts.x[1] - counts.x[0]) == pytest.approx(0.2)


def test_detector_noise_is_seeded():
    flat = xr.DataArray(np.ones((60, 60), np.float32), dims=("x", "y"),
                        coords={d: np.arange(60) * 0.1 for d in "xy"}, name="image")
    det = _section("detector", sampling_a=0.2, dose_e_per_a2=100.0)
    a = detector_image(flat, det, seed=1, keys=("t",)).values
    b = detector_image(flat, det, seed=1, keys=("t",)).values
    c = detector_image(flat, det, seed=2, keys=("t",)).values
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
