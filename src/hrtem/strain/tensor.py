"""2×2 strain-tensor helpers: polar decomposition, planar and normal strain.

All functions are vectorised over leading axes (``(..., 2, 2)`` arrays).
Convention (shared by STM and GPA): a local deformation gradient ``F`` maps
the reference (template) lattice onto the measured one; its left polar
decomposition ``F = P·U`` gives the rotation ``U`` (angle θ, counter-clockwise
positive, radians) and the symmetric stretch ``P``; the strain is
``ε = P − I`` (Biot strain in the measured frame; equals the small-strain
tensor to first order). This is thesis Eqs. 3.13–3.14.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "polar_left",
    "rotation_matrix",
    "strain_from_gradient",
    "planar_strain",
    "normal_strain",
    "wrap_angle",
]


def rotation_matrix(theta: np.ndarray | float) -> np.ndarray:
    """Rotation matrices R(θ) (counter-clockwise, radians), shape ``(..., 2, 2)``."""
    theta = np.asarray(theta, float)
    c, s = np.cos(theta), np.sin(theta)
    return np.stack([np.stack([c, -s], -1), np.stack([s, c], -1)], -2)


def polar_left(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Left polar decomposition ``A = P·U`` of 2×2 matrices in closed form.

    Parameters
    ----------
    a
        ``(..., 2, 2)`` matrices with positive determinant.

    Returns
    -------
    p, theta
        Symmetric stretch ``P`` (``(..., 2, 2)``) and rotation angle θ of
        ``U = R(θ)`` in radians. In 2D, ``A·R(θ)ᵀ`` is symmetric exactly when
        ``tan θ = (A₁₀ − A₀₁)/(A₀₀ + A₁₁)``; the ``atan2`` branch makes ``P``
        positive definite.
    """
    a = np.asarray(a, float)
    theta = np.arctan2(a[..., 1, 0] - a[..., 0, 1], a[..., 0, 0] + a[..., 1, 1])
    p = a @ np.swapaxes(rotation_matrix(theta), -1, -2)
    p = 0.5 * (p + np.swapaxes(p, -1, -2))
    return p, theta


def strain_from_gradient(f: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """ε_xx, ε_yy, ε_xy and rotation (rad) from deformation gradients ``F = P·U``."""
    p, theta = polar_left(f)
    return p[..., 0, 0] - 1.0, p[..., 1, 1] - 1.0, p[..., 0, 1], theta


def planar_strain(exx: np.ndarray, eyy: np.ndarray) -> np.ndarray:
    """Planar strain ε_p = (ε_xx + ε_yy)/2 (thesis Eq. 4.1)."""
    return 0.5 * (np.asarray(exx) + np.asarray(eyy))


def normal_strain(exx: np.ndarray, eyy: np.ndarray, exy: np.ndarray, normal: np.ndarray) -> np.ndarray:
    """Strain along a surface normal, ε_n = nᵀ ε n (thesis Eq. 4.2).

    Parameters
    ----------
    exx, eyy, exy
        Strain components (broadcastable).
    normal
        ``(..., 2)`` normal vectors (normalised here), e.g. the outward facet
        normal of the outermost columns.
    """
    n = np.asarray(normal, float)
    n = n / np.linalg.norm(n, axis=-1, keepdims=True)
    nx, ny = n[..., 0], n[..., 1]
    return np.asarray(exx) * nx**2 + np.asarray(eyy) * ny**2 + 2 * np.asarray(exy) * nx * ny


def wrap_angle(theta: np.ndarray, period: float) -> np.ndarray:
    """Reduce angles (rad) to the interval (−period/2, period/2]."""
    t = np.asarray(theta, float)
    return period / 2 - np.mod(period / 2 - t, period)
