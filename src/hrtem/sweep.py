"""Parameter sweeps: the same targets at every point of a grid of config values.

A sweep file (YAML) names config keys by dotted path and their values::

    name: roi                        # results/roi/<point>/ and results/roi/summary.{csv,png}
    set:                             # fixed overrides for every point (optional)
      images.fig4_5.cs_um: [-10.0]
    grid:                            # every combination of these values ...
      images.microscope.defocus_a: [0, 40, 80]
      images.microscope.cs_mm: [-0.02, -0.01]
    # points:                        # ... or an explicit list of points instead of grid
    #   - {images.microscope.defocus_a: 0, images.microscope.cs_mm: -0.01}
    targets: [fig4_5]                # figure ids built at each point (config key `figures`)
    metric:                          # one number per point, read from a figure's data:
      figure: fig4_5
      attr: radius_at_preset_a       # a Zarr attribute, or
      # meta: point_resolution_a     # a '# key=value' line of the CSV, or
      # column: mean_bond_a          # a CSV column (one value, rows chosen by where:)
      # where: {step: relaxed}
      # fidelity: "<quantity>"       # the 'ours' number of a row of fidelity.csv
      label: radius of influence (Å)
    jobs: 2                          # points run at once (the cores are split between them)

Every point is an ordinary run of the workflow with a generated config (the
base config, then ``set``, then the point's values, ``figures: targets`` and
``run: <name>/<point>``), written to ``results/<name>/<point>/config.yaml``
and run by its own Snakemake process. Its outputs, logs and fidelity table are
therefore exactly those of a normal run, in its own folder. When all points
are done, ``results/<name>/summary.csv`` (point, swept keys, metric, status)
and ``summary.png`` (metric against the first key, one line per value of the
others) are written.
"""

from __future__ import annotations

import argparse
import copy
import csv
import itertools
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from hrtem.errors import HrtemError

__all__ = ["load_sweep", "points", "point_config", "read_metric", "run_sweep", "write_summary"]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_KEYS = {"name", "set", "grid", "points", "targets", "metric", "jobs", "description"}
_METRIC_SOURCES = ("attr", "meta", "column", "fidelity")


def load_sweep(path: str | Path) -> dict[str, Any]:
    """Read and check a sweep file; errors name the key and the fix."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise HrtemError(f"sweep file {path} does not exist (e.g. config/sweeps/roi_defocus_cs.yaml)")
    spec = yaml.safe_load(path.read_text()) or {}
    if not isinstance(spec, dict):
        raise HrtemError(f"{path}: a sweep file is a mapping with name, grid (or points), targets, metric")
    unknown = set(spec) - _KEYS
    if unknown:
        raise HrtemError(f"{path}: unknown key(s) {sorted(unknown)}; allowed: {sorted(_KEYS)}")
    name = spec.get("name") or path.stem
    if not _NAME.match(str(name)):
        raise HrtemError(f"{path}: name {name!r} must be letters, digits, '_', '.', '-' (it names results/<name>/)")
    spec["name"] = str(name)
    if ("grid" in spec) == ("points" in spec):
        raise HrtemError(f"{path}: give either grid (values per key) or points (a list of key: value maps)")
    if "grid" in spec:
        grid = spec["grid"]
        if not isinstance(grid, dict) or not grid or not all(isinstance(v, list) and v for v in grid.values()):
            raise HrtemError(f"{path}: grid maps dotted config keys to non-empty lists of values")
    else:
        pts = spec["points"]
        if not isinstance(pts, list) or not pts or not all(isinstance(p, dict) and p for p in pts):
            raise HrtemError(f"{path}: points is a non-empty list of {{dotted.key: value}} maps")
        if len({tuple(sorted(p)) for p in pts}) != 1:
            raise HrtemError(f"{path}: every point must set the same keys")
    if not isinstance(spec.get("set", {}), dict):
        raise HrtemError(f"{path}: set maps dotted config keys to values")
    targets = spec.get("targets")
    if not isinstance(targets, list) or not targets or not all(isinstance(t, str) for t in targets):
        raise HrtemError(f"{path}: targets is a list of figure ids, e.g. [fig4_5]")
    metric = spec.get("metric")
    if not isinstance(metric, dict) or sum(k in metric for k in _METRIC_SOURCES) != 1:
        raise HrtemError(f"{path}: metric needs exactly one of {', '.join(_METRIC_SOURCES)} (and figure: <id>)")
    if "fidelity" not in metric and metric.get("figure") not in targets:
        raise HrtemError(f"{path}: metric.figure must be one of the targets {targets}")
    jobs = spec.get("jobs", 1)
    if not isinstance(jobs, int) or jobs < 1:
        raise HrtemError(f"{path}: jobs must be a positive integer (points run at once)")
    return spec


def points(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """The sweep's points as {dotted key: value} maps, in order (grid: last key fastest)."""
    if "points" in spec:
        return [dict(p) for p in spec["points"]]
    keys = list(spec["grid"])
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*spec["grid"].values())]


def _fmt_value(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value) if not isinstance(value, (list, dict)) else repr(value)
    return re.sub(r"[^A-Za-z0-9_.=-]+", "~", text) or "~"


def point_label(point: dict[str, Any]) -> str:
    """Folder name of a point: ``defocus_a=40_cs_mm=-0.01`` (last part of each key = value)."""
    return "_".join(f"{key.rsplit('.', 1)[-1]}={_fmt_value(v)}" for key, v in point.items())


def _set_dotted(config: dict, dotted: str, value: Any) -> None:
    node = config
    parts = dotted.split(".")
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise HrtemError(f"sweep key {dotted}: {part} is not a section of the config")
        node = child
    node[parts[-1]] = copy.deepcopy(value)


def point_config(base: dict[str, Any], spec: dict[str, Any], point: dict[str, Any]) -> dict[str, Any]:
    """The validated config of one point (base, then ``set``, then the point, targets, run name)."""
    from hrtem.config import validate_config
    from hrtem.errors import ConfigError

    cfg = copy.deepcopy(base)
    for key, value in {**spec.get("set", {}), **point}.items():
        _set_dotted(cfg, key, value)
    cfg["figures"] = list(spec["targets"])
    cfg["run"] = f"{spec['name']}/{point_label(point)}"
    try:
        return validate_config(cfg)
    except ConfigError as err:
        raise HrtemError(f"sweep {spec['name']}, point {point_label(point)}: {err}") from err


def read_metric(run_folder: str | Path, metric: dict[str, Any]) -> float:
    """The metric of one finished point from its run folder (results/<name>/<point>)."""
    from hrtem.figures.fidelity import FigureData, read_csv

    run_folder = Path(run_folder)
    if "fidelity" in metric:
        rows = [r for r in read_csv(run_folder / "fidelity.csv") if r.quantity == metric["fidelity"]]
        if len(rows) != 1:
            raise HrtemError(f"{run_folder}/fidelity.csv has {len(rows)} rows with quantity {metric['fidelity']!r}")
        number = re.match(r"^\s*([−-]?[0-9.]+(?:[eE][−+-]?[0-9]+)?)", rows[0].ours)
        if number is None:
            raise HrtemError(f"{run_folder}/fidelity.csv: ours = {rows[0].ours!r} is not a number")
        return float(number.group(1).replace("−", "-"))
    data = FigureData(metric["figure"], run_folder / "figures")
    if "attr" in metric:
        return float(data.attrs[metric["attr"]])
    if "meta" in metric:
        return float(data.meta[metric["meta"]])
    return data.scalar(metric["column"], **metric.get("where", {}))


def write_summary(folder: Path, spec: dict[str, Any], results: list[dict[str, Any]]) -> tuple[Path, Path]:
    """summary.csv and summary.png of a sweep (metric against the swept keys)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from hrtem.figures.style import save_figure
    from hrtem.io.stores import atomic_path

    keys = list(results[0]["point"]) if results else []
    metric_name = spec["metric"].get("label") or spec["metric"].get("attr") or spec["metric"].get("meta") \
        or spec["metric"].get("column") or spec["metric"].get("fidelity")
    csv_path = folder / "summary.csv"
    with atomic_path(csv_path) as tmp, open(tmp, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["point", *keys, "metric", "status"])
        for r in results:
            w.writerow([r["label"], *(r["point"][k] for k in keys), repr(r["metric"]), r["status"]])

    fig, ax = plt.subplots(figsize=(6.4, 4.4), constrained_layout=True)
    first, others = keys[0], keys[1:]
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for r in results:
        groups.setdefault(tuple(r["point"][k] for k in others), []).append(r)
    numeric = all(isinstance(r["point"][first], (int, float)) for r in results)
    for values, rs in groups.items():
        xs = [r["point"][first] for r in rs]
        ys = [r["metric"] for r in rs]
        if numeric:
            order = np.argsort(xs)
            xs, ys = [xs[i] for i in order], [ys[i] for i in order]
        label = ", ".join(f"{k.rsplit('.', 1)[-1]} = {v}" for k, v in zip(others, values, strict=True)) or None
        ax.plot(range(len(xs)) if not numeric else xs, ys, "o-", label=label)
        if not numeric:
            ax.set_xticks(range(len(xs)), [str(x) for x in xs])
    ax.set_xlabel(first)
    ax.set_ylabel(metric_name)
    ax.set_title(f"sweep {spec['name']}: {len(results)} points", fontsize=10)
    if others:
        ax.legend(fontsize=8)
    png = folder / "summary.png"
    save_figure(fig, png)
    return csv_path, png


def _cores(cores: str | int) -> int:
    if str(cores) == "all":
        return os.cpu_count() or 1
    try:
        n = int(cores)
    except ValueError:
        raise HrtemError(f"--cores {cores!r}: give a positive number or 'all'") from None
    if n < 1:
        raise HrtemError(f"--cores {cores!r}: give a positive number or 'all'")
    return n


def run_sweep(sweep_file: str | Path, base_config: str | Path, cores: str | int = 1, snakefile: str | Path = "Snakefile",
              workdir: str | Path = ".", dry_run: bool = False, extra: list[str] | None = None) -> list[dict[str, Any]]:
    """Run every point of a sweep (Snakemake per point) and write the summary; returns the results."""
    import yaml

    from hrtem.config import load_config

    spec = load_sweep(sweep_file)
    workdir = Path(workdir)
    base_path = Path(base_config)
    if not base_path.is_file():
        raise HrtemError(f"--config {base_path} does not exist")
    base = yaml.safe_load(base_path.read_text()) or {}
    load_config(base_path)  # the base itself must be valid
    base.pop("run", None)
    folder = workdir / "results" / spec["name"]
    pts = points(spec)
    labels = [point_label(p) for p in pts]
    if len(set(labels)) != len(labels):
        raise HrtemError(f"sweep {spec['name']}: two points have the same folder name; use distinct values")
    configs = [point_config(base, spec, p) for p in pts]  # all validated before anything runs
    n_cores = _cores(cores)
    jobs = min(spec.get("jobs", 1), len(pts), n_cores)
    per_point = max(1, n_cores // jobs)
    snakemake = str(Path(sys.executable).with_name("snakemake"))
    pending = []
    for label, cfg in zip(labels, configs, strict=True):
        run_dir = folder / label
        run_dir.mkdir(parents=True, exist_ok=True)
        cfg_path = run_dir / "config.yaml"
        cfg_path.write_text(yaml.safe_dump(cfg, sort_keys=False, allow_unicode=True))
        cmd = [snakemake, "--snakefile", str(Path(snakefile).resolve()), "--directory", str(workdir.resolve()),
               "--configfile", str(cfg_path.resolve()), "--cores", str(per_point), *(["-n"] if dry_run else []),
               *(extra or [])]
        pending.append((label, cmd, run_dir / "snakemake.log"))

    status: dict[str, str] = {}
    running: list[tuple[str, subprocess.Popen, Any]] = []
    while pending or running:
        while pending and len(running) < jobs:
            label, cmd, log = pending.pop(0)
            fh = open(log, "w")
            print(f"[sweep {spec['name']}] {label}: {' '.join(cmd[1:])}", flush=True)
            running.append((label, subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT), fh))
        time.sleep(0.2)
        for item in list(running):
            label, proc, fh = item
            if proc.poll() is not None:
                fh.close()
                status[label] = "ok" if proc.returncode == 0 else f"failed (exit {proc.returncode}, see snakemake.log)"
                print(f"[sweep {spec['name']}] {label}: {status[label]}", flush=True)
                running.remove(item)
    if dry_run:
        return [{"label": lb, "point": p, "metric": float("nan"), "status": status[lb]}
                for lb, p in zip(labels, pts, strict=True)]

    results = []
    for label, point in zip(labels, pts, strict=True):
        value, st = float("nan"), status[label]
        if st == "ok":
            try:
                value = read_metric(folder / label, spec["metric"])
            except (HrtemError, KeyError, ValueError) as err:
                st = f"no metric: {err}"
        results.append({"label": label, "point": point, "metric": value, "status": st})
    csv_path, png = write_summary(folder, spec, results)
    print(f"[sweep {spec['name']}] summary: {csv_path}, {png}")
    return results


def _cmd(args: argparse.Namespace) -> int:
    results = run_sweep(args.sweep, args.config, args.cores, args.snakefile, args.directory, args.dry_run,
                        args.snakemake_args)
    failed = [r["label"] for r in results if r["status"] != "ok"]
    if failed:
        print(f"error: {len(failed)} of {len(results)} points failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``sweep`` verb."""
    p = sub.add_parser("sweep", help="run the workflow at every point of a parameter sweep; summary table + plot")
    p.add_argument("sweep", help="sweep file (YAML), e.g. config/sweeps/roi_defocus_cs.yaml")
    p.add_argument("--config", default="config/config.yaml", help="base config (default config/config.yaml)")
    p.add_argument("--cores", default="1", help="cores for the whole sweep, or 'all' (split between points)")
    p.add_argument("--snakefile", default="Snakefile", help="the workflow's Snakefile")
    p.add_argument("--directory", default=".", help="working directory (results/ goes here)")
    p.add_argument("-n", "--dry-run", action="store_true", help="write the point configs and dry-run each point")
    p.add_argument("--snakemake-args", nargs=argparse.REMAINDER, default=[],
                   help="further arguments passed to every point's snakemake (last on the line)")
    p.set_defaults(func=_cmd)
