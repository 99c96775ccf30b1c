"""Cost estimate of a run before any compute: grids, memory, disk, MD atom-steps.

:func:`estimate_config` turns a filled-in config into rows of a table (what,
how much, the budget, the key that sets it); :func:`check_estimate` raises
:class:`hrtem.errors.ConfigError` on the first row over its budget, naming the
key to change. ``hrtem config --estimate`` prints the table, ``make run`` shows
it first and the workflow checks it at start. Library code calls
:func:`require_memory` just before allocating a large array (the CLI verbs
reach it with their own structure and settings).

Budgets: ``budget.memory_gib`` (default: 80 % of this machine's memory),
``budget.disk_gib`` (default: the free space of the results folder) and
``budget.md_atom_steps``. The estimates are rough upper bounds (≈ ×2), meant to
stop absurd sizes, not to predict the run time.
"""

from __future__ import annotations

import math
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hrtem.errors import ConfigError, HrtemError
from hrtem.simulate.grid import grid_for

__all__ = ["Row", "estimate_config", "check_estimate", "format_table", "memory_budget_bytes", "require_memory"]

GIB = 1024**3
#: fcc lattice constant used for sizes when the config gives none (Å)
_DEFAULT_A = 4.08


def _machine_memory() -> int:
    try:
        import psutil

        return int(psutil.virtual_memory().total)
    except Exception:  # pragma: no cover - psutil is a dependency of dask
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))


def memory_budget_bytes(config: Mapping[str, Any] | None = None) -> int:
    """Memory one job may use: ``budget.memory_gib``, else ``$HRTEM_MEMORY_GIB``, else 80 % of RAM."""
    gib = None
    if config is not None:
        gib = (config.get("budget") or {}).get("memory_gib")
    if gib is None and os.environ.get("HRTEM_MEMORY_GIB"):
        try:
            gib = float(os.environ["HRTEM_MEMORY_GIB"])
        except ValueError as err:
            raise HrtemError(f"HRTEM_MEMORY_GIB={os.environ['HRTEM_MEMORY_GIB']!r} is not a number of GiB") from err
    if gib is not None:
        return int(float(gib) * GIB)
    return int(0.8 * _machine_memory())


def _fmt_bytes(n: float) -> str:
    for unit, size in (("TiB", 1024**4), ("GiB", GIB), ("MiB", 1024**2), ("KiB", 1024)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n:.0f} B"


def require_memory(nbytes: float, what: str, key: str, config: Mapping[str, Any] | None = None) -> None:
    """Raise :class:`HrtemError` (one line) if ``nbytes`` exceed the memory budget."""
    budget = memory_budget_bytes(config)
    if nbytes > budget:
        raise HrtemError(
            f"{what} needs ≈ {_fmt_bytes(nbytes)} of memory, over the budget of {_fmt_bytes(budget)} "
            f"(budget.memory_gib or $HRTEM_MEMORY_GIB, default 80 % of this machine); change {key}"
        )


def require_disk(nbytes: float, folder: str | os.PathLike, what: str, key: str) -> None:
    """Raise :class:`HrtemError` if ``nbytes`` do not fit in the free space at ``folder``."""
    path = Path(folder).resolve()
    while not path.exists():
        path = path.parent
    free = shutil.disk_usage(path).free
    if nbytes > free:
        raise HrtemError(f"{what} needs ≈ {_fmt_bytes(nbytes)} of disk, {_fmt_bytes(free)} free at {path}; change {key}")


@dataclass(frozen=True)
class Row:
    """One line of the estimate: a quantity, its budget (None: informative) and the key that sets it."""

    what: str
    value: float
    unit: str  # "B" (bytes), "px", "atoms", "atom-steps"
    budget: float | None
    key: str

    @property
    def over(self) -> bool:
        return self.budget is not None and self.value > self.budget

    def text(self, number: float) -> str:
        if self.unit == "B":
            return _fmt_bytes(number)
        return f"{number:.3g} {self.unit}"


def _lattice(config: Mapping[str, Any], element: str) -> float:
    return float(config["structures"]["wulff"]["lattice_constants_a"].get(element, _DEFAULT_A))


def _disk_free(results: str | os.PathLike) -> int:
    path = Path(results).resolve()
    while not path.exists():
        path = path.parent
    return shutil.disk_usage(path).free


def estimate_config(config: Mapping[str, Any], results: str | os.PathLike = "results") -> list[Row]:
    """Rows of the cost estimate of a validated (filled-in) config."""
    mem = memory_budget_bytes(config)
    budget = config.get("budget") or {}
    disk = budget.get("disk_gib")
    disk_bytes = float(disk) * GIB if disk is not None else float(_disk_free(results))
    sim = config["simulate"]
    s = float(sim["sampling_a"])
    friendly = bool(sim["fft_friendly_gpts"])
    fp = sim["frozen_phonons"]
    configs = int(fp["configurations"]) if fp["model"] == "einstein" else 1
    rows: list[Row] = []

    # fig2_2 cluster (FaceCenteredCubic layers of a/2, rotated: ×√2 worst case)
    f22 = sim["fig2_2"]
    side = max(f22["layers"]) * _lattice(config, f22["symbol"]) / 2 * math.sqrt(2) + 2 * f22["vacuum_a"]
    g = grid_for((side, side), s, friendly)
    rows.append(Row(f"fig2_2 grid ({side:.0f} Å cell)", g[0] * g[1], "px", None, "simulate.sampling_a"))
    rows.append(Row("fig2_2 exit waves in memory", (configs + 6) * g[0] * g[1] * 8, "B", mem, "simulate.sampling_a"))

    # ch. 4 particle and its ensembles
    im = config["images"]
    part = im["particle"]
    a = _lattice(config, part["element"])
    side = 10 * float(part["diameter_nm"]) + 2 * float(part["vacuum_a"])
    g = grid_for((side, side), s, friendly)
    ens = im["ensemble"]
    tilts = len(ens["tilts_deg"])
    atoms = math.pi / 6 * (10 * part["diameter_nm"]) ** 3 * 4 / a**3
    rows.append(Row("images particle", atoms, "atoms", None, "images.particle.diameter_nm"))
    rows.append(Row(f"images grid ({side:.0f} Å cell)", g[0] * g[1], "px", None, "simulate.sampling_a"))
    rows.append(Row("images exit waves per configuration", g[0] * g[1] * 8, "B", None, "simulate.sampling_a"))
    rows.append(
        Row(
            f"images exit waves ({tilts} tilts × {configs} configurations) in memory",
            tilts * (configs + 6) * g[0] * g[1] * 8,
            "B",
            mem,
            "simulate.frozen_phonons.configurations, images.ensemble.tilts_deg or simulate.sampling_a",
        )
    )
    total_disk = tilts * configs * g[0] * g[1] * 8
    n_img = tilts * len(ens["defocus_a"]) * len(ens["doses_e_per_a2"]) * ens["samples"]
    for cam in ens["samplings_a"]:
        px = math.ceil(side / float(cam)) ** 2
        store = n_img * px * 4
        total_disk += store
        rows.append(Row(f"ensemble store at {float(cam):g} Å/px ({n_img} images)", store, "B", None, "images.ensemble.samples"))
        block = tilts * len(ens["defocus_a"]) * px * 8 + config["threads"] * ens["samples_per_block"] * px * 8 * 3
        rows.append(Row(f"ensemble job in memory at {float(cam):g} Å/px", block, "B", mem, "images.ensemble.samples_per_block"))
    rows.append(Row("images stores on disk (exit waves + ensembles)", total_disk, "B", disk_bytes, "images.ensemble.samples (or budget.disk_gib)"))

    # fig4_5 column and the strain figures (fixed-size images)
    f45 = im["fig4_5"]
    g = grid_for((f45["cell_a"], f45["cell_a"]), s, friendly)
    rows.append(Row("fig4_5 exit waves in memory", 7 * g[0] * g[1] * 8, "B", mem, "images.fig4_5.cell_a"))
    for fig in ("fig3_6", "fig3_9"):
        n = config["strain"][fig]["size_px"]
        rows.append(Row(f"{fig} image", n * n * 8 * 8, "B", mem, f"strain.{fig}.size_px"))
    f37 = config["strain"]["fig3_7"]
    n = math.ceil(f37["extent_a"] / f37["sampling_a"])
    rows.append(Row("fig3_7 image", n * n * 8 * 8, "B", mem, "strain.fig3_7.extent_a or strain.fig3_7.sampling_a"))

    # Wulff structures
    w = config["structures"]["wulff"]
    for el in w["elements"]:
        for d in w["diameters_nm"]:
            n_atoms = math.pi / 6 * (10 * d) ** 3 * 4 / _lattice(config, el) ** 3
            rows.append(Row(f"Wulff {el} {d:g} nm", n_atoms * 200, "B", mem, "structures.wulff.diameters_nm"))

    # MD: slab + half particle, every rotation
    md = config["md"]
    sup, mp = md["support"], md["particle"]
    per_cell = 3 if sup["oxide"] == "zro2_111" else 6
    slab = sup["repeat"][0] * sup["repeat"][1] * sup["layers"] * per_cell
    half = 2 / 3 * math.pi * mp["radius_A"] ** 3 * 4 / mp["lattice_a_A"] ** 3
    n_md = slab + half
    steps = sum(int(st["steps"]) for st in md["stages"]) + int(md["minimize"]["max_iterations"])
    runs = len(mp["rotations_deg"])
    rows.append(Row("MD system", n_md, "atoms", None, "md.support.repeat, md.particle.radius_A"))
    rows.append(
        Row(
            f"MD atom-steps ({runs} runs × {steps} steps)",
            n_md * steps * runs,
            "atom-steps",
            float(budget.get("md_atom_steps", 1e11)),
            "md.stages.*.steps, md.particle.rotations_deg or budget.md_atom_steps",
        )
    )
    rows.append(Row("MD run in memory", n_md * 20_000, "B", mem, "md.support.repeat or md.particle.radius_A"))
    # anatase(001) runs (two starts) and the free particle (figs 5.7-5.10), md.anatase
    an = md.get("anatase") or {}
    if an:
        radius = an.get("radius_A") or mp["radius_A"]
        half_an = 2 / 3 * math.pi * radius**3 * 4 / mp["lattice_a_A"] ** 3
        slab_an = an["repeat"][0] * an["repeat"][1] * an["layers"] * 3
        steps_an = sum(int(st["steps"]) for st in an["stages"]) + int(md["minimize"]["max_iterations"])
        rows.append(
            Row(
                f"MD atom-steps, anatase and free runs (3 runs × {steps_an} steps)",
                (2 * (slab_an + half_an) + half_an) * steps_an,
                "atom-steps",
                float(budget.get("md_atom_steps", 1e11)),
                "md.anatase.stages.*.steps, md.anatase.repeat or budget.md_atom_steps",
            )
        )
    return rows


def format_table(rows: list[Row]) -> str:
    """The estimate as an aligned text table (``over`` marks a row over its budget)."""
    lines = [f"{'estimate':62s} {'value':>12s} {'budget':>12s}  key to change"]
    for r in rows:
        flag = "  OVER" if r.over else ""
        budget = r.text(r.budget) if r.budget is not None else "-"
        lines.append(f"{r.what[:62]:62s} {r.text(r.value):>12s} {budget:>12s}  {r.key}{flag}")
    return "\n".join(lines)


def check_estimate(config: Mapping[str, Any], results: str | os.PathLike = "results") -> list[Row]:
    """The estimate rows; :class:`ConfigError` naming the key on the first row over budget."""
    rows = estimate_config(config, results)
    for r in rows:
        if r.over:
            raise ConfigError(
                f"cost estimate: {r.what} needs ≈ {r.text(r.value)}, over the budget of {r.text(r.budget)}; "
                f"change {r.key} (hrtem config --estimate shows the table)"
            )
    return rows
