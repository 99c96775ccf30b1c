"""`hrtem potentials walk/best/table` end to end on a zero-step walk (Pt)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hrtem.cli import main
from hrtem.figures.fidelity import FigureData, collect
from hrtem.md.comb3_params import Comb3Parameters


@pytest.mark.slow
def test_walk_best_table(tmp_path):
    p = json.dumps({"walk": {"steps": 0}, "walkers": 1, "free": ["A", "lambda"], "slab_layers": [3, 4]})
    w = tmp_path / "walker0.json"
    assert main(["potentials", "walk", "--element", "Pt", "--walker", "0", "-o", str(w), "--params", p]) == 0
    walk = json.loads(w.read_text())
    assert walk["names"] == ["A", "lambda"] and walk["step"] == 0 and 0 < walk["e_best"] < 1e6
    out = tmp_path / "Pt.comb3"
    assert main(["potentials", "best", str(w), "--element", "Pt", "-o", str(out), "--params", p, "--config-hash", "abc"]) == 0
    text = out.read_text()
    assert "config hash abc" in text and "objective" in text
    params = Comb3Parameters.read(out)
    # complete file: the shipped elements plus Pt, every triplet present
    assert set(params.elements) == {"O", "Cu", "N", "C", "H", "Ti", "Zn", "Zr", "Pt"}
    assert len(params.entries) == 9**3
    info = json.loads(out.with_suffix(".json").read_text())
    pr = info["properties"]
    # prescaled start: a0 and E_coh on the Pt targets (3.91 Å, −5.84 eV) within 1 %
    assert pr["a0_A"] == pytest.approx(3.91, rel=0.01)
    assert pr["E_coh_eV"] == pytest.approx(-5.84, rel=0.01)
    assert info["seconds_per_evaluation"] > 0 and info["projected_thesis_walker_hours"] > 0
    png = tmp_path / "tab5_2.png"
    assert main(["potentials", "table", "tab5_2", str(out.with_suffix(".json")), "-o", str(png)]) == 0
    data = FigureData("tab5_2", tmp_path)
    tab = data.csv
    assert data.meta["steps"] == "0"
    rows = {r.quantity: r for r in collect(["tab5_2"], tmp_path)}
    # the prescaled start already has the thesis's a0 (3.93 Å) within 1 %; C11 (351 GPa) is far off
    assert rows["COMB3 a (0 K) of Pt"].holds == "yes"
    assert rows["COMB3 C11 of Pt"].holds == "no"
    assert len(tab["property"]) == 16
    assert list(tab["fitted"]).count("*") == 10
    i = list(tab["property"]).index("a (0 K)")
    assert tab["comb3_thesis"][i] == 3.93 and tab["eam_u3_ours"][i] == pytest.approx(3.92, abs=0.005)
    assert np.isfinite(tab["comb3_ours"]).all()
    assert png.stat().st_size > 10_000


def test_md_fitted_potential_config_checks():
    from hrtem.config import validate_config
    from hrtem.errors import ConfigError

    ok = validate_config({"md": {"particle": {"element": "Pt"}, "potential": {"fitted": True}}})
    assert ok["md"]["potential"]["fitted"] and ok["potentials"]["metals"] == ["Pt", "Au"]
    with pytest.raises(ConfigError, match="md.potential.fitted"):
        validate_config(
            {"md": {"particle": {"element": "Au"}, "potential": {"fitted": True}}, "potentials": {"metals": ["Pt"]}}
        )
    with pytest.raises(ConfigError, match="md.particle.element"):
        validate_config({"md": {"particle": {"element": "Pt"}}})
    # thesis walk settings of §5.3 are expressible and bounded
    sec = validate_config({"potentials": {"walk": {"steps": 400}}})["potentials"]
    assert sec["walk"]["jump"] == 0.05 and sec["walk"]["temperature"] == 0.014
    with pytest.raises(ConfigError):
        validate_config({"potentials": {"walk": {"jump": 5.0}}})
