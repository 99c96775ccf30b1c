"""The ``hrtem potentials`` verb: fit COMB3 parameters of Pt and Au (thesis §5.2–5.3).

Sub-commands (one Snakemake job each):

- ``walk``: one random-walk walker for one metal (checkpointed; rerunning
  resumes);
- ``best``: the best of the walkers → a complete COMB3 file (the base file's
  elements plus the metal) with a provenance header, and the metal's full
  property set (JSON) incl. the measured cost per evaluation;
- ``table``: a thesis table (``tab5_1`` Au, ``tab5_2`` Pt) as CSV + PNG:
  target, the thesis's EAM and COMB3 columns, our EAM (the shipped u3 file)
  and our fitted COMB3, relative errors, fitted (*) and check rows.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from hrtem.config import parse_json_object
from hrtem.errors import HrtemError

#: thesis table of each metal
METAL_TABLES = {"Au": "tab5_1", "Pt": "tab5_2"}
#: every property of the tables (the check rows included)
FULL_SET = ("a0", "E_coh", "elastic", "phases", "surfaces", "vacancy", "dimer")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("potentials", help="fit COMB3 parameters (Pt, Au, cross terms) and tabulate them (tab5_1 ... tab5_7)")
    sub = p.add_subparsers(dest="action", required=True)
    w = sub.add_parser("walk", help="run or resume one random-walk walker")
    w.add_argument("--element", required=True)
    w.add_argument("--walker", type=int, required=True)
    w.add_argument("-o", "--output", required=True, help="final walker JSON (history CSV beside it)")
    w.add_argument(
        "--checkpoint",
        default=None,
        help="checkpoint JSON written after every step and resumed from (default: OUTPUT.ckpt); "
        "keep it outside the workflow's outputs so a killed job resumes",
    )
    w.add_argument("--params", default="{}", help="the potentials config section as JSON")
    w.add_argument("--seed", type=int, default=0)
    w.set_defaults(func=_cmd_walk)
    b = sub.add_parser("best", help="best walker -> COMB3 file + property JSON")
    b.add_argument("walkers", nargs="+", help="walker checkpoint JSON files")
    b.add_argument("--element", required=True)
    b.add_argument("-o", "--output", required=True, help="COMB3 file to write (properties JSON beside it)")
    b.add_argument("--params", default="{}")
    b.add_argument("--config-hash", default="")
    b.set_defaults(func=_cmd_best)
    from hrtem.md.cross_commands import PAIR_TABLES, register_cross  # noqa: PLC0415

    register_cross(sub)
    t = sub.add_parser("table", help="render a thesis table from a fitted property JSON")
    t.add_argument("table", choices=sorted([*METAL_TABLES.values(), *PAIR_TABLES.values()]))
    t.add_argument("properties", help="properties JSON written by `hrtem potentials best` or `cross-best`")
    t.add_argument("-o", "--output", required=True, help="PNG (CSV beside it)")
    t.set_defaults(func=_cmd_table)


def _section(text: str) -> dict[str, Any]:
    from hrtem.config import validate_config  # noqa: PLC0415

    given = parse_json_object(text, "--params")
    return validate_config({"potentials": given})["potentials"]


def _targets(sec: dict[str, Any], element: str) -> list[dict[str, Any]]:
    from hrtem.md.fitting import read_targets  # noqa: PLC0415

    table = METAL_TABLES.get(element)
    if table is None:
        raise HrtemError(f"potentials.metals: no target table for {element!r} (supported: {sorted(METAL_TABLES)})")
    rows = read_targets(sec.get("targets_file"), table=table)
    if not rows:
        raise HrtemError(f"the target table has no rows for {table}")
    return rows


def shipped_file(element: str) -> Path:
    """The package's fitted COMB3 file of ``element`` (``hrtem/data/comb3_<element>.comb3``)."""
    from importlib import resources  # noqa: PLC0415

    path = Path(str(resources.files("hrtem") / "data" / f"comb3_{element}.comb3"))
    if not path.is_file():
        raise HrtemError(
            f"potentials.start: no shipped COMB3 set for {element} ({path}); use potentials.start: template"
        )
    return path


def _problem(sec: dict[str, Any], element: str):  # noqa: ANN202
    """The fit problem of ``element`` and a one-line description of its start."""
    from hrtem.md.comb3_fit import MetalProblem, start_parameters  # noqa: PLC0415
    from hrtem.md.comb3_params import Comb3Parameters  # noqa: PLC0415

    rows = {r["key"]: r for r in _targets(sec, element)}
    a_t, e_t, b_t = rows["a0_A"]["target"], rows["E_coh_eV"]["target"], rows["B_GPa"]["target"]
    if sec["start"] == "shipped":
        path = shipped_file(element)
        params = Comb3Parameters.read(path)
        params.header = []
        note = f"shipped set hrtem/data/{path.name} (sha {params.digest()})"
        return MetalProblem(element, params, sec["free"], a_t, sec["slab_layers"]), note
    ls = es = 1.0
    k = 0.0
    if sec["prescale"]:
        ref = start_parameters(sec["template"], sec["template"], sec["base_file"])
        tmp = MetalProblem(sec["template"], ref, [], a_t)
        try:
            props = tmp([], which=("a0", "E_coh"))
        finally:
            tmp.close()
        ls, es = a_t / props["a0_A"], e_t / props["E_coh_eV"]
        if sec["prescale_stiffness"]:
            scaled = start_parameters(element, sec["template"], sec["base_file"], ls, es)
            tmp = MetalProblem(element, scaled, [], a_t)
            try:
                b_s = tmp([], which=("a0", "E_coh", "elastic"))["B_GPa"]
            finally:
                tmp.close()
            k = float(np.sqrt(b_t / b_s)) if b_s > 0 else 0.0
    params = start_parameters(element, sec["template"], sec["base_file"], ls, es, k, a_t / np.sqrt(2))
    note = (
        f"{sec['template']} entries of {sec['base_file']}, prescaled lengths x{ls:.6f}, energies x{es:.6f}, "
        f"decay constants x{k or 1.0:.6f} (target B {b_t:g} GPa)"
    )
    return MetalProblem(element, params, sec["free"], a_t, sec["slab_layers"]), note


def run_walk(prob: Any, targets: list[Any], settings: Any, args: argparse.Namespace, name: str) -> str:
    """Run one resumable random walk of ``prob`` for a ``walk``/``cross-walk`` verb.

    The checkpoint (``args.checkpoint`` or the output with suffix ``.ckpt``) is written after
    every step, the history goes to the output with suffix ``.csv``, and the final checkpoint is
    copied to ``args.output``. ``prob`` is closed afterwards, also on error.

    Returns
    -------
    str
        One line with the steps, the best objective and the evaluation cost (s of wall time).
    """
    from hrtem.md.fitting import random_walk  # noqa: PLC0415

    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    ckpt = Path(args.checkpoint) if args.checkpoint else out.with_suffix(".ckpt")
    ckpt.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    try:
        res = random_walk(
            prob, prob.x0(), prob.names, targets, settings, seed=args.seed, name=name,
            walker=args.walker, checkpoint=ckpt, history_csv=out.with_suffix(".csv"), log=print,
        )  # fmt: skip
    finally:
        prob.close()
    dt = time.perf_counter() - t0
    out.write_text(ckpt.read_text())
    n = prob.evaluations
    return f"{res.step} steps, best objective {res.e_best:.6g}, {n} evaluations in {dt:.1f} s ({dt / max(n, 1):.3f} s each)"


def load_walks(paths: list[str], verb: str) -> list[tuple[Path, Any]]:
    """Read the walker checkpoints ``paths`` as ``(path, WalkResult)`` pairs.

    Raises
    ------
    HrtemError
        When a checkpoint file is missing (names the ``hrtem potentials`` verb that makes it).
    """
    from hrtem.md.fitting import WalkResult  # noqa: PLC0415

    walks = []
    for f in paths:
        p = Path(f)
        if not p.is_file():
            raise HrtemError(f"walker checkpoint {p} does not exist (run `hrtem potentials {verb}`)")
        walks.append((p, WalkResult.from_json(p.read_text())))
    return walks


def _cmd_walk(args: argparse.Namespace) -> int:
    from hrtem.md.fitting import Target, WalkSettings  # noqa: PLC0415

    sec = _section(args.params)
    targets = [Target(r["key"], r["target"], r["delta"], r["fitted"]) for r in _targets(sec, args.element)]
    w = sec["walk"]
    settings = WalkSettings(
        steps=w["steps"],
        jump=w["jump"],
        temperature=w["temperature"],
        nm_max_evaluations=w["nm_max_evaluations"],
        nm_tolerance=w["nm_tolerance"],
        start_spread=w["start_spread"],
        polish_evaluations=w["polish_evaluations"],
        polish_method=w["polish_method"],
    )
    prob, start_note = _problem(sec, args.element)
    stats = run_walk(prob, targets, settings, args, name=f"comb3-{args.element}")
    print(f"{args.output}: {args.element} walker {args.walker}: {stats}, start: {start_note}")
    return 0


def _cmd_best(args: argparse.Namespace) -> int:
    sec = _section(args.params)
    walks = load_walks(args.walkers, "walk")
    path, best = min(walks, key=lambda pw: pw[1].e_best)
    prob, start_note = _problem(sec, args.element)
    try:
        t0 = time.perf_counter()
        props = prob(best.x_best, which=("a0", "E_coh", "elastic", "phases_fit", "surfaces_fit", "dimer"))
        t_fit = time.perf_counter() - t0
        full = prob(best.x_best, which=FULL_SET)
        start = prob(prob.x0(), which=FULL_SET)
        params = prob.with_values(best.x_best)
    finally:
        prob.close()
    del props
    evals = sum(w.evaluations for _, w in walks)
    secs = sum(w.seconds for _, w in walks)
    per_eval = secs / max(evals, 1)
    cpu_per_eval = sum(w.cpu_seconds for _, w in walks) / max(evals, 1)
    per_step = evals / max(sum(w.step for _, w in walks), 1)
    header = [
        f"COMB3 parameters for {args.element} fitted by hrtem (thesis §5.2-5.3 random walk + Nelder-Mead).",
        f"Start: {start_note}.",
        f"config hash {args.config_hash or 'n/a'}; best of {len(walks)} walkers: {path.name}, "
        f"objective {best.e_best:.6g} after {best.step} steps; free {', '.join(prob.names)}.",
        f"Targets: thesis {METAL_TABLES[args.element]} starred rows. NOT the thesis's own (unpublished) set.",
    ]
    out = Path(args.output)
    params.write(out, header)
    info = {
        "element": args.element,
        "objective": best.e_best,
        "walker": path.name,
        "steps": best.step,
        "free": prob.names,
        "x_best": best.x_best,
        "properties": full,
        "properties_start": start,
        "evaluations": evals,
        "seconds_per_evaluation": per_eval,
        "cpu_seconds_per_evaluation": cpu_per_eval,
        "projected_thesis_walker_hours_cpu": 400 * per_step * cpu_per_eval / 3600,
        "seconds_fit_set_once": t_fit,
        "evaluations_per_step": per_step,
        "projected_thesis_walker_hours": 400 * per_step * per_eval / 3600,
        "comb3_file": out.name,
    }
    out.with_suffix(".json").write_text(json.dumps(info, indent=1, sort_keys=True))
    print(
        f"{out}: objective {best.e_best:.6g} ({path.name}); {evals} evaluations, {per_eval:.2f} s each "
        f"(CPU {cpu_per_eval:.2f} s); "
        f"a 400-step walker at {per_step:.1f} evaluations/step ≈ {info['projected_thesis_walker_hours']:.1f} h"
    )
    return 0


def _cmd_table(args: argparse.Namespace) -> int:
    from hrtem.md.comb3_fit import evaluate_metal, table_rows  # noqa: PLC0415
    from hrtem.md.fitting import read_targets  # noqa: PLC0415
    from hrtem.md.properties import PropertyCalculator  # noqa: PLC0415
    from hrtem.md.settings import Potential  # noqa: PLC0415

    info = json.loads(Path(args.properties).read_text())
    targets = read_targets(table=args.table)
    if "pair" in info:
        from hrtem.md.cross_commands import cross_table_rows, write_cross_table  # noqa: PLC0415

        if info["table"] != args.table:
            raise HrtemError(f"{args.properties} is the pair {info['pair']} ({info['table']}), not {args.table}")
        write_cross_table(cross_table_rows(info, targets), args.table, info, Path(args.output))
        print(f"{args.output}: {args.table} ({info['pair']}), objective {info['objective']:.6g}")
        return 0
    el = info["element"]
    with PropertyCalculator(Potential(kind="eam", eam_files={el: f"{el}_u3.eam"})) as c:
        eam = evaluate_metal(c, el, 4.0, FULL_SET, (5, 6, 7, 8, 9))
    rows = table_rows(info["properties"], targets)
    for r in rows:
        r["eam_u3_ours"] = eam.get(str(r["key"]), float("nan"))
        r["comb3_start"] = info["properties_start"].get(str(r["key"]), float("nan"))
    write_metal_table(rows, args.table, el, info, Path(args.output))
    print(f"{args.output}: {args.table} ({el}), objective {info['objective']:.6g}")
    return 0


def write_metal_table(rows: list[dict[str, Any]], table: str, element: str, info: dict[str, Any], png: Path) -> None:
    """CSV beside ``png`` and the table drawn with matplotlib."""
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415
    import numpy as np  # noqa: PLC0415

    from hrtem.io.tables import write_table  # noqa: PLC0415

    cols = [
        "property", "unit", "fitted", "target", "eam_thesis", "eam_u3_ours", "comb3_thesis", "comb3_start",
        "comb3_ours", "rel_error_vs_target", "rel_error_vs_thesis_comb3",
    ]  # fmt: skip
    csv_path = png.with_suffix(".csv")
    write_table({c: np.array([r[c] for r in rows], dtype=object) for c in cols}, csv_path)
    meta = {"element": element, "steps": info["steps"], "objective": f"{info['objective']:.6g}",
            "free": " ".join(info["free"]), "walker": info["walker"]}  # fmt: skip
    csv_path.write_text("".join(f"# {k}={v}\n" for k, v in meta.items()) + csv_path.read_text())

    def fmt(v: Any) -> str:
        if isinstance(v, str):
            return v
        v = float(v)
        if not np.isfinite(v):
            return "-"
        return f"{v:.3g}" if abs(v) >= 0.01 or v == 0 else f"{v:.2g}"

    head = ["property", "unit", "fit", "target", "EAM thesis", "EAM u3", "COMB3 thesis", "COMB3 start",
            "COMB3 ours", "err vs target", "err vs thesis"]  # fmt: skip
    body = []
    for r in rows:
        body.append(
            [str(r["property"]), str(r["unit"]), str(r["fitted"])]
            + [fmt(r[c]) for c in cols[3:9]]
            + [f"{100 * float(r[c]):+.1f} %" if np.isfinite(float(r[c])) else "-" for c in cols[9:]]
        )
    fig, ax = plt.subplots(figsize=(13, 0.32 * len(body) + 1.2))
    ax.axis("off")
    widths = [0.17, 0.05, 0.05] + [0.0825] * (len(head) - 3)
    tab = ax.table(cellText=body, colLabels=head, loc="center", cellLoc="center", colWidths=widths)
    tab.auto_set_font_size(False)
    tab.set_fontsize(8)
    tab.scale(1, 1.25)
    ax.set_title(
        f"{table}: {element} COMB3 fitted here (objective {info['objective']:.4g}, {info['steps']} steps, "
        f"{info['free'].__len__()} free parameters) vs thesis Table {table[3:].replace('_', '.')}",
        fontsize=9,
    )
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=120, bbox_inches="tight")
    plt.close(fig)
