"""Objective lens (CTF, envelopes, aperture) and detector (resampling, shot noise, MTF).

Thesis ch. 2 (§2.4 imaging system, §2.6 detection); conventions in
:mod:`hrtem.optics.ctf` (units, the thesis's defocus sign, envelope
definitions) and :mod:`hrtem.optics.detector` (grid, noise, MTF).

In short: lengths in Å, q in 1/Å; ``defocus_a`` is C10 with the thesis's sign
(Scherzer = −1.2√(Csλ) < 0 for Cs > 0, −41.25 nm at 300 kV/0.6 mm); abTEM's
``defocus`` = −C10. Intensities are averaged over frozen-phonon
configurations after the CTF, never complex waves. Detection is resample →
Poisson → √MTF (so the noise spectral density follows MTF, Eq. 2.21).

Typical use::

    from hrtem.optics import Microscope, Detector
    from hrtem.seeding import rng

    mic = Microscope.from_config(config["microscope"])
    det = Detector.from_config(config["detector"])
    intensity = mic.image(exit_waves, sampling_a)          # (n_config, nx, ny) → (nx, ny)
    image = det.detect(intensity, sampling_a, rng(config["seed"], "rule", 0))
"""

from hrtem.optics.ctf import (
    SCHERZER_FACTOR,
    aperture,
    chi,
    chi_gradient,
    deflection_envelope,
    point_resolution_a,
    point_resolution_scherzer_a,
    scherzer_defocus_a,
    spatial_envelope,
    spatial_frequencies,
    temporal_envelope,
    wavelength_a,
)
from hrtem.optics.detector import (
    DETECTOR_DEFAULTS,
    MTF_MODELS,
    Detector,
    MtfFit,
    apply_mtf,
    fit_mtf,
    mtf,
    mtf_eq2_21,
    mtf_exp_gauss,
    mtf_grid,
    noise_spectral_density,
    resample_bilinear,
    resampled_shape,
    shot_noise,
)
from hrtem.optics.microscope import MICROSCOPE_DEFAULTS, Microscope
from hrtem.optics.sampling import TABLE_6_1, sample_detector, sample_imaging, sample_microscope

__all__ = [
    "SCHERZER_FACTOR",
    "wavelength_a",
    "scherzer_defocus_a",
    "point_resolution_a",
    "point_resolution_scherzer_a",
    "spatial_frequencies",
    "chi",
    "chi_gradient",
    "spatial_envelope",
    "temporal_envelope",
    "deflection_envelope",
    "aperture",
    "MICROSCOPE_DEFAULTS",
    "Microscope",
    "DETECTOR_DEFAULTS",
    "MTF_MODELS",
    "Detector",
    "MtfFit",
    "resample_bilinear",
    "resampled_shape",
    "shot_noise",
    "mtf",
    "mtf_eq2_21",
    "mtf_exp_gauss",
    "mtf_grid",
    "apply_mtf",
    "noise_spectral_density",
    "fit_mtf",
    "TABLE_6_1",
    "sample_microscope",
    "sample_detector",
    "sample_imaging",
]
