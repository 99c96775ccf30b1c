"""The ``hrtem strain`` verb, the strain figures (tiny sizes) and the config section."""

from __future__ import annotations

import numpy as np
import pytest

from hrtem.cli import main
from hrtem.config import validate_config
from hrtem.strain.io import read_table
from hrtem.strain.synthetic import deform, deformation_gradient, gaussian_image, square_lattice


@pytest.fixture
def strained(tmp_path):
    ref = square_lattice(2.0, (16, 16), origin=(2.0, 2.0))
    pts = deform(ref, deformation_gradient(0.02, -0.01, 0.005, 0.05), centre=(17.0, 17.0))
    csv = tmp_path / "pos.csv"
    np.savetxt(csv, pts, delimiter=",", header="x,y", comments="")
    img = gaussian_image(pts, (180, 180), 0.2, sigma_a=0.5)
    npy = tmp_path / "img.npy"
    np.save(npy, img)
    return tmp_path, csv, npy, pts


def _centre(tab, lo=10.0, hi=24.0):
    return (tab["x"] > lo) & (tab["x"] < hi) & (tab["y"] > lo) & (tab["y"] < hi)


def test_cli_positions_csv(strained):
    tmp, csv, _, _ = strained
    out = tmp / "out.csv"
    assert main(["strain", str(csv), "--template", "square8", "--nn-distance", "2", "-o", str(out)]) == 0
    tab = read_table(out)
    assert list(tab) == ["x", "y", "exx", "eyy", "exy", "rotation", "rmsd", "matched"]
    c = _centre(tab)
    np.testing.assert_allclose(tab["exx"][c], 0.02, atol=1e-9)
    np.testing.assert_allclose(tab["eyy"][c], -0.01, atol=1e-9)
    np.testing.assert_allclose(tab["rotation"][c], 0.05, atol=1e-9)


def test_cli_image_stm_and_gpa_write_maps(strained):
    from hrtem.io import read_dataset

    tmp, _, npy, _ = strained
    out = tmp / "stm.csv"
    assert main(["strain", str(npy), "--sampling", "0.2", "--template", "square8", "--nn-distance", "2",
                 "--filter", "none", "-o", str(out)]) == 0
    tab = read_table(out)
    assert np.nanmedian(np.abs(tab["exx"][_centre(tab)] - 0.02)) < 2e-3
    ds = read_dataset(tmp / "stm.zarr", variables=("exx", "eyy", "exy", "rotation", "image"))
    assert ds["exx"].dims == ("x", "y") and ds["x"].attrs["units"] == "Å"
    out = tmp / "gpa.csv"
    assert main(["strain", str(npy), "--sampling", "0.2", "--method", "gpa", "--g", "0.5,0;0,0.5",
                 "--mask-radius", "0.2", "--filter", "none", "-o", str(out)]) == 0
    tab = read_table(out)
    assert np.nanmedian(np.abs(tab["exx"][_centre(tab)] - 0.02)) < 2e-3


def test_cli_bad_input_is_one_line_error(strained, capsys):
    tmp, csv, _, _ = strained
    assert main(["strain", str(csv), "--template", "nope", "-o", str(tmp / "x.csv")]) == 2
    assert "unknown template 'nope'" in capsys.readouterr().err
    assert main(["strain", str(tmp / "missing.npy"), "-o", str(tmp / "x.csv")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["strain", str(csv), "--method", "gpa", "-o", str(tmp / "x.csv")]) == 2
    assert "GPA needs an image" in capsys.readouterr().err


def test_schema_defaults_equal_figure_defaults():
    from hrtem.figures import fig3_6, fig3_7, fig3_8, fig3_9

    cfg = validate_config({})["strain"]
    for mod, key in ((fig3_6, "fig3_6"), (fig3_7, "fig3_7"), (fig3_8, "fig3_8"), (fig3_9, "fig3_9")):
        assert cfg[key] == mod.DEFAULTS, key
    assert cfg["stm"] == {"rmsd_cap": 0.3, "max_nodes": 256}


def test_figures_small(tmp_path):
    """Each figure runs at tiny size, writes PNG + data, and shows its physics."""
    from hrtem.figures import run

    run("fig3_6", [], tmp_path / "fig3_6.png", {"size_px": 160, "columns": 8, "rows": 9, "band_rows": [2, 4],
                                                "vacancy": [4, 5]}, 0)
    tab = read_table(tmp_path / "fig3_6.csv")
    stm = tab["method"] == "stm"
    assert np.nanmin(tab["eyy"][stm]) == pytest.approx(-0.05, abs=2e-3)  # surface step kept by STM
    run("fig3_7", [], tmp_path / "fig3_7.png", {"extent_a": 30.0}, 1)
    t7 = read_table(tmp_path / "fig3_7.csv")
    inside = (t7["rmsd"] < 0.05) & (t7["grain"] >= 0)
    assert inside.sum() > 50
    err = np.abs(t7["exx"][inside] - t7["true_exx"][inside])
    assert np.median(err) < 5e-4 and np.mean(err < 1e-3) > 0.9  # a few atoms next to boundaries differ
    run("fig3_8", [tmp_path / "fig3_7.csv"], tmp_path / "fig3_8.png", {}, 1)
    t8 = read_table(tmp_path / "fig3_8.csv")
    np.testing.assert_allclose(t8["median_rotation_deg"], t8["true_rotation_deg"], atol=0.05)
    for fid in ("fig3_6", "fig3_7", "fig3_8"):
        assert (tmp_path / f"{fid}.png").stat().st_size > 10_000
    assert (tmp_path / "fig3_7.zarr").is_dir()
