"""Cross-field checks of a schema-valid config, run by :func:`hrtem.config.validate_config`.

The JSON Schema checks one key at a time. The checks here relate keys to each
other: a value a figure selects from a sweep must be in the sweep, a range's
minimum must not exceed its maximum, every element that is simulated needs an
Einstein σ, lists whose entries name output files must not repeat an entry,
and so on -- everything a rule or a figure would otherwise find only when it
runs (or never). Each failure is one line: the key path, what is wrong, and
what would be accepted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from hrtem.errors import ConfigError

__all__ = ["check_consistency", "CHECKS"]

Config = Mapping[str, Any]


def _fail(key: str, message: str) -> None:
    raise ConfigError(f"config key {key}: {message}")


def _ordered_range(key: str, pair: list[float], closed: bool = True) -> None:
    lo, hi = pair
    if lo > hi or (not closed and lo == hi):
        need = "≤" if closed else "<"
        _fail(key, f"[{lo}, {hi}] is reversed; give [min, max] with min {need} max")


def _unique(key: str, values: Iterable[Any], fmt: Callable[[Any], str] = str, why: str = "") -> None:
    seen: dict[str, Any] = {}
    for value in values:
        tag = fmt(value)
        if tag in seen:
            _fail(key, f"{value!r} repeats {seen[tag]!r}{why}; give each value once")
        seen[tag] = value


def _member(key: str, value: float, options: list[float], options_key: str) -> None:
    if not any(abs(float(value) - float(o)) <= 1e-9 * max(1.0, abs(float(o))) for o in options):
        _fail(key, f"{value:g} is not one of {options_key} ({', '.join(f'{float(o):g}' for o in options)}); choose one of them")


def _images(c: Config) -> None:
    im = c["images"]
    ens = im["ensemble"]
    _member("images.fig4_10.defocus_a", im["fig4_10"]["defocus_a"], ens["defocus_a"], "images.ensemble.defocus_a")
    _member("images.fig4_10.tilt_deg", im["fig4_10"]["tilt_deg"], ens["tilts_deg"], "images.ensemble.tilts_deg")
    for name in ("tilts_deg", "defocus_a", "doses_e_per_a2"):
        _unique(f"images.ensemble.{name}", ens[name], lambda v: f"{float(v):g}", " (one ensemble axis)")
    _unique("images.ensemble.samplings_a", ens["samplings_a"], lambda v: f"{float(v):g}", " (one store per sampling)")
    if ens["samples_per_block"] > ens["samples"]:
        _fail(
            "images.ensemble.samples_per_block",
            f"{ens['samples_per_block']} is more than images.ensemble.samples ({ens['samples']}); give at most that many",
        )
    f5 = im["fig4_5"]
    sweep = f5["defocus_nm"]
    _ordered_range("images.fig4_5.defocus_nm", [sweep["start"], sweep["stop"]])
    if (sweep["stop"] - sweep["start"]) / sweep["step"] > 100_000:
        _fail("images.fig4_5.defocus_nm.step", f"{sweep['step']} gives more than 100000 defoci; give a larger step")
    _unique("images.fig4_5.cs_um", f5["cs_um"], lambda v: f"{float(v):g}", " (one curve each)")


def _simulate(c: Config) -> None:
    fp = c["simulate"]["frozen_phonons"]
    if fp["model"] != "einstein":
        return
    needed = {
        "simulate.fig2_2.symbol": c["simulate"]["fig2_2"]["symbol"],
        "images.particle.element": c["images"]["particle"]["element"],
    }
    for key, element in needed.items():
        if element not in fp["sigma_a"]:
            _fail(
                "simulate.frozen_phonons.sigma_a",
                f"has no Einstein σ for {element} ({key}); add {element}: <σ in Å> "
                "(e.g. Au 0.087) or set simulate.frozen_phonons.model to none",
            )


def _structures(c: Config) -> None:
    st = c["structures"]
    w = st["wulff"]
    for el in w["elements"]:
        for key in ("surface_energies_j_m2", "lattice_constants_a"):
            if el not in w[key]:
                _fail(f"structures.wulff.{key}", f"has no entry for {el} (structures.wulff.elements); add one")
    part = c["images"]["particle"]["element"]
    for key in ("surface_energies_j_m2", "lattice_constants_a"):
        if part not in w[key]:
            _fail(f"structures.wulff.{key}", f"has no entry for {part} (images.particle.element); add one")
    _unique("structures.wulff.elements", w["elements"], why=" (one file each)")
    _unique("structures.wulff.diameters_nm", w["diameters_nm"], lambda v: f"{float(v):g}", " (one file each)")
    g = st["grown"]
    if g["element"] not in g["lattice_constants_a"]:
        _fail("structures.grown.lattice_constants_a", f"has no entry for {g['element']} (structures.grown.element); add one")
    for fam, pair in g["layers_range"].items():
        _ordered_range(f"structures.grown.layers_range.{fam}", pair)
    _ordered_range("structures.grown.added_fraction_range", g["added_fraction_range"])
    _ordered_range("structures.grown.temperature_range", g["temperature_range"])
    if 2 * g["margin_a"] >= g["cell_a"]:
        _fail("structures.grown.margin_a", f"{g['margin_a']} Å leaves no room in a {g['cell_a']} Å cell; give less than half of structures.grown.cell_a")
    gr = st["graphene"]
    _ordered_range("structures.graphene.holes_range", gr["holes_range"])
    _ordered_range("structures.graphene.hole_radius_range_a", gr["hole_radius_range_a"])
    for section in ("graphene", "polycrystalline_graphene", "fig6_9"):
        cell = st[section]["cell_a"]
        bond = st[section]["bond_a"]
        if min(cell) < 4 * bond:
            _fail(f"structures.{section}.cell_a", f"{cell} Å is too small for bonds of {bond} Å; give at least {4 * bond:g} Å per side")
    if gr["bond_tolerance_a"] >= gr["bond_a"]:
        _fail("structures.graphene.bond_tolerance_a", f"{gr['bond_tolerance_a']} Å is not smaller than structures.graphene.bond_a; give a small fraction of it")


def _md(c: Config) -> None:
    md = c["md"]
    sup = md["support"]
    if sup["fixed_layers"] >= sup["layers"]:
        _fail("md.support.fixed_layers", f"{sup['fixed_layers']} fixes every trilayer of {sup['layers']}; give less than md.support.layers")
    interface = md["particle"]["interface"]
    if interface is not None and sorted(abs(int(i)) for i in interface) not in ([0, 0, 1], [1, 1, 1]):
        _fail("md.particle.interface", f"{interface} is not supported; give [1, 1, 1], [1, 0, 0] or null")
    _unique("md.particle.rotations_deg", md["particle"]["rotations_deg"], lambda v: f"{float(v):g}", " (one MD run each)")
    if not any(float(r) == 0.0 for r in md["particle"]["rotations_deg"]):
        _fail("md.particle.rotations_deg", f"{md['particle']['rotations_deg']} has no 0; fig5_5/fig5_6 image the 0° run along the particle's <110>; add 0")
    an = md["anatase"]
    if an["fixed_layers"] >= an["layers"]:
        _fail("md.anatase.fixed_layers", f"{an['fixed_layers']} fixes every trilayer of {an['layers']}; give less than md.anatase.layers")
    if not any(s.get("sample") for s in an["stages"]):
        _fail("md.anatase.stages", "has no stage with sample: true; fig5_8 ... fig5_10 use the snapshots of a sampling stage")
    stages = md["stages"]
    if not stages:
        _fail("md.stages", "is empty; give at least one stage")
    if not any(s.get("sample") for s in stages):
        _fail("md.stages", "has no stage with sample: true; fig5_4 averages the snapshots of a sampling stage")
    for i, s in enumerate(stages):
        if s.get("sample") and s["steps"] < md["snapshot_every"]:
            _fail(f"md.stages.{i}.steps", f"{s['steps']} is fewer than md.snapshot_every ({md['snapshot_every']}): no snapshot; give more steps")
    pot = md["potential"]
    element = md["particle"]["element"]
    if pot["kind"] == "eam" and element not in pot["eam_files"]:
        _fail("md.potential.eam_files", f"has no funcfl file for {element} (md.particle.element); add {element}: {element}_u3.eam")
    fitted = pot.get("fitted", False)
    if pot["kind"] == "comb3" and pot["file"] == "ffield.comb3" and element not in _SHIPPED_COMB3 and not fitted:
        _fail(
            "md.particle.element",
            f"{element} is not in the shipped ffield.comb3 ({', '.join(sorted(_SHIPPED_COMB3))}); "
            "choose one of them, set md.potential.fitted: true (Pt, Au) or md.potential.file to your own COMB3 file",
        )
    if fitted:
        metals = c.get("potentials", {}).get("metals", [])
        if pot["kind"] != "comb3" or element not in metals:
            _fail(
                "md.potential.fitted",
                f"needs kind comb3 and md.particle.element ({element}) in potentials.metals ({metals})",
            )


#: elements of the ffield.comb3 shipped with LAMMPS (md.schema.yaml, md.potential.file)
_SHIPPED_COMB3 = frozenset({"C", "Cu", "H", "N", "O", "Ti", "Zn", "Zr"})


def _strain(c: Config) -> None:
    s = c["strain"]
    f6 = s["fig3_6"]
    b0, b1 = f6["band_rows"]
    if not 0 < b0 < b1 <= f6["rows"] - 1:
        _fail(
            "strain.fig3_6.band_rows",
            f"[{b0}, {b1}] is not a band of row spacings; give [first, end) with 0 < first < end ≤ rows − 1 = {f6['rows'] - 1}",
        )
    if f6["surface_rows"] > f6["rows"] - 1 - b1:
        _fail("strain.fig3_6.surface_rows", f"{f6['surface_rows']} overlaps the bulk band; give at most rows − 1 − band end = {f6['rows'] - 1 - b1}")
    col, row = f6["vacancy"]
    if col >= f6["columns"] or row >= f6["rows"]:
        _fail("strain.fig3_6.vacancy", f"[{col}, {row}] is outside the {f6['columns']} × {f6['rows']} lattice; give column < columns, row < rows")
    extent = (f6["columns"] + 1) * f6["lattice_a"], (f6["rows"] + 2) * f6["lattice_a"]
    if max(extent) > f6["size_px"] * f6["sampling_a"]:
        _fail(
            "strain.fig3_6.size_px",
            f"{f6['size_px']} px × {f6['sampling_a']} Å does not hold {f6['columns']} × {f6['rows']} columns "
            f"of {f6['lattice_a']} Å; give at least {int(max(extent) / f6['sampling_a']) + 1} px",
        )
    f9 = s["fig3_9"]
    if f9["window_px"] % 2 == 0:
        _fail("strain.fig3_9.window_px", f"{f9['window_px']} is even; give an odd number of pixels")
    if 2 * f9["margin_a"] >= f9["size_px"] * f9["sampling_a"]:
        _fail("strain.fig3_9.margin_a", f"{f9['margin_a']} Å leaves no image; give less than half the image side")
    if s["fig3_8"]["rmsd_boundary"] >= s["fig3_8"]["rmsd_max"]:
        _fail("strain.fig3_8.rmsd_boundary", "is not below strain.fig3_8.rmsd_max; give a smaller value")
    names = [("strain.fig3_6.template", f6["template"]), ("strain.fig3_7.template", s["fig3_7"]["template"])]
    names += [(f"strain.fig3_9.templates.{i}", t) for i, t in enumerate(f9["templates"])]
    from hrtem.strain.templates import TEMPLATES

    for key, name in names:
        if name not in TEMPLATES:
            _fail(key, f"{name!r} is not a template; choose one of {', '.join(sorted(TEMPLATES))}")


#: every cross-field check by the section it mainly concerns, in the order they run
CHECKS: dict[str, Callable[[Config], None]] = {
    "simulate": _simulate,
    "images": _images,
    "structures": _structures,
    "md": _md,
    "strain": _strain,
}


def check_consistency(config: Config, sections: Iterable[str] | None = None) -> None:
    """Raise :class:`ConfigError` (one line) on the first inconsistency of a filled-in config.

    ``sections`` limits the checks to those sections' (default: all).
    """
    wanted = set(CHECKS) if sections is None else set(sections)
    for name, check in CHECKS.items():
        if name in wanted:
            check(config)
