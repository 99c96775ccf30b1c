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

from hrtem.figures._supported import image_claims, image_figure

CLAIMS = image_claims(
    defocus_source="003 L3427–3428",
    resolved_source="003 L3370–3375",
    defocus_note="md.imaging.defocus_a; the thesis's text (L3375) says 10 nm, its caption 8 nm",
)


def make(inputs: list[Path], png: Path, params: dict, seed: int) -> None:
    """Image of ``md/images/zro2.zarr`` (``params`` = the md section)."""
    del seed
    image_figure(inputs, png, params, "fig5_5")
