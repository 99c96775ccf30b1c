"""fig2_3 and fig2_4: the data beside the PNG carries the thesis's numbers."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from hrtem.figures import run


def _read(path):
    meta, rows = {}, []
    with open(path) as fh:
        lines = fh.read().splitlines()
    body = []
    for line in lines:
        if line.startswith("# "):
            key, value = line[2:].split("=", 1)
            meta[key] = value
        else:
            body.append(line)
    reader = csv.DictReader(body)
    rows = list(reader)
    cols = {k: np.array([float(r[k]) for r in rows]) for k in reader.fieldnames}
    return meta, cols


def test_fig2_3_scherzer_ctf_and_point_resolution(tmp_path):
    png = tmp_path / "fig2_3.png"
    run("fig2_3", [], png, {"microscope": {}, "figure": {"n_q": 1201}}, 0)
    assert png.stat().st_size > 10_000
    meta, cols = _read(png.with_suffix(".csv"))
    assert float(meta["defocus_a"]) / 10 == pytest.approx(-41.25, abs=0.05)
    pr = float(meta["point_resolution_a"])
    assert pr == pytest.approx(float(meta["point_resolution_scherzer_analytic_a"]), rel=1e-9)
    q, im = cols["q_inv_a"], cols["im_ctf"]
    # Im CTF > 0 below q0 = 1/pr (thesis convention, Δf < 0), and changes sign at q0
    below = (q > 0) & (q < 0.99 / pr)
    assert np.all(im[below] > 0)
    assert np.any(im[(q > 1 / pr) & (q < 1.1 / pr)] < 0)
    # the envelope is the temporal one (Δ = 30 Å) and equals |CTF|
    np.testing.assert_allclose(cols["envelope"], cols["temporal"])
    np.testing.assert_allclose(np.hypot(cols["re_ctf"], im), cols["envelope"], rtol=1e-8)  # |exp(-iχ)| = 1


def test_fig2_4_fit_recovers_known_mtf(tmp_path):
    png = tmp_path / "fig2_4.png"
    params = {"detector": {"mtf": {"c1": 0.1, "c2": 0.4, "c3": 3.0}}, "figure": {"n_images": 8, "size_px": 512}}
    run("fig2_4", [], png, params, 11)
    meta, cols = _read(png.with_suffix(".csv"))
    for k in ("c1", "c2", "c3"):
        true, fit, err = (float(meta[f"{k}_{s}"]) for s in ("true", "fit", "stderr"))
        assert abs(fit - true) < 4 * err and abs(fit - true) < 0.1 * true, (k, fit, err)
    assert np.mean(np.abs(cols["nsd"] / cols["mtf_true"] - 1)) < 0.1
    # a noise-free config still makes the figure (fallback dose)
    run("fig2_4", [], png, {"detector": {"dose_e_per_a2": None}, "figure": {"n_images": 1, "size_px": 128}}, 0)
    assert float(_read(png.with_suffix(".csv"))[0]["dose_e_per_a2"]) == 1e4
