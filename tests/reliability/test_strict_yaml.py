"""Strict config YAML: duplicate keys and YAML 1.1/1.2 ambiguities are one-line errors with the line."""

from __future__ import annotations

import pytest

from hrtem.config import load_config, load_yaml_strict
from hrtem.errors import ConfigError


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("seed: 1\nsimulate:\n  sampling_a: 0.1\nsimulate:\n  slice_thickness_a: 1\n", 4, "duplicate key simulate (first at line 2)"),
        ("images:\n  ensemble:\n    samples: 4\n    samples: 8\n", 4, "duplicate key images.ensemble.samples"),
        ("seed: 1:30\n", 1, "reads as 90 in YAML 1.1"),
        ("seed: 010\n", 1, "reads as 8 in YAML 1.1"),
        ("seed: 1_000\n", 1, "write 1000"),
        ("simulate:\n  sampling_a: 1e-1\n", 2, "reads as '1e-1' in YAML 1.1"),
        ("md:\n  potential:\n    polar: yes\n", 3, "write true for a boolean"),
        ("md:\n  stages:\n    - {start_K: 300, steps: 10, sample: on}\n", 3, "md.stages.0.sample"),
    ],
)
def test_strict_yaml_names_file_line_and_key(tmp_path, text, line, fragment):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert f"{path} line {line}:" in message and fragment in message and "\n" not in message


def test_unambiguous_yaml_reads_as_before(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("seed: 0x1F\nsimulate:\n  sampling_a: 0.1\n  fft_friendly_gpts: true\nrun: 'no'\n")
    assert load_yaml_strict(path) == {"seed": 31, "simulate": {"sampling_a": 0.1, "fft_friendly_gpts": True}, "run": "no"}
    assert load_config(path)["seed"] == 31
