"""Fig. 5.5: simulated HRTEM image of a Pt particle on c-ZrO2(111), beam along Pt ⟨110⟩.

Thesis (§5.4.1, L3370–3375, L3427–3428): the image is the average over 40
snapshots of the last 0.05 ns of the anneal, ch. 4 microscope, Δf = 8 nm
(caption; the text says 10 nm), infinite dose. Here: the sampling-stage
snapshots of the 0° run of the md rules (``hrtem md image``), imaged with
the ``images`` section's microscope and camera at ``md.imaging.defocus_a``.
Data beside it: ``fig5_5.zarr`` (image, true columns found or not).
"""

from __future__ import annotations

from pathlib import Path

from hrtem.figures._supported import image_figure
from hrtem.figures.fidelity import Claim

CLAIMS = [
    Claim("defocus of the supported-particle image", "nm", thesis=8.0, source="003 L3427–3428",
          ours=lambda d: d.attrs["defocus_nm"], tolerance=0.05,
          note="md.imaging.defocus_a; the thesis's text (L3375) says 10 nm, its caption 8 nm"),
    Claim("Pt columns resolved in the image (found / true columns)", "fraction", thesis="columns resolved",
          source="003 L3370–3375", ours=lambda d: d.attrs["found_fraction"],
          holds=lambda ours, d: ours >= 0.8, criterion="≥ 0.8 of the true columns detected and paired",
          digits=3),
]


def make(inputs: list[Path], png: Path, params: dict, seed: int) -> None:
    """Image of ``md/images/zro2.zarr`` (``params`` = the md section)."""
    del seed
    image_figure(inputs, png, params, "fig5_5")
