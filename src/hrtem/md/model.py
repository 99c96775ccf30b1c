"""Build the supported-particle model described by the ``md`` config section."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ase import Atoms

from hrtem.structures.supports import OXIDES, half_particle, oxide_slab, supported_particle

__all__ = ["model_from_config"]

_DEFAULT_INTERFACE = {"zro2_111": (1, 1, 1), "anatase_001": (1, 0, 0)}


def model_from_config(md: Mapping[str, Any] | None, rotation_deg: float = 0.0) -> Atoms:
    """Half-particle on an oxide slab from ``md.support`` and ``md.particle``.

    Parameters
    ----------
    md
        The ``md`` config section (missing keys take the schema defaults).
    rotation_deg
        In-plane rotation of the particle about the surface normal, degrees.
    """
    md = dict(md or {})
    sup = dict(md.get("support") or {})
    par = dict(md.get("particle") or {})
    oxide = sup.get("oxide", "zro2_111")
    kwargs: dict[str, Any] = {
        "repeat": tuple(sup.get("repeat", (6, 4))),
        "layers": int(sup.get("layers", 2)),
        "fixed_layers": int(sup.get("fixed_layers", 1)),
        "vacuum_A": float(sup.get("vacuum_A", 10.0)),
        "a_A": sup.get("lattice_a_A"),
    }
    if oxide == "anatase_001":
        kwargs["c_A"] = sup.get("lattice_c_A")
    slab = oxide_slab(oxide, **kwargs)
    interface = par.get("interface") or _DEFAULT_INTERFACE.get(oxide, (1, 1, 1))
    particle = half_particle(
        element=par.get("element", "Cu"),
        a_A=float(par.get("lattice_a_A", 3.61)),
        radius_A=float(par.get("radius_A", 7.0)),
        interface=tuple(interface),
        d100_over_d111=float(par.get("d100_over_d111", 1.1)),
    )
    model = supported_particle(slab, particle, gap_A=float(par.get("gap_A", 2.0)), rotation_deg=rotation_deg)
    model.info["oxide_lattice_a_A"] = float(sup.get("lattice_a_A") or OXIDES[oxide]["a_A"])
    return model
