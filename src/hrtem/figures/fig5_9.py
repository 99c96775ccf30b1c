"""Fig. 5.9: simulated HRTEM image of a Pt particle on anatase(001), beam along Pt ⟨100⟩.

Thesis (§5.4.2, L3490–3492, L3500–3503): the image is made as Fig. 5.5's
(40 snapshots averaged, ch. 4 microscope, Δf = 8 nm, infinite dose). Here: the sampling-stage
snapshots of the anatase run started at the particle's lattice constant (``hrtem md image``), imaged with
the ``images`` section's microscope and camera at ``md.imaging.defocus_a``.
Data beside it: ``fig5_9.zarr`` (image, true columns found or not).
"""

from __future__ import annotations

from pathlib import Path

from hrtem.figures._supported import image_claims, image_figure

CLAIMS = image_claims(
    defocus_source="003 L3490–3492",
    resolved_source="003 L3500–3503",
    defocus_note="md.imaging.defocus_a",
)


def make(inputs: list[Path], png: Path, params: dict, seed: int) -> None:
    """Image of ``md/images/anatase_natural.zarr`` (``params`` = the md section)."""
    del seed
    image_figure(inputs, png, params, "fig5_9")
