"""Every figure's claims evaluate on tiny data made by the figure's own make()."""

from __future__ import annotations

import csv
import re

import numpy as np
import pytest
from ase.build import bulk

from hrtem.figures import fidelity, run
from hrtem.figures.fidelity import HOLDS, collect
from hrtem.io import write_atoms


def _check(rows, figure_ids):
    assert {r.figure for r in rows} == set(figure_ids)
    for r in rows:
        assert r.holds in HOLDS, r
        assert r.ours not in ("", "nan"), r
        assert r.quantity != "(no claims declared)", r
    return {(r.figure, r.quantity): r for r in rows}


@pytest.mark.slow
def test_strain_and_optics_figures(tmp_path):
    run("fig2_4", [], tmp_path / "fig2_4.png", {"figure": {"n_images": 2, "size_px": 256}}, 0)
    run("fig3_6", [], tmp_path / "fig3_6.png", {"size_px": 160, "columns": 8, "rows": 9, "band_rows": [2, 4],
                                                "vacancy": [4, 5]}, 0)
    run("fig3_7", [], tmp_path / "fig3_7.png", {"extent_a": 30.0}, 1)
    run("fig3_8", [tmp_path / "fig3_7.csv"], tmp_path / "fig3_8.png", {}, 1)
    ids = ["fig2_4", "fig3_6", "fig3_7", "fig3_8"]
    rows = _check(collect(ids, tmp_path), ids)
    # physics the claims encode, at tiny size too: STM recovers each grain and its rotation
    assert rows[("fig3_7", "STM ε_xx error in the worst grain (median over its atoms)")].holds == "yes"
    assert rows[("fig3_8", "rotation of each grain: largest abs(median measured − true)")].holds == "yes"
    # STM keeps the applied band strain; GPA-2 agrees there
    assert rows[("fig3_6", "STM − GPA-2 in the strained bulk band (median ε_yy)")].holds == "yes"


@pytest.mark.slow
def test_radius_of_influence_not_at_this_scale(tmp_path):
    """Two Cs and three defoci cannot show an 8 nm knee: 'not at this scale', with our numbers shown."""
    from hrtem.io import read_dataset

    params = {"fig4_5": {"cs_um": [-10.0, 0.0], "defocus_nm": {"start": 0.0, "stop": 4.0, "step": 2.0},
                         "cell_a": 16.0},
              "microscope": {"energy_kev": 300, "cs_mm": -0.01, "defocus_a": 40, "focal_spread_a": 29,
                             "objective_aperture_mrad": 15},
              "simulate": {"sampling_a": 0.1, "slice_thickness_a": 1.0}}
    run("fig4_5", [], tmp_path / "fig4_5.png", params, 0)
    rows = _check(collect(["fig4_5"], tmp_path), ["fig4_5"])
    assert {r.holds for r in rows.values()} == {"not at this scale"}
    attrs = read_dataset(tmp_path / "fig4_5.zarr").attrs
    # the radius at the microscope's own (Cs, Δf) equals the sweep's value at that point
    roi = read_dataset(tmp_path / "fig4_5.zarr")["radius_of_influence"].sel(cs=-10.0, defocus=4.0)
    assert attrs["radius_at_preset_a"] == pytest.approx(float(roi), rel=1e-5)
    assert 0.5 < attrs["radius_at_preset_a"] < 3.0


def test_md_figures_on_synthetic_runs(tmp_path):
    """fig5_3 from two short thermo tables; fig5_4 from a strained fcc block (8 layers)."""
    thermo = []
    for k, offset in enumerate((0.0, 12.0)):
        path = tmp_path / f"thermo_{k}.csv"
        with open(path, "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["step", "time_ps", "potential_energy_eV", "temperature_K", "target_K", "stage"])
            for i in range(20):
                w.writerow([i, 0.01 * i, -100.0 + offset + 0.1 * np.sin(i), 300.0, 300.0,
                            "heat" if i < 10 else "sample"])
        thermo.append(path)
    run("fig5_3", thermo, tmp_path / "fig5_3.png", {"particle": {"rotations_deg": [0, 30]}}, 0)
    block = bulk("Cu", "fcc", a=3.61, cubic=True).repeat((3, 3, 4))
    z = block.positions[:, 2]
    layer = np.round(z / (3.61 / 2)).astype(int)
    for c in ("xx", "yy", "zz"):  # 3 % at the interface layers, decaying: 3 layers above 1 %
        block.arrays[f"eps_{c}"] = np.where(layer < 3, 0.03, 0.002)
    write_atoms(block, tmp_path / "strain3d.extxyz")
    run("fig5_4", [tmp_path / "strain3d.extxyz"], tmp_path / "fig5_4.png", {}, 0)
    rows = _check(collect(["fig5_3", "fig5_4"], tmp_path), ["fig5_3", "fig5_4"])
    spread = rows[("fig5_3", "spread of the final energies over the rotations")]
    assert spread.ours == "12 eV" and spread.holds == "not at this scale"
    depth = rows[("fig5_4", "interface strain penetration (layers with mean abs(ε) > 1 %)")]
    assert depth.ours == "3 layers" and depth.holds == "yes"


def test_claim_sources_are_lines_of_the_seed_text():
    """Every source names a line (or range) of the seed text with text at or next to it (when the seeds are at hand)."""
    from pathlib import Path

    seeds = [Path(p) for p in ("/work/shared/seeds", Path(__file__).resolve().parents[3] / "shared" / "seeds")]
    folder = next((p for p in seeds if p.is_dir()), None)
    if folder is None:
        pytest.skip("seed texts not available")
    texts = {f.name[:3]: f.read_text(errors="replace").splitlines() for f in folder.glob("00*.txt")}
    import importlib
    import pkgutil

    import hrtem.figures

    for info in pkgutil.iter_modules(hrtem.figures.__path__):
        module = importlib.import_module(f"hrtem.figures.{info.name}")
        for c in getattr(module, "CLAIMS", []):
            # "003 L2197", a range "003 L6179–6185" or a list "003 L5089, L5120"
            seed = c.source[:3]
            lines = [int(n) for pair in re.findall(r"L(\d+)(?:[–-](\d+))?", c.source) for n in pair if n]
            assert seed in texts and lines, (info.name, c.source)
            for line in lines:
                assert 1 <= int(line) <= len(texts[seed]), (info.name, c.source)
                # the text alternates text and blank lines: the cited line or a neighbour holds text
                near = texts[seed][max(int(line) - 2, 0):int(line) + 1]
                assert any(t.strip() for t in near), (info.name, c.source, "blank lines")
