"""Bad inputs to every CLI verb: one clean ``error:`` line naming the culprit, nothing written.

The cases are :data:`tests.reliability.cli_cases.CASES` (run in-process, so
the whole table takes seconds); the per-verb table is printed (``pytest -s``)
and written to ``$HRTEM_RELIABILITY_REPORT/cli_bad_inputs.md`` when set. A few
cases also run as real subprocesses, to see the exit status and that no
traceback reaches the terminal.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from .cli_cases import CASES, classify, make_fixtures, table


@pytest.fixture(scope="module")
def fixtures(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("cli_bad_inputs")
    make_fixtures(d)
    return d


def test_every_bad_input_is_refused_cleanly_before_compute(fixtures):
    results = [(case, *classify(case, fixtures, time_limit_s=60)) for case in CASES]
    text = table(results)
    print("\nCLI bad inputs (clean = one error line naming the culprit, exit ≠ 0, nothing written)\n" + text)
    report = os.environ.get("HRTEM_RELIABILITY_REPORT")
    if report:
        Path(report).mkdir(parents=True, exist_ok=True)
        (Path(report) / "cli_bad_inputs.md").write_text(text + "\n")
    bad = [f"{case[0]}: {verdict}: {detail}" for case, verdict, detail in results if verdict != "clean"]
    assert not bad, "\n".join(bad)
    # every verb of the CLI is exercised
    from hrtem.cli import COMMANDS

    assert {case[1][0] for case in CASES} == set(COMMANDS)


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["noise", "{d}/img.zarr", "--dose", "inf", "-o", "{d}/out/n.zarr"], "--dose"),
        (["image", "{d}/overlap.xyz", "{d}/settings.yaml", "-o", "{d}/out/i.zarr"], "overlap"),
        (["config", "{d}/dup_settings.yaml"], "duplicate key"),
    ],
)
def test_subprocess_exit_status_and_no_traceback(fixtures, argv, fragment):
    args = [a.replace("{d}", str(fixtures)) for a in argv]
    proc = subprocess.run([sys.executable, "-m", "hrtem", *args], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and fragment in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr
    assert not any((fixtures / "out").iterdir())


def test_allow_flag_turns_a_structure_error_into_a_warning(fixtures, capsys):
    import argparse

    from hrtem.io import read_atoms
    from hrtem.preflight import check_structure

    atoms = read_atoms(fixtures / "overlap.xyz")
    check_structure(atoms, "overlap.xyz", argparse.Namespace(allow_overlap=True))
    assert "warning: overlap.xyz" in capsys.readouterr().err
