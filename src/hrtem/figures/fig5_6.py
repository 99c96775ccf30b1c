"""Fig. 5.6: true vs measured vs difference column strain of Pt on c-ZrO2(111) (⟨110⟩).

Thesis (§5.4.1, L3366–3380, caption L3429–3434): "true" 2D strain of the
snapshot-averaged projected columns, strain measured by structural template
matching (partial matching at surface and edge columns) on the image of
Fig. 5.5, and their difference. The error is ∼2 % or less in the upper part
of the particle and significantly larger along the interface. Here: the
store of ``hrtem md image`` for the 0° run (same image as fig5_5); the
interface region is the columns less than ``md.imaging.interface_height_A``
above the lowest particle column. Data beside it: ``fig5_6.csv``, one row per
true column.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hrtem.figures._supported import mean_abs_error_pct, n_matched, strain_map_figure
from hrtem.figures.fidelity import Claim


def _ratio(d) -> float:
    up = mean_abs_error_pct(d, "upper")
    return float(mean_abs_error_pct(d, "interface") / up) if up > 0 else float("nan")


CLAIMS = [
    Claim("mean abs strain error (ε_xx, ε_yy) in the upper part of the particle", "%", thesis="≲ 2",
          source="003 L3378", ours=lambda d: mean_abs_error_pct(d, "upper"),
          holds=lambda ours, d: ours <= 2.5, criterion="≤ 2.5 %", digits=3,
          at_scale=lambda d: n_matched(d, "upper") >= 10,
          note="thesis: 40 snapshots, ~3,100 Pt atoms; tested with ≥ 10 matched upper columns"),
    Claim("interface error over upper-part error", "1", thesis="significantly larger at the interface",
          source="003 L3378–3379", ours=_ratio,
          holds=lambda ours, d: bool(np.isfinite(ours) and ours > 1.0), criterion="> 1", digits=3,
          at_scale=lambda d: n_matched(d, "upper") >= 10 and n_matched(d, "interface") >= 5),
]


def make(inputs: list[Path], png: Path, params: dict, seed: int) -> None:
    """Strain maps of ``md/images/zro2.zarr`` (``params`` = the md section)."""
    del seed
    strain_map_figure(inputs, png, params, "fig5_6")
