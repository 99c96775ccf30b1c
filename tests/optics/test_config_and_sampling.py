"""The microscope/detector config sections and the per-image random microscopes."""

from __future__ import annotations

import math
from importlib import resources

import numpy as np
import pytest
import yaml

from hrtem.errors import HrtemError
from hrtem.optics import (
    DETECTOR_DEFAULTS,
    MICROSCOPE_DEFAULTS,
    TABLE_6_1,
    Detector,
    Microscope,
    sample_detector,
    sample_imaging,
    sample_microscope,
    scherzer_defocus_a,
)
from hrtem.seeding import rng as seeded_rng


def _schema(name: str) -> dict:
    path = resources.files("hrtem") / "schemas" / "sections" / f"{name}.schema.yaml"
    return yaml.safe_load(path.read_text())


def _defaults(schema: dict) -> dict:
    out = {}
    for key, sub in schema["properties"].items():
        if sub.get("type") == "object":
            out[key] = _defaults(sub)
        else:
            out[key] = sub["default"]
    return out


@pytest.mark.parametrize(("name", "code"), [("microscope", MICROSCOPE_DEFAULTS), ("detector", DETECTOR_DEFAULTS)])
def test_schema_defaults_equal_code_defaults(name, code):
    schema = _schema(name)
    assert _defaults(schema) == code

    def walk(s, path):
        assert s.get("additionalProperties") is False, path
        for key, sub in s["properties"].items():
            assert "description" in sub and "default" in sub, f"{path}.{key}"
            assert "type" in sub or "enum" in sub or "oneOf" in sub, f"{path}.{key}"
            if sub.get("type") == "object":
                walk(sub, f"{path}.{key}")

    walk(schema, name)


def test_schema_validates_and_rejects():
    jsonschema = pytest.importorskip("jsonschema")
    mic = jsonschema.Draft202012Validator(_schema("microscope"))
    det = jsonschema.Draft202012Validator(_schema("detector"))
    assert mic.is_valid({"defocus_a": "scherzer"}) and mic.is_valid({"defocus_a": -412.5})
    assert not mic.is_valid({"defocus_a": "underfocus"})
    assert not mic.is_valid({"energy_kev": 0})
    assert not mic.is_valid({"defocus": 10})
    assert mic.is_valid({"objective_aperture_mrad": None}) and not mic.is_valid({"objective_aperture_mrad": 0})
    assert det.is_valid({"dose_e_per_a2": None}) and not det.is_valid({"dose_e_per_a2": 0})
    assert not det.is_valid({"mtf": {"model": "gauss"}})
    assert not det.is_valid({"mtf": {"c1": 1.5}})


def test_microscope_from_config_units_and_errors():
    m = Microscope.from_config(
        {"cs_mm": -0.01, "c5_mm": 2.5, "defocus_a": 85.0, "astigmatism_angle_deg": 90, "objective_aperture_mrad": 15}
    )
    assert m.cs_a == pytest.approx(-1e5) and m.c5_a == pytest.approx(2.5e7)
    assert m.defocus_a == 85.0 and m.astigmatism_angle_rad == pytest.approx(math.pi / 2)
    assert m.objective_aperture_mrad == 15.0
    assert Microscope.from_config(m.to_config()) == m
    assert Microscope.from_config({}).defocus_a == pytest.approx(scherzer_defocus_a(6e6, 300))
    with pytest.raises(HrtemError, match="cs_mm is 0"):
        Microscope.from_config({"cs_mm": 0})
    with pytest.raises(HrtemError, match="unknown key"):
        Microscope.from_config({"defocus_nm": 3})
    with pytest.raises(HrtemError, match="envelopes"):
        Microscope.from_config({"envelopes": {"chromatic": False}})


def test_sample_microscope_table_6_1_ranges_and_determinism():
    ranges = TABLE_6_1["microscope"]
    ms = [sample_microscope(ranges, seeded_rng(0, "train", i)) for i in range(200)]
    again = sample_microscope(ranges, seeded_rng(0, "train", 5))
    assert again == ms[5]
    df = np.array([m.defocus_a for m in ms])
    cs = np.array([m.cs_a for m in ms])
    fs = np.array([m.focal_spread_a for m in ms])
    assert all(m.energy_kev == 80.0 for m in ms)
    assert df.min() >= -200 and df.max() <= 200 and df.std() == pytest.approx(400 / np.sqrt(12), rel=0.15)
    assert cs.min() >= -2e5 and cs.max() <= 2e5  # ±20 µm in Å
    assert fs.min() >= 20 and fs.max() <= 40
    # Table 6.1's deflection read as pm: sigma in [0, 0.25] A keeps Ed(0.5 1/A) >= exp(-1/128)
    sigma = np.array([m.deflection_sigma_a for m in ms])
    assert sigma.min() >= 0 and sigma.max() <= 0.25 and sigma.max() > 0.2
    assert len({m.defocus_a for m in ms}) == 200


def test_sample_detector_dose_is_log_uniform():
    dets = [sample_detector(TABLE_6_1["detector"], seeded_rng(1, "det", i)) for i in range(400)]
    dose = np.log10([d.dose_e_per_a2 for d in dets])
    assert dose.min() >= 1 and dose.max() <= 4
    assert np.median(dose) == pytest.approx(2.5, abs=0.2)  # log-uniform: median at the geometric mean
    assert np.mean(dose < 2) == pytest.approx(1 / 3, abs=0.07)
    c1 = np.array([d.mtf_params["c1"] for d in dets])
    c3 = np.array([d.mtf_params["c3"] for d in dets])
    assert c1.min() >= 0 and c1.max() <= 0.1 and c3.min() >= 2 and c3.max() <= 3


def test_sample_imaging_and_bad_ranges():
    m, d = sample_imaging(TABLE_6_1, seeded_rng(2, "img"))
    assert isinstance(m, Microscope) and isinstance(d, Detector)
    with pytest.raises(HrtemError, match="unknown key"):
        sample_microscope({"defocus": [0, 1]}, np.random.default_rng(0))
    with pytest.raises(HrtemError, match="high < low"):
        sample_microscope({"defocus_a": [1, 0]}, np.random.default_rng(0))
    # fixed values pass through, base sections fill the rest
    m = sample_microscope({"defocus_a": 50.0}, np.random.default_rng(0), base={"cs_mm": -0.01, "energy_kev": 300})
    assert m.defocus_a == 50.0 and m.cs_a == pytest.approx(-1e5)
