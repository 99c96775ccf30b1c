"""Fig. 5.9: simulated HRTEM image of a Pt particle on anatase(001), beam along Pt ⟨100⟩.

Thesis (§5.4.2, L3490–3492, L3500–3503): the image is made as Fig. 5.5's
(40 snapshots averaged, ch. 4 microscope, Δf = 8 nm, infinite dose). Here: the sampling-stage
snapshots of the anatase run started at the particle's lattice constant (``hrtem md image``), imaged with
the ``images`` section's microscope and camera at ``md.imaging.defocus_a``.
Data beside it: ``fig5_9.zarr`` (image, true columns found or not).
"""

from __future__ import annotations

from pathlib import Path

from hrtem.figures._supported import image_figure
from hrtem.figures.fidelity import Claim

CLAIMS = [
    Claim("defocus of the supported-particle image", "nm", thesis=8.0, source="003 L3490–3492",
          ours=lambda d: d.attrs["defocus_nm"], tolerance=0.05,
          note="md.imaging.defocus_a"),
    Claim("Pt columns resolved in the image (found / true columns)", "fraction", thesis="columns resolved",
          source="003 L3500–3503", ours=lambda d: d.attrs["found_fraction"],
          holds=lambda ours, d: ours >= 0.8, criterion="≥ 0.8 of the true columns detected and paired",
          digits=3),
]


def make(inputs: list[Path], png: Path, params: dict, seed: int) -> None:
    """Image of ``md/images/anatase_natural.zarr`` (``params`` = the md section)."""
    del seed
    image_figure(inputs, png, params, "fig5_9")
