"""The study's figures on a synthetic measurement with known errors: the CSVs and claims report them."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from hrtem.strain.accuracy import MEASURED_VARIABLES, StudySettings, central_slice_strain, collect, true_strain
from hrtem.structures.wulff import wulff_particle

pytestmark = pytest.mark.slow  # figures under load: ~1 min in all

TILTS = [0.0, 1.0, 2.0, 3.0]
DEFOCI = [45.0, 85.0, 125.0]
DOSES = [1e3, 1e4, 1e5]
K = 40
SIGMA_1E3 = 0.012  # noise std of ε_p at 10³ e⁻/Å² (MAE = σ·√(2/π) for a Gaussian)


def _measured(truth: xr.Dataset, axis: float, rng) -> xr.Dataset:
    """A measurement store as measure_ensemble writes it, with known errors.

    Noise-free ε_p error: 0.3 % × (Δf / 8.5 nm)² × (1 + tilt²/4); noise: Gaussian,
    σ = 1.2 % · (10³/D)^½; surface-relaxation error 0.5 % at {111}, −1 % at {100}.
    """
    n = truth.sizes["column"]
    shape = (len(TILTS), len(DEFOCI), len(DOSES), K, n)
    sys_err = np.array([[0.003 * (df / 85.0) ** 2 * (1 + t**2 / 4) for df in DEFOCI] for t in TILTS])
    nf_err = np.broadcast_to(sys_err[:, :, None], (len(TILTS), len(DEFOCI), n)).copy()
    true_ep = truth["ep"].values
    nf_ep = true_ep + nf_err
    sigma = SIGMA_1E3 * np.sqrt(1e3 / np.asarray(DOSES))
    noise = rng.standard_normal(shape) * sigma[None, None, :, None, None]
    ep = nf_ep[:, :, None, None, :] + noise
    facet = truth["facet"].values
    en_err = np.where(facet == 1, 0.005, np.where(facet == 2, -0.01, np.nan))
    data = {
        "found": np.ones(shape), "dx": np.zeros(shape), "dy": np.zeros(shape), "ep": ep,
        "ep_error": ep - true_ep, "en_error": np.broadcast_to(en_err, shape), "rmsd": np.full(shape, 0.02),
    }
    nf = {"found": np.ones(nf_ep.shape), "dx": np.zeros(nf_ep.shape), "dy": np.zeros(nf_ep.shape), "ep": nf_ep,
          "ep_error": nf_err, "en_error": np.broadcast_to(en_err, nf_ep.shape), "rmsd": np.full(nf_ep.shape, 0.02)}
    dims = ("tilt", "defocus", "dose", "sample", "column")
    vars_ = {k: (dims, data[k].astype(np.float32)) for k in MEASURED_VARIABLES}
    vars_.update({f"noise_free_{k}": (("tilt", "defocus", "column"), nf[k].astype(np.float32)) for k in MEASURED_VARIABLES})
    vars_.update({f"truth_{k}": ("column", truth[k].values) for k in truth.data_vars})
    return xr.Dataset(vars_, coords={"tilt": TILTS, "defocus": DEFOCI, "dose": DOSES, "sample": np.arange(K),
                                     "column": np.arange(n), "x": ("column", truth["x"].values),
                                     "y": ("column", truth["y"].values)},
                      attrs={"potential": "eam:Au_u3.eam", "template": "fcc110"})


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    from hrtem.io import write_dataset

    tmp = tmp_path_factory.mktemp("study")
    atoms = wulff_particle("Au", 3.0, zone_axis="110")
    s = StudySettings()
    truth = true_strain(atoms, s)
    sl = central_slice_strain(atoms, s)
    (tmp / "3nm").mkdir()
    write_dataset(truth.merge(sl.rename({"ep": "slice_ep", "matched": "slice_matched", "x": "slice_x", "y": "slice_y"})),
                  tmp / "3nm" / "truth.zarr")
    rng = np.random.default_rng(0)
    stores = []
    for axis in (0.0, 90.0):
        p = tmp / f"m{axis:g}.zarr"
        write_dataset(_measured(truth, axis, rng), p)
        stores.append((3.0, axis, p))
    collect(stores, tmp / "study.zarr")
    return tmp


def _make(fid, study, tmp_path, inputs):
    from hrtem.config import validate_config
    from hrtem.figures import run
    from hrtem.figures.fidelity import FigureData, claims_of, evaluate

    cfg = validate_config({})
    params = {"figure": fid, "study": cfg["images"]["study"], "microscope": cfg["images"]["microscope"]}
    run(fid, inputs, tmp_path / f"{fid}.png", params, 0)
    assert (tmp_path / f"{fid}.png").stat().st_size > 10_000
    data = FigureData(fid, tmp_path)
    return data, {c.quantity: evaluate(fid, c, data) for c in claims_of(fid)}


def test_collected_store_has_the_sweep_dims(study):
    from hrtem.io import read_dataset

    ds = read_dataset(study / "study.zarr")
    assert ds["ep"].dims == ("size", "tilt_axis", "tilt", "defocus", "dose", "sample", "column")
    assert list(ds["tilt_axis"].values) == [0.0, 90.0]
    assert ds.attrs["potential"] == "eam:Au_u3.eam"


def test_fig4_11_recovers_the_noise_law(study, tmp_path):
    """Noise σ ∝ D^−½ put in: fitted exponents −0.5 ± 0.05, MAE at 10³ = σ√(2/π) = 0.96 %."""
    data, rows = _make("fig4_11", study, tmp_path, [study / "study.zarr"])
    k = data.rows(quantity="fit_exponent")["value"]
    np.testing.assert_allclose(k, -0.5, atol=0.05)
    assert rows[next(q for q in rows if q.startswith("fitted exponent"))].holds == "yes"
    mae = data.scalar("value", quantity="mae_mean")
    assert abs(mae - SIGMA_1E3 * np.sqrt(2 / np.pi)) < 0.001
    assert data.meta["potential"] == "eam:Au_u3.eam"
    # where this run differs from the thesis is in the figure's CSV and in every claim's note
    differs = data.meta["differs_from_thesis"]
    assert "(thesis 300)" in differs and "EAM" in differs and "(thesis 2 4 6 nm)" in differs
    for row in rows.values():
        assert differs in row.note


def test_fig4_6_7_8_9_12_report_the_put_in_errors(study, tmp_path):
    inputs = [study / "study.zarr"]
    data, rows = _make("fig4_6", study, tmp_path, inputs)
    # 0.3 % at 8.5 nm, 0.3·(125/85)² = 0.65 % at 12.5 nm on every column
    np.testing.assert_allclose(data.rows(quantity="max_abs_ep_error")["value"], [0.003 * (d / 85) ** 2 for d in DEFOCI],
                               rtol=1e-5)
    assert rows["largest absolute ε_p error over all columns at Δf = 8.5 nm"].holds == "yes"
    data, rows = _make("fig4_7", study, tmp_path, inputs)
    v = data.rows(quantity="en_error_mean", facet="{100}")["value"]
    np.testing.assert_allclose(v, -0.01, rtol=1e-5)
    data, rows = _make("fig4_8", study, tmp_path, inputs)
    mae = data.rows(quantity="mae_ep_error")["value"]
    np.testing.assert_allclose(mae, [0.003 * (1 + t**2 / 4) for t in TILTS], rtol=1e-5)
    data, rows = _make("fig4_9", study, tmp_path, inputs)
    assert rows["largest change over tilt of the mean surface-relaxation error at 8.5 nm"].holds == "yes"
    data, rows = _make("fig4_12", study, tmp_path, inputs)
    assert len(data.rows(quantity="mae_point")["value"]) == len(DEFOCI) * len(DOSES)


def test_fig4_2_and_4_3(study, tmp_path):
    data, rows = _make("fig4_2", study, tmp_path, [study / "3nm" / "truth.zarr"])
    # ideal particle: projection and slice agree (no relaxation, nothing spurious)
    assert abs(data.scalar("value", quantity="spurious_compression")) < 1e-4
    data, rows = _make("fig4_3", study, tmp_path, [study / "study.zarr"])
    np.testing.assert_allclose(data.scalar("value", quantity="mae_ep_error"), 0.003, rtol=1e-5)
