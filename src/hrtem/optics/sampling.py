"""Random microscopes and detectors, one per training image (thesis ch. 6, Table 6.1).

A *ranges* dict uses the keys of the config sections ``microscope`` and
``detector`` (same units: Å, mm, deg, mrad, e⁻/Å²). Each value is either

* a number / string / bool / None: fixed, or
* a two-element list ``[low, high]``: drawn uniformly in [low, high) —
  except ``dose_e_per_a2``, which is drawn log-uniformly (the thesis's
  "exponential" distribution over 10¹–10⁴ e⁻/Å²).

Keys that are not given take the config defaults (or the ``base`` section).
``mtf`` and ``envelopes`` are nested dicts of the same form. Draws happen in a
fixed (sorted-key) order, so the same rng state gives the same microscope.

:data:`TABLE_6_1` is the graphene preset (80 kV). Its deflection range is
printed "0–25 Å" (Eq. 2.19's σ), but σ = 25 Å makes Ed(0.5 Å⁻¹) = e⁻⁷⁸ and
removes all atomic contrast; the project reads it as pm, σ ∈ [0, 0.25] Å
(SCIENCE.md §4), as the config key ``learn.microscope.deflection_sigma_a``
does. Callers that want a wider blur pass their own range.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from hrtem.errors import HrtemError
from hrtem.optics.detector import DETECTOR_DEFAULTS, Detector
from hrtem.optics.microscope import MICROSCOPE_DEFAULTS, Microscope

__all__ = ["TABLE_6_1", "draw_section", "sample_microscope", "sample_detector", "sample_imaging"]

#: Table 6.1 (thesis L4812): per-image ranges for the 80 kV graphene training set.
TABLE_6_1: dict[str, dict[str, Any]] = {
    "microscope": {
        "energy_kev": 80.0,
        "defocus_a": [-200.0, 200.0],
        "cs_mm": [-0.02, 0.02],  # −20 … 20 µm
        "c5_mm": [0.0, 5.0],
        "astigmatism_a": [0.0, 100.0],
        "astigmatism_angle_deg": [0.0, 360.0],
        "deflection_sigma_a": [0.0, 0.25],  # printed "0-25", read as pm; see module docstring
        "focal_spread_a": [20.0, 40.0],
    },
    "detector": {
        "dose_e_per_a2": [1.0e1, 1.0e4],  # log-uniform
        "mtf": {"model": "eq2_21", "c1": [0.0, 0.1], "c2": [0.4, 0.6], "c3": [2.0, 3.0]},
    },
}

_LOG_UNIFORM = {"dose_e_per_a2"}


def _is_range(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and len(value) == 2 and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in value
    )


def draw_section(
    ranges: Mapping[str, Any], base: Mapping[str, Any], rng: np.random.Generator, where: str
) -> dict[str, Any]:
    """Draw one config section from ``ranges`` on top of ``base`` (module docstring)."""
    out = dict(base)
    for key in sorted(ranges):
        spec = ranges[key]
        if key not in base:
            raise HrtemError(f"{where}: unknown key {key!r} in ranges; allowed: {', '.join(base)}")
        if isinstance(spec, Mapping):
            out[key] = draw_section(spec, dict(base[key] or {}), rng, f"{where}.{key}")
        elif _is_range(spec):
            lo, hi = float(spec[0]), float(spec[1])
            if hi < lo:
                raise HrtemError(f"{where}.{key}: range [{lo}, {hi}] has high < low")
            if key in _LOG_UNIFORM:
                if lo <= 0:
                    raise HrtemError(f"{where}.{key}: log-uniform range needs low > 0, got {lo}")
                out[key] = float(math.exp(rng.uniform(math.log(lo), math.log(hi))))
            else:
                out[key] = float(rng.uniform(lo, hi))
        else:
            out[key] = spec
    return out


def sample_microscope(
    ranges: Mapping[str, Any], rng: np.random.Generator, base: Mapping[str, Any] | None = None
) -> Microscope:
    """A :class:`Microscope` with each ranged parameter drawn uniformly.

    ``ranges``: keys of the ``microscope`` section (e.g. ``TABLE_6_1["microscope"]``);
    ``base``: a (validated) ``microscope`` section for the fixed keys.
    """
    section = draw_section(ranges, {**MICROSCOPE_DEFAULTS, **dict(base or {})}, rng, "microscope")
    return Microscope.from_config(section)


def sample_detector(
    ranges: Mapping[str, Any], rng: np.random.Generator, base: Mapping[str, Any] | None = None
) -> Detector:
    """A :class:`Detector` with dose log-uniform and the other ranged parameters uniform."""
    merged = {**DETECTOR_DEFAULTS, **dict(base or {})}
    merged["mtf"] = {**DETECTOR_DEFAULTS["mtf"], **dict((base or {}).get("mtf") or {})}
    section = draw_section(ranges, merged, rng, "detector")
    return Detector.from_config(section)


def sample_imaging(
    ranges: Mapping[str, Mapping[str, Any]],
    rng: np.random.Generator,
    base: Mapping[str, Mapping[str, Any]] | None = None,
) -> tuple[Microscope, Detector]:
    """Draw a microscope and a detector from ``{"microscope": …, "detector": …}`` ranges."""
    base = base or {}
    unknown = sorted(set(ranges) - {"microscope", "detector"})
    if unknown:
        raise HrtemError(f"imaging ranges: unknown section(s) {', '.join(unknown)}; use microscope, detector")
    m = sample_microscope(ranges.get("microscope", {}), rng, base.get("microscope"))
    d = sample_detector(ranges.get("detector", {}), rng, base.get("detector"))
    return m, d
