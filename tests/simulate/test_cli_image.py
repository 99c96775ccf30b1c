"""``hrtem image`` and ``hrtem noise`` outside the workflow; ``simulate exit-wave --tilt``, ``simulate ensemble``."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import yaml
from ase.cluster.cubic import FaceCenteredCubic

from hrtem.cli import main
from hrtem.io import open_store, read_dataset, write_atoms

SETTINGS = {
    "seed": 4,
    "simulate": {"sampling_a": 0.25, "frozen_phonons": {"configurations": 2}},
    "microscope": {"energy_kev": 300, "cs_mm": -0.01, "defocus_a": 85, "focal_spread_a": 29,
                   "objective_aperture_mrad": 15, "illumination_semiangle_mrad": 0.5},
    "detector": {"sampling_a": 0.5, "dose_e_per_a2": 1000},
}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    atoms = FaceCenteredCubic("Au", [(1, 0, 0), (1, 1, 0), (1, 1, 1)], [2, 2, 2])
    atoms.center(vacuum=4.0)
    write_atoms(atoms, d / "m.xyz")
    (d / "mic.yaml").write_text(yaml.safe_dump(SETTINGS))
    return d


@pytest.fixture(scope="module")
def image_store(files):
    out = files / "image.zarr"
    assert main(["image", str(files / "m.xyz"), str(files / "mic.yaml"), "-o", str(out), "--threads", "1"]) == 0
    return out


def test_image_writes_exit_waves_image_and_detected(image_store):
    ds = read_dataset(image_store)
    assert ds["exit_wave"].dims == ("config", "x", "y") and ds.sizes["config"] == 2
    assert ds["image"].dims == ("x", "y") and ds["detected"].dims == ("x_camera", "y_camera")
    image, detected = ds["image"].values, ds["detected"].values
    # vacuum-normalised: the cluster only redistributes intensity (mean ≈ 1)
    assert 0.97 < image.mean() < 1.01
    # the camera keeps the mean: D·δ² = 250 counts per pixel → the mean of ~N pixels is exact to ~0.2 %
    assert detected.mean() == pytest.approx(image.mean(), rel=0.01)
    assert float(ds["x_camera"][1] - ds["x_camera"][0]) == pytest.approx(0.5)
    assert ds["image"].attrs["microscope"]["cs_a"] == pytest.approx(-1e5)
    assert ds.attrs["seed"] == 4 and ds.attrs["rule"] == "image"


def test_image_is_reproducible_and_tilts_add_a_dimension(files, image_store):
    again = files / "again.zarr"
    tilted = files / "tilted.zarr"
    argv = [str(files / "m.xyz"), str(files / "mic.yaml")]
    assert main(["image", *argv, "-o", str(again), "--tilt", "0", "--tilt", "3"]) == 0
    a = read_dataset(image_store)
    b = read_dataset(again)
    assert b["exit_wave"].dims == ("tilt", "config", "x", "y") and b["image"].dims == ("tilt", "x", "y")
    assert b["detected"].dims == ("tilt", "x_camera", "y_camera")
    np.testing.assert_array_equal(b["exit_wave"].sel(tilt=0.0).values, a["exit_wave"].values)
    np.testing.assert_array_equal(b["image"].sel(tilt=0.0).values, a["image"].values)
    assert not np.allclose(b["image"].sel(tilt=3.0).values, a["image"].values, atol=1e-3)
    # no dose in the file and none given: no detected image
    plain = dict(SETTINGS, detector={"sampling_a": 0.5})
    (files / "nodose.yaml").write_text(yaml.safe_dump(plain))
    assert main(["image", str(files / "m.xyz"), str(files / "nodose.yaml"), "-o", str(tilted)]) == 0
    assert "detected" not in read_dataset(tilted)


def test_noise_makes_a_chunked_ensemble_from_the_image_store(files, image_store):
    out = files / "noise.zarr"
    code = main(["noise", str(image_store), "--dose", "100", "10000", "--samples", "5", "--samples-per-block", "2",
                 "--settings", str(files / "mic.yaml"), "--sampling-a", "0.4", "--threads", "2", "-o", str(out)])
    assert code == 0
    ds = open_store(out)
    assert dict(ds["image"].sizes) == {"tilt": 1, "defocus": 1, "dose": 2, "sample": 5, "x": ds.sizes["x"],
                                       "y": ds.sizes["y"]}
    assert ds["image"].data.chunks[3] == (2, 2, 1)
    assert float(ds.x[1] - ds.x[0]) == pytest.approx(0.4)
    assert ds.attrs["seed"] == 4 and ds.attrs["source"] == str(image_store)
    stack = ds["image"].values[0, 0]
    # relative noise falls as 1/√D: 100× the dose, 10× less scatter about the noise-free image
    free = ds["noise_free"].values[0, 0]
    ratio = np.std(stack[0] - free) / np.std(stack[1] - free)
    assert 7 < ratio < 14


@pytest.mark.parametrize(
    "argv, message",
    [
        (["image", "{d}/m.xyz", "{d}/missing.yaml", "-o", "{d}/x.zarr"], "missing.yaml does not exist"),
        (["image", "{d}/m.xyz", "{d}/extra.yaml", "-o", "{d}/x.zarr"], "section(s) md not used here"),
        (["image", "{d}/m.xyz", "{d}/typo.yaml", "-o", "{d}/x.zarr"], "config key microscope.cs is not known"),
        (["image", "{d}/nothere.xyz", "{d}/mic.yaml", "-o", "{d}/x.zarr"], "nothere.xyz does not exist"),
        (["noise", "{d}/m.xyz", "--dose", "10", "-o", "{d}/x.zarr"], "not a Zarr v3 store"),
        (["noise", "{d}/image.zarr", "--dose", "-10", "-o", "{d}/x.zarr"], "--dose -10 is out of range; give a value > 0"),
    ],
)
def test_bad_input_is_one_line(files, image_store, capsys, argv, message):
    (files / "extra.yaml").write_text(yaml.safe_dump({"md": {}}))
    (files / "typo.yaml").write_text(yaml.safe_dump({"microscope": {"cs": 1}}))
    code = main([a.format(d=files) for a in argv])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: ") and err.count("\n") == 1 and message in err, err


def test_noise_refuses_a_store_without_a_noise_free_image(files, image_store, capsys):
    ensemble = files / "noise_for_refusal.zarr"
    assert main(["noise", str(image_store), "--dose", "10", "--samples", "1", "-o", str(ensemble)]) == 0
    capsys.readouterr()
    assert main(["noise", str(ensemble), "--dose", "10", "-o", str(files / "y.zarr")]) == 2
    assert "a noise-free intensity" in capsys.readouterr().err


def test_simulate_ensemble_verb_from_a_tilted_exit_wave_store(files):
    waves = files / "exit_tilt.zarr"
    out = files / "ensemble.zarr"
    sim = '{"sampling_a": 0.25, "frozen_phonons": {"configurations": 2}}'
    assert main(["simulate", "exit-wave", str(files / "m.xyz"), "--simulate", sim, "--seed", "1",
                 "--tilt", "0", "--tilt", "2", "--tilt-axis-deg", "90", "-o", str(waves)]) == 0
    stored = open_store(waves)["exit_wave"]
    assert stored.dims == ("tilt", "config", "x", "y") and stored.attrs["tilt_axis_deg"] == 90.0
    mic = '{"cs_mm": -0.01, "defocus_a": 85, "objective_aperture_mrad": 15}'
    assert main(["simulate", "ensemble", str(waves), "--microscope", mic, "--sampling-a", "0.5",
                 "--defocus", "-50", "85", "--dose", "1000", "--samples", "3", "--samples-per-block", "3",
                 "--threads", "2", "--seed", "1", "--key", "ens", "-o", str(out)]) == 0
    ds = open_store(out)
    assert ds["tilt"].values.tolist() == [0.0, 2.0] and ds["defocus"].values.tolist() == [-50.0, 85.0]
    assert ds["image"].shape[:4] == (2, 2, 1, 3)


def test_cli_runs_as_a_process_with_a_one_line_error(files):
    proc = subprocess.run([sys.executable, "-m", "hrtem", "noise", str(files / "m.xyz"), "--dose", "10",
                           "-o", str(files / "z.zarr")], capture_output=True, text=True)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().count("\n") == 0
