"""Synthetic test data for strain measurement: lattices, displacement fields, images.

Images are sums of isotropic Gaussians placed at column positions (thesis
Figs. 3.6, 3.7, 3.9), indexed ``[ix, iy]`` with pixel (ix, iy) at
``(origin + i·sampling)`` Å. The polycrystalline graphene generator (Fig. 3.7)
fills the Voronoi cells of random grain seeds with rotated (optionally
strained) graphene lattices and drops atoms closer than ``min_distance_a``.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.spatial import cKDTree
from scipy.special import erf

from hrtem.strain.tensor import rotation_matrix

__all__ = [
    "lattice_points",
    "square_lattice",
    "graphene_lattice",
    "polycrystalline_graphene",
    "deformation_gradient",
    "deform",
    "gaussian_image",
    "analytic_field",
]


def lattice_points(cell: np.ndarray, basis: np.ndarray, extent: tuple[float, float], *, origin=(0.0, 0.0),
                   angle_rad: float = 0.0, pad: float = 0.0) -> np.ndarray:
    """Sites of a 2D lattice covering the box [0, Lx] × [0, Ly] (Å).

    Parameters
    ----------
    cell
        (2, 2) lattice vectors as rows (Å).
    basis
        (B, 2) fractional basis positions.
    extent
        (Lx, Ly) box size in Å.
    origin
        A lattice site (Å).
    angle_rad
        Rotation of the lattice about ``origin`` (counter-clockwise).
    pad
        Keep sites up to ``pad`` Å outside the box.
    """
    cell = np.asarray(cell, float) @ rotation_matrix(angle_rad).T
    basis = np.atleast_2d(np.asarray(basis, float))
    lx, ly = extent
    corners = np.array([[0, 0], [lx, 0], [0, ly], [lx, ly]], float) - np.asarray(origin, float)
    frac = corners @ np.linalg.inv(cell)
    lo = np.floor(frac.min(0)) - 2
    hi = np.ceil(frac.max(0)) + 2
    i, j = np.meshgrid(np.arange(lo[0], hi[0] + 1), np.arange(lo[1], hi[1] + 1), indexing="ij")
    ij = np.stack([i.ravel(), j.ravel()], 1)
    pts = ((ij[:, None, :] + basis[None]).reshape(-1, 2)) @ cell + np.asarray(origin, float)
    keep = (pts[:, 0] >= -pad) & (pts[:, 0] <= lx + pad) & (pts[:, 1] >= -pad) & (pts[:, 1] <= ly + pad)
    return pts[keep]


def square_lattice(a: float, n: tuple[int, int], *, origin=(0.0, 0.0)) -> np.ndarray:
    """An nx × ny square lattice with spacing ``a`` (Å), first site at ``origin``."""
    i, j = np.meshgrid(np.arange(n[0]), np.arange(n[1]), indexing="ij")
    return np.stack([i.ravel() * a + origin[0], j.ravel() * a + origin[1]], 1).astype(float)


def graphene_lattice(extent: tuple[float, float], *, bond_a: float = 1.42, angle_rad: float = 0.0,
                     origin=(0.0, 0.0), pad: float = 0.0) -> np.ndarray:
    """Graphene (honeycomb) atom positions in a box, rotated about ``origin``."""
    a = bond_a * math.sqrt(3)
    cell = np.array([[a, 0.0], [a / 2, a * math.sqrt(3) / 2]])
    return lattice_points(cell, [[0, 0], [1 / 3, 1 / 3]], extent, origin=origin, angle_rad=angle_rad, pad=pad)


def deformation_gradient(exx: float = 0.0, eyy: float = 0.0, exy: float = 0.0, rotation_rad: float = 0.0) -> np.ndarray:
    """F = (I + ε)·R(θ): the map whose left polar decomposition gives back ε and θ."""
    eps = np.array([[exx, exy], [exy, eyy]], float)
    return (np.eye(2) + eps) @ rotation_matrix(rotation_rad)


def deform(points: np.ndarray, f: np.ndarray, *, centre=(0.0, 0.0)) -> np.ndarray:
    """Apply a homogeneous deformation gradient ``f`` about ``centre``."""
    c = np.asarray(centre, float)
    return (np.asarray(points, float) - c) @ np.asarray(f).T + c


def polycrystalline_graphene(
    extent: tuple[float, float],
    rng: np.random.Generator,
    *,
    n_grains: int = 3,
    bond_a: float = 1.42,
    min_distance_a: float = 1.0,
    strain_max: float = 0.0,
) -> dict[str, np.ndarray]:
    """Graphene polycrystal by Voronoi tessellation of random grain seeds.

    Each Voronoi cell of ``n_grains`` uniformly random seeds is filled with a
    graphene lattice of uniformly random orientation (and, with
    ``strain_max`` > 0, a homogeneous strain with components uniform in
    ±strain_max); atoms of different grains closer than ``min_distance_a`` Å
    are thinned (the later one is dropped).

    Returns
    -------
    dict
        ``positions`` (n, 2) Å, ``grain`` (n,), and per grain ``angle_rad``,
        ``exx``, ``eyy``, ``exy``, ``seeds`` (n_grains, 2).
    """
    lx, ly = extent
    seeds = rng.uniform([0, 0], [lx, ly], size=(n_grains, 2))
    angles = rng.uniform(0, math.pi / 3, n_grains)
    strains = rng.uniform(-strain_max, strain_max, size=(n_grains, 3)) if strain_max > 0 else np.zeros((n_grains, 3))
    seed_tree = cKDTree(seeds)
    pos, grain = [], []
    diag = math.hypot(lx, ly)
    for k in range(n_grains):
        # unrotated lattice around the seed, large enough to cover the box after rotation
        box = (2 * diag, 2 * diag)
        p = graphene_lattice(box, bond_a=bond_a, origin=(diag, diag)) - diag
        f = deformation_gradient(*strains[k], angles[k])
        p = p @ f.T + seeds[k]
        inside = (p[:, 0] >= 0) & (p[:, 0] < lx) & (p[:, 1] >= 0) & (p[:, 1] < ly)
        p = p[inside]
        _, owner = seed_tree.query(p)
        p = p[owner == k]
        pos.append(p)
        grain.append(np.full(len(p), k))
    positions = np.concatenate(pos)
    grains = np.concatenate(grain)
    # drop atoms closer than min_distance_a to an earlier kept atom
    tree = cKDTree(positions)
    pairs = tree.query_pairs(min_distance_a, output_type="ndarray")
    drop = np.zeros(len(positions), bool)
    if len(pairs):
        pairs = pairs[np.lexsort((pairs[:, 1], pairs[:, 0]))]
        for i, j in pairs:
            if not drop[i] and not drop[j]:
                drop[j] = True
    return {
        "positions": positions[~drop],
        "grain": grains[~drop],
        "angle_rad": angles,
        "exx": strains[:, 0],
        "eyy": strains[:, 1],
        "exy": strains[:, 2],
        "seeds": seeds,
    }


def gaussian_image(
    positions: np.ndarray,
    shape: tuple[int, int],
    sampling: float,
    *,
    sigma_a: float = 0.3,
    amplitude: float | np.ndarray = 1.0,
    origin=(0.0, 0.0),
    cutoff_sigma: float = 5.0,
) -> np.ndarray:
    """Image [ix, iy] of isotropic Gaussians of height ``amplitude`` at ``positions`` (Å).

    Each Gaussian is evaluated on the pixels within ``cutoff_sigma``·σ of its
    centre (vectorised over positions).
    """
    pos = (np.asarray(positions, float) - np.asarray(origin, float)) / sampling
    s = sigma_a / sampling
    h = int(math.ceil(cutoff_sigma * s))
    amp = np.broadcast_to(np.asarray(amplitude, float), (len(pos),))
    img = np.zeros(shape)
    base = np.floor(pos).astype(np.int64)
    off = np.arange(-h, h + 2)
    for dx in off:
        ix = base[:, 0] + dx
        gx = np.exp(-((ix - pos[:, 0]) ** 2) / (2 * s * s))
        for dy in off:
            iy = base[:, 1] + dy
            ok = (ix >= 0) & (ix < shape[0]) & (iy >= 0) & (iy < shape[1])
            v = amp * gx * np.exp(-((iy - pos[:, 1]) ** 2) / (2 * s * s))
            np.add.at(img, (ix[ok], iy[ok]), v[ok])
    return img


def analytic_field(
    points: np.ndarray,
    *,
    amplitude: float,
    width_a: float,
    centre=(0.0, 0.0),
) -> tuple[np.ndarray, np.ndarray]:
    """The test field of thesis Eq. 3.15 applied to reference positions.

    With x' = (X − X_c)/w and y' = (Y − Y_c)/w (w = ``width_a``; the thesis's
    a = 1/w² with lengths in units of w),

        ε_xx = ∂u_x/∂X = A (x' + y') exp(−x'² − y'²),
        ε_yy = ∂u_y/∂Y = A (x' − y') exp(−x'² − y'²),

    integrated in closed form (u = 0 on the axes through the centre):

        u_x = A w e^{−y'²} [(1 − e^{−x'²})/2 + y' (√π/2) erf(x')],
        u_y = A w e^{−x'²} [x' (√π/2) erf(y') − (1 − e^{−y'²})/2].

    Returns
    -------
    displaced, f
        Displaced positions X + u(X) (Å) and the exact deformation gradient
        F = I + ∇u at each point ((n, 2, 2)); the "true" strain is the left
        polar stretch of F (:func:`hrtem.strain.tensor.strain_from_gradient`),
        which equals (ε_xx, ε_yy) above to first order.
    """
    p = np.asarray(points, float)
    x = (p[:, 0] - centre[0]) / width_a
    y = (p[:, 1] - centre[1]) / width_a
    ex, ey = np.exp(-x * x), np.exp(-y * y)
    sp = math.sqrt(math.pi) / 2
    ux = amplitude * width_a * ey * ((1 - ex) / 2 + y * sp * erf(x))
    uy = amplitude * width_a * ex * (x * sp * erf(y) - (1 - ey) / 2)
    g = ex * ey
    dux_dx = amplitude * (x + y) * g
    duy_dy = amplitude * (x - y) * g
    # ∂u_x/∂y' = A w [−2y' e^{−y'²}((1−e^{−x'²})/2 + y' sp erf x') + e^{−y'²} sp erf x'] / w
    dux_dy = amplitude * (-2 * y * ey * ((1 - ex) / 2 + y * sp * erf(x)) + ey * sp * erf(x))
    duy_dx = amplitude * (-2 * x * ex * (x * sp * erf(y) - (1 - ey) / 2) + ex * sp * erf(y))
    f = np.empty((len(p), 2, 2))
    f[:, 0, 0] = 1 + dux_dx
    f[:, 0, 1] = dux_dy
    f[:, 1, 0] = duy_dx
    f[:, 1, 1] = 1 + duy_dy
    return p + np.stack([ux, uy], 1), f
