"""`hrtem detect`: readers, pixel sizes, rescaling, tiling, errors, and atoms found end to end (issue 10 §8)."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from hrtem.cli import main  # noqa: E402
from hrtem.errors import HrtemError  # noqa: E402
from hrtem.learn.detect_cli import read_micrograph, rescale, tiled_probabilities  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
import synthetic  # noqa: E402
from dm4 import write_dm4  # noqa: E402

ROWS, COLS = 12, 20  # an image as displayed: 12 rows (y) × 20 columns (x)


def _displayed() -> np.ndarray:
    return np.arange(ROWS * COLS, dtype=np.float32).reshape(ROWS, COLS)


def test_tif_with_imagej_nm_scale_is_read_as_displayed(tmp_path):
    import tifffile

    a = _displayed()
    tifffile.imwrite(tmp_path / "a.tif", a, imagej=True, resolution=(1 / 0.025, 1 / 0.025), metadata={"unit": "nm"})
    m = read_micrograph(tmp_path / "a.tif")
    assert m.sampling_a == pytest.approx(0.25)
    assert m.frames.shape == (1, COLS, ROWS)  # [x, y]
    assert m.frames[0, 5, 3] == a[3, 5]  # x = column 5, y = row 3
    tifffile.imwrite(tmp_path / "b.tif", a, imagej=True, resolution=(1 / 0.02, 1 / 0.02), metadata={"unit": "micron"})
    assert read_micrograph(tmp_path / "b.tif").sampling_a == pytest.approx(200.0)
    assert read_micrograph(tmp_path / "b.tif", sampling_a=0.1).sampling_a == 0.1  # the option overrides


def test_dm4_pixel_size_and_orientation(tmp_path):
    a = _displayed()
    write_dm4(tmp_path / "a.dm4", a, 0.025, "nm")
    m = read_micrograph(tmp_path / "a.dm4")
    assert m.sampling_a == pytest.approx(0.25) and np.array_equal(m.frames[0], a.T)
    write_dm4(tmp_path / "b.dm4", a, 0.3, "Å")
    assert read_micrograph(tmp_path / "b.dm4").sampling_a == pytest.approx(0.3)
    write_dm4(tmp_path / "c.dm4", a, 0.5, "1/nm")
    with pytest.raises(HrtemError, match="not a length"):
        read_micrograph(tmp_path / "c.dm4")
    raw = (tmp_path / "a.dm4").read_bytes()
    (tmp_path / "cut.dm4").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(HrtemError, match="cannot read"):
        read_micrograph(tmp_path / "cut.dm4")


def test_emd_npy_png_zarr_and_folders(tmp_path):
    import xarray as xr
    from PIL import Image
    from rsciio.emd import file_writer

    from hrtem.io import write_dataset

    a = _displayed()
    axes = [{"name": n, "size": s, "scale": 0.03, "offset": 0, "units": "nm", "navigate": False}
            for n, s in (("y", ROWS), ("x", COLS))]
    file_writer(str(tmp_path / "a.emd"), {"data": a, "axes": axes, "metadata": {"General": {"title": "a"}, "Signal": {}},
                                          "original_metadata": {}})
    m = read_micrograph(tmp_path / "a.emd")
    assert m.sampling_a == pytest.approx(0.3) and np.array_equal(m.frames[0], a.T)
    np.save(tmp_path / "s.npy", np.stack([a, a + 1, a + 2]))
    m = read_micrograph(tmp_path / "s.npy", sampling_a=0.2)
    assert m.frames.shape == (3, COLS, ROWS) and m.frames[2, 0, 0] == 2
    Image.fromarray(a.astype(np.uint8)).convert("RGB").save(tmp_path / "a.png")
    m = read_micrograph(tmp_path / "a.png", sampling_a=0.2)
    assert m.frames.shape == (1, COLS, ROWS) and m.frames[0, 19, 11] == pytest.approx(a[11, 19], abs=1)
    folder = tmp_path / "frames"
    folder.mkdir()
    for k in range(2):
        np.save(folder / f"f{k}.npy", a + 10 * k)
    m = read_micrograph(folder, sampling_a=0.2)
    assert m.frames.shape == (2, COLS, ROWS) and m.frames[1, 0, 0] == 10
    img = xr.DataArray(a.T, dims=("x", "y"), coords={"x": np.arange(COLS) * 0.15, "y": np.arange(ROWS) * 0.15},
                       name="image")
    write_dataset(img, tmp_path / "a.zarr")
    m = read_micrograph(tmp_path / "a.zarr")
    assert m.sampling_a == pytest.approx(0.15) and np.array_equal(m.frames[0], a.T)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda p: p / "missing.tif", "does not exist"),
        (lambda p: (p / "x.txt").write_text("1") and p / "x.txt", "unknown image type"),
        (lambda p: (p / "bad.tif").write_bytes(b"not a tiff") and p / "bad.tif", "cannot read"),
        (lambda p: (p / "bad.dm4").write_bytes(b"\0" * 64) and p / "bad.dm4", "cannot read"),
        (lambda p: np.save(p / "e.npy", np.zeros((0, 5))) or p / "e.npy", "empty"),
        (lambda p: np.save(p / "n.npy", np.full((20, 20), np.nan)) or p / "n.npy", "NaN"),
        (lambda p: np.save(p / "d.npy", np.zeros((2, 2, 2, 2))) or p / "d.npy", "2-D image or a 3-D stack"),
        (lambda p: (p / "empty").mkdir() or p / "empty", "holds no images"),
    ],
)
def test_bad_inputs_stop_with_one_line(tmp_path, make, match):
    with pytest.raises(HrtemError, match=match):
        read_micrograph(make(tmp_path), sampling_a=0.2)


def test_missing_pixel_size_asks_for_the_option(tmp_path):
    np.save(tmp_path / "a.npy", _displayed())
    with pytest.raises(HrtemError, match="--sampling-a"):
        read_micrograph(tmp_path / "a.npy")


def test_rescale_keeps_positions_in_angstrom():
    # a Gaussian at (3.1, 2.3) Å on a 0.05 Å grid, rescaled to 0.12 Å: the peak stays at (3.1, 2.3) Å
    x = np.arange(160)[:, None] * 0.05
    y = np.arange(120)[None, :] * 0.05
    img = np.exp(-((x - 3.1) ** 2 + (y - 2.3) ** 2) / (2 * 0.4**2)).astype(np.float32)
    out = rescale(img, 0.05, 0.12)
    assert out.shape == (int(159 * 0.05 / 0.12) + 1, int(119 * 0.05 / 0.12) + 1)
    w = out / out.sum()
    gx, gy = np.indices(out.shape) * 0.12
    assert (w * gx).sum() == pytest.approx(3.1, abs=0.02) and (w * gy).sum() == pytest.approx(2.3, abs=0.02)


def test_tiles_give_the_whole_image_result():
    from hrtem.learn.network import build_network
    from hrtem.learn.train import predict

    model = build_network(2, width=4, depth=1, residual_convs=1)
    img = np.random.default_rng(0).normal(size=(150, 100, 1)).astype(np.float32)
    whole = predict(model, img[None])[0]
    tiled = tiled_probabilities(model, img, tile_px=64, overlap_px=16)
    assert tiled.shape == whole.shape
    # the receptive field (~15 px) is inside the overlap margin: identical up to float rounding
    np.testing.assert_allclose(tiled, whole, atol=1e-5)


def test_model_that_is_not_ours_is_refused(tmp_path):
    from hrtem.learn.network import build_network

    np.save(tmp_path / "a.npy", np.random.default_rng(0).normal(size=(64, 64)))
    build_network(2, width=4, depth=1, residual_convs=1).save(tmp_path / "plain.keras")
    (tmp_path / "junk.keras").write_text("x")
    for model, msg in (("plain.keras", "not an hrtem model"), ("junk.keras", "not a .keras"), ("none.keras", "does not exist")):
        args = ["detect", str(tmp_path / "a.npy"), "--sampling-a", "0.2", "-m", str(tmp_path / model), "-o", str(tmp_path / "o.csv")]
        assert main(args) == 2
    with pytest.raises(HrtemError, match="not an hrtem model"):
        from hrtem.learn.detect_cli import load_detector

        load_detector(tmp_path / "plain.keras")


def _read_csv(path):
    with open(path) as fh:
        return list(csv.DictReader(fh))


@pytest.mark.slow
def test_detect_finds_the_atoms_of_a_simulated_tif_dm4_and_stack(tmp_path, tiny_model, capsys):
    import tifffile

    from hrtem.learn.metrics import match

    # a simulated micrograph at 0.125 Å/px (twice the model's resolution), 96 x 80 px at the model's pixel
    frames, truth = [], []
    for k in range(2):
        img, _, pos = synthetic.sample(123, k, n=80, sampling_a=0.25, n_atoms=14, noise=0.1)
        fine = rescale(img[..., 0], 0.25, 0.125)  # [x, y] at 0.125 Å/px
        frames.append(fine)
        truth.append(pos)
    # displayed orientation: rows = y
    tifffile.imwrite(tmp_path / "m.tif", frames[0].T, imagej=True, resolution=(1 / 0.0125, 1 / 0.0125),
                     metadata={"unit": "nm"})
    out = tmp_path / "atoms.csv"
    maps = tmp_path / "maps.zarr"
    assert main(["detect", str(tmp_path / "m.tif"), "-m", str(tiny_model), "-o", str(out), "--maps", str(maps),
                 "--tile", "48", "--overlap", "8"]) == 0
    rows = _read_csv(out)
    assert set(rows[0]) == {"frame", "x_a", "y_a", "class", "confidence"}
    found = np.array([[float(r["x_a"]), float(r["y_a"])] for r in rows])
    m = match(found, truth[0], 0.5)
    assert m.tp >= 13 and m.fp <= 1, (m.tp, m.fp, m.fn)
    from hrtem.io import read_dataset

    pm = read_dataset(maps)["probability"]
    assert pm.shape[0] == 1 and pm.shape[-1] == 2 and float(pm["x"][1]) == pytest.approx(0.25)
    # the same micrograph as a Gatan .dm4
    write_dm4(tmp_path / "m.dm4", frames[0].T, 0.0125, "nm")
    assert main(["detect", str(tmp_path / "m.dm4"), "-m", str(tiny_model), "-o", str(out)]) == 0
    found = np.array([[float(r["x_a"]), float(r["y_a"])] for r in _read_csv(out)])
    m = match(found, truth[0], 0.5)
    assert m.tp >= 13 and m.fp <= 1, (m.tp, m.fp, m.fn)
    # a stack of frames gives one table with a frame column
    np.save(tmp_path / "stack.npy", np.stack([f.T for f in frames]))
    assert main(["detect", str(tmp_path / "stack.npy"), "-m", str(tiny_model), "-o", str(out), "--sampling-a", "0.125"]) == 0
    rows = _read_csv(out)
    for k in range(2):
        found = np.array([[float(r["x_a"]), float(r["y_a"])] for r in rows if int(r["frame"]) == k])
        m = match(found, truth[k], 0.5)
        assert m.tp >= 13 and m.fp <= 1, (k, m.tp, m.fp, m.fn)
    assert "atoms in 2 frame(s)" in capsys.readouterr().out


def test_min_separation_reaches_find_atoms_from_the_option_and_the_model(monkeypatch):
    """``--min-separation-a`` (or the model's ``postprocess``) merges the duplicate peaks of one column."""
    import hrtem.learn.detect_cli as dc

    s = 0.12
    ix, iy = np.indices((120, 120))
    atom = np.zeros((120, 120))
    for cx, cy in ((5.0, 7.0), (6.5, 7.0)):  # two columns 1.5 Å apart
        atom += np.exp(-((ix * s - cx) ** 2 + (iy * s - cy) ** 2) / (2 * 0.35**2))
    atom *= 1.0 - 0.25 * (ix % 2)  # the pixel-scale ripple that splits one peak into several
    probs = np.stack([1.0 - np.clip(atom, 0, 1), np.clip(atom, 0, 1)], -1)
    monkeypatch.setattr(dc, "tiled_probabilities", lambda *a, **k: probs)
    det = dc.Detector(model=None, info={}, sampling_a=s, channels=1, lcn_sigma_a=None,
                      postprocess={"mode": "peaks", "threshold": 0.5})
    frame = np.random.default_rng(0).normal(size=(120, 120))
    raw = dc.detect_array(frame, det, s)[0]
    assert len(raw) > 2
    merged = dc.detect_array(frame, det, s, min_separation_a=0.5)[0]
    assert len(merged) == 2 and np.allclose(np.sort(merged[:, 0]), [5.0, 6.5], atol=0.2)
    det.postprocess["min_separation_a"] = 0.5  # recorded in the model at training
    assert len(dc.detect_array(frame, det, s)[0]) == 2
    assert len(dc.detect_array(frame, det, s, min_separation_a=0.0)[0]) == len(raw)
