"""Parameter sweeps (hrtem sweep) and runs side by side in results/<run>/."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from hrtem.errors import HrtemError
from hrtem.sweep import load_sweep, point_config, point_label, points, read_metric, run_sweep

ROOT = Path(__file__).resolve().parents[2]
SNAKEMAKE = Path(sys.executable).with_name("snakemake")


def _write(path: Path, spec: dict) -> Path:
    path.write_text(yaml.safe_dump(spec))
    return path


def test_grid_points_labels_and_configs(tmp_path):
    spec = load_sweep(ROOT / "config" / "sweeps" / "roi_defocus_cs.yaml")
    pts = points(spec)
    assert len(pts) == 12 and pts[1] == {"images.microscope.defocus_a": 0, "images.microscope.cs_mm": -0.01}
    assert point_label(pts[1]) == "defocus_a=0_cs_mm=-0.01"
    base = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    cfg = point_config(base, spec, pts[-1])
    assert cfg["run"] == "roi_defocus_cs/defocus_a=150_cs_mm=0.01"
    assert cfg["figures"] == ["fig4_5"]
    assert cfg["images"]["microscope"]["defocus_a"] == 150 and cfg["images"]["microscope"]["cs_mm"] == 0.01
    assert cfg["images"]["fig4_5"]["cs_um"] == [-10.0]
    assert cfg["images"]["microscope"]["focal_spread_a"] == base["images"]["microscope"]["focal_spread_a"]


@pytest.mark.parametrize(("change", "message"), [
    ({"grid": None}, "either grid"),
    ({"targets": []}, "targets"),
    ({"metric": {"figure": "fig2_3"}}, "exactly one of"),
    ({"metric": {"figure": "fig4_5", "meta": "x"}}, "one of the targets"),
    ({"name": "a/b"}, "name"),
    ({"colour": 1}, "unknown key"),
])
def test_bad_sweep_files_name_the_key(tmp_path, change, message):
    spec = {"name": "s", "grid": {"microscope.cs_mm": [0.6]}, "targets": ["fig2_3"],
            "metric": {"figure": "fig2_3", "meta": "point_resolution_a"}}
    spec.update(change)
    spec = {k: v for k, v in spec.items() if v is not None}
    with pytest.raises(HrtemError, match=message):
        load_sweep(_write(tmp_path / "s.yaml", spec))


def test_bad_point_value_is_caught_before_any_run(tmp_path):
    spec = _write(tmp_path / "s.yaml", {"name": "s", "grid": {"microscope.cs_mm": [0.6, "big"]},
                                        "targets": ["fig2_3"], "metric": {"figure": "fig2_3", "meta": "x"}})
    with pytest.raises(HrtemError, match="cs_mm=big.*microscope.cs_mm"):
        run_sweep(spec, ROOT / "config" / "config.yaml", 1, ROOT / "Snakefile", tmp_path)
    assert not (tmp_path / "results").exists()


@pytest.mark.slow
def test_two_point_sweep_runs_and_summarises(tmp_path):
    """Cs 0.6 and 1.2 mm at Scherzer: the point resolution scales as Cs^(1/4) (fig2_3's CSV header)."""
    spec = _write(tmp_path / "cs.yaml", {
        "name": "cs", "grid": {"microscope.cs_mm": [0.6, 1.2]}, "targets": ["fig2_3"],
        "metric": {"figure": "fig2_3", "meta": "point_resolution_a", "label": "point resolution (Å)"}, "jobs": 2})
    proc = subprocess.run([sys.executable, "-m", "hrtem", "sweep", str(spec), "--config",
                           str(ROOT / "config" / "config.yaml"), "--cores", "2", "--snakefile",
                           str(ROOT / "Snakefile"), "--directory", str(tmp_path)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    folder = tmp_path / "results" / "cs"
    with open(folder / "summary.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["point"] for r in rows] == ["cs_mm=0.6", "cs_mm=1.2"]
    assert all(r["status"] == "ok" for r in rows)
    r06, r12 = (float(r["metric"]) for r in rows)
    assert r06 == pytest.approx(1.679, abs=2e-3)
    assert r12 / r06 == pytest.approx(2 ** 0.25, rel=1e-3)
    assert (folder / "summary.png").stat().st_size > 10_000
    # each point is a whole run in its own folder, with its config and fidelity table
    for r in rows:
        run = folder / r["point"]
        assert (run / "figures" / "fig2_3.png").is_file() and (run / "fidelity.csv").is_file()
        assert yaml.safe_load((run / "config.yaml").read_text())["run"] == f"cs/{r['point']}"
    # the metric can also come from the fidelity table
    ours = read_metric(folder / "cs_mm=0.6", {"fidelity": "point resolution = first zero of Im CTF"})
    assert ours == pytest.approx(r06, abs=1e-3)


def _dry_run_paths(tmp_path: Path, configfile: Path) -> str:
    proc = subprocess.run([str(SNAKEMAKE), "-n", "--snakefile", str(ROOT / "Snakefile"), "--directory", str(tmp_path),
                           "--configfile", str(configfile), "--cores", "2"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout + proc.stderr


@pytest.mark.slow
def test_default_and_thesis_configs_coexist(tmp_path):
    """Dry runs of both configs: every output of one is under results/config/, of the other under results/thesis/."""
    default = _dry_run_paths(tmp_path, ROOT / "config" / "config.yaml")
    thesis = _dry_run_paths(tmp_path, ROOT / "config" / "thesis.yaml")
    assert "results/config/fidelity.csv" in default and "results/thesis/fidelity.csv" in thesis
    assert "results/config/figures/fig4_5.png" in default and "results/thesis/figures/fig4_5.png" in thesis
    assert "results/thesis/" not in default and "results/config/" not in thesis
