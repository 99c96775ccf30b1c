"""Fig. 5.10: true vs measured vs difference column strain of Pt on anatase(001) (⟨100⟩).

Thesis (§5.4.2, L3500–3509, caption L3530–3534): the strain of the averaged
column positions along ⟨100⟩ against the strain measured from the image of
Fig. 5.9. The large thickness variations along ⟨100⟩ give significant
errors, in particular near the surfaces; the measurement shows the overall
strain in both directions correctly, not its asymmetric structure. Here: the
store of ``hrtem md image`` for the anatase run started at the particle's
lattice constant (same image as fig5_9). Data beside it: ``fig5_10.csv``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hrtem.figures._supported import mean_abs_error_pct, n_matched, overall_strain_gap_pct, strain_map_figure
from hrtem.figures.fidelity import Claim


def _surface_over_interior(d) -> float:
    inner = mean_abs_error_pct(d, "interior")
    return float(mean_abs_error_pct(d, "surface") / inner) if inner > 0 else float("nan")


CLAIMS = [
    Claim("overall strain: largest abs(mean measured − mean true) of ε_xx, ε_yy", "%",
          thesis="overall strain correct in both directions", source="003 L3507–3509",
          ours=overall_strain_gap_pct, holds=lambda ours, d: bool(np.isfinite(ours) and ours <= 1.0),
          criterion="≤ 1 %", digits=3, at_scale=lambda d: n_matched(d, "upper") >= 10),
    Claim("error at surface columns over error at interior columns", "1",
          thesis="significant error, in particular near the surfaces", source="003 L3505–3507",
          ours=_surface_over_interior, holds=lambda ours, d: bool(np.isfinite(ours) and ours > 1.0),
          criterion="> 1", digits=3,
          at_scale=lambda d: n_matched(d, "interior") >= 5 and n_matched(d, "surface") >= 5),
]


def make(inputs: list[Path], png: Path, params: dict, seed: int) -> None:
    """Strain maps of ``md/images/anatase_natural.zarr`` (``params`` = the md section)."""
    del seed
    strain_map_figure(inputs, png, params, "fig5_10")
