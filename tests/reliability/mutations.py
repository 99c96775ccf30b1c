"""Config mutations generated from the schema, for the reliability suite.

Every leaf key of the schema (including array items, per-element maps, the
keys of md.stages items and the keys reached through ``$ref``) gets one
mutation per applicable category:

nan, inf, -inf      a non-finite number at a number key
huge                10^12 at a number or integer key (sizes that exhaust a machine)
wrong type          a string at a number/integer/boolean key, a number at a string/enum key
integral float      4.0-like float at an integer key
duplicate key       the key written twice in a YAML file
yaml 1.1            a scalar that YAML 1.1 reads differently (``1:30``, ``on``, ``no``)
cross-field         hand-written inconsistencies between keys (:data:`CROSS_FIELD`)

:func:`evaluate` runs each one in-process (``validate_config`` for dicts,
``load_config`` for YAML text) and says whether it was rejected with one line
naming the key. Run as a script (``python tests/reliability/mutations.py``) it
prints the table; ``PYTHONPATH`` decides which hrtem is measured.
"""

from __future__ import annotations

import json
import math
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CATEGORIES = ("nan", "inf", "-inf", "huge", "wrong type", "integral float", "duplicate key", "yaml 1.1", "cross-field")


@dataclass(frozen=True)
class Leaf:
    path: tuple[str, ...]  # key path; "[]" = the items of an array; maps use a key of their default
    kind: str  # number, integer, boolean, string, enum
    default: Any


@dataclass
class Mutation:
    category: str
    key: str  # dotted key path the message must name
    config: dict | None = None  # validated in-process
    yaml_text: str | None = None  # or loaded from a file


def _resolve(node: dict, root: dict) -> dict:
    ref = node.get("$ref")
    if ref:
        target: Any = root
        for part in ref.lstrip("#/").split("/"):
            target = target[part]
        return {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def _kind(node: dict) -> str | None:
    if "enum" in node:
        return "enum"
    if "oneOf" in node:  # microscope.defocus_a: number or "scherzer"
        return "number"
    types = node.get("type")
    types = [types] if isinstance(types, str) else list(types or [])
    for t in ("integer", "number", "boolean", "string"):
        if t in types:
            return t
    return None


def leaves(schema: dict) -> list[Leaf]:
    """Every leaf key of ``schema``."""
    out: list[Leaf] = []

    def walk(node: dict, path: tuple[str, ...], default: Any) -> None:
        node = _resolve(node, schema)
        typ = node.get("type")
        if typ == "object" and "properties" in node:
            for name, sub in node["properties"].items():
                walk(sub, (*path, name), _resolve(sub, schema).get("default"))
            return
        if isinstance(node.get("additionalProperties"), dict):
            sub = node["additionalProperties"]
            example = default if isinstance(default, dict) and default else {}
            names = _resolve(node.get("propertyNames") or {}, schema).get("enum") or []
            key = next(iter(example), None) or (names[0] if names else "Au")
            walk(sub, (*path, str(key)), example.get(key))
            return
        types = [typ] if isinstance(typ, str) else list(typ or [])
        if "array" in types and isinstance(node.get("items"), dict):
            items = _resolve(node["items"], schema)
            if items.get("type") == "object":
                for name, sub in items.get("properties", {}).items():
                    walk(sub, (*path, "[]", name), sub.get("default"))
                return
            kind = _kind(items)
            if kind:
                out.append(Leaf((*path, "[]"), kind, default))
            return
        kind = _kind(node)
        if kind:
            out.append(Leaf(path, kind, default))

    walk(schema, (), None)
    return out


# A valid md.stages item that the stage-key mutations modify.
_STAGE = {"name": "hold", "start_K": 300, "stop_K": 300, "steps": 20, "sample": True}


def _dotted(leaf: Leaf) -> str:
    return ".".join("0" if p == "[]" else p for p in leaf.path)


def _named(leaf: Leaf) -> str:
    """Key path the error must name (up to the first array index)."""
    dotted = _dotted(leaf).split(".")
    if "[]" in leaf.path:
        dotted = dotted[: leaf.path.index("[]")]
    return ".".join(dotted)


def _place(leaf: Leaf, value: Any) -> dict:
    """A config dict with ``value`` at ``leaf`` (arrays keep their default's length)."""
    path = list(leaf.path)
    if "[]" in path:
        i = path.index("[]")
        head, tail = path[:i], path[i + 1 :]
        if tail:  # md.stages item key
            item = {**_STAGE, tail[0]: value}
            container: Any = [item]
        else:
            length = len(leaf.default) if isinstance(leaf.default, list) and leaf.default else 1
            base = list(leaf.default) if isinstance(leaf.default, list) and leaf.default else [value]
            base[0] = value
            container = base[:length]
        node: Any = container
        for name in reversed(head):
            node = {name: node}
        return node
    node = value
    for name in reversed(_dotted(leaf).split(".")):
        node = {name: node}
    return node


def _valid(leaf: Leaf) -> Any:
    d = leaf.default
    if isinstance(d, list) and d:
        d = d[0]
    if leaf.kind == "integer":
        return d if isinstance(d, int) and not isinstance(d, bool) else 1
    if leaf.kind == "number":
        return d if isinstance(d, (int, float)) and not isinstance(d, bool) else 1.0
    if leaf.kind == "boolean":
        return bool(d)
    return d if d is not None else "x"


def _yaml_text(leaf: Leaf, raw: str, duplicate: bool) -> str | None:
    if "[]" in leaf.path:
        if duplicate or leaf.path[-1] != "[]":
            return None
        names = [p for p in leaf.path if p != "[]"]
        lines = [("  " * i) + f"{n}:" for i, n in enumerate(names[:-1])]
        lines.append("  " * (len(names) - 1) + f"{names[-1]}: [{raw}]")
        return "\n".join(lines) + "\n"
    names = _dotted(leaf).split(".")
    lines = [("  " * i) + f"{n}:" for i, n in enumerate(names[:-1])]
    leaf_line = "  " * (len(names) - 1) + f"{names[-1]}: {raw}"
    lines.append(leaf_line)
    if duplicate:
        lines.append(leaf_line)
    return "\n".join(lines) + "\n"


def generate(schema: dict) -> Iterator[Mutation]:
    for leaf in leaves(schema):
        key = _named(leaf)
        place = (lambda v, lf=leaf: _place(lf, v))
        if leaf.kind in ("number", "integer"):
            if leaf.kind == "number":
                yield Mutation("nan", key, place(math.nan))
                yield Mutation("inf", key, place(math.inf))
                yield Mutation("-inf", key, place(-math.inf))
            yield Mutation("huge", key, place(10**12 if leaf.kind == "integer" else 1e12))
            yield Mutation("wrong type", key, place("abc"))
            yield Mutation("yaml 1.1", key, yaml_text=_yaml_text(leaf, "1:30", False))
        if leaf.kind == "integer":
            yield Mutation("integral float", key, place(float(_valid(leaf))))
        if leaf.kind == "boolean":
            yield Mutation("wrong type", key, place("abc"))
            yield Mutation("yaml 1.1", key, yaml_text=_yaml_text(leaf, "on", False))
        if leaf.kind in ("string", "enum"):
            yield Mutation("wrong type", key, place(12345))
            yield Mutation("yaml 1.1", key, yaml_text=_yaml_text(leaf, "no", False))
        yield Mutation("duplicate key", key, yaml_text=_yaml_text(leaf, json.dumps(_valid(leaf)), True))
    for key, config in CROSS_FIELD:
        yield Mutation("cross-field", key, config)


_STAGES_NO_SAMPLE = [{"start_K": 300, "steps": 20}]
CROSS_FIELD: list[tuple[str, dict]] = [
    ("images.fig4_10.defocus_a", {"images": {"fig4_10": {"defocus_a": 50.0}}}),
    ("images.fig4_10.tilt_deg", {"images": {"fig4_10": {"tilt_deg": 1.0}}}),
    ("simulate.frozen_phonons.sigma_a", {"simulate": {"frozen_phonons": {"sigma_a": {"Cu": 0.1}}}}),
    ("simulate.frozen_phonons.sigma_a", {"images": {"particle": {"element": "Pt"}}}),
    ("simulate.frozen_phonons.sigma_a", {"simulate": {"fig2_2": {"symbol": "Cu"}}}),
    ("images.ensemble.samplings_a", {"images": {"ensemble": {"samplings_a": [0.1, 0.1]}}}),
    ("images.ensemble.defocus_a", {"images": {"ensemble": {"defocus_a": [85, 85.0]}}}),
    ("images.ensemble.samples_per_block", {"images": {"ensemble": {"samples": 4, "samples_per_block": 10}}}),
    ("images.fig4_5.defocus_nm", {"images": {"fig4_5": {"defocus_nm": {"start": 20, "stop": 0}}}}),
    ("images.fig4_5.defocus_nm.step", {"images": {"fig4_5": {"defocus_nm": {"step": 1e-6}}}}),
    ("structures.wulff.diameters_nm", {"structures": {"wulff": {"diameters_nm": [2, 2.0]}}}),
    ("structures.wulff.elements", {"structures": {"wulff": {"elements": ["Au", "Au"]}}}),
    ("structures.wulff.lattice_constants_a", {"structures": {"wulff": {"elements": ["Pt"], "lattice_constants_a": {"Au": 4.078}}}}),
    ("structures.wulff.surface_energies_j_m2", {"structures": {"wulff": {"elements": ["Cu"], "surface_energies_j_m2": {"Au": {"111": 1.0}}}}}),
    ("structures.grown.layers_range.100", {"structures": {"grown": {"layers_range": {"100": [6, 3]}}}}),
    ("structures.grown.added_fraction_range", {"structures": {"grown": {"added_fraction_range": [1.0, 0.0]}}}),
    ("structures.grown.temperature_range", {"structures": {"grown": {"temperature_range": [5.0, 0.5]}}}),
    ("structures.grown.margin_a", {"structures": {"grown": {"margin_a": 30.0}}}),
    ("structures.graphene.holes_range", {"structures": {"graphene": {"holes_range": [4, 0]}}}),
    ("structures.graphene.hole_radius_range_a", {"structures": {"graphene": {"hole_radius_range_a": [7.0, 2.5]}}}),
    ("structures.graphene.cell_a", {"structures": {"graphene": {"cell_a": [3.0, 3.0]}}}),
    ("structures.graphene.bond_tolerance_a", {"structures": {"graphene": {"bond_tolerance_a": 2.0}}}),
    ("md.support.fixed_layers", {"md": {"support": {"layers": 2, "fixed_layers": 2}}}),
    ("md.particle.interface", {"md": {"particle": {"interface": [1, 1, 0]}}}),
    ("md.particle.rotations_deg", {"md": {"particle": {"rotations_deg": [0, 0.0]}}}),
    ("md.stages", {"md": {"stages": _STAGES_NO_SAMPLE}}),
    ("md.particle.rotations_deg", {"md": {"particle": {"rotations_deg": [15, 30]}}}),
    ("md.anatase.fixed_layers", {"md": {"anatase": {"layers": 2, "fixed_layers": 2}}}),
    ("md.anatase.stages", {"md": {"anatase": {"stages": _STAGES_NO_SAMPLE}}}),
    ("md.stages.0.steps", {"md": {"stages": [{"start_K": 300, "steps": 5, "sample": True}], "snapshot_every": 10}}),
    ("md.potential.eam_files", {"md": {"potential": {"kind": "eam"}}}),
    ("md.particle.element", {"md": {"particle": {"element": "Au"}}}),
    ("strain.fig3_6.band_rows", {"strain": {"fig3_6": {"band_rows": [6, 3]}}}),
    ("strain.fig3_6.band_rows", {"strain": {"fig3_6": {"band_rows": [3, 20]}}}),
    ("strain.fig3_6.vacancy", {"strain": {"fig3_6": {"vacancy": [20, 7]}}}),
    ("strain.fig3_6.surface_rows", {"strain": {"fig3_6": {"surface_rows": 9}}}),
    ("strain.fig3_6.size_px", {"strain": {"fig3_6": {"size_px": 64}}}),
    ("strain.fig3_6.template", {"strain": {"fig3_6": {"template": "nosuch"}}}),
    ("strain.fig3_9.templates.1", {"strain": {"fig3_9": {"templates": ["square4", "nosuch"]}}}),
    ("strain.fig3_9.window_px", {"strain": {"fig3_9": {"window_px": 4}}}),
    ("strain.fig3_9.margin_a", {"strain": {"fig3_9": {"margin_a": 40.0}}}),
    ("strain.fig3_8.rmsd_boundary", {"strain": {"fig3_8": {"rmsd_boundary": 2.0}}}),
]


#: (category, key) -> why accepting that mutation is harmless
HARMLESS: dict[tuple[str, str], str] = {
    ("huge", "budget.md_atom_steps"): (
        "a budget is a limit the user raises on purpose (10^12 atom-steps is a cluster run); "
        "the key's own maximum is 10^15"
    ),
}


def evaluate(mutation: Mutation) -> tuple[str, str]:
    """(``"rejected"`` or ``"accepted"`` or ``"unclear"``, message) for one mutation.

    rejected: a ConfigError of one line naming the key; unclear: an error that
    is not one line naming the key (a traceback in the CLI); accepted: valid.
    """
    from hrtem.config import load_config, validate_config
    from hrtem.errors import ConfigError

    try:
        if mutation.yaml_text is not None:
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "mutated.yaml"
                path.write_text(mutation.yaml_text)
                load_config(path)
        else:
            validate_config(mutation.config)
    except ConfigError as err:
        message = str(err)
        if "\n" not in message and mutation.key in message:
            return "rejected", message
        return "unclear", message
    except Exception as err:  # noqa: BLE001 - a crash is what this counts
        return "unclear", f"{type(err).__name__}: {err}"
    if (mutation.category, mutation.key) in HARMLESS:
        return "harmless", HARMLESS[mutation.category, mutation.key]
    return "accepted", ""


def table(results: list[tuple[Mutation, str, str]]) -> str:
    counts: Counter = Counter((m.category, verdict) for m, verdict, _ in results)
    kinds = ("rejected", "harmless", "accepted", "unclear")
    lines = [
        "| category | mutations | rejected (one line, key named) | accepted, harmless | accepted | other error |",
        "|---|---|---|---|---|---|",
    ]
    for cat in CATEGORIES:
        total = sum(v for (c, _), v in counts.items() if c == cat)
        lines.append(f"| {cat} | {total} | " + " | ".join(str(counts[(cat, k)]) for k in kinds) + " |")
    tot = Counter(v for _, v, _ in results)
    lines.append(f"| **all** | {len(results)} | " + " | ".join(str(tot[k]) for k in kinds) + " |")
    return "\n".join(lines)


def run_all() -> list[tuple[Mutation, str, str]]:
    from hrtem.config import schema

    results = []
    for m in generate(schema()):
        if m.config is None and m.yaml_text is None:
            continue
        verdict, message = evaluate(m)
        results.append((m, verdict, message))
    return results


if __name__ == "__main__":
    import sys

    res = run_all()
    print(table(res))
    if "-v" in sys.argv:
        for m, verdict, message in res:
            if verdict != "rejected":
                print(f"{verdict:9s} {m.category:15s} {m.key}: {message[:160]}")
