"""Strain from atomic-resolution images and point sets (thesis ch. 3).

Real space (structural template matching, STM)
    :func:`detect_columns` (filter → extrema → Eq. 3.4 sub-pixel fit), then
    :func:`detect_lattice_columns` (the same with every default from the
    lattice: spacing from the image's autocorrelation, vacuum and
    off-lattice peaks rejected), then
    :func:`match_templates` (scale/rotation-invariant RMSD, exact
    correspondence by sorting + branch and bound, partial matching, strain by
    least squares and left polar decomposition), batched over points.
Fourier space
    :func:`gpa` (geometric phase analysis with Gaussian masks, phase gradients
    from the complex field, g refined in a reference region).
Model structures
    :func:`match_templates` on column positions gives the "true" strain;
    :func:`pair_points` / :func:`strain_error` compare measured with true;
    :func:`planar_strain` (Eq. 4.1) and :func:`normal_strain` (Eq. 4.2).
Synthetic data
    :mod:`hrtem.strain.synthetic` (Gaussian-lattice images, displacement
    fields, polycrystalline graphene).

Both methods report ε = P − I from the left polar decomposition F = P·U of the
local deformation gradient (see :mod:`hrtem.strain.tensor`).
"""

from hrtem.strain.compare import pair_points, strain_error, to_grid
from hrtem.strain.gpa import GpaResult, find_bragg_spots, gpa
from hrtem.strain.matching import (
    MatchResult,
    StmResult,
    branch_and_bound,
    linear_maps,
    local_lattices,
    match_template,
    match_templates,
    sorted_correspondence,
)
from hrtem.strain.lattice import detect_lattice_columns, detection_scores, lattice_from_image
from hrtem.strain.peaks import detect_columns, filter_image, find_peaks, refine_peaks
from hrtem.strain.templates import TEMPLATES, Template, get_template, lattice_template, register_template, template_names
from hrtem.strain.tensor import normal_strain, planar_strain, polar_left, strain_from_gradient

__all__ = [
    "GpaResult",
    "MatchResult",
    "StmResult",
    "TEMPLATES",
    "Template",
    "branch_and_bound",
    "detect_columns",
    "detect_lattice_columns",
    "detection_scores",
    "filter_image",
    "find_bragg_spots",
    "find_peaks",
    "get_template",
    "gpa",
    "lattice_from_image",
    "lattice_template",
    "linear_maps",
    "local_lattices",
    "match_template",
    "match_templates",
    "normal_strain",
    "pair_points",
    "planar_strain",
    "polar_left",
    "refine_peaks",
    "register_template",
    "sorted_correspondence",
    "strain_error",
    "strain_from_gradient",
    "template_names",
    "to_grid",
]
