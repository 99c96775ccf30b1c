"""``hrtem potentials cross-walk | cross-best | assemble``: the cross-term stage (thesis §5.3, Tables 5.3–5.7).

- ``cross-walk``: one random-walk walker over the pair terms of one pair
  (``Pt-O``, ``Pt-Zr``, ``Pt-Ti``, ``Au-O``, ``Au-Ti``), starting from the
  metal stage's COMB3 file (checkpointed; rerunning resumes);
- ``cross-best``: the best walker's pair values and every computed row of
  the pair's table (fitted and check rows) at the start and at the best
  point (JSON);
- ``assemble``: the metal's COMB3 file with the fitted pair terms of all its
  pairs → one complete COMB3 file (all elements of the base file plus the
  metal) with a provenance header, usable as ``md.potential.file``.

The tables ``tab5_3`` … ``tab5_7`` are drawn by ``hrtem potentials table``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from hrtem.errors import HrtemError

#: pair -> thesis table
PAIR_TABLES = {"Au-O": "tab5_3", "Pt-O": "tab5_4", "Pt-Ti": "tab5_5", "Pt-Zr": "tab5_6", "Au-Ti": "tab5_7"}


def register_cross(sub: argparse._SubParsersAction) -> None:
    w = sub.add_parser("cross-walk", help="run or resume one walker of a cross-term stage (e.g. Pt-O)")
    w.add_argument("--pair", required=True, choices=sorted(PAIR_TABLES))
    w.add_argument("--walker", type=int, required=True)
    w.add_argument("--metal-file", required=True, help="COMB3 file of the metal stage (`hrtem potentials best`)")
    w.add_argument("-o", "--output", required=True, help="final walker JSON (history CSV beside it)")
    w.add_argument("--checkpoint", default=None, help="checkpoint JSON (default: OUTPUT.ckpt)")
    w.add_argument("--params", default="{}", help="the potentials config section as JSON")
    w.add_argument("--seed", type=int, default=0)
    w.set_defaults(func=_cmd_cross_walk)
    b = sub.add_parser("cross-best", help="best cross-term walker -> pair values + table properties (JSON)")
    b.add_argument("walkers", nargs="+")
    b.add_argument("--pair", required=True, choices=sorted(PAIR_TABLES))
    b.add_argument("--metal-file", required=True)
    b.add_argument("-o", "--output", required=True)
    b.add_argument("--params", default="{}")
    b.set_defaults(func=_cmd_cross_best)
    a = sub.add_parser("assemble", help="metal COMB3 file + fitted pair terms -> one complete COMB3 file")
    a.add_argument("cross", nargs="*", help="JSON files of `hrtem potentials cross-best`")
    a.add_argument("--metal", required=True)
    a.add_argument("--metal-file", required=True)
    a.add_argument("-o", "--output", required=True)
    a.add_argument("--config-hash", default="")
    a.set_defaults(func=_cmd_assemble)


def _split(pair: str) -> tuple[str, str]:
    metal, other = pair.split("-")
    return metal, other


def _rows(sec: dict[str, Any], pair: str) -> list[dict[str, Any]]:
    from hrtem.md.fitting import read_targets  # noqa: PLC0415

    rows = read_targets(sec.get("targets_file"), table=PAIR_TABLES[pair])
    if not rows:
        raise HrtemError(f"the target table has no rows for {PAIR_TABLES[pair]} ({pair})")
    return rows


def _cross_problem(sec: dict[str, Any], pair: str, metal_file: str, walk: bool = False):  # noqa: ANN202
    from hrtem.md.comb3_cross import CrossProblem  # noqa: PLC0415
    from hrtem.md.comb3_fit import mix_pair  # noqa: PLC0415
    from hrtem.md.comb3_params import Comb3Parameters  # noqa: PLC0415

    metal, other = _split(pair)
    params = Comb3Parameters.read(metal_file)
    params.header = []
    if metal not in params.elements or other not in params.elements:
        raise HrtemError(f"{metal_file} has no {metal} or {other} (elements {params.elements})")
    start = "the metal file's pair terms"
    if sec["start"] == "template" and other != "O":
        mix_pair(params, metal, other)
        start = "mixing rules"
    elif sec["start"] == "template":
        start = f"the template's {sec['template']}-O pair terms"
    keys = [r["key"] for r in _rows(sec, pair) if not (walk and r["key"] in sec["cross"]["exclude"])]
    prob = CrossProblem(metal, other, params, sec["cross"]["free"], keys)
    return prob, start


def _cmd_cross_walk(args: argparse.Namespace) -> int:
    from hrtem.md.fit_commands import _section, run_walk  # noqa: PLC0415
    from hrtem.md.fitting import Target, WalkSettings  # noqa: PLC0415

    sec = _section(args.params)
    prob, start = _cross_problem(sec, args.pair, args.metal_file, walk=True)
    targets = [
        Target(r["key"], r["target"], r["delta"], r["fitted"]) for r in _rows(sec, args.pair) if r["key"] in prob.keys
    ]
    w = sec["cross"]["walk"]
    settings = WalkSettings(
        steps=w["steps"], jump=sec["walk"]["jump"], temperature=sec["walk"]["temperature"],
        nm_max_evaluations=w["nm_max_evaluations"], nm_tolerance=sec["walk"]["nm_tolerance"],
        start_spread=sec["walk"]["start_spread"], polish_evaluations=w["polish_evaluations"],
        polish_method=w["polish_method"],
    )  # fmt: skip
    stats = run_walk(prob, targets, settings, args, name=f"comb3-{args.pair}")
    print(f"{args.output}: {args.pair} walker {args.walker} from {start}: {stats}")
    return 0


def _cmd_cross_best(args: argparse.Namespace) -> int:
    from hrtem.md.fit_commands import _section, load_walks  # noqa: PLC0415

    sec = _section(args.params)
    walks = load_walks(args.walkers, "cross-walk")
    path, best = min(walks, key=lambda pw: pw[1].e_best)
    prob, start = _cross_problem(sec, args.pair, args.metal_file)
    try:
        if list(best.names) != prob.names:
            raise HrtemError(f"{path} was walked over {best.names}, the config frees {prob.names}")
        # every evaluated point's properties are in the walk's history: no new LAMMPS run unless missing
        props = _props_at(best, best.x_best, prob.keys)
        t0 = time.perf_counter()
        if props is None:
            props = prob(best.x_best)
        t_eval = time.perf_counter() - t0
        props_start = None
        for _, w in walks:
            props_start = props_start or _props_at(w, prob.x0(), prob.keys)
        if props_start is None:
            props_start = prob(prob.x0())
        p = prob.with_values(best.x_best)
        pair_values = {" ".join(t): p.entries[t].tolist() for t in prob.written_entries}
    finally:
        prob.close()
    evals = sum(w.evaluations for _, w in walks)
    info = {
        "pair": args.pair,
        "table": PAIR_TABLES[args.pair],
        "start": start,
        "objective": best.e_best,
        "walker": path.name,
        "steps": best.step,
        "free": prob.names,
        "x_best": best.x_best,
        "properties": props,
        "properties_start": props_start,
        "computed": prob.keys,
        "pair_entries": pair_values,
        "evaluations": evals,
        "seconds_per_evaluation": sum(w.seconds for _, w in walks) / max(evals, 1),
        "seconds_evaluation_once": t_eval or float("nan"),
    }
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(info, indent=1, sort_keys=True))
    print(f"{out}: {args.pair} objective {best.e_best:.6g} after {best.step} steps ({start}); one evaluation {t_eval:.1f} s")
    return 0


def _props_at(walk: Any, x: Any, keys: list[str]) -> dict[str, float] | None:
    """Properties recorded in a walk's history at the point ``x`` (``None`` if not there or incomplete)."""
    x = np.asarray(x, float)
    for row in walk.history:
        at = np.array([row.get(f"param_{n}", np.nan) for n in walk.names], float)
        if at.shape == x.shape and np.allclose(at, x, rtol=1e-12, atol=0):
            props = {k[5:]: float(v) for k, v in row.items() if k.startswith("prop_")}
            if all(k in props for k in keys):
                return props
    return None


def _cmd_assemble(args: argparse.Namespace) -> int:
    from hrtem.md.comb3_params import Comb3Parameters  # noqa: PLC0415

    params = Comb3Parameters.read(args.metal_file)
    metal_header = [h for h in params.header if h]
    params.header = []
    lines = []
    for f in args.cross:
        info = json.loads(Path(f).read_text())
        metal, other = _split(info["pair"])
        if metal != args.metal:
            raise HrtemError(f"{f} is the pair {info['pair']}, not one of {args.metal}")
        for trip, vals in info["pair_entries"].items():
            key = tuple(trip.split())
            if key not in params.entries:
                raise HrtemError(f"{args.metal_file} has no entry {trip}")
            params.entries[key] = np.asarray(vals, float)  # type: ignore[index]
        lines.append(
            f"{info['pair']}: {info['table']} (start: {info['start']}), objective {info['objective']:.6g} "
            f"after {info['steps']} steps, free {', '.join(info['free'])}."
        )
    header = [
        f"COMB3 parameters for {args.metal} and its cross terms, assembled by hrtem (thesis §5.3 stages 1 and 2); "
        f"config hash {args.config_hash or 'n/a'}.",
        *[f"metal stage: {h}" for h in metal_header],
        *[f"cross stage {ln}" for ln in lines],
        f"Usable as md.potential.file; elements {' '.join(params.elements)}.",
    ]
    out = Path(args.output)
    params.write(out, header)
    print(f"{out}: {args.metal} + {len(lines)} cross-term stages")
    return 0


def cross_table_rows(info: dict[str, Any], targets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows of a cross-term table: target, thesis ReaxFF/COMB3, ours at start and fitted, errors."""
    rows = []
    computed = set(info["computed"])
    for t in targets:
        k = str(t["key"])
        ours = float(info["properties"].get(k, float("nan")))
        tgt = float(t["target"])
        rows.append(
            {
                "property": t["label"],
                "key": k,
                "unit": t["unit"],
                "fitted": ("*" if t["fitted"] else "check") if k in computed else "not built",
                "target": tgt,
                "reaxff_thesis": t["reaxff_thesis"],
                "comb3_thesis": t["comb3_thesis"],
                "comb3_start": float(info["properties_start"].get(k, float("nan"))),
                "comb3_ours": ours,
                "error_vs_target": ours - tgt,
                "error_vs_thesis_comb3": ours - float(t["comb3_thesis"]),
                "sign_as_target": float(np.sign(ours) == np.sign(tgt)) if np.isfinite(ours) else float("nan"),
            }
        )
    return rows


def write_cross_table(rows: list[dict[str, Any]], table: str, info: dict[str, Any], png: Path) -> None:
    """CSV beside ``png`` and the table drawn with matplotlib."""
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    from hrtem.io.tables import write_table  # noqa: PLC0415

    cols = ["property", "unit", "fitted", "target", "reaxff_thesis", "comb3_thesis", "comb3_start", "comb3_ours",
            "error_vs_target", "error_vs_thesis_comb3", "sign_as_target"]  # fmt: skip
    csv_path = png.with_suffix(".csv")
    write_table({c: np.array([r[c] for r in rows], dtype=object) for c in cols}, csv_path)
    meta = {"pair": info["pair"], "steps": info["steps"], "objective": f"{info['objective']:.6g}",
            "free": " ".join(info["free"]), "start": info["start"]}  # fmt: skip
    csv_path.write_text("".join(f"# {k}={v}\n" for k, v in meta.items()) + csv_path.read_text())

    def fmt(v: Any) -> str:
        v = float(v)
        return "-" if not np.isfinite(v) else f"{v:+.3f}"

    head = ["property", "unit", "fit", "target", "ReaxFF thesis", "COMB3 thesis", "COMB3 start", "COMB3 ours",
            "ours - target", "ours - thesis"]  # fmt: skip
    body = [[str(r["property"]), str(r["unit"]), str(r["fitted"])] + [fmt(r[c]) for c in cols[3:10]] for r in rows]
    fig, ax = plt.subplots(figsize=(13, 0.32 * len(body) + 1.2))
    ax.axis("off")
    tab = ax.table(cellText=body, colLabels=head, loc="center", cellLoc="center",
                   colWidths=[0.2, 0.04, 0.07] + [0.085] * 7)  # fmt: skip
    tab.auto_set_font_size(False)
    tab.set_fontsize(8)
    tab.scale(1, 1.25)
    ax.set_title(
        f"{table}: {info['pair']} COMB3 cross terms fitted here (objective {info['objective']:.4g}, "
        f"{info['steps']} steps from {info['start']}) vs thesis Table {table[3:].replace('_', '.')}",
        fontsize=9,
    )
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=120, bbox_inches="tight")
    plt.close(fig)
